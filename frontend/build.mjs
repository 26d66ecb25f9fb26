// Builds dist/: app.js and app.css (minified, no source map) and index.html
// with each asset's content hash in its URL, so a new build is fetched at
// once and an old one can be cached forever. The output depends only on the
// sources and the pinned esbuild, so two builds are byte-identical (CI
// rebuilds and compares).

import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';

import * as esbuild from 'esbuild';

const dist = new URL('dist/', import.meta.url);
mkdirSync(dist, { recursive: true });

const common = {
  bundle: true,
  minify: true,
  target: 'es2020',
  legalComments: 'none',
  sourcemap: false,
  write: false,
  logLevel: 'warning',
  charset: 'utf8',
};

const js = await esbuild.build({
  ...common,
  entryPoints: [new URL('src/main.js', import.meta.url).pathname],
  format: 'iife',
  outfile: 'app.js',
});
const css = await esbuild.build({
  ...common,
  entryPoints: [new URL('src/app.css', import.meta.url).pathname],
  outfile: 'app.css',
});

const hash = (bytes) => createHash('sha256').update(bytes).digest('hex').slice(0, 16);
const assets = { 'app.js': js.outputFiles[0].contents, 'app.css': css.outputFiles[0].contents };

let html = readFileSync(new URL('src/index.html', import.meta.url), 'utf8');
for (const [name, bytes] of Object.entries(assets)) {
  writeFileSync(new URL(name, dist), bytes);
  html = html.replace(`{{${name}}}`, hash(bytes));
  console.log(`dist/${name}  ${(bytes.length / 1024).toFixed(1)} KiB`);
}
if (html.includes('{{')) throw new Error('index.html has a placeholder without an asset');
writeFileSync(new URL('index.html', dist), html);

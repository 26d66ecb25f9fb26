// Replays the editing traces in this folder with ot.js (TextOperation.apply
// on a plain string), one op per patch, building each op from the patch as it
// goes: the same work as BenchmarkDocTrace in ot/trace_test.go. Prints wall
// and process CPU time (all threads, the garbage collector's included) per
// keystroke; on a shared machine compare the CPU figures. Positions in the traces are code points; none of these traces
// holds a character outside the BMP, so they are also UTF-16 units (checked).
//
//   npm ci && node bench-otjs.js [runs] [trace ...]
'use strict';
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const { TextOperation } = require('ot');

const all = ['sveltecomponent', 'clownschool_flat', 'friendsforever_flat', 'rustcode', 'seph-blog1', 'automerge-paper'];
const runs = Number(process.argv[2] || 5);
const names = process.argv.length > 3 ? process.argv.slice(3) : all;

function load(name) {
  const t = JSON.parse(zlib.gunzipSync(fs.readFileSync(path.join(__dirname, name + '.json.gz'))));
  const patches = [];
  for (const tx of t.txns) for (const p of tx.patches) patches.push(p);
  const astral = /[\u{10000}-\u{10FFFF}]/u;
  if (astral.test(t.endContent) || patches.some((p) => astral.test(p[2]))) {
    throw new Error(name + ': characters outside the BMP; positions would need converting');
  }
  return { start: t.startContent, end: t.endContent, patches };
}

function replay(t) {
  let text = t.start;
  for (const [pos, del, ins] of t.patches) {
    const op = new TextOperation().retain(pos).insert(ins).delete(del).retain(text.length - pos - del);
    text = op.apply(text);
  }
  return text;
}

console.log(`node ${process.version}, ot.js ${require('ot/package.json').version}, best and median of ${runs} runs after one warm-up`);
console.log('trace'.padEnd(22), 'keystrokes'.padStart(10), 'final len'.padStart(10), 'best ns/ks'.padStart(11),
  'median ns/ks'.padStart(13), 'median cpu-ns/ks'.padStart(17));
for (const name of names) {
  const t = load(name);
  if (replay(t) !== t.end) throw new Error(name + ': final text differs from endContent');
  const ns = [];
  const cpu = [];
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const text = replay(t);
    const dt = Number(process.hrtime.bigint() - t0);
    const c = process.cpuUsage(c0);
    if (text.length !== t.end.length) throw new Error(name + ': wrong final length');
    ns.push(dt / t.patches.length);
    cpu.push(((c.user + c.system) * 1000) / t.patches.length);
  }
  const median = (a) => a.slice().sort((x, y) => x - y)[Math.floor(a.length / 2)];
  console.log(name.padEnd(22), String(t.patches.length).padStart(10), String(t.end.length).padStart(10),
    Math.min(...ns).toFixed(0).padStart(11), median(ns).toFixed(0).padStart(13), median(cpu).toFixed(0).padStart(17));
}

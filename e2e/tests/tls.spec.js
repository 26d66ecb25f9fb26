// Tandem behind a real nginx with TLS, as docs/deploy.md sets it up: the
// pages load over https:// and edit over wss://, nginx passes the WebSocket
// upgrade on, and Tandem's Host and Origin checks still hold behind it.
const fs = require('node:fs');
const path = require('node:path');
const { test: base, expect } = require('./fixtures');
const { Nginx, freePort } = require('./nginx');

const test = base.extend({
  // nginx's port is chosen first: Tandem must know its public URL.
  nginxPort: async ({}, use) => {
    await use(await freePort());
  },
  serverArgs: async ({ nginxPort }, use) => {
    await use(['-public-url', `https://localhost:${nginxPort}`, '-trusted-proxies', '127.0.0.1']);
  },
  nginx: async ({ server, nginxPort }, use, testInfo) => {
    const nginx = new Nginx();
    await nginx.start({ upstream: `127.0.0.1:${server.port}`, port: nginxPort });
    try {
      await use(nginx);
    } finally {
      if (testInfo.status !== testInfo.expectedStatus) {
        await testInfo.attach('nginx.log', { body: nginx.log(), contentType: 'text/plain' });
        await testInfo.attach('nginx-access.log', { body: nginx.accessLog(), contentType: 'text/plain' });
      }
      await nginx.stop();
    }
  },
});

// createDoc creates a document through nginx and returns the path of its
// edit link ("/d/<token>") and the key to name it by in the API.
async function createDoc(nginx, title) {
  const doc = await nginx.api('POST', '/api/docs', { title });
  const link = doc.links?.edit ?? `/d/${encodeURIComponent(doc.id)}`;
  return { link, key: decodeURIComponent(link.split('/').pop()) };
}

// openPerson opens the link in a new browser context that accepts the
// test's self-signed certificate, and records the WebSocket URLs it uses.
async function openPerson(browser, testInfo, url, name, color) {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: testInfo.project.use.viewport });
  await context.addInitScript(
    ([nm, col]) => {
      localStorage.setItem('tandem.name', nm);
      localStorage.setItem('tandem.color', col);
    },
    [name, color],
  );
  const page = await context.newPage();
  const person = { name, context, page, sockets: [], problems: [] };
  page.on('websocket', (ws) => person.sockets.push(ws.url()));
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warning') person.problems.push(`${msg.type()}: ${msg.text()}`);
  });
  page.on('pageerror', (err) => person.problems.push(`pageerror: ${err.message}`));
  await page.goto(url);
  await expect(page.getByTestId('status')).toHaveAttribute('data-state', 'connected');
  await expect.poll(() => page.evaluate(() => window.tandem?.isSynchronized?.() === true)).toBe(true);
  return person;
}

// openSocket runs in a page: it opens a WebSocket to url and reports
// whether it opened or how it closed.
function openSocket(url) {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    const timer = setTimeout(() => resolve('no answer in 10 s'), 10_000);
    ws.onopen = () => {
      clearTimeout(timer);
      ws.close();
      resolve('open');
    };
    ws.onclose = (e) => {
      clearTimeout(timer);
      resolve(`closed ${e.code}`);
    };
  });
}

test('two people edit through nginx over TLS: wss://, and both end with the server’s text', async ({ browser, nginx }, testInfo) => {
  const { link, key } = await createDoc(nginx, 'Over TLS');
  const people = [];
  try {
    const a = await openPerson(browser, testInfo, nginx.url + link, 'Ada', '#e5484d');
    people.push(a);
    const b = await openPerson(browser, testInfo, nginx.url + link, 'Bo', '#0090ff');
    people.push(b);

    // A marker first, then Ada types before it and Bo after it, at the
    // same time: the result is known exactly.
    await a.page.locator('.cm-content').click();
    await a.page.keyboard.type('|');
    await expect.poll(() => b.page.evaluate(() => window.tandem.getText())).toBe('|');
    await a.page.locator('.cm-content').click();
    await a.page.keyboard.press('Control+Home');
    await b.page.locator('.cm-content').click();
    await b.page.keyboard.press('Control+End');
    await Promise.all([
      a.page.keyboard.type('Ada writes over TLS. ', { delay: 15 }),
      b.page.keyboard.type(' Bo writes over wss.', { delay: 15 }),
    ]);
    const want = 'Ada writes over TLS. | Bo writes over wss.';

    await expect
      .poll(
        async () => {
          const doc = await nginx.api('GET', `/api/docs/${encodeURIComponent(key)}`);
          const states = await Promise.all(
            people.map((p) => p.page.evaluate(() => ({ text: window.tandem.getText(), rev: window.tandem.getRev(), synced: window.tandem.isSynchronized() }))),
          );
          return { server: doc.text, pages: states.map((s) => (s.synced && s.rev === doc.rev ? s.text : `(rev ${s.rev}, synced ${s.synced})`)) };
        },
        { timeout: 30_000, message: 'both pages and the server should hold the same text' },
      )
      .toEqual({ server: want, pages: [want, want] });

    for (const p of people) {
      expect(p.sockets.length, `${p.name} opened a WebSocket`).toBeGreaterThan(0);
      for (const url of p.sockets) expect(url, `${p.name}'s WebSocket`).toMatch(new RegExp(`^wss://localhost:${nginx.port}/api/docs/[^/]+/ws$`));
      expect(p.problems.filter((m) => /resynchronising|pageerror/.test(m)), `${p.name}'s console`).toEqual([]);
    }
  } finally {
    for (const p of people) await p.context.close().catch(() => {});
  }
  // nginx passed the upgrades on: it logs a socket when it closes.
  await expect.poll(() => nginx.accessLog().match(/"GET \/api\/docs\/[^ ]+\/ws HTTP\/1\.1" 101 /g)?.length ?? 0).toBeGreaterThanOrEqual(2);
});

test('through nginx, a foreign Host is refused and a page of another origin cannot open the socket', async ({ browser, nginx }) => {
  const { link, key } = await createDoc(nginx, 'Guarded');
  const own = `localhost:${nginx.port}`;
  const wsPath = `/api/docs/${encodeURIComponent(key)}/ws`;
  const upgrade = { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' };

  // A name Tandem was not told about (-public-url), as DNS rebinding would
  // send: refused, for pages, the API and the socket alike.
  for (const [what, options] of [
    ['the editor page', { path: link }],
    ['the API', { path: `/api/docs/${encodeURIComponent(key)}` }],
    ['a WebSocket upgrade', { path: wsPath, headers: upgrade }],
  ]) {
    const res = await nginx.request({ ...options, headers: { ...options.headers, Host: `tandem.attacker.example:${nginx.port}` } });
    expect(res.status, `${what} with a foreign Host`).toBe(403);
  }
  // The right name is let through (the same requests, the checks' control).
  expect((await nginx.request({ path: link, headers: { Host: own } })).status).toBe(200);
  expect((await nginx.request({ path: wsPath, headers: { ...upgrade, Host: own, Origin: `https://${own}` } })).status).toBe(101);
  // A foreign Origin on the upgrade: refused.
  expect((await nginx.request({ path: wsPath, headers: { ...upgrade, Host: own, Origin: 'https://attacker.example' } })).status).toBe(403);

  // In a browser: a page of another origin (evil.localhost, which Chromium
  // resolves to this machine, so the same nginx serves it) tries to open
  // the document's socket; the same code on Tandem's own origin succeeds.
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  try {
    const page = await context.newPage();
    const wsURL = `wss://${own}${wsPath}`;
    await page.goto(`https://evil.localhost:${nginx.port}/healthz`);
    const before = nginx.accessLog().length;
    expect(await page.evaluate(openSocket, wsURL), 'a socket opened from https://evil.localhost').toBe('closed 1006');
    // It was Tandem's answer, through nginx, that stopped it.
    await expect.poll(() => nginx.accessLog().slice(before)).toMatch(/"GET \/api\/docs\/[^ ]+\/ws HTTP\/1\.1" 403 /);

    await page.goto(`https://${own}/healthz`);
    expect(await page.evaluate(openSocket, wsURL), `a socket opened from https://${own}`).toBe('open');
  } finally {
    await context.close();
  }
});

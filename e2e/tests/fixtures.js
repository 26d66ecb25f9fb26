// Test fixtures: a Tandem server process per test (own port, own data
// folder, restartable on both), and people: one browser context each, so
// every person has their own localStorage (name, colour, documents) and
// their own identity (the server issues it when the page joins).
//
// A document is reached through a key: the last path segment of one of the
// links POST /api/docs answers with (editKey, viewKey). Tests open pages
// and call the API with keys, as people do; the id is internal.
const { test: base, expect } = require('@playwright/test');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const COLORS = ['#e5484d', '#0090ff', '#30a46c', '#8e4ec6', '#f76b15'];

// keyOf returns the key in a link path "/d/<key>".
function keyOf(link) {
  if (typeof link !== 'string' || !/^\/d\/[^/]+$/.test(link)) throw new Error(`not a document link: ${JSON.stringify(link)}`);
  return decodeURIComponent(link.split('/').pop());
}

// editKey and viewKey return the keys of a document's links, from the
// answer of POST /api/docs (or GET /api/docs/{key}, or a reissue).
const editKey = (doc) => keyOf(doc.links?.edit);
const viewKey = (doc) => keyOf(doc.links?.view);

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// TandemServer runs the binary built by global-setup.js. stop() and start()
// keep the port and the data folder, so pages can reconnect to the "same"
// server after a restart.
class TandemServer {
  constructor(bin, dataDir, args = []) {
    this.bin = bin;
    this.args = args;
    this.dataDir = dataDir;
    this.port = 0;
    this.proc = null;
    this.log = [];
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  async start() {
    if (this.proc) throw new Error('server already running');
    if (this.port !== 0) return this.#spawn(); // a restart: same port
    // A port picked by freePort can be taken by someone else before the
    // server binds it: try a few.
    for (let attempt = 1; ; attempt++) {
      this.port = await freePort();
      try {
        return await this.#spawn();
      } catch (err) {
        if (attempt >= 3) throw err;
      }
    }
  }

  async #spawn() {
    const proc = spawn(this.bin, ['-addr', `127.0.0.1:${this.port}`, '-data', this.dataDir, '-log-level', 'warn', ...this.args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc = proc;
    const exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
    proc.exited = exited;
    for (const stream of [proc.stdout, proc.stderr]) {
      stream.setEncoding('utf8');
      stream.on('data', (chunk) => {
        if (this.log.length < 2000) this.log.push(chunk);
      });
    }
    const deadline = Date.now() + 20_000;
    let lastErr = null;
    while (Date.now() < deadline) {
      const done = await Promise.race([exited, new Promise((r) => setTimeout(() => r(null), 100))]);
      if (done) {
        this.proc = null;
        throw new Error(`server exited while starting (code ${done.code}, signal ${done.signal}): ${this.log.join('').slice(-2000)}`);
      }
      try {
        const res = await fetch(`${this.url}/healthz`);
        if (res.ok) return;
        lastErr = new Error(`healthz answered ${res.status}`);
      } catch (err) {
        lastErr = err;
      }
    }
    proc.kill('SIGKILL');
    await exited;
    this.proc = null;
    throw new Error(`server did not become healthy on ${this.url}: ${lastErr?.message}`);
  }

  // stop sends signal (SIGTERM: graceful shutdown; SIGKILL: a crash) and
  // waits for the process to end.
  async stop(signal = 'SIGTERM') {
    const proc = this.proc;
    if (!proc) return null;
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
    const result = await proc.exited;
    clearTimeout(timer);
    this.proc = null;
    return result;
  }

  async api(method, urlPath, body) {
    const init = { method, headers: { Accept: 'application/json' } };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const res = await fetch(this.url + urlPath, init);
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${urlPath}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }

  // createDoc answers what POST /api/docs answers: {id, title, ..., role,
  // links: {edit, view}}.
  createDoc(title) {
    return this.api('POST', '/api/docs', title === undefined ? {} : { title });
  }

  doc(key) {
    return this.api('GET', `/api/docs/${encodeURIComponent(key)}`);
  }

  ops(key) {
    return this.api('GET', `/api/docs/${encodeURIComponent(key)}/ops`);
  }
}

// NetworkCut is a TCP proxy in front of the server, for one person's
// browser context: it can cut that person's network for real. Chromium's
// offline emulation (context.setOffline) only holds back the frames a page
// sends on an open WebSocket: the socket stays open (the server's pings are
// still answered), so it never reconnects, and when the emulation ends the
// held frames just go out. Destroying the TCP connections here gives the
// page what a real network loss gives: a WebSocket closed with 1006, then
// failing reconnection attempts until restore().
class NetworkCut {
  constructor(target) {
    this.target = target; // () => port of the server
    this.sockets = new Set();
    this.down = false;
    this.dropDownstream = false;
    // While stalled, nothing passes either way and nothing is closed: a
    // connection that died silently (new connections hang too).
    this.stalled = false;
    this.srv = net.createServer((client) => this.#accept(client));
  }

  async listen() {
    await new Promise((resolve, reject) => {
      this.srv.once('error', reject);
      this.srv.listen(0, '127.0.0.1', resolve);
    });
    this.port = this.srv.address().port;
    return this;
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  #accept(client) {
    if (this.down) {
      client.destroy();
      return;
    }
    if (this.stalled) {
      this.sockets.add(client);
      client.on('error', () => {});
      return;
    }
    const upstream = net.connect(this.target(), '127.0.0.1');
    this.sockets.add(client);
    this.sockets.add(upstream);
    client.on('data', (d) => {
      if (!this.stalled) upstream.write(d);
    });
    // While dropDownstream is set, what the server sends is lost (an ack
    // that never arrives, for instance).
    upstream.on('data', (d) => {
      if (!this.dropDownstream && !this.stalled) client.write(d);
    });
    const end = () => {
      // A stalled connection stays open on the page's side whatever the
      // server does.
      if (this.stalled) {
        upstream.destroy();
        this.sockets.delete(upstream);
        return;
      }
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    for (const s of [client, upstream]) {
      s.on('close', end);
      s.on('error', end);
    }
  }

  // cut drops every connection and refuses new ones until restore().
  cut() {
    this.down = true;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  // stall makes every connection, open or new, silently dead.
  stall() {
    this.stalled = true;
  }

  restore() {
    if (this.stalled) {
      // What hung while stalled is dropped, as a network coming back does
      // with connections that timed out meanwhile.
      for (const s of this.sockets) s.destroy();
      this.sockets.clear();
    }
    this.down = false;
    this.dropDownstream = false;
    this.stalled = false;
  }

  close() {
    this.cut();
    return new Promise((resolve) => this.srv.close(() => resolve()));
  }
}

// Person is one browser context with one editor page.
class Person {
  constructor(name, context, page) {
    this.name = name;
    this.context = context;
    this.page = page;
    this.id = null;
    this.network = null; // a NetworkCut when joined with { cuttable: true }
    // Console errors and page errors, to explain failures (and to assert
    // that an editor never had to resynchronise).
    this.problems = [];
    page.on('console', (msg) => {
      if (msg.type() === 'error' || msg.type() === 'warning') this.problems.push(`${msg.type()}: ${msg.text()}`);
    });
    page.on('pageerror', (err) => this.problems.push(`pageerror: ${err.message}`));
  }

  get editor() {
    return this.page.locator('.cm-content');
  }

  get status() {
    return this.page.getByTestId('status');
  }

  async open(url, key) {
    await this.page.goto(`${url}/d/${encodeURIComponent(key)}`);
    await expect(this.status).toHaveAttribute('data-state', 'connected');
    await expect.poll(() => this.page.evaluate(() => window.tandem?.isSynchronized?.() === true)).toBe(true);
    this.id = await this.page.evaluate(() => window.tandem.clientId());
  }

  state() {
    return this.page.evaluate(() => ({
      text: window.tandem.getText(),
      rev: window.tandem.getRev(),
      synced: window.tandem.isSynchronized(),
      pending: window.tandem.pending(),
    }));
  }

  text() {
    return this.page.evaluate(() => window.tandem.getText());
  }

  // shown is the text the editor displays: its lines, without the remote
  // carets' name labels (only complete for documents that fit the viewport
  // and its margin, which CodeMirror renders in full).
  shown() {
    return this.page.evaluate(shownTextInPage);
  }

  // caretAt puts the caret at a UTF-16 offset with the keyboard (it must
  // not be inside an emoji: arrows move by whole characters).
  async caretAt(offset) {
    await this.editor.click();
    await this.page.keyboard.press('Control+Home');
    for (let i = 0; i < offset; i++) await this.page.keyboard.press('ArrowRight');
  }

  async caretAtEnd() {
    await this.editor.click();
    await this.page.keyboard.press('Control+End');
  }

  resyncs() {
    return this.problems.filter((p) => /resynchronising|pageerror/.test(p));
  }
}

// shownTextInPage runs in the page: the editor's lines joined by "\n",
// skipping widgets (remote carets with their labels, CodeMirror's buffers).
function shownTextInPage() {
  const skip = (el) => el.classList.contains('cm-remote-caret') || el.classList.contains('cm-widgetBuffer') || el.tagName === 'BR';
  const textOf = (node) => {
    let s = '';
    for (const c of node.childNodes) {
      if (c.nodeType === Node.TEXT_NODE) s += c.data;
      else if (c.nodeType === Node.ELEMENT_NODE && !skip(c)) s += textOf(c);
    }
    return s;
  };
  const lines = [...document.querySelector('.cm-content').children].filter((el) => el.classList.contains('cm-line'));
  return lines.map(textOf).join('\n');
}

// converge waits until every person is synchronized at the server's
// revision with the server's text, and returns that text.
async function converge(server, key, people, timeout = 30_000) {
  let text = null;
  await expect
    .poll(
      async () => {
        const doc = await server.doc(key);
        const states = await Promise.all(people.map((p) => p.state()));
        const bad = [];
        states.forEach((s, i) => {
          if (!s.synced) bad.push(`${people[i].name}: ${s.pending} pending`);
          else if (s.rev !== doc.rev) bad.push(`${people[i].name}: rev ${s.rev}, server ${doc.rev}`);
          else if (s.text !== doc.text) bad.push(`${people[i].name}: text differs from the server's (${s.text.length} vs ${doc.text.length} units)`);
        });
        text = doc.text;
        return bad.length === 0 ? 'converged' : bad.join('; ');
      },
      { timeout, intervals: [100, 200, 250], message: 'every page should reach the server text' },
    )
    .toBe('converged');
  return text;
}

// mangled lists what is wrong with a string's Unicode: U+FFFD and lone
// surrogates.
function mangled(s) {
  const out = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0xfffd) out.push(`U+FFFD at ${i}`);
    else if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
      else out.push(`lone high surrogate at ${i}`);
    } else if (c >= 0xdc00 && c <= 0xdfff) out.push(`lone low surrogate at ${i}`);
  }
  return out;
}

const test = base.extend({
  // Extra command-line options for the server of a test (test.use).
  serverArgs: [[], { option: true }],

  server: async ({ serverArgs }, use, testInfo) => {
    const bin = process.env.TANDEM_E2E_BIN;
    if (!bin) throw new Error('TANDEM_E2E_BIN is not set: run the tests with `npx playwright test` (global-setup.js builds the server)');
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-e2e-data-'));
    const server = new TandemServer(bin, dataDir, serverArgs);
    await server.start();
    try {
      await use(server);
    } finally {
      await server.stop('SIGTERM');
      if (testInfo.status !== testInfo.expectedStatus) {
        await testInfo.attach('server.log', { body: server.log.join(''), contentType: 'text/plain' });
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  },

  // join(key, name) opens the document through a key as a new person.
  join: async ({ browser, server }, use, testInfo) => {
    const people = [];
    const proxies = [];
    let n = 0;
    const join = async (key, name, options = {}) => {
      const color = COLORS[n++ % COLORS.length];
      // Contexts made here do not get the config's `use` options by
      // themselves: pass the viewport on.
      const context = await browser.newContext({ viewport: testInfo.project.use.viewport, ...options.context });
      await context.addInitScript(
        ([nm, col]) => {
          try {
            localStorage.setItem('tandem.name', nm);
            localStorage.setItem('tandem.color', col);
          } catch {
            // storage disabled: the app picks a random name
          }
        },
        [name, color],
      );
      // options.initScript runs in every page of this person before the app.
      if (options.initScript) await context.addInitScript(options.initScript);
      const page = await context.newPage();
      const person = new Person(name, context, page);
      people.push(person);
      if (options.cuttable) {
        person.network = await new NetworkCut(() => server.port).listen();
        proxies.push(person.network);
      }
      await person.open(person.network ? person.network.url : server.url, key);
      return person;
    };
    try {
      await use(join);
    } finally {
      if (testInfo.status !== testInfo.expectedStatus) {
        for (const p of people) {
          await testInfo.attach(`console-${p.name}.txt`, { body: p.problems.join('\n') || '(nothing)', contentType: 'text/plain' });
        }
      }
      for (const p of people) await p.context.close().catch(() => {});
      for (const p of proxies) await p.close();
    }
  },
});

module.exports = { test, expect, converge, mangled, shownTextInPage, editKey, viewKey };

// Stored edits (offline.js): what a page keeps in the browser's database
// while the server has not acknowledged its edits, and how the next page of
// the same document takes them up. A page here is the editor's glue in
// miniature: a Client, the text, the server's text (base), a StoredEdits
// over a fake database and fake locks, and the write-ahead rule (an op
// with a new seq is stored before it is sent). Crashes are simulated by
// dropping a page (its locks are released) at chosen points.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { Client } from '../src/client.js';
import { StoredEdits } from '../src/offline.js';
import { apply } from '../src/ot.js';
import { SimServer } from './sim.js';

const DOC = 'doc-key';

// FakeDB is a database of records by id; failing makes every call throw.
class FakeDB {
  constructor() {
    this.records = new Map();
    this.failing = false;
    this.writes = 0;
  }
  async #gate() {
    await new Promise((r) => setImmediate(r));
    if (this.failing) throw new Error('quota exceeded');
  }
  async list(doc) {
    await this.#gate();
    return [...this.records.values()].filter((r) => r.doc === doc).map((r) => structuredClone(r));
  }
  async get(id) {
    await this.#gate();
    const r = this.records.get(id);
    return r ? structuredClone(r) : undefined;
  }
  async put(r) {
    await this.#gate();
    this.writes++;
    this.records.set(r.id, structuredClone(r));
  }
  async delete(id) {
    await this.#gate();
    this.records.delete(id);
  }
}

// FakeLocks grants a lock to the first page that asks while nobody holds
// it; a page's locks go when the page is dropped.
class FakeLocks {
  constructor() {
    this.held = new Map(); // name → page
  }
  for(page) {
    return {
      hold: async (name) => {
        await new Promise((r) => setImmediate(r));
        if (this.held.has(name)) return false;
        this.held.set(name, page);
        return true;
      },
    };
  }
  release(page) {
    for (const [name, p] of this.held) if (p === page) this.held.delete(name);
  }
}

class Page {
  constructor(server, db, locks) {
    this.server = server;
    this.locks = locks;
    this.client = new Client();
    this.stored = new StoredEdits({ db, locks: locks.for(this), doc: DOC });
    this.text = null;
    this.base = null;
    this.conn = null;
    this.sent = [];
  }

  // open takes up stored edits, if it can, then connects.
  async open() {
    const rec = await this.stored.adopt();
    if (rec) {
      this.client.restore(rec);
      this.base = rec.text;
      this.text = apply(rec.out.op, rec.text);
      if (rec.buf) this.text = apply(rec.buf.op, this.text);
    }
    this.connect();
    return rec;
  }

  connect() {
    this.conn = this.server.connect();
    this.server.receive(this.conn, this.client.joinMessage('Ada', '#d33'));
  }

  record() {
    const st = this.client.pendingState();
    return st && { ...st, text: this.base };
  }

  // deliver hands every message the server sent to the page; it returns
  // the writes the page started (awaited by settle()).
  async deliver(max = Infinity) {
    for (let n = 0; n < max && this.conn.toClient.length > 0; n++) {
      const msg = this.conn.toClient.shift();
      switch (msg.type) {
        case 'snapshot':
          this.client.applySnapshot(msg);
          this.text = msg.text;
          this.base = msg.text;
          break;
        case 'op': {
          this.base = apply(msg.op, this.base);
          const op = this.client.applyServer(msg);
          if (op !== null) this.text = apply(op, this.text);
          break;
        }
        case 'ack': {
          this.base = apply(this.client.outstanding.op, this.base);
          const next = this.client.serverAck(msg);
          await this.stored.save(this.record());
          if (next) await this.send(next);
          break;
        }
        case 'joined': {
          const toSend = this.client.applyJoined(msg);
          await this.stored.own(this.client.secret);
          await this.stored.save(this.record());
          for (const m of toSend) await this.send(m);
          break;
        }
        default:
          break;
      }
    }
  }

  // type makes a local edit: insert s at the end.
  async type(s) {
    const op = this.text.length > 0 ? [this.text.length, s] : [s];
    this.text = apply(op, this.text);
    const msg = this.client.applyLocal(op);
    await this.stored.save(this.record());
    if (msg) await this.send(msg);
  }

  // send: write-ahead, then (if the connection is up) the server gets it.
  async send(msg, { crashAfterStore = false } = {}) {
    const write = this.stored.beforeSend(msg.seq, this.record());
    if (write) await write;
    if (crashAfterStore) throw new Crash();
    this.sent.push(msg);
    if (this.conn?.open) this.server.receive(this.conn, msg);
  }

  disconnect() {
    this.server.close(this.conn, 1006);
    this.client.closed(1006);
  }

  // crash ends the page: nothing more is sent or stored, its locks go.
  crash() {
    if (this.conn?.open) this.server.close(this.conn, 1006);
    this.locks.release(this);
  }
}

class Crash extends Error {}

async function onlinePage(server, db, locks) {
  const p = new Page(server, db, locks);
  await p.open();
  await p.deliver();
  return p;
}

const seqsOf = (server) => server.log.map((e) => e.seq);

describe('stored edits', () => {
  it('survive a crash while offline and are sent once by the next page', async () => {
    const server = new SimServer('Hello');
    const db = new FakeDB();
    const locks = new FakeLocks();
    const a = await onlinePage(server, db, locks);
    a.disconnect();
    await a.type(', world');
    await a.type('!');
    assert.equal(a.stored.stored, 2);
    a.crash();

    const b = new Page(server, db, locks);
    const rec = await b.open();
    assert.ok(rec, 'the next page takes up the edits');
    assert.equal(b.text, 'Hello, world!');
    assert.equal(b.client.pending(), 2);
    await b.deliver();
    await b.deliver();
    assert.equal(server.text, 'Hello, world!');
    assert.equal(b.text, server.text);
    assert.equal(b.client.pending(), 0);
    assert.deepEqual(seqsOf(server), [1, 2]);
    assert.equal(db.records.size, 0, 'nothing is left once the server has the edits');
  });

  it('a crash between storing and sending: the op is sent by the next page, once', async () => {
    const server = new SimServer('abc');
    const db = new FakeDB();
    const locks = new FakeLocks();
    const a = await onlinePage(server, db, locks);
    const op = [3, 'd'];
    a.text = apply(op, a.text);
    const msg = a.client.applyLocal(op);
    await assert.rejects(a.send(msg, { crashAfterStore: true }), Crash);
    a.crash();
    assert.equal(server.rev, 0);

    const b = new Page(server, db, locks);
    const rec = await b.open();
    assert.equal(rec.out.seq, 1, 'the stored op has the seq it was to be sent with');
    await b.deliver();
    await b.deliver();
    assert.equal(server.text, 'abcd');
    assert.deepEqual(seqsOf(server), [1]);
  });

  it('a crash after sending, before the ack: the server has the op and does not apply it again', async () => {
    const server = new SimServer('abc');
    const db = new FakeDB();
    const locks = new FakeLocks();
    const a = await onlinePage(server, db, locks);
    await a.type('d'); // sent and applied; the ack is never read
    assert.equal(server.text, 'abcd');
    await a.type('e'); // buffered behind the op in flight
    a.crash();

    // Someone else edits meanwhile.
    const c = await onlinePage(server, new FakeDB(), new FakeLocks());
    c.text = apply(['X', 4], c.text);
    await c.send(c.client.applyLocal(['X', 4]));

    const b = new Page(server, db, locks);
    await b.open();
    assert.equal(b.text, 'abcde');
    for (let i = 0; i < 3; i++) await b.deliver();
    assert.equal(server.text, 'Xabcde');
    assert.equal(b.text, server.text);
    const mine = server.log.filter((e) => e.client === server.log[0].client).map((e) => e.seq);
    assert.deepEqual(mine, [1, 2], 'each seq applied once');
  });

  it('a crash right after an ack, with the next op stored before it went out', async () => {
    const server = new SimServer('');
    const db = new FakeDB();
    const locks = new FakeLocks();
    const a = await onlinePage(server, db, locks);
    await a.type('one');
    await a.type(' two'); // buffered
    // The ack of "one" arrives; " two" becomes the op in flight with seq 2
    // and is stored (write-ahead) before it is sent; its ack is never read:
    // the tab dies.
    await a.deliver(1);
    assert.equal(server.text, 'one two');
    a.crash();

    const b = new Page(server, db, locks);
    const rec = await b.open();
    assert.equal(rec.out.seq, 2);
    assert.equal(b.text, 'one two');
    for (let i = 0; i < 3; i++) await b.deliver();
    assert.equal(server.text, 'one two');
    assert.deepEqual(seqsOf(server), [1, 2]);
  });

  it('two tabs opening the document: only one takes up the edits', async () => {
    const server = new SimServer('x');
    const db = new FakeDB();
    const locks = new FakeLocks();
    const a = await onlinePage(server, db, locks);
    a.disconnect();
    await a.type('y');
    a.crash();

    const b = new Page(server, db, locks);
    const c = new Page(server, db, locks);
    const [rb, rc] = await Promise.all([b.stored.adopt(), c.stored.adopt()]);
    assert.equal([rb, rc].filter(Boolean).length, 1, 'exactly one tab has the edits');
    const winner = rb ? b : c;
    winner.client.restore(rb ?? rc);
    winner.base = (rb ?? rc).text;
    winner.text = apply((rb ?? rc).out.op, winner.base);
    winner.connect();
    const loser = rb ? c : b;
    loser.connect();
    for (let i = 0; i < 3; i++) {
      await winner.deliver();
      await loser.deliver();
    }
    assert.equal(server.text, 'xy');
    assert.equal(server.log.length, 1);
  });

  it('a live tab keeps its edits: another tab of the document does not take them', async () => {
    const server = new SimServer('x');
    const db = new FakeDB();
    const locks = new FakeLocks();
    const a = await onlinePage(server, db, locks);
    a.disconnect();
    await a.type('y');
    const b = new Page(server, db, locks);
    assert.equal(await b.stored.adopt(), null);
    assert.equal(db.records.size, 1);
    // A reconnects and sends them itself.
    a.connect();
    for (let i = 0; i < 3; i++) await a.deliver();
    assert.equal(server.text, 'xy');
    assert.equal(db.records.size, 0);
  });

  it('stores before sending only an op with a new seq, and coalesces writes', async () => {
    const db = new FakeDB();
    const s = new StoredEdits({ db, locks: new FakeLocks().for({}), doc: DOC });
    assert.equal(s.beforeSend(1, null), null, 'no identity yet: nothing to store');
    assert.equal(await s.own('secret-1'), true);
    const state = (seq, n) => ({ rev: 0, client: 'me', text: '', out: { op: ['a'], seq, edits: n }, buf: null });
    const w = s.beforeSend(1, state(1, 1));
    assert.ok(w instanceof Promise);
    await w;
    assert.equal(s.beforeSend(1, state(1, 1)), null, 'seq 1 is known');
    const saves = [s.save(state(null, 2)), s.save(state(null, 3)), s.save(state(null, 4))];
    await Promise.all(saves);
    assert.ok(db.writes <= 3, `writes coalesced (${db.writes})`);
    assert.equal([...db.records.values()][0].out.edits, 4, 'the latest state wins');
    await s.save(null);
    assert.equal(db.records.size, 0);
  });

  it('without a working database, edits are sent anyway', async () => {
    const db = new FakeDB();
    const s = new StoredEdits({ db, locks: new FakeLocks().for({}), doc: DOC });
    await s.own('secret-1');
    db.failing = true;
    const origWarn = console.warn;
    console.warn = () => {};
    try {
      await s.save({ rev: 0, client: 'me', text: '', out: { op: ['a'], seq: 1, edits: 1 }, buf: null });
    } finally {
      console.warn = origWarn;
    }
    assert.equal(s.failed, true);
    assert.equal(s.beforeSend(5, null), null);
    assert.equal(await s.adopt(), null);
  });

  it('ignores records it cannot use', async () => {
    const db = new FakeDB();
    db.records.set('bad', { id: 'bad', doc: DOC, secret: 's', text: 'x', rev: -1, out: { op: ['a'], seq: 1 } });
    const s = new StoredEdits({ db, locks: new FakeLocks().for({}), doc: DOC });
    assert.equal(await s.adopt(), null);
  });
});

describe('stored edits, lazily', () => {
  it('reads a state given as a function when the write starts', async () => {
    const db = new FakeDB();
    const s = new StoredEdits({ db, locks: new FakeLocks().for({}), doc: DOC });
    await s.own('secret-1');
    let reads = 0;
    let edits = 1;
    const state = () => {
      reads++;
      return { rev: 0, client: 'me', text: 'x'.repeat(1000), out: { op: [1000, 'a'], seq: null, edits }, buf: null };
    };
    const writes = [];
    for (; edits <= 20; edits++) writes.push(s.save(state));
    await Promise.all(writes);
    assert.ok(reads < 20, `the text was copied ${reads} times for 20 edits`);
    assert.equal([...db.records.values()][0].out.edits, 21);
  });
});

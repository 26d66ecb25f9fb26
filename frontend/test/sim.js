// A simulated Tandem server and network for the client tests. The server
// follows the algorithm of the protocol: de-duplication by (client, seq)
// first, then the revision check, then transform against every op applied
// since the op's base revision, apply, log, acknowledge, broadcast. It
// issues identities as the real server does: a join without a secret gets a
// new random secret, and the public id is derived from the secret (an HMAC
// under a key of this server), so a rejoin with the secret is known again.
// The network is a pair of FIFO queues per connection, delivered in
// whatever order the test chooses; closing a connection loses what is in
// them.

import { createHmac, randomBytes } from 'node:crypto';

import { Client } from '../src/client.js';
import { apply, normalize, transform } from '../src/ot.js';

const SECRET_RE = /^[A-Za-z0-9_-]{22}$/;

// publicId derives a client's public id from its secret.
export function publicId(key, secret) {
  return `p-${createHmac('sha256', key).update(secret).digest('base64url').slice(0, 16)}`;
}

export class SimServer {
  constructor(text = '') {
    this.key = randomBytes(32);
    this.issued = 0; // secrets issued
    this.text = text;
    this.log = []; // revision i+1 is log[i]: {op, client, seq}
    this.highest = new Map(); // client id → highest seq applied
    this.conns = new Set();
  }

  get rev() {
    return this.log.length;
  }

  // connect opens a connection; with view set it may not edit (as through
  // a view link).
  connect({ view = false } = {}) {
    const conn = { toServer: [], toClient: [], open: true, client: null, closeCode: null, view };
    this.conns.add(conn);
    return conn;
  }

  close(conn, code) {
    conn.open = false;
    conn.closeCode = code;
    conn.toServer.length = 0;
    this.conns.delete(conn);
  }

  // receive handles one message from conn.
  receive(conn, msg) {
    if (msg.type === 'join') return this.#join(conn, msg);
    if (msg.type === 'op') return this.#op(conn, msg);
    if (msg.type === 'presence') return undefined;
    throw new Error(`unexpected message type ${msg.type}`);
  }

  #send(conn, msg) {
    if (conn.open) conn.toClient.push(structuredClone(msg));
  }

  #join(conn, msg) {
    if (msg.client !== undefined || (msg.secret !== undefined && !SECRET_RE.test(msg.secret))) {
      this.#send(conn, { type: 'error', code: 'bad_client' });
      return;
    }
    let secret = msg.secret;
    if (secret === undefined) {
      secret = randomBytes(16).toString('base64url'); // 22 characters
      this.issued++;
    }
    conn.client = publicId(this.key, secret);
    if (msg.rev === undefined || msg.rev > this.rev) {
      this.#send(conn, { type: 'snapshot', rev: this.rev, text: this.text });
    } else {
      this.log.slice(msg.rev).forEach((e, i) => {
        this.#send(conn, { type: 'op', rev: msg.rev + i + 1, op: e.op, client: e.client, seq: e.seq });
      });
    }
    const joined = { type: 'joined', rev: this.rev, seq: this.highest.get(conn.client) ?? 0, client: conn.client, secret, peers: [] };
    if (conn.view) joined.view = true;
    this.#send(conn, joined);
  }

  #refuse(conn, code, seq, close = 4000) {
    this.#send(conn, { type: 'error', code, seq });
    this.close(conn, close);
  }

  #op(conn, msg) {
    if (conn.view) return this.#refuse(conn, 'forbidden', msg.seq, 4003);
    const highest = this.highest.get(conn.client) ?? 0;
    if (msg.seq <= highest) {
      const i = this.log.findIndex((e) => e.client === conn.client && e.seq === msg.seq);
      this.#send(conn, { type: 'ack', seq: msg.seq, rev: i + 1 });
      return;
    }
    if (msg.seq !== highest + 1) return this.#refuse(conn, 'bad_seq', msg.seq);
    if (!(msg.rev >= 0 && msg.rev <= this.rev)) return this.#refuse(conn, 'bad_rev', msg.seq);
    let op;
    try {
      op = normalize(msg.op);
      for (const e of this.log.slice(msg.rev)) op = transform(op, e.op)[0];
      this.text = apply(op, this.text);
    } catch {
      return this.#refuse(conn, 'bad_op', msg.seq);
    }
    this.log.push({ op, client: conn.client, seq: msg.seq });
    this.highest.set(conn.client, msg.seq);
    this.#send(conn, { type: 'ack', seq: msg.seq, rev: this.rev });
    for (const other of this.conns) {
      if (other !== conn && other.client !== null) {
        this.#send(other, { type: 'op', rev: this.rev, op, client: conn.client, seq: msg.seq });
      }
    }
  }
}

// SimClient is the app's glue around Client: it holds the text (as the
// editor would), sends what Client returns and applies what it returns.
// label names it in test messages (its id comes from the server).
export class SimClient {
  constructor(server, label) {
    this.server = server;
    this.label = label;
    this.client = new Client();
    this.text = '';
    this.conn = null;
    this.closes = [];
    // What the run exercised: ops resent after a reconnect, own ops seen in
    // a catch-up (acting as acks).
    this.resent = 0;
    this.catchUpAcks = 0;
  }

  connect() {
    this.conn = this.server.connect();
    this.#send(this.client.joinMessage('name', '#123'));
  }

  disconnect() {
    if (this.conn === null) return;
    this.server.close(this.conn, 1001);
    this.conn = null;
    this.client.disconnected();
  }

  hasDoc() {
    return this.client.rev !== null;
  }

  edit(op) {
    this.text = apply(op, this.text);
    this.#send(this.client.applyLocal(op));
  }

  #send(msg) {
    if (msg && this.conn?.open) this.conn.toServer.push(structuredClone(msg));
  }

  // deliver hands the client the next message queued for it; false when
  // there was none.
  deliver() {
    if (this.conn === null) return false;
    if (!this.conn.open) {
      if (this.conn.toClient.length === 0) {
        // The socket closed and its last messages were read: react to the
        // close code as the app does.
        this.closes.push(this.conn.closeCode);
        this.client.closed(this.conn.closeCode);
        this.conn = null;
        return true;
      }
    }
    const msg = this.conn.toClient.shift();
    if (msg === undefined) return false;
    switch (msg.type) {
      case 'snapshot':
        this.client.applySnapshot(msg);
        this.text = msg.text;
        break;
      case 'op': {
        const op = this.client.applyServer(msg);
        if (op !== null) this.text = apply(op, this.text);
        else this.catchUpAcks++;
        break;
      }
      case 'ack':
        this.#send(this.client.serverAck(msg));
        break;
      case 'joined':
        for (const m of this.client.applyJoined(msg)) {
          this.resent++;
          this.#send(m);
        }
        break;
      case 'error':
        break;
      default:
        throw new Error(`unexpected message type ${msg.type}`);
    }
    return true;
  }

  // deliverToServer hands the server the next message from this client.
  deliverToServer() {
    if (this.conn === null || !this.conn.open) return false;
    const msg = this.conn.toServer.shift();
    if (msg === undefined) return false;
    this.server.receive(this.conn, msg);
    return true;
  }
}

// mulberry32 is a small seeded PRNG, so a failing run can be replayed.
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALPHABET = ['a', 'b', 'c', ' ', '\n', 'é', '中', '😀'];

// randomOp makes a random edit on text: one or two changes, each an insert,
// a delete or a replacement, never cutting a surrogate pair.
export function randomOp(rand, text) {
  const int = (n) => Math.floor(rand() * n);
  const boundary = (p) => (p > 0 && p < text.length && /[\udc00-\udfff]/.test(text[p]) ? p - 1 : p);
  const cuts = [boundary(int(text.length + 1)), boundary(int(text.length + 1))].sort((x, y) => x - y);
  let [from, to] = cuts;
  if (rand() < 0.5) to = from; // a pure insert
  let ins = '';
  const n = to === from || rand() < 0.5 ? 1 + int(4) : 0;
  for (let i = 0; i < n; i++) ins += ALPHABET[int(ALPHABET.length)];
  const op = [];
  if (from > 0) op.push(from);
  if (ins) op.push(ins);
  if (to > from) op.push(from - to);
  if (text.length > to) op.push(text.length - to);
  return normalize(op);
}

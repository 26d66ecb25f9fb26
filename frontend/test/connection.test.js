// The page's connection (connection.js): the heartbeat notices a silently
// dead socket, a socket that never opens is given up, "reconnect now"
// does not wait for the backoff. Time and the WebSocket are fakes that the
// test drives.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { CONNECT_TIMEOUT, Connection, PING_AFTER, PONG_TIMEOUT } from '../src/connection.js';

// Clock runs timers in order as the test moves time on.
class Clock {
  constructor() {
    this.t = 0;
    this.timers = new Map();
    this.next = 1;
  }
  setTimeout(fn, ms) {
    const id = this.next++;
    this.timers.set(id, { at: this.t + ms, fn, every: 0 });
    return id;
  }
  setInterval(fn, ms) {
    const id = this.next++;
    this.timers.set(id, { at: this.t + ms, fn, every: ms });
    return id;
  }
  clear(id) {
    this.timers.delete(id);
  }
  advance(ms) {
    const end = this.t + ms;
    for (let guard = 0; guard < 100_000; guard++) {
      let first = null;
      for (const [id, tm] of this.timers) if (tm.at <= end && (first === null || tm.at < first[1].at)) first = [id, tm];
      if (first === null) break;
      const [id, tm] = first;
      this.t = tm.at;
      if (tm.every) tm.at += tm.every;
      else this.timers.delete(id);
      tm.fn();
    }
    this.t = end;
  }
}

function setup() {
  const clock = new Clock();
  const sockets = [];
  class FakeSocket {
    constructor(url) {
      this.url = url;
      this.readyState = 0;
      this.sent = [];
      sockets.push(this);
    }
    send(data) {
      this.sent.push(JSON.parse(data));
    }
    close() {
      this.readyState = 3;
    }
    open() {
      this.readyState = 1;
      this.onopen?.();
    }
    receive(msg) {
      this.onmessage?.({ data: JSON.stringify(msg) });
    }
  }
  const closes = [];
  const messages = [];
  const env = {
    WebSocket: FakeSocket,
    now: () => clock.t,
    setTimeout: (f, ms) => clock.setTimeout(f, ms),
    clearTimeout: (id) => clock.clear(id),
    setInterval: (f, ms) => clock.setInterval(f, ms),
    clearInterval: (id) => clock.clear(id),
    random: () => 0.5,
  };
  const conn = new Connection(
    {
      url: () => 'ws://test/ws',
      hello: () => ({ type: 'join' }),
      onMessage: (m) => messages.push(m),
      onClose: (code) => closes.push(code),
    },
    env,
  );
  return { clock, sockets, conn, closes, messages };
}

const pings = (sock) => sock.sent.filter((m) => m.type === 'ping').length;

describe('Connection', () => {
  it('sends the join first, then pings while nothing arrives', () => {
    const { clock, sockets, conn } = setup();
    conn.connect();
    sockets[0].open();
    assert.deepEqual(sockets[0].sent, [{ type: 'join' }]);
    clock.advance(PING_AFTER - 1000);
    assert.equal(pings(sockets[0]), 0);
    clock.advance(1000);
    assert.equal(pings(sockets[0]), 1);
  });

  it('a pong keeps the connection; messages keep it quiet', () => {
    const { clock, sockets, conn, closes, messages } = setup();
    conn.connect();
    sockets[0].open();
    for (let i = 0; i < 10; i++) {
      clock.advance(PING_AFTER);
      sockets[0].receive({ type: 'pong' });
    }
    assert.deepEqual(closes, []);
    assert.deepEqual(messages, [], 'pongs are not passed on');
    const before = pings(sockets[0]);
    for (let i = 0; i < 20; i++) {
      clock.advance(1000);
      sockets[0].receive({ type: 'presence' });
    }
    assert.equal(pings(sockets[0]), before, 'no ping while messages arrive');
  });

  it('an idle connection that stopped answering is dropped within ping + pong time', () => {
    const { clock, sockets, conn, closes } = setup();
    conn.connect();
    sockets[0].open();
    clock.advance(PING_AFTER + PONG_TIMEOUT - 1000);
    assert.deepEqual(closes, []);
    clock.advance(1000 + 1000);
    assert.deepEqual(closes, [1006]);
    assert.equal(conn.silent, true);
    assert.ok(PING_AFTER + PONG_TIMEOUT + 1000 <= 30_000, 'noticed within 30 s');
    // Its late close does not count twice.
    sockets[0].onclose?.({ code: 1006 });
    assert.deepEqual(closes, [1006]);
  });

  it('a socket that never opens is given up', () => {
    const { clock, sockets, conn, closes } = setup();
    conn.connect();
    clock.advance(CONNECT_TIMEOUT + 1000);
    assert.deepEqual(closes, [1006]);
    assert.equal(conn.silent, true);
    assert.equal(sockets.length, 1);
  });

  it('backs off, waits longer when asked to, and reconnects now on request', () => {
    const { clock, sockets, conn } = setup();
    conn.retry('backoff');
    assert.equal(conn.waiting(), 375); // 500 ms, half of it plus half of the jitter
    conn.retry('backoff');
    assert.equal(conn.waiting(), 750);
    conn.retry('wait');
    assert.ok(conn.waiting() >= 5000);
    clock.advance(1000);
    assert.equal(sockets.length, 0);
    conn.reconnectNow();
    assert.equal(sockets.length, 1);
    assert.equal(conn.waiting(), null);
    clock.advance(60_000);
    assert.equal(sockets.length, 1, 'the retry that was scheduled was cancelled');
    sockets[0].open();
    conn.joined();
    assert.equal(conn.attempts, 0);
  });

  it('stops for good', () => {
    const { clock, sockets, conn, closes } = setup();
    conn.connect();
    sockets[0].open();
    conn.stop();
    conn.retry('now');
    clock.advance(60_000);
    assert.equal(sockets.length, 1);
    assert.deepEqual(closes, []);
    assert.equal(pings(sockets[0]), 0);
  });
});

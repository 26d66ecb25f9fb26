// The client state machine: scripted cases for each state and transition,
// then a seeded random simulation of a server and several clients with
// random delivery order, disconnects, catch-up and resubmission.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';

import {
  AWAITING_CONFIRM,
  AWAITING_WITH_BUFFER,
  Client,
  ProtocolError,
  SYNCHRONIZED,
} from '../src/client.js';
import { STOP } from '../src/closecodes.js';
import { SimClient, SimServer, mulberry32, publicId, randomOp } from './sim.js';

const SECRET = 's3cretS3cretS3cretS3cr';

// joinedClient returns a client that has loaded "abc" at revision 5, whose
// server issued it the public id "me", and applied none of its ops.
function joinedClient() {
  const c = new Client();
  assert.deepEqual(c.joinMessage('Ada', '#d33'), { type: 'join', name: 'Ada', color: '#d33' });
  assert.equal(c.applySnapshot({ type: 'snapshot', rev: 5, text: 'abc' }), 0);
  assert.deepEqual(c.applyJoined({ type: 'joined', rev: 5, seq: 0, client: 'me', secret: SECRET, peers: [] }), []);
  return c;
}

describe('Client identity', () => {
  it('has no id before the server issues one, then keeps it and sends the secret in every join', () => {
    const c = new Client();
    assert.equal(c.id, null);
    assert.equal(c.joinMessage('Ada', '#d33').secret, undefined);
    c.applySnapshot({ type: 'snapshot', rev: 5, text: 'abc' });
    c.applyJoined({ type: 'joined', rev: 5, seq: 0, client: 'me', secret: SECRET, peers: [] });
    assert.equal(c.id, 'me');
    assert.equal(c.view, false);
    c.disconnected();
    assert.deepEqual(c.joinMessage('Ada', '#d33'), { type: 'join', name: 'Ada', color: '#d33', secret: SECRET, rev: 5 });
    // A joined without identity fields (as an older server sends) keeps it.
    c.applyJoined({ type: 'joined', rev: 5, seq: 0, peers: [] });
    assert.equal(c.id, 'me');
    c.resync();
    assert.deepEqual(c.joinMessage('Ada', '#d33'), { type: 'join', name: 'Ada', color: '#d33', secret: SECRET });
  });

  it('takes no op as its own before it has an id', () => {
    const c = new Client();
    c.applySnapshot({ type: 'snapshot', rev: 0, text: '' });
    assert.deepEqual(c.applyServer({ type: 'op', rev: 1, op: ['x'], client: null, seq: 1 }), ['x']);
  });

  it('keeps the identity when a joined is refused', () => {
    const c = joinedClient();
    c.applyLocal([3, 'd']);
    c.disconnected();
    c.joinMessage('Ada', '#d33');
    assert.throws(() => c.applyJoined({ type: 'joined', rev: 5, seq: 1, client: 'other', secret: 'x', peers: [] }), ProtocolError);
    assert.equal(c.id, 'me');
    assert.equal(c.secret, SECRET);
  });

  it('records that a connection is view only', () => {
    const c = new Client();
    c.applySnapshot({ type: 'snapshot', rev: 1, text: 'a' });
    c.applyJoined({ type: 'joined', rev: 1, seq: 0, client: 'v', secret: SECRET, peers: [], view: true });
    assert.equal(c.view, true);
  });
});

describe('Client states', () => {
  it('starts synchronized and sends the first edit at once', () => {
    const c = joinedClient();
    assert.equal(c.state, SYNCHRONIZED);
    assert.deepEqual(c.applyLocal([3, 'd']), { type: 'op', rev: 5, seq: 1, op: [3, 'd'] });
    assert.equal(c.state, AWAITING_CONFIRM);
    assert.equal(c.pending(), 1);
  });

  it('ignores a no-op edit', () => {
    const c = joinedClient();
    assert.equal(c.applyLocal([3]), null);
    assert.equal(c.state, SYNCHRONIZED);
  });

  it('composes edits typed while an op is in flight into one buffer', () => {
    const c = joinedClient();
    c.applyLocal([3, 'd']);
    assert.equal(c.applyLocal([4, 'e']), null);
    assert.equal(c.state, AWAITING_WITH_BUFFER);
    assert.equal(c.applyLocal([5, 'f']), null);
    assert.deepEqual(c.buffer.op, [4, 'ef']);
    assert.equal(c.pending(), 3);
  });

  it('sends the buffer when the op in flight is acknowledged', () => {
    const c = joinedClient();
    c.applyLocal([3, 'd']);
    c.applyLocal([4, 'e']);
    c.applyLocal([5, 'f']);
    assert.deepEqual(c.serverAck({ type: 'ack', seq: 1, rev: 6 }), { type: 'op', rev: 6, seq: 2, op: [4, 'ef'] });
    assert.equal(c.state, AWAITING_CONFIRM);
    assert.equal(c.pending(), 2);
    assert.equal(c.serverAck({ type: 'ack', seq: 2, rev: 7 }), null);
    assert.equal(c.state, SYNCHRONIZED);
    assert.equal(c.rev, 7);
    assert.equal(c.pending(), 0);
  });

  it('applies a server op directly while synchronized', () => {
    const c = joinedClient();
    assert.deepEqual(c.applyServer({ type: 'op', rev: 6, op: ['X', 3], client: 'bo', seq: 1 }), ['X', 3]);
    assert.equal(c.rev, 6);
  });

  it('transforms a server op against the op in flight and the buffer', () => {
    const c = joinedClient(); // "abc"
    c.applyLocal([1, 'X', 2]); // aXbc, in flight
    c.applyLocal([4, 'Y']); // aXbcY, buffered
    // Another client inserted Z at 1 concurrently and the server applied it
    // first; our op arrives later and lands left of it on the server
    // (transform(incoming, applied)), so Z goes right of X here too.
    const op = c.applyServer({ type: 'op', rev: 6, op: [1, 'Z', 2], client: 'bo', seq: 1 });
    assert.deepEqual(op, [2, 'Z', 3]); // aXZbcY
    assert.deepEqual(c.outstanding.op, [1, 'X', 3]);
    assert.deepEqual(c.buffer.op, [5, 'Y']);
    assert.equal(c.outstanding.seq, 1); // kept for a resend after a reconnect
  });

  it('refuses a gap in revisions', () => {
    const c = joinedClient();
    assert.throws(() => c.applyServer({ type: 'op', rev: 7, op: [3], client: 'bo', seq: 1 }), ProtocolError);
    c.applyLocal([3, 'd']);
    assert.throws(() => c.serverAck({ type: 'ack', seq: 1, rev: 9 }), ProtocolError);
  });

  it('refuses an ack for an op not in flight', () => {
    const c = joinedClient();
    assert.throws(() => c.serverAck({ type: 'ack', seq: 1, rev: 6 }), ProtocolError);
    c.applyLocal([3, 'd']);
    assert.throws(() => c.serverAck({ type: 'ack', seq: 2, rev: 6 }), ProtocolError);
  });

  it('refuses a local edit before it has a document', () => {
    const c = new Client();
    assert.throws(() => c.applyLocal(['a']), ProtocolError);
  });
});

describe('Client presence', () => {
  it('sends presence only while synchronized and connected', () => {
    const c = joinedClient();
    assert.deepEqual(c.presenceMessage([[1, 2]]), { type: 'presence', rev: 5, sel: [[1, 2]] });
    c.applyLocal([3, 'd']);
    assert.equal(c.presenceMessage([[4, 4]]), null);
    c.serverAck({ type: 'ack', seq: 1, rev: 6 });
    assert.deepEqual(c.presenceMessage([[4, 4]]), { type: 'presence', rev: 6, sel: [[4, 4]] });
    c.disconnected();
    assert.equal(c.presenceMessage([[4, 4]]), null);
  });

  it('brings a peer selection through pending ops to the local text', () => {
    const c = joinedClient(); // "abc"
    c.applyLocal(['XY', 3]); // XYabc in flight
    c.applyLocal([5, '!']); // buffered
    assert.deepEqual(c.transformPresence(5, [[0, 0], [1, 3]]), [[2, 2], [3, 6]]); // 5 is where "!" goes: it moves after it
    assert.equal(c.transformPresence(4, [[0, 0]]), null);
  });
});

describe('Client reconnect', () => {
  it('joins with its revision and resends the op in flight with its seq at the new revision', () => {
    const c = joinedClient();
    c.applyLocal([3, 'd']);
    c.disconnected();
    assert.equal(c.applyLocal([4, 'e']), null); // offline edits are kept
    assert.deepEqual(c.joinMessage('Ada', '#d33'), {
      type: 'join',
      name: 'Ada',
      color: '#d33',
      secret: SECRET,
      rev: 5,
    });
    // A peer's op arrives in the catch-up; ours did not land.
    assert.deepEqual(c.applyServer({ type: 'op', rev: 6, op: ['Z', 3], client: 'bo', seq: 4 }), ['Z', 5]);
    assert.deepEqual(c.applyJoined({ type: 'joined', rev: 6, seq: 0, peers: [] }), [
      { type: 'op', rev: 6, seq: 1, op: [4, 'd'] },
    ]);
    assert.deepEqual(c.serverAck({ type: 'ack', seq: 1, rev: 7 }), { type: 'op', rev: 7, seq: 2, op: [5, 'e'] });
  });

  it('takes its own op in the catch-up as the ack and sends the buffer after joined', () => {
    const c = joinedClient(); // "abc"
    c.applyLocal([3, 'd']); // seq 1
    c.applyLocal([4, 'e']); // buffered
    c.disconnected();
    c.joinMessage('Ada', '#d33');
    assert.equal(c.applyServer({ type: 'op', rev: 6, op: ['Z', 3], client: 'bo', seq: 1 }).length, 2);
    assert.equal(c.applyServer({ type: 'op', rev: 7, op: [4, 'd'], client: 'me', seq: 1 }), null);
    assert.equal(c.state, AWAITING_CONFIRM); // the buffer is now in flight...
    assert.deepEqual(c.applyJoined({ type: 'joined', rev: 7, seq: 1, peers: [] }), [
      { type: 'op', rev: 7, seq: 2, op: [5, 'e'] }, // ...and sent only after joined
    ]);
  });

  it('starts over after a resync and reuses the refused seq', () => {
    const c = joinedClient();
    c.applyLocal([3, 'd']);
    c.applyLocal([4, 'e']);
    assert.equal(c.resync(), 2);
    const join = c.joinMessage('Ada', '#d33');
    assert.equal(join.rev, undefined);
    c.applySnapshot({ type: 'snapshot', rev: 9, text: 'xyz' });
    assert.deepEqual(c.applyJoined({ type: 'joined', rev: 9, seq: 0, peers: [] }), []);
    assert.deepEqual(c.applyLocal(['q', 3]), { type: 'op', rev: 9, seq: 1, op: ['q', 3] });
  });

  it('drops pending edits when the server answers a rejoin with a snapshot', () => {
    const c = joinedClient();
    c.applyLocal([3, 'd']);
    c.disconnected();
    c.joinMessage('Ada', '#d33');
    assert.equal(c.applySnapshot({ type: 'snapshot', rev: 2, text: 'ab' }), 1);
    assert.equal(c.state, SYNCHRONIZED);
    assert.deepEqual(c.applyJoined({ type: 'joined', rev: 2, seq: 3, peers: [] }), []);
    assert.equal(c.applyLocal([2, '!']).seq, 4);
  });

  it('refuses a joined that disagrees with the catch-up', () => {
    const c = joinedClient();
    c.disconnected();
    c.joinMessage('Ada', '#d33');
    assert.throws(() => c.applyJoined({ type: 'joined', rev: 6, seq: 0, peers: [] }), ProtocolError);
    const d = joinedClient();
    d.applyLocal([3, 'd']);
    d.disconnected();
    d.joinMessage('Ada', '#d33');
    // The server says seq 1 landed, but no catch-up op told us where.
    assert.throws(() => d.applyJoined({ type: 'joined', rev: 5, seq: 1, peers: [] }), ProtocolError);
  });
});

describe('simulated server and clients', () => {
  it('the server issues an identity on a first join and knows the client again by its secret', () => {
    const server = new SimServer('abc');
    const a = new SimClient(server, 'a');
    a.connect();
    a.deliverToServer();
    while (a.deliver());
    const id = a.client.id;
    assert.equal(server.issued, 1);
    assert.match(a.client.secret, /^[A-Za-z0-9_-]{22}$/);
    assert.equal(id, publicId(server.key, a.client.secret));
    a.edit([3, 'd']);
    a.deliverToServer();
    a.disconnect();
    a.connect();
    a.deliverToServer();
    while (a.deliver());
    assert.equal(server.issued, 1);
    assert.equal(a.client.id, id);
    assert.equal(a.catchUpAcks, 1); // its op came back in the catch-up as its ack
    assert.equal(a.resent, 0);
  });

  it('refuses a join that names a client or carries a malformed secret', () => {
    const server = new SimServer('abc');
    for (const join of [
      { type: 'join', client: 'me', name: 'x', color: '#123' },
      { type: 'join', secret: 'short', name: 'x', color: '#123' },
    ]) {
      const conn = server.connect();
      server.receive(conn, join);
      assert.deepEqual(conn.toClient, [{ type: 'error', code: 'bad_client' }]);
      assert.equal(conn.open, true);
    }
  });

  it('a viewer is told so in joined and its op is refused with forbidden (stop)', () => {
    const server = new SimServer('abc');
    const v = new SimClient(server, 'v');
    v.conn = server.connect({ view: true });
    v.conn.toServer.push(v.client.joinMessage('Vi', '#123'));
    v.deliverToServer();
    while (v.deliver());
    assert.equal(v.client.view, true);
    v.edit([3, 'd']);
    v.deliverToServer();
    while (v.deliver());
    assert.equal(server.text, 'abc');
    assert.deepEqual(v.closes, [4003]);
    assert.equal(v.client.closed(4003).action, STOP);
  });

  it('two clients typing at the same place: the later op lands left', () => {
    const server = new SimServer('abc');
    const a = new SimClient(server, 'a');
    const b = new SimClient(server, 'b');
    for (const c of [a, b]) {
      c.connect();
      c.deliverToServer();
      while (c.deliver());
    }
    a.edit([1, 'X', 2]);
    b.edit([1, 'Y', 2]);
    a.deliverToServer();
    b.deliverToServer();
    while (a.deliver() || b.deliver());
    assert.equal(server.text, 'aYXbc');
    assert.equal(a.text, 'aYXbc');
    assert.equal(b.text, 'aYXbc');
  });

  // One run: random local edits, random delivery order, random network
  // drops; then everyone reconnects and the network drains.
  function simulate(seed, nClients, steps) {
    const rand = mulberry32(seed);
    const int = (n) => Math.floor(rand() * n);
    const server = new SimServer('start\n');
    const clients = Array.from({ length: nClients }, (_, i) => new SimClient(server, `c${i}`));
    for (const c of clients) c.connect();
    let edits = 0;
    for (let step = 0; step < steps; step++) {
      const c = clients[int(clients.length)];
      const r = rand();
      if (r < 0.25) {
        if (c.hasDoc()) {
          c.edit(randomOp(rand, c.text));
          edits++;
        }
      } else if (r < 0.55) {
        c.deliverToServer();
      } else if (r < 0.9) {
        c.deliver();
      } else if (r < 0.95) {
        c.disconnect();
      } else if (c.conn === null) {
        c.connect();
      }
    }
    // Quiesce: everyone online, every queue drained (bounded).
    for (let round = 0; round < 100_000; round++) {
      let moved = false;
      for (const c of clients) {
        if (c.conn === null) {
          c.connect();
          moved = true;
        }
        moved = c.deliverToServer() || moved;
        moved = c.deliver() || moved;
      }
      if (!moved) break;
    }
    return { server, clients, edits };
  }

  const seeds = Array.from({ length: 40 }, (_, i) => i + 1);
  const exercised = { resent: 0, catchUpAcks: 0 };
  after(() => {
    // The runs must have gone through the reconnect paths they are meant to test.
    assert.ok(exercised.resent > 10, `only ${exercised.resent} ops were resent after a reconnect`);
    assert.ok(exercised.catchUpAcks > 10, `only ${exercised.catchUpAcks} own ops were seen in a catch-up`);
  });
  for (const seed of seeds) {
    it(`converges with random delivery and reconnects (seed ${seed})`, () => {
      const nClients = 3 + (seed % 3);
      const { server, clients, edits } = simulate(seed, nClients, 3000);
      for (const c of clients) {
        exercised.resent += c.resent;
        exercised.catchUpAcks += c.catchUpAcks;
      }
      assert.ok(edits > 100, `seed ${seed}: only ${edits} edits were made`);
      assert.ok(server.rev > 20, `seed ${seed}: only ${server.rev} ops reached the server`);
      for (const c of clients) {
        assert.equal(c.client.state, SYNCHRONIZED, `seed ${seed}: ${c.label} is ${c.client.state}`);
        assert.equal(c.client.rev, server.rev, `seed ${seed}: ${c.label} at rev ${c.client.rev}`);
        assert.equal(c.text, server.text, `seed ${seed}: ${c.label} text differs from the server`);
        assert.deepEqual(c.closes.filter((code) => code !== 1001), [], `seed ${seed}: ${c.label} was refused`);
      }
      // Every (client, seq) applied exactly once, seqs 1..n with no gap.
      const seen = new Map();
      for (const e of server.log) {
        const want = (seen.get(e.client) ?? 0) + 1;
        assert.equal(e.seq, want, `seed ${seed}: ${e.client} seq ${e.seq} after ${want - 1}`);
        seen.set(e.client, e.seq);
      }
      for (const c of clients) {
        assert.equal(seen.get(c.client.id) ?? 0, c.client.nextSeq - 1, `seed ${seed}: ${c.label} seq count`);
        assert.equal(c.client.id, publicId(server.key, c.client.secret), `seed ${seed}: ${c.label}'s id is not derived from its secret`);
      }
      assert.equal(new Set(clients.map((c) => c.client.id)).size, clients.length, `seed ${seed}: two clients share an id`);
    });
  }
});

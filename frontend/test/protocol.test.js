// The protocol scripts in testdata/protocol, shared with the Go client
// (client/script_test.go), run against the browser's Client class. The
// format is in testdata/protocol/README.md.
//
// Client keeps no text and no selections: in the app the editor holds them
// (editor.js with CodeMirror). ScriptRun stands in for that glue, as
// test/sim.js does: it applies the ops Client returns to a string, maps the
// own and the peers' selections through them, and sends the own selection
// when Client allows presence (presenceMessage), holding it until then.

import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, it } from 'node:test';

import { Client, ProtocolError } from '../src/client.js';
import { RESYNC } from '../src/closecodes.js';
import { apply, transformSelection } from '../src/ot.js';

const dir = new URL('../../testdata/protocol/', import.meta.url);
const scripts = readdirSync(dir)
  .filter((f) => f.endsWith('.txt'))
  .sort()
  .map((name) => ({ name, src: readFileSync(new URL(name, dir), 'utf8') }));

const INPUTS = new Set(['connect', 'disconnect', 'close', 'edit', 'select', 'recv', 'refuse']);

class ScriptRun {
  constructor(name, color, options) {
    this.client = new Client(options);
    this.name = name;
    this.color = color;
    this.text = '';
    this.sent = []; // sent, not yet matched by the script
    this.remote = null; // the op the last received op applied locally
    this.lost = null; // what the last snapshot or resync dropped
    this.sel = []; // own selection, local positions
    this.selWanted = false; // own selection not yet sent
    this.peers = new Map(); // client → selection in local positions
  }

  send(msg) {
    if (msg) this.sent.push(JSON.parse(JSON.stringify(msg)));
  }

  // presence sends the own selection if it is wanted and allowed now.
  presence() {
    if (!this.selWanted) return;
    const msg = this.client.presenceMessage(this.sel);
    if (msg === null) return;
    this.selWanted = false;
    this.send(msg);
  }

  // moved maps every selection through an op applied to the local text.
  moved(op) {
    this.text = apply(op, this.text);
    this.sel = transformSelection(op, this.sel);
    for (const [id, sel] of this.peers) this.peers.set(id, transformSelection(op, sel));
  }

  receive(msg) {
    const c = this.client;
    switch (msg.type) {
      case 'snapshot': {
        const lost = c.pendingOp();
        c.applySnapshot(msg);
        this.lost = lost;
        this.text = msg.text;
        this.sel = this.sel.map(([a, h]) => [Math.min(a, this.text.length), Math.min(h, this.text.length)]);
        this.peers.clear();
        break;
      }
      case 'op': {
        const op = c.applyServer(msg);
        this.remote = op;
        if (op !== null) this.moved(op);
        break;
      }
      case 'ack':
        this.send(c.serverAck(msg));
        this.presence();
        break;
      case 'joined': {
        const toSend = c.applyJoined(msg);
        this.peers.clear();
        for (const p of msg.peers ?? []) {
          if (p.client !== c.id) this.peers.set(p.client, c.transformPresence(msg.rev, p.sel ?? []) ?? []);
        }
        for (const m of toSend) this.send(m);
        if (this.sel.length > 0) this.selWanted = true;
        this.presence();
        break;
      }
      case 'presence':
        if (msg.client !== c.id && Array.isArray(msg.sel)) this.peers.set(msg.client, c.transformPresence(msg.rev, msg.sel));
        break;
      case 'leave':
        this.peers.delete(msg.client);
        break;
      default:
        break;
    }
  }

  state() {
    return { text: this.text, rev: this.client.rev, state: this.client.state, seq: this.client.outstanding?.seq ?? null };
  }

  step(cmd, arg) {
    if (INPUTS.has(cmd) && this.sent.length > 0) {
      throw new Error(`the client sent ${JSON.stringify(this.sent[0])}, which the script does not expect`);
    }
    const c = this.client;
    switch (cmd) {
      case 'connect':
        this.send(c.joinMessage(this.name, this.color));
        return;
      case 'disconnect':
        c.disconnected();
        return;
      case 'close': {
        const [code, want] = arg.split(/\s+/);
        const lost = c.pendingOp();
        const { action } = c.closed(Number(code));
        this.lost = action === RESYNC ? lost : null;
        assert.equal(action, want, `close ${code}: got action ${action}, want ${want}`);
        return;
      }
      case 'edit': {
        const op = JSON.parse(arg);
        const msg = c.applyLocal(op);
        this.moved(op);
        this.send(msg);
        return;
      }
      case 'select':
        this.sel = JSON.parse(arg);
        this.selWanted = true;
        this.presence();
        return;
      case 'recv':
        this.receive(JSON.parse(arg));
        return;
      case 'refuse': {
        const before = this.state();
        assert.throws(() => this.receive(JSON.parse(arg)), ProtocolError);
        assert.deepEqual(this.state(), before, 'state changed by a refused message');
        return;
      }
      case 'send':
        assert.ok(this.sent.length > 0, 'got nothing sent');
        assert.deepEqual(this.sent.shift(), JSON.parse(arg));
        return;
      case 'text':
        assert.equal(this.text, JSON.parse(arg));
        return;
      case 'rev':
        assert.equal(c.rev, Number(arg));
        return;
      case 'state':
        assert.equal(c.state, arg);
        return;
      case 'remote':
        assert.deepEqual(this.remote, arg === 'none' ? null : JSON.parse(arg));
        return;
      case 'lost':
        assert.deepEqual(this.lost, arg === 'none' ? null : JSON.parse(arg));
        return;
      case 'peer': {
        const [id, ...rest] = arg.split(' ');
        const want = rest.join(' ');
        assert.deepEqual(this.peers.get(id) ?? null, want === 'none' ? null : JSON.parse(want), `peer ${id}`);
        return;
      }
      default:
        throw new Error(`unknown command ${cmd}`);
    }
  }
}

// runScript runs one script; it throws at the first line that does not hold.
function runScript(src, options = {}) {
  let run = null;
  src.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const sp = line.indexOf(' ');
    const cmd = sp < 0 ? line : line.slice(0, sp);
    const arg = sp < 0 ? '' : line.slice(sp + 1).trim();
    try {
      if (cmd === 'client') {
        const words = arg.split(/\s+/);
        if (words.length !== 2) throw new Error('want client NAME COLOR');
        const [name, color] = words;
        run = new ScriptRun(name, color, options);
      } else if (run === null) {
        throw new Error(`${cmd} before the client line`);
      } else {
        run.step(cmd, arg);
      }
    } catch (err) {
      err.message = `line ${i + 1}: ${line}: ${err.message}`;
      throw err;
    }
  });
  if (run.sent.length > 0) throw new Error(`at the end: the client sent ${JSON.stringify(run.sent[0])}, which the script does not expect`);
}

describe('protocol scripts (testdata/protocol)', () => {
  it('has at least 10 scripts', () => assert.ok(scripts.length >= 10, `${scripts.length} scripts`));
  for (const { name, src } of scripts) {
    it(name, () => runScript(src));
  }
});

describe('protocol scripts catch a wrong resend rule', () => {
  // Client's test-only resend option: 'fresh-seq' resends with a new seq,
  // 'old-rev' resends the op as first sent, at the revision first sent.
  for (const resend of ['fresh-seq', 'old-rev']) {
    it(`a client resending with ${resend} fails a script that passes with the protocol's rule`, () => {
      const caught = scripts.filter(({ src }) => {
        try {
          runScript(src);
        } catch {
          return false;
        }
        try {
          runScript(src, { resend });
          return false;
        } catch {
          return true;
        }
      });
      assert.ok(caught.length > 0, `every script passes with resend ${resend}`);
    });
  }
});

// The client side of Tandem's protocol: ot.js's three client states, plus
// what a reconnecting client needs (catch-up, resubmission, resync).
//
// The model: the server orders every edit and numbers the results (revision
// N is the N-th op applied). The client keeps at most one op in flight
// (outstanding) and composes whatever is typed meanwhile into one buffer:
//
//   Synchronized        no local edit unknown to the server
//   AwaitingConfirm     one op sent, not yet acknowledged
//   AwaitingWithBuffer  one op sent, more edits waiting behind it
//
// An op from another client was made without knowledge of our pending ops,
// so it is transformed against them (transform(pending, server)) before it is
// applied to our editor, and the pending ops are transformed over it.
//
// The class does no I/O and keeps no text: its caller feeds it what arrives
// on the socket and what the user typed, applies the ops it returns to the
// editor and sends the messages it returns. Methods throw a ProtocolError
// when the server says something that cannot be reconciled with our state;
// the caller then starts over with resync().
//
// The resubmission rule (docs/protocol.md, the same in the Go client): after
// a rejoin with a revision, catch-up ops are transformed against the pending
// edits; our own op in the catch-up, with the seq in flight, is its
// acknowledgement; once joined arrives, the op still in flight is sent again
// with the same seq, as transformed, at our current revision, and the buffer
// follows its ack with the next seq. An op gets its seq when first sent, so
// an op never sent is numbered after the joined message's seq.
//
// Identity: the client makes no id of its own. The server issues one in the
// first joined: a public id (client), which the server puts on our ops and
// by which we recognise them in a catch-up, and a secret, which we send in
// every later join so that the server knows us again (it derives the public
// id from the secret). Both live as long as the Client: one page load, one
// document.

import { RESYNC, closeAction } from './closecodes.js';
import { compose, isNoop, transform, transformSelection } from './ot.js';

export class ProtocolError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ProtocolError';
  }
}

export const SYNCHRONIZED = 'synchronized';
export const AWAITING_CONFIRM = 'awaiting-confirm';
export const AWAITING_WITH_BUFFER = 'awaiting-with-buffer';

export class Client {
  // options.resend is for tests only: 'fresh-seq' or 'old-rev' break the
  // resubmission rule, to check that the protocol scripts catch it.
  constructor(options = {}) {
    // The public id and the secret the server issued in joined (null until
    // the first joined). The server recognises a resubmitted op by
    // (id, seq); id is also on our ops in a catch-up.
    this.id = null;
    this.secret = null;
    // True when the last joined said this connection may not edit.
    this.view = false;
    this.resend = options.resend ?? 'same-seq';
    // The server revision our document reflects, or null while we have no
    // document (before the first snapshot, or after resync()).
    this.rev = null;
    // The op in flight: {op, seq, edits, sent}. op is transformed as server
    // ops arrive, so it always applies to the text at this.rev; seq is null
    // until it is first sent; sent is the message as first sent (kept only
    // for the test-only 'old-rev' rule).
    this.outstanding = null;
    // Edits typed while an op is in flight, composed into one op.
    this.buffer = null;
    // The seq of our next op on this document (the server counts from 1).
    this.nextSeq = 1;
    // True between joined and the socket closing: only then is anything sent.
    this.connected = false;
  }

  get state() {
    if (this.outstanding === null) return SYNCHRONIZED;
    if (this.buffer === null) return AWAITING_CONFIRM;
    return AWAITING_WITH_BUFFER;
  }

  isSynchronized() {
    return this.outstanding === null;
  }

  // pending is the number of local edits the server has not acknowledged.
  pending() {
    return (this.outstanding?.edits ?? 0) + (this.buffer?.edits ?? 0);
  }

  // joinMessage is the first message on a new socket. Once the server has
  // issued our identity it carries the secret; with a document it carries
  // our revision so the server sends only what we missed.
  // author, if given, is the browser's stable author id (recorded with
  // every op of this socket).
  joinMessage(name, color, author) {
    this.connected = false;
    const msg = { type: 'join', name, color };
    if (author) msg.author = author;
    if (this.secret !== null) msg.secret = this.secret;
    if (this.rev !== null) msg.rev = this.rev;
    return msg;
  }

  // disconnected records that the socket closed; edits keep being accepted.
  disconnected() {
    this.connected = false;
  }

  // pendingOp returns the pending edits as one op on the text at this.rev
  // (what a snapshot or a resync would drop), or null.
  pendingOp() {
    if (this.outstanding === null) return null;
    if (this.buffer === null) return this.outstanding.op;
    return compose(this.outstanding.op, this.buffer.op);
  }

  // pendingState returns what a page keeps of its unsent edits
  // (offline.js): {rev, client, out, buf} with the op in flight and the
  // buffer as held now, or null when nothing is pending.
  pendingState() {
    if (this.outstanding === null) return null;
    const { op, seq, edits } = this.outstanding;
    return {
      rev: this.rev,
      client: this.id,
      out: { op, seq, edits },
      buf: this.buffer === null ? null : { op: this.buffer.op, edits: this.buffer.edits },
    };
  }

  // restore takes up edits a page kept before it was closed (a record of
  // offline.js, whose text the caller shows with the edits applied): the
  // identity, the revision, the op in flight with its seq and the buffer.
  // The next join carries the secret and the revision; the resubmission
  // rule then sends the op again with the same seq, so the server, which
  // de-duplicates by (client, seq), applies it once.
  restore({ rev, client, secret, out, buf }) {
    this.rev = rev;
    this.id = client ?? null;
    this.secret = secret ?? null;
    const seq = out.seq ?? null;
    this.outstanding = { op: out.op, seq, edits: out.edits ?? 1, sent: seq === null ? null : { rev, seq, op: out.op } };
    this.buffer = buf ? { op: buf.op, edits: buf.edits ?? 1 } : null;
    this.nextSeq = seq === null ? 1 : seq + 1;
    this.connected = false;
  }

  // closed records that the server closed the socket with code (1006 when
  // the connection was lost) and returns what to do next, from the close-code
  // table shared with the Go client (wire/closecodes.json): {action, lost},
  // action one of closecodes.js's RECONNECT, RECONNECT_NOW, WAIT, RESYNC,
  // STOP. For RESYNC the pending edits are dropped as by resync() and lost
  // is how many; otherwise lost is 0 and they are sent after the next join.
  closed(code) {
    this.disconnected();
    const action = closeAction(code);
    return { action, lost: action === RESYNC ? this.resync() : 0 };
  }

  // resync forgets the document and every pending edit (after close 4000, or
  // a ProtocolError); the next join asks for a snapshot. It returns how many
  // edits were lost, for telling the user.
  resync() {
    const lost = this.pending();
    this.rev = null;
    this.outstanding = null;
    this.buffer = null;
    this.connected = false;
    return lost;
  }

  // applySnapshot takes a snapshot message: the server's whole text, which
  // replaces ours. It returns how many pending edits were dropped.
  applySnapshot(msg) {
    const lost = this.pending();
    this.rev = msg.rev;
    this.outstanding = null;
    this.buffer = null;
    return lost;
  }

  // applyJoined takes the joined message that ends a join (after the
  // snapshot or the catch-up ops) and keeps the identity it carries. It
  // returns the messages to send: the op still in flight, with the seq it
  // was first sent with, at our current revision (it did not land: its own
  // op would have come back in the catch-up).
  applyJoined(msg) {
    if (this.rev === null) throw new ProtocolError('joined without a snapshot');
    if (msg.rev !== this.rev) {
      throw new ProtocolError(`joined at revision ${msg.rev} but the catch-up ended at ${this.rev}`);
    }
    const applied = msg.seq ?? 0;
    if (this.outstanding?.seq != null) {
      if (this.outstanding.seq !== applied + 1) {
        throw new ProtocolError(`server has seq ${applied} but our op in flight is seq ${this.outstanding.seq}`);
      }
    } else {
      // Nothing sent is pending: the server's count is the truth (after a
      // refused op its seq is reused).
      this.nextSeq = applied + 1;
    }
    if (typeof msg.client === 'string' && msg.client !== '') this.id = msg.client;
    if (typeof msg.secret === 'string' && msg.secret !== '') this.secret = msg.secret;
    this.view = msg.view === true;
    this.connected = true;
    if (this.outstanding === null) return [];
    if (this.outstanding.seq !== null && this.resend === 'fresh-seq') this.outstanding.seq = null;
    if (this.outstanding.seq !== null && this.resend === 'old-rev') {
      const { rev, seq, op } = this.outstanding.sent;
      return [{ type: 'op', rev, seq, op }];
    }
    return [this.#sendOutstanding()];
  }

  // applyLocal takes an op the user made on the current local text. It
  // returns the op message to send, or null (an op is in flight or we are
  // offline; the edit is sent later).
  applyLocal(op) {
    if (this.rev === null) throw new ProtocolError('local edit without a document');
    if (isNoop(op)) return null;
    if (this.outstanding === null) {
      this.outstanding = { op, seq: null, edits: 1, sent: null };
      return this.connected ? this.#sendOutstanding() : null;
    }
    if (this.buffer === null) this.buffer = { op, edits: 1 };
    else this.buffer = { op: compose(this.buffer.op, op), edits: this.buffer.edits + 1 };
    return null;
  }

  // applyServer takes an op message from the server and returns the op to
  // apply to the local text (null when the op was our own, seen again during
  // the catch-up after a reconnect: it acknowledges our op in flight).
  applyServer(msg) {
    if (this.rev === null) throw new ProtocolError('op without a document');
    if (msg.rev !== this.rev + 1) {
      throw new ProtocolError(`op for revision ${msg.rev} after revision ${this.rev}`);
    }
    if (this.id !== null && msg.client === this.id) {
      this.#acknowledge(msg.seq, msg.rev);
      return null;
    }
    let op = msg.op;
    if (this.outstanding !== null) {
      [this.outstanding.op, op] = transform(this.outstanding.op, op);
      if (this.buffer !== null) [this.buffer.op, op] = transform(this.buffer.op, op);
    }
    this.rev = msg.rev;
    return op;
  }

  // serverAck takes an ack message. It returns the next op message to send
  // (the buffer), or null.
  serverAck(msg) {
    if (this.rev === null) throw new ProtocolError('ack without a document');
    if (msg.rev !== this.rev + 1) {
      throw new ProtocolError(`ack for revision ${msg.rev} after revision ${this.rev}`);
    }
    this.#acknowledge(msg.seq, msg.rev);
    if (this.outstanding !== null && this.connected) return this.#sendOutstanding();
    return null;
  }

  // transformPresence brings another client's selections, given at server
  // revision rev, to our local text (through our pending ops). It returns
  // null when rev is not our revision (the selections cannot be placed).
  transformPresence(rev, sel) {
    if (rev !== this.rev) return null;
    let out = sel;
    if (this.outstanding !== null) out = transformSelection(this.outstanding.op, out);
    if (this.buffer !== null) out = transformSelection(this.buffer.op, out);
    return out;
  }

  // presenceMessage returns our presence message for selections in the local
  // text, or null when it must not be sent now: presence goes out only while
  // synchronized, when the local text is the server's text at this.rev.
  presenceMessage(sel) {
    if (!this.connected || this.rev === null || !this.isSynchronized()) return null;
    return { type: 'presence', rev: this.rev, sel };
  }

  // #sendOutstanding returns the op message for the op in flight, at our
  // revision, giving it the next seq if it has none yet.
  #sendOutstanding() {
    const o = this.outstanding;
    if (o.seq === null) {
      o.seq = this.nextSeq++;
      o.sent = { rev: this.rev, seq: o.seq, op: o.op };
    }
    return { type: 'op', rev: this.rev, seq: o.seq, op: o.op };
  }

  #acknowledge(seq, rev) {
    if (this.outstanding === null || this.outstanding.seq === null || this.outstanding.seq !== seq) {
      throw new ProtocolError(
        `acknowledgement of seq ${seq} but ${this.outstanding?.seq ? `seq ${this.outstanding.seq}` : 'nothing'} is in flight`,
      );
    }
    this.rev = rev;
    this.outstanding = null;
    if (this.buffer !== null) {
      // The buffer was transformed along with the op in flight, so it
      // applies to the text at rev: it becomes the op in flight.
      this.outstanding = { op: this.buffer.op, seq: null, edits: this.buffer.edits, sent: null };
      this.buffer = null;
    }
  }
}

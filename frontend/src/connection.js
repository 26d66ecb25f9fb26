// The page's connection to a document: one WebSocket at a time, replaced on
// every reconnect, with backoff, an application-level heartbeat and a
// "reconnect now".
//
// The Connection knows nothing of ops or CodeMirror. Its owner (the editor
// page) gives it the address, the first message to send on a new socket,
// and callbacks for what arrives and for a socket that ended; after a close
// the owner decides what to do (from the shared close-code table) and calls
// retry() with the delay that calls for.
//
// The heartbeat: browsers cannot see WebSocket pings, and a connection whose
// network died silently stays "open" for minutes. So while a socket is open
// the page sends {"type":"ping"} whenever it has heard nothing for PING_AFTER,
// and counts the connection as dead when nothing at all (a pong, or any
// other message) has arrived PONG_TIMEOUT after that ping: the socket is
// abandoned as if the network had closed it (1006, `silent` set), and the
// page reconnects. A socket that does not open within CONNECT_TIMEOUT is
// abandoned the same way. So a page notices a dead connection within
// PING_AFTER + PONG_TIMEOUT (+ the one-second tick), idle or not.
//
// Time and the WebSocket are injected, so the unit tests drive both.

export const PING_AFTER = 5_000;
export const PONG_TIMEOUT = 10_000;
export const CONNECT_TIMEOUT = 10_000;
const TICK = 1_000;
// Backoff: from half a second, doubling, at most 30 s (with jitter).
const BACKOFF_MIN = 500;
const BACKOFF_MAX = 30_000;
// A "wait" (the server asked: too many connections, rate limited) waits at
// least this long.
const WAIT_MIN = 5_000;

const OPEN = 1;

export class Connection {
  // options: url() the socket's address; hello() the first message on a new
  // socket (the join); onMessage(msg, sock) for every message (JSON
  // decoded; a frame that is not JSON is passed as {type: null}); onClose(code)
  // when the current socket ended (not after drop() or stop()); onChange()
  // whenever what status() says may have changed. env: {WebSocket, now,
  // setTimeout, clearTimeout, setInterval, clearInterval, random} for tests.
  constructor({ url, hello, onMessage, onClose, onChange = () => {} }, env = globalThis) {
    this.url = url;
    this.hello = hello;
    this.onMessage = onMessage;
    this.onClose = onClose;
    this.onChange = onChange;
    this.env = env;
    this.now = env.now ?? (() => Date.now());
    this.random = env.random ?? Math.random;
    this.ws = null;
    // Consecutive attempts that did not reach joined (reset by joined()).
    this.attempts = 0;
    // When the next attempt is due (0: none scheduled).
    this.nextAt = 0;
    this.retryTimer = null;
    // True when the last socket was abandoned because nothing came back
    // (heartbeat) or it never opened: the network is likely down.
    this.silent = false;
    this.stopped = false;
    this.lastHeard = 0;
    this.pingAt = 0;
    this.openedAt = 0;
    this.ticker = env.setInterval.call(globalThis, () => this.#tick(), TICK);
  }

  // connect opens a new socket now (dropping any current one).
  connect() {
    this.#clearRetry();
    if (this.stopped) return;
    this.#dropSocket();
    let sock;
    try {
      sock = new this.env.WebSocket(this.url());
    } catch (err) {
      this.ws = null;
      this.onClose(1006, err);
      return;
    }
    this.ws = sock;
    this.openedAt = this.now();
    this.lastHeard = 0;
    this.pingAt = 0;
    sock.onopen = () => {
      if (this.ws !== sock) return;
      this.lastHeard = this.now();
      this.#sendRaw(this.hello());
      this.onChange();
    };
    sock.onmessage = (ev) => {
      if (this.ws !== sock) return;
      this.lastHeard = this.now();
      this.pingAt = 0;
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        msg = { type: null };
      }
      if (msg?.type === 'pong') return;
      this.onMessage(msg, sock);
    };
    sock.onclose = (ev) => {
      if (this.ws !== sock) return;
      this.ws = null;
      this.onClose(ev.code);
      this.onChange();
    };
    this.onChange();
  }

  // isOpen says whether a socket is open (joined or not).
  isOpen() {
    return this.ws !== null && this.ws.readyState === OPEN;
  }

  // send sends a message on the open socket; false when there is none.
  send(msg) {
    return this.#sendRaw(msg);
  }

  // joined records a successful join: the backoff starts over.
  joined() {
    this.attempts = 0;
    this.silent = false;
    this.onChange();
  }

  // retry schedules the next attempt: 'now' (with a little jitter, so that
  // many pages dropped together do not come back in the same millisecond),
  // 'wait' (the server asked to slow down) or 'backoff'.
  retry(kind = 'backoff') {
    if (this.stopped) return;
    let delay;
    if (kind === 'now') delay = this.random() * 200;
    else if (kind === 'wait') delay = WAIT_MIN + this.#backoff();
    else delay = this.#backoff();
    this.#clearRetry();
    this.nextAt = this.now() + delay;
    this.retryTimer = this.env.setTimeout.call(globalThis, () => {
      this.retryTimer = null;
      this.nextAt = 0;
      this.connect();
    }, delay);
    this.onChange();
  }

  // reconnectNow is the person's "Reconnect now": the next attempt at once.
  reconnectNow() {
    if (this.stopped) return;
    this.connect();
  }

  // waiting returns the milliseconds until the next attempt, or null when
  // none is scheduled.
  waiting() {
    return this.nextAt === 0 ? null : Math.max(0, this.nextAt - this.now());
  }

  // abandon drops the current socket as if the network had closed it: the
  // owner hears onClose(1006).
  abandon() {
    const sock = this.ws;
    if (!sock) return;
    this.ws = null;
    try {
      sock.close(1000);
    } catch {
      // already closing
    }
    this.onClose(1006);
    this.onChange();
  }

  // drop closes the current socket without telling the owner (it is about
  // to connect again, through another key or with another name).
  drop() {
    this.#dropSocket();
  }

  // stop gives up for good: no socket, no retries, no heartbeat.
  stop() {
    this.stopped = true;
    this.#clearRetry();
    this.#dropSocket();
    this.env.clearInterval.call(globalThis, this.ticker);
    this.onChange();
  }

  #tick() {
    const sock = this.ws;
    if (!sock) return;
    const now = this.now();
    if (sock.readyState !== OPEN) {
      if (now - this.openedAt > CONNECT_TIMEOUT) this.#dead();
      return;
    }
    if (this.pingAt !== 0) {
      if (now - this.pingAt >= PONG_TIMEOUT) this.#dead();
      return;
    }
    if (now - this.lastHeard >= PING_AFTER) {
      this.pingAt = now;
      this.#sendRaw({ type: 'ping' });
    }
  }

  #dead() {
    this.silent = true;
    this.abandon();
  }

  #sendRaw(msg) {
    const sock = this.ws;
    if (!sock || sock.readyState !== OPEN) return false;
    sock.send(JSON.stringify(msg));
    return true;
  }

  #dropSocket() {
    const sock = this.ws;
    this.ws = null;
    if (sock) {
      try {
        sock.close(1000);
      } catch {
        // already closing
      }
    }
  }

  #clearRetry() {
    if (this.retryTimer !== null) this.env.clearTimeout.call(globalThis, this.retryTimer);
    this.retryTimer = null;
    this.nextAt = 0;
  }

  #backoff() {
    const base = Math.min(BACKOFF_MAX, BACKOFF_MIN * 2 ** this.attempts);
    this.attempts++;
    return base / 2 + (this.random() * base) / 2;
  }
}

// The editor page: CodeMirror bound to a document through the WebSocket.
//
// Data flow: a local CodeMirror transaction becomes an op (changesToOp) that
// the Client either sends or buffers; a server op comes back through the
// Client (transformed against what is pending) and is dispatched to
// CodeMirror with the `remote` annotation, so it is neither sent back nor
// put in the undo history. The socket is replaced on every reconnect; the
// Client (with its id, revision and pending ops) lives as long as the page.

import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { markdownLanguage } from '@codemirror/lang-markdown';
import {
  HighlightStyle,
  LanguageSupport,
  bracketMatching,
  defaultHighlightStyle,
  indentOnInput,
  syntaxHighlighting,
} from '@codemirror/language';
import { highlightSelectionMatches, searchKeymap } from '@codemirror/search';
import { Annotation, ChangeSet, Compartment, EditorSelection, EditorState, Transaction } from '@codemirror/state';
import {
  EditorView,
  drawSelection,
  dropCursor,
  highlightActiveLine,
  highlightActiveLineGutter,
  highlightSpecialChars,
  keymap,
  lineNumbers,
  rectangularSelection,
} from '@codemirror/view';
import { tags } from '@lezer/highlight';

import { getDoc, listDocs, renameDoc, socketURL } from './api.js';
import { Client, ProtocolError } from './client.js';
import { RECONNECT_NOW, RESYNC, STOP, WAIT } from './closecodes.js';
import { errorBanner, h } from './dom.js';
import { cleanName, initials, loadIdentity, newClientId, safeColor, saveName } from './identity.js';
import { changesToOp, opToChanges } from './cmops.js';
import { baseLength, hasLoneSurrogate, transformIndex } from './ot.js';
import { peersField, removePeer, resetPeers, setPeer } from './remote.js';

// Marks transactions that apply a server op, so they are not sent back.
const remote = Annotation.define();

// One insert above this is refused in the editor: its op message would come
// near the server's 1 MiB message limit (up to 3 bytes per UTF-16 unit).
const MAX_INSERT = 250_000;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
// At most 20 presence messages a second.
const PRESENCE_INTERVAL_MS = 50;
const MAX_RANGES = 100;
const TITLE_REFRESH_MS = 20_000;
// Consecutive failed connection attempts after which we call it "offline".
const OFFLINE_AFTER = 4;

const markdownHighlight = HighlightStyle.define([
  { tag: tags.heading1, fontWeight: '700', fontSize: '1.35em' },
  { tag: tags.heading2, fontWeight: '700', fontSize: '1.2em' },
  { tag: tags.heading3, fontWeight: '700', fontSize: '1.1em' },
  { tag: [tags.heading4, tags.heading5, tags.heading6], fontWeight: '700' },
  { tag: tags.strong, fontWeight: '700' },
  { tag: tags.emphasis, fontStyle: 'italic' },
  { tag: tags.strikethrough, textDecoration: 'line-through' },
  { tag: tags.link, color: '#0d74ce' },
  { tag: tags.url, color: '#0d74ce', textDecoration: 'underline' },
  { tag: tags.monospace, color: '#b3415f' },
  { tag: tags.quote, color: '#5b6472', fontStyle: 'italic' },
  { tag: [tags.processingInstruction, tags.contentSeparator], color: '#8a94a3' },
]);

export function renderEditor(root, docId) {
  const me = loadIdentity();
  const client = new Client(newClientId());
  const banner = errorBanner();
  const editable = new Compartment();

  // --- page structure ---
  const titleInput = h('input', {
    className: 'title-input',
    type: 'text',
    maxlength: 200,
    placeholder: 'Untitled',
    'aria-label': 'Document title',
    'data-testid': 'title',
    disabled: true,
  });
  const statusLabel = h('span', { className: 'status-label' }, 'Connecting…');
  const status = h(
    'span',
    { className: 'status', 'data-testid': 'status', 'data-state': 'reconnecting', 'data-pending': '0', role: 'status' },
    h('span', { className: 'status-dot', 'aria-hidden': 'true' }),
    statusLabel,
  );
  const copyButton = h('button', { className: 'btn', type: 'button', 'data-testid': 'copy-link' }, 'Copy link');
  const people = h('ul', { className: 'people', 'data-testid': 'people', 'aria-label': 'People here' });
  const myAvatar = h('span', { className: 'avatar', 'aria-hidden': 'true' });
  const nameInput = h('input', {
    className: 'name-input',
    type: 'text',
    maxlength: 64,
    value: me.name,
    'aria-label': 'Your name',
    'data-testid': 'my-name',
  });
  const host = h('div', { className: 'editor' });

  root.replaceChildren(
    h(
      'header',
      { className: 'topbar' },
      h('a', { className: 'brand', href: '/', title: 'All documents' }, h('span', { className: 'brand-mark', 'aria-hidden': 'true' }), h('span', { className: 'brand-text' }, 'Tandem')),
      titleInput,
      status,
      copyButton,
    ),
    h(
      'div',
      { className: 'subbar' },
      people,
      h('label', { className: 'me-field' }, myAvatar, h('span', { className: 'me-label' }, 'You'), nameInput),
    ),
    banner.el,
    h('main', { className: 'editor-wrap' }, host),
  );

  // --- CodeMirror ---
  // Local edits are checked before they become ops: an insert too large
  // for one message is refused, and lone surrogates (half an emoji, from a
  // broken paste) become U+FFFD, one unit each, so positions stay valid.
  // The server would refuse either and force a reload.
  const inputGuard = EditorState.transactionFilter.of((tr) => {
    if (!tr.docChanged || tr.annotation(remote)) return tr;
    let inserted = 0;
    let broken = false;
    tr.changes.iterChanges((_a, _b, _c, _d, text) => {
      inserted += text.length;
      if (!broken && hasLoneSurrogate(text.toString())) broken = true;
    });
    if (inserted > MAX_INSERT) {
      queueMicrotask(() =>
        banner.show(`That insertion is too large to send (${inserted.toLocaleString()} characters; at most ${MAX_INSERT.toLocaleString()} at once).`),
      );
      return [];
    }
    if (!broken) return tr;
    const changes = [];
    tr.changes.iterChanges((fromA, toA, _c, _d, text) => {
      changes.push({ from: fromA, to: toA, insert: text.toString().replace(LONE_SURROGATE, '\ufffd') });
    });
    return {
      changes,
      selection: tr.selection,
      effects: tr.effects,
      scrollIntoView: tr.scrollIntoView,
      userEvent: tr.annotation(Transaction.userEvent),
    };
  });

  const lockedExt = [EditorState.readOnly.of(true), EditorView.editable.of(false)];

  function makeState(text, locked) {
    return EditorState.create({
      doc: text,
      extensions: [
        // Only "\n" separates lines, so a "\r" stays a character and every
        // length matches the server's text unit for unit.
        EditorState.lineSeparator.of('\n'),
        lineNumbers(),
        highlightActiveLineGutter(),
        highlightSpecialChars(),
        history(),
        drawSelection(),
        dropCursor(),
        EditorState.allowMultipleSelections.of(true),
        indentOnInput(),
        // Markdown (GFM) highlighting without the nested HTML/CSS/JavaScript
        // parsers that markdown() would bring in: a much smaller bundle. No
        // list-continuing Enter either: typed text lands as typed.
        new LanguageSupport(markdownLanguage),
        syntaxHighlighting(markdownHighlight),
        syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
        bracketMatching(),
        rectangularSelection(),
        highlightActiveLine(),
        highlightSelectionMatches(),
        keymap.of([...defaultKeymap, ...searchKeymap, ...historyKeymap, indentWithTab]),
        EditorView.lineWrapping,
        EditorView.contentAttributes.of({ 'aria-label': 'Document text' }),
        editable.of(locked ? lockedExt : []),
        peersField,
        inputGuard,
        EditorView.updateListener.of(onUpdate),
      ],
    });
  }

  const view = new EditorView({ state: makeState('', true), parent: host });

  function onUpdate(update) {
    for (const tr of update.transactions) {
      if (!tr.docChanged || tr.annotation(remote)) continue;
      const op = changesToOp(tr.changes, tr.startState.doc.length);
      let msg;
      try {
        msg = client.applyLocal(op);
      } catch (err) {
        // No dispatching inside an update: resynchronise right after it.
        queueMicrotask(() => fail(err));
        return;
      }
      send(msg);
    }
    const local = update.transactions.some((tr) => !tr.annotation(remote) && (tr.selection || tr.docChanged));
    if (update.focusChanged || local) schedulePresence();
    if (update.docChanged) renderStatus();
    renderPeople(update.state);
  }

  function applyRemote(op) {
    const state = view.state;
    if (baseLength(op) !== state.doc.length) {
      throw new ProtocolError(`server op spans ${baseLength(op)} units but the document has ${state.doc.length}`);
    }
    const changes = ChangeSet.of(opToChanges(op), state.doc.length, '\n');
    // Our own selection moves by the rule the server applies to our stored
    // selection (a caret at a remote insertion point moves after it), so
    // what others see of us matches what we see.
    const ranges = state.selection.ranges.map((r) =>
      EditorSelection.range(transformIndex(op, r.anchor), transformIndex(op, r.head)),
    );
    view.dispatch({
      changes,
      selection: EditorSelection.create(ranges, state.selection.mainIndex),
      annotations: [remote.of(true), Transaction.addToHistory.of(false)],
    });
  }

  // --- people ---
  let peopleKey = '';
  function renderPeople(state) {
    const peers = state.field(peersField);
    const list = [{ client: client.id, name: me.name, color: me.color, me: true }, ...peers.values()];
    const key = JSON.stringify(list.map((p) => [p.client, p.name, p.color]));
    if (key === peopleKey) return;
    peopleKey = key;
    people.replaceChildren(
      ...list.map((p) =>
        h(
          'li',
          { className: p.me ? 'person me' : 'person', 'data-testid': 'person', 'data-client': p.client, title: p.me ? `${p.name} (you)` : p.name },
          h('span', { className: 'avatar', style: { backgroundColor: safeColor(p.color) }, 'aria-hidden': 'true' }, initials(p.name)),
          h('span', { className: 'person-name' }, p.name),
        ),
      ),
    );
    myAvatar.style.backgroundColor = safeColor(me.color);
    myAvatar.textContent = initials(me.name);
  }
  renderPeople(view.state);

  // --- presence ---
  let presenceTimer = null;
  let presenceWanted = false;
  let lastPresenceAt = 0;
  let lastPresence = '';

  function schedulePresence() {
    presenceWanted = true;
    if (presenceTimer !== null) return;
    const wait = Math.max(0, PRESENCE_INTERVAL_MS - (Date.now() - lastPresenceAt));
    presenceTimer = setTimeout(flushPresence, wait);
  }

  function flushPresence() {
    presenceTimer = null;
    if (!presenceWanted) return;
    const sel = view.hasFocus
      ? view.state.selection.ranges.slice(0, MAX_RANGES).map((r) => [r.anchor, r.head])
      : [];
    const msg = client.presenceMessage(sel);
    // Not synchronized: kept wanted, sent when the client catches up.
    if (msg === null) return;
    presenceWanted = false;
    const key = JSON.stringify(msg);
    if (key === lastPresence) return;
    lastPresence = key;
    lastPresenceAt = Date.now();
    send(msg);
  }

  // --- connection ---
  let ws = null;
  let joined = false;
  let everJoined = false;
  let attempts = 0;
  let retryTimer = null;
  let gaveUp = false;
  let lastError = null;

  function connect() {
    clearTimeout(retryTimer);
    retryTimer = null;
    if (gaveUp) return;
    let sock;
    try {
      sock = new WebSocket(socketURL(docId));
    } catch (err) {
      giveUp(`The connection could not be opened: ${err.message}.`);
      return;
    }
    ws = sock;
    sock.onopen = () => {
      if (ws === sock) sendRaw(sock, client.joinMessage(me.name, me.color));
    };
    sock.onmessage = (ev) => {
      if (ws !== sock) return;
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        fail(new ProtocolError('the server sent a message that is not JSON'));
        return;
      }
      try {
        handle(msg);
      } catch (err) {
        fail(err);
      }
    };
    sock.onclose = (ev) => {
      if (ws !== sock) return;
      ws = null;
      closed(ev.code);
    };
    renderStatus();
  }

  // dropSocket closes the current socket without reacting to its close.
  function dropSocket() {
    const sock = ws;
    ws = null;
    joined = false;
    client.disconnected();
    if (sock) sock.close(1000);
  }

  function sendRaw(sock, msg) {
    if (sock.readyState === WebSocket.OPEN) sock.send(JSON.stringify(msg));
  }

  // When the op now in flight was sent (0: none). A connection that leaves
  // an op unacknowledged for ACK_TIMEOUT is presumed dead (the browser may
  // not notice a silently dropped connection for minutes): it is dropped
  // and the client reconnects, catches up and resends with the same seq.
  let inflightSince = 0;
  const ACK_TIMEOUT = 15_000;

  function send(msg) {
    if (msg && ws && joined) {
      sendRaw(ws, msg);
      if (msg.type === 'op') inflightSince = Date.now();
    }
  }

  // abandon drops the current socket as if the network had closed it.
  function abandon() {
    const sock = ws;
    if (!sock) return;
    ws = null;
    sock.close(1000);
    closed(1006);
  }

  setInterval(() => {
    if (ws && joined && inflightSince && Date.now() - inflightSince > ACK_TIMEOUT) abandon();
  }, 1000);

  function handle(msg) {
    switch (msg.type) {
      case 'snapshot': {
        const lost = client.applySnapshot(msg);
        if (lost > 0) reportLost(lost, 'the server had to send the whole document again');
        // Locked until joined: only then is the seq of our next op known.
        refocus ||= view.hasFocus;
        view.setState(makeState(msg.text, true));
        lastPresence = '';
        break;
      }
      case 'op': {
        const op = client.applyServer(msg);
        if (op !== null) applyRemote(op);
        renderStatus();
        break;
      }
      case 'ack': {
        inflightSince = 0;
        send(client.serverAck(msg));
        if (client.isSynchronized() && presenceWanted) schedulePresence();
        renderStatus();
        break;
      }
      case 'joined': {
        const toSend = client.applyJoined(msg);
        joined = true;
        everJoined = true;
        attempts = 0;
        unlock();
        const peers = (msg.peers ?? [])
          .filter((p) => p.client !== client.id)
          .map((p) => ({ client: p.client, name: p.name, color: p.color, sel: client.transformPresence(msg.rev, p.sel ?? []) ?? [] }));
        view.dispatch({ effects: resetPeers.of(peers) });
        for (const m of toSend) send(m);
        lastPresence = '';
        schedulePresence();
        renderStatus();
        break;
      }
      case 'presence': {
        if (msg.client === client.id) break;
        const sel = Array.isArray(msg.sel) ? client.transformPresence(msg.rev, msg.sel) : null;
        view.dispatch({ effects: setPeer.of({ client: msg.client, name: msg.name, color: msg.color, sel }) });
        break;
      }
      case 'leave':
        view.dispatch({ effects: removePeer.of(msg.client) });
        break;
      case 'error':
        // Refused messages that close the socket are explained on close.
        lastError = msg;
        console.warn(`tandem: server refused a message: ${msg.code}: ${msg.message ?? ''}`);
        break;
      default:
        // Newer servers may add message types; ignoring them is safe.
        break;
    }
  }

  // closed reacts to the socket's close code. What to do comes from the
  // close-code table shared with the Go client (wire/closecodes.json, read by
  // client.closed); only the words for the user are chosen here.
  function closed(code) {
    joined = false;
    inflightSince = 0;
    view.dispatch({ effects: resetPeers.of([]) });
    const reason = lastError ? ` (${lastError.message || lastError.code})` : '';
    lastError = null;
    const { action, lost } = client.closed(code);
    switch (action) {
      case RESYNC:
        reportLost(lost, code === 1009 ? 'an edit was too large to send' : `the server could not accept an edit${reason}`);
        lock();
        retry(backoff());
        break;
      case RECONNECT_NOW:
        // At once, with a little jitter so that many clients dropped
        // together do not come back in the same millisecond.
        retry(Math.random() * 200);
        break;
      case WAIT:
        retry(5000 + backoff());
        break;
      case STOP:
        giveUp(stopMessages[code] ?? `The server closed this document’s connection (code ${code}${reason}). Reload the page to try again.`);
        break;
      default: // RECONNECT: 1001 going away, 1011 server error, 1006 network, …
        retry(backoff());
    }
    renderStatus();
  }

  const stopMessages = {
    1003: 'The server refused a message from this page, which is a bug in the page. Reload it to continue.',
    4003: 'You are not allowed to open this document.',
    4004: 'This document does not exist. It may have been deleted.',
    4009: 'This document was opened again elsewhere with this page’s connection, so this copy stopped. Reload the page to continue here.',
  };

  function backoff() {
    const base = Math.min(30_000, 500 * 2 ** attempts);
    attempts++;
    return base / 2 + (Math.random() * base) / 2;
  }

  function retry(delay) {
    clearTimeout(retryTimer);
    retryTimer = setTimeout(connect, delay);
  }

  // While locked (no document to edit) focus is lost; it comes back with
  // the document.
  let refocus = false;
  function lock() {
    refocus ||= view.hasFocus;
    view.dispatch({ effects: editable.reconfigure(lockedExt) });
  }

  function unlock() {
    if (view.state.facet(EditorState.readOnly)) view.dispatch({ effects: editable.reconfigure([]) });
    if (refocus) view.focus();
    refocus = false;
  }

  function giveUp(message) {
    gaveUp = true;
    clearTimeout(retryTimer);
    dropSocket();
    lock();
    banner.show(message, {
      dismissible: false,
      action: h('a', { href: '/' }, 'Back to all documents'),
    });
    renderStatus();
  }

  // fail handles a state that cannot be reconciled with the server: start
  // over from a snapshot.
  function fail(err) {
    console.error('tandem: resynchronising:', err);
    dropSocket();
    reportLost(client.resync(), 'the editor lost track of the server');
    lock();
    retry(backoff());
    renderStatus();
  }

  function reportLost(lost, why) {
    const what = lost === 0 ? 'No unsaved edits were lost.' : `${lost} unsaved ${lost === 1 ? 'edit was' : 'edits were'} lost.`;
    banner.show(`The document was reloaded because ${why}. ${what}`);
  }

  function renderStatus() {
    const pending = client.pending();
    let state;
    let label;
    if (gaveUp) {
      state = 'offline';
      label = 'Disconnected';
    } else if (joined) {
      state = 'connected';
      label = pending === 0 ? 'Saved' : `Saving ${pending}…`;
    } else if (!navigator.onLine || attempts >= OFFLINE_AFTER) {
      state = 'offline';
      label = pending === 0 ? 'Offline' : `Offline · ${pending} unsaved`;
    } else {
      state = 'reconnecting';
      label = everJoined ? 'Reconnecting…' : 'Connecting…';
      if (pending > 0) label += ` · ${pending} unsaved`;
    }
    status.dataset.state = state;
    status.dataset.pending = String(pending);
    status.title = state === 'connected' ? 'Connected' : state === 'offline' ? 'Offline: edits are kept in this page' : 'Reconnecting';
    statusLabel.textContent = label;
  }

  window.addEventListener('online', () => {
    if (!gaveUp && ws === null) connect();
    renderStatus();
  });
  // The browser says the network is gone: the socket is as good as dead.
  window.addEventListener('offline', () => {
    abandon();
    renderStatus();
  });
  window.addEventListener('beforeunload', (e) => {
    if (client.pending() > 0) {
      e.preventDefault();
      e.returnValue = '';
    }
  });

  // --- title ---
  let savedTitle = '';
  getDoc(docId).then(
    (doc) => {
      showTitle(doc.title ?? '');
      titleInput.disabled = false;
    },
    (err) => {
      if (err.status === 404) giveUp('This document does not exist. It may have been deleted.');
      else banner.show(`Could not load the title: ${err.message}.`);
    },
  );
  // A rename by someone else is not pushed over the socket: look now and
  // then (the list carries titles without the text).
  function showTitle(title) {
    savedTitle = title;
    titleInput.value = title;
    document.title = `${title || 'Untitled'} · Tandem`;
  }
  async function refreshTitle() {
    if (document.hidden || gaveUp || document.activeElement === titleInput) return;
    try {
      const doc = (await listDocs()).find((d) => d.id === docId);
      if (doc && doc.title !== savedTitle && document.activeElement !== titleInput) showTitle(doc.title);
    } catch {
      // The connection status already tells the user the server is away.
    }
  }
  setInterval(refreshTitle, TITLE_REFRESH_MS);
  document.addEventListener('visibilitychange', refreshTitle);

  titleInput.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') titleInput.blur();
    if (e.key === 'Escape') {
      titleInput.value = savedTitle;
      titleInput.blur();
    }
  });
  titleInput.addEventListener('change', async () => {
    const title = titleInput.value.trim();
    if (title === savedTitle) return;
    try {
      const doc = await renameDoc(docId, title);
      showTitle(doc?.title ?? title);
    } catch (err) {
      banner.show(`Could not rename the document: ${err.message}.`);
    }
  });

  // --- name ---
  // The name travels in join, so a new name is announced by joining again
  // (the same client id: the server replaces the socket, pending ops are
  // resent as after any reconnect).
  let nameTimer = null;
  function commitName() {
    clearTimeout(nameTimer);
    const name = cleanName(nameInput.value);
    if (!name || name === me.name) return;
    me.name = name;
    saveName(name);
    renderPeople(view.state);
    if (ws !== null && joined) {
      dropSocket();
      connect();
    }
  }
  nameInput.addEventListener('input', () => {
    clearTimeout(nameTimer);
    nameTimer = setTimeout(commitName, 800);
  });
  nameInput.addEventListener('change', commitName);
  nameInput.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') nameInput.blur();
  });

  // --- copy link ---
  copyButton.addEventListener('click', async () => {
    const url = `${location.origin}/d/${encodeURIComponent(docId)}`;
    let ok = true;
    try {
      await navigator.clipboard.writeText(url);
    } catch {
      ok = false;
    }
    copyButton.textContent = ok ? 'Copied!' : 'Copy failed';
    copyButton.classList.toggle('done', ok);
    if (!ok) banner.show('The link could not be copied here; it is in the address bar: ', { action: h('code', {}, url) });
    setTimeout(() => {
      copyButton.textContent = 'Copy link';
      copyButton.classList.remove('done');
    }, 1500);
  });

  // Hooks for end-to-end tests.
  window.tandem = {
    getText: () => view.state.doc.toString(),
    getRev: () => client.rev,
    isSynchronized: () => joined && client.isSynchronized(),
    pending: () => client.pending(),
    clientId: () => client.id,
  };

  renderStatus();
  connect();
}

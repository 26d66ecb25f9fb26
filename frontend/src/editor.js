// The editor page: CodeMirror bound to a document through the WebSocket.
//
// Data flow: a local CodeMirror transaction becomes an op (changesToOp) that
// the Client either sends or buffers; a server op comes back through the
// Client (transformed against what is pending) and is dispatched to
// CodeMirror with the `remote` annotation, so it is neither sent back nor
// put in the undo history. The socket is replaced on every reconnect; the
// Client (with the identity the server issued, its revision and pending
// ops) lives as long as the page.
//
// The page is reached through a key (/d/{key}): an edit or a view link's
// token. The key decides the role; a viewer's editor is read-only. The key
// can change under the page: reissuing one's own edit link replaces the
// address (history.replaceState) and reconnects through the new key, with
// the same identity and pending edits.
//
// The parts: connection.js owns the socket (backoff, heartbeat, reconnect
// now), offline.js keeps unsent edits in IndexedDB so that a reload or a
// crash loses nothing, preview.js renders the Markdown, people.js lists
// the people (and follows one), shortcuts.js has the help, theme.js the
// dark mode. This file wires them to CodeMirror and the Client.

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
import { gotoLine, highlightSelectionMatches, openSearchPanel, search, searchKeymap } from '@codemirror/search';
import { Annotation, ChangeSet, Compartment, EditorSelection, EditorState, Text, Transaction } from '@codemirror/state';
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

import { getDoc, keyOfLink, reissueLink, renameDoc, socketURL } from './api.js';
import { Client, ProtocolError } from './client.js';
import { RECONNECT_NOW, RESYNC, STOP, WAIT } from './closecodes.js';
import { Connection } from './connection.js';
import { countsLabel } from './counts.js';
import { errorBanner, h } from './dom.js';
import { cleanName, initials, inkOn, loadIdentity, safeColor, saveName } from './identity.js';
import { changesToOp, opToChanges } from './cmops.js';
import { closeNotice, httpNotice, stopNotice, unsavedText, whyOffline } from './notices.js';
import { StoredEdits, indexedDBStore, webLocks } from './offline.js';
import { baseLength, hasLoneSurrogate, transformIndex } from './ot.js';
import { peopleList } from './people.js';
import { watchDocs } from './live.js';
import { markdownPreview } from './preview.js';
import { recordDoc, replaceKey, updateDoc } from './recent.js';
import { peersField, removePeer, resetPeers, setPeer } from './remote.js';
import { shareDialog } from './share.js';
import { docTools } from './tools.js';
import { helpDialog, installShortcuts } from './shortcuts.js';
import { themeToggle } from './theme.js';

// Marks transactions that apply a server op, so they are not sent back.
const remote = Annotation.define();

// One insert above this is refused in the editor: its op message would come
// near the server's 1 MiB message limit (up to 3 bytes per UTF-16 unit).
const MAX_INSERT = 250_000;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
// At most 20 presence messages a second.
const PRESENCE_INTERVAL_MS = 50;
const MAX_RANGES = 100;
// The title is read with the document (GET /api/docs/{key}), text and all:
// not too often.
const TITLE_REFRESH_MS = 30_000;
// Consecutive failed connection attempts after which we call it "offline".
const OFFLINE_AFTER = 4;

// Colours come from app.css, so that both themes have their own.
const markdownHighlight = HighlightStyle.define([
  { tag: tags.heading1, fontWeight: '700', fontSize: '1.35em' },
  { tag: tags.heading2, fontWeight: '700', fontSize: '1.2em' },
  { tag: tags.heading3, fontWeight: '700', fontSize: '1.1em' },
  { tag: [tags.heading4, tags.heading5, tags.heading6], fontWeight: '700' },
  { tag: tags.strong, fontWeight: '700' },
  { tag: tags.emphasis, fontStyle: 'italic' },
  { tag: tags.strikethrough, textDecoration: 'line-through' },
  { tag: tags.link, color: 'var(--md-link)' },
  { tag: tags.url, color: 'var(--md-link)', textDecoration: 'underline' },
  { tag: tags.monospace, color: 'var(--md-code)' },
  { tag: tags.quote, color: 'var(--md-quote)', fontStyle: 'italic' },
  { tag: [tags.processingInstruction, tags.contentSeparator], color: 'var(--md-mark)' },
]);

// The preview is shown or not as this browser last chose.
const PREVIEW_ITEM = 'tandem.preview';
function previewWanted() {
  try {
    return localStorage.getItem(PREVIEW_ITEM) === 'on';
  } catch {
    return false;
  }
}

// applyOp applies a server op to a CodeMirror Text.
function applyOp(text, op) {
  return ChangeSet.of(opToChanges(op), text.length, '\n').apply(text);
}

export function renderEditor(root, initialKey) {
  const me = loadIdentity();
  const client = new Client();
  const banner = errorBanner();
  const editable = new Compartment();
  // The key in the address; it changes when this page reissues its own
  // edit link.
  let docKey = initialKey;
  // What GET /api/docs/{key} said: the role this key grants and the links
  // (null until it answered).
  let role = null;
  let links = null;
  // True when this page may only view: the key's role is "view", or the
  // server said so in joined.
  let viewOnly = false;

  const share = shareDialog({ reissue });
  // History, authorship, downloads, delete (tools.js).
  const tools = docTools({ getKey: () => docKey, getView: () => view, client, me, banner });

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
  const viewBadge = h(
    'span',
    { className: 'view-badge', 'data-testid': 'view-only', hidden: true, title: 'This link lets you read the document, not change it' },
    h('span', { className: 'view-badge-icon', 'aria-hidden': 'true' }),
    'View only',
  );
  const shareButton = h(
    'button',
    { className: 'btn primary share-btn', type: 'button', 'data-testid': 'share', 'aria-haspopup': 'dialog', disabled: true },
    'Share',
  );
  const people = peopleList();
  const help = helpDialog();
  const preview = markdownPreview();
  const previewButton = h(
    'button',
    { className: 'btn preview-btn', type: 'button', 'data-testid': 'preview-toggle', 'aria-pressed': 'false', title: 'Show the rendered Markdown next to the text (Ctrl+Alt+P)' },
    'Preview',
  );
  const helpButton = h(
    'button',
    { className: 'icon-btn help-btn', type: 'button', 'data-testid': 'help', 'aria-label': 'Keyboard shortcuts', title: 'Keyboard shortcuts (?)', 'aria-haspopup': 'dialog' },
    '?',
  );
  // Why the page is not connected, what is not saved yet, and a button to
  // try again at once.
  const whyText = h('span', { className: 'conn-why', 'data-testid': 'conn-why' });
  const unsavedLine = h('span', { className: 'conn-unsaved', 'data-testid': 'unsaved', hidden: true });
  const reconnectButton = h('button', { className: 'btn small', type: 'button', 'data-testid': 'reconnect' }, 'Reconnect now');
  const connPanel = h(
    'div',
    { className: 'conn-panel', 'data-testid': 'conn-panel', hidden: true },
    h('span', { className: 'conn-text' }, whyText, ' ', unsavedLine),
    reconnectButton,
  );
  const counts = h('span', { className: 'counts', 'data-testid': 'counts', 'aria-live': 'off' });
  const cursorPos = h('span', { className: 'cursor-pos', 'data-testid': 'cursor-pos' });
  const gotoButton = h('button', { className: 'link-btn', type: 'button', 'data-testid': 'goto-line', title: 'Go to line (Ctrl+Alt+G)' }, 'Go to line');
  const findButton = h('button', { className: 'link-btn', type: 'button', 'data-testid': 'find', title: 'Search and replace (Ctrl+F)' }, 'Find');
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
  const wrap = h('main', { className: 'editor-wrap' }, h('div', { className: 'editor-pane' }, host, h('div', { className: 'editor-foot' }, counts, cursorPos, h('span', { className: 'spacer' }), findButton, gotoButton)), preview.el, tools.panel);

  root.replaceChildren(
    h(
      'header',
      { className: 'topbar' },
      h('a', { className: 'brand', href: '/', title: 'Your documents' }, h('span', { className: 'brand-mark', 'aria-hidden': 'true' }), h('span', { className: 'brand-text' }, 'Tandem')),
      titleInput,
      viewBadge,
      status,
      h('div', { className: 'tools' }, tools.buttons, previewButton, themeToggle(), helpButton, shareButton),
    ),
    h(
      'div',
      { className: 'subbar' },
      people.el,
      h('label', { className: 'me-field' }, myAvatar, h('span', { className: 'me-label' }, 'You'), nameInput),
    ),
    connPanel,
    banner.el,
    tools.bar,
    wrap,
    share.el,
    help.el,
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

  // Locked: no document to edit yet (connecting, or stopped). View only:
  // the same, but the text can still be focused, selected and read with
  // the keyboard, and the selection is shared with the others.
  const lockedExt = [EditorState.readOnly.of(true), EditorView.editable.of(false)];
  const viewExt = [...lockedExt, EditorView.contentAttributes.of({ tabindex: '0', 'aria-readonly': 'true' })];
  let locked = true;
  const editableExt = () => (viewOnly ? viewExt : locked ? lockedExt : []);

  function makeState(text) {
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
        search({ top: true }),
        keymap.of([...defaultKeymap, ...searchKeymap, ...historyKeymap, indentWithTab]),
        EditorView.lineWrapping,
        EditorView.contentAttributes.of({ 'aria-label': 'Document text' }),
        editable.of(editableExt()),
        peersField,
        inputGuard,
        EditorView.updateListener.of(onUpdate),
        tools.extensions,
      ],
    });
  }

  const view = new EditorView({ state: makeState(''), parent: host });

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
      if (msg) sendOp(msg);
    }
    const local = update.transactions.some((tr) => !tr.annotation(remote) && (tr.selection || tr.docChanged));
    if (update.focusChanged || local) schedulePresence();
    if (update.docChanged && update.transactions.some((tr) => !tr.annotation(remote))) persist();
    if (update.docChanged) {
      renderStatus();
      preview.update(() => update.state.doc.toString(), update.state.doc.length);
    }
    if (update.docChanged || update.selectionSet) scheduleCounts();
    people.update(update);
    renderPeople(update.state);
  }

  // --- counts and cursor position, under the editor ---
  let countsTimer = null;
  function scheduleCounts() {
    if (countsTimer === null) countsTimer = setTimeout(renderCounts, 150);
  }
  function renderCounts() {
    countsTimer = null;
    const state = view.state;
    const main = state.selection.main;
    counts.textContent = countsLabel(state.doc.toString(), main.empty ? '' : state.sliceDoc(main.from, main.to));
    const line = state.doc.lineAt(main.head);
    cursorPos.textContent = `Line ${line.number}, column ${main.head - line.from + 1}`;
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
  function renderPeople(state) {
    people.render(state, { client: client.id ?? '', name: me.name, color: me.color, view: viewOnly });
    myAvatar.style.backgroundColor = safeColor(me.color);
    myAvatar.style.color = inkOn(me.color);
    myAvatar.textContent = initials(me.name);
  }
  people.attach(view);
  preview.attach(view);
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
  let joined = false;
  let everJoined = false;
  let gaveUp = false;
  let lastError = null;
  // The server's text at client.rev (without our pending edits), kept for
  // the stored edits: a page that takes them up starts from it.
  let base = view.state.doc;

  const conn = new Connection({
    url: () => socketURL(docKey),
    hello: () => client.joinMessage(me.name, me.color, me.author),
    onMessage: (msg) => {
      if (msg.type === null) {
        fail(new ProtocolError('the server sent a message that is not JSON'));
        return;
      }
      try {
        handle(msg);
      } catch (err) {
        fail(err);
      }
    },
    onClose: (code) => closed(code),
    onChange: () => renderStatus(),
  });

  // --- unsent edits kept in this browser (offline.js) ---
  const db = indexedDBStore();
  // Without the Web Locks API (an insecure origin) there is no claim: two
  // pages could take up the same edits, and the server's de-duplication by
  // (client, seq) and its 4009 for a second socket of one client keep the
  // text right (one of the pages stops).
  const stored = db ? new StoredEdits({ db, locks: webLocks() ?? { hold: async () => true }, doc: docKey }) : null;
  let storing = false; // the identity's lock is held

  function pendingRecord() {
    const st = client.pendingState();
    return st === null ? null : { ...st, text: base.toString() };
  }

  // persist stores the pending edits as they are now (or removes them).
  function persist() {
    if (!storing || viewOnly) return Promise.resolve(false);
    return stored.save(pendingRecord).then(renderStatus);
  }

  // ownIdentity claims the identity the server issued, so that this page's
  // edits can be stored under it.
  async function ownIdentity() {
    if (!stored || storing || client.secret === null) return;
    storing = await stored.own(client.secret);
    if (storing) persist();
  }

  // sendOp sends an op message. An op with a seq the database has not seen
  // is stored first (write-ahead): a page that takes up the stored edits
  // later must know every seq this page sent.
  function sendOp(msg) {
    const write = storing && !viewOnly ? stored.beforeSend(msg.seq, pendingRecord) : null;
    if (write === null) {
      conn.send(msg);
      return;
    }
    const sock = conn.ws;
    write.then(() => {
      if (conn.ws === sock && joined && client.outstanding?.seq === msg.seq) conn.send(msg);
    });
  }

  function send(msg) {
    if (!msg || !joined) return;
    if (msg.type === 'op') sendOp(msg);
    else conn.send(msg);
  }

  // start takes up edits a closed page of this document left unsent, then
  // connects.
  async function start() {
    const rec = stored ? await stored.adopt().catch(() => null) : null;
    if (rec) {
      storing = true;
      client.restore(rec);
      base = Text.of(rec.text.split('\n'));
      let text = applyOp(base, rec.out.op);
      if (rec.buf) text = applyOp(text, rec.buf.op);
      view.setState(makeState(text.toString()));
      preview.update(rec.text);
      unlock();
    }
    conn.connect();
  }

  function handle(msg) {
    switch (msg.type) {
      case 'snapshot': {
        const lost = client.applySnapshot(msg);
        if (lost > 0) reportLost(lost, 'the server had to send the whole document again');
        // Locked until joined: only then is the seq of our next op known.
        refocus ||= view.hasFocus;
        locked = true;
        view.setState(makeState(msg.text));
        base = view.state.doc;
        preview.update(msg.text);
        scheduleCounts();
        lastPresence = '';
        if (lost > 0) persist();
        break;
      }
      case 'op': {
        const next = applyOp(base, msg.op);
        const op = client.applyServer(msg);
        base = next;
        if (op !== null) applyRemote(op);
        else persist();
        renderStatus();
        break;
      }
      case 'ack': {
        const next = client.outstanding ? applyOp(base, client.outstanding.op) : base;
        const toSend = client.serverAck(msg);
        base = next;
        persist();
        send(toSend);
        if (client.isSynchronized() && presenceWanted) schedulePresence();
        renderStatus();
        break;
      }
      case 'joined': {
        const toSend = client.applyJoined(msg);
        joined = true;
        everJoined = true;
        notice = null;
        conn.joined();
        if (client.view) setViewOnly(true);
        unlock();
        loadDoc();
        ownIdentity();
        const peers = (msg.peers ?? [])
          .filter((p) => p.client !== client.id)
          .map((p) => ({
            client: p.client,
            name: p.name,
            color: p.color,
            view: p.view === true,
            sel: client.transformPresence(msg.rev, p.sel ?? []) ?? [],
          }));
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
        view.dispatch({ effects: setPeer.of({ client: msg.client, name: msg.name, color: msg.color, view: msg.view === true, sel }) });
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
  // client.closed); the words for people come from notices.js, chosen by
  // the error the server sent before closing, or else by the close code.
  function closed(code) {
    joined = false;
    view.dispatch({ effects: resetPeers.of([]) });
    const error = lastError?.code ?? null;
    const reason = lastError ? ` (${lastError.message || lastError.code})` : '';
    lastError = null;
    // This page is replacing its own edit link: the server revokes the old
    // one and closes the socket that joined through it. Not a reason to
    // stop: the page reconnects through the new key (switchKey).
    if (error === 'link_revoked' && keyChange !== null) {
      client.disconnected();
      keyChange.revoked = true;
      notice = null;
      renderStatus();
      return;
    }
    const { action, lost } = client.closed(code);
    notice = closeNotice(code, error, { viewOnly });
    switch (action) {
      case RESYNC:
        reportLost(lost, code === 1009 ? 'an edit was too large to send' : `the server could not accept an edit${reason}`);
        persist();
        lock();
        conn.retry('backoff');
        break;
      case RECONNECT_NOW:
        conn.retry('now');
        break;
      case WAIT:
        conn.retry('wait');
        break;
      case STOP:
        giveUp(stopNotice(code, error, { viewOnly }));
        break;
      default: // RECONNECT: 1001 going away, 1011 server error, 1006 network, …
        conn.retry('backoff');
    }
    renderStatus();
  }

  // While locked (no document to edit) focus is lost; it comes back with
  // the document.
  let refocus = false;
  function lock() {
    refocus ||= view.hasFocus;
    locked = true;
    view.dispatch({ effects: editable.reconfigure(editableExt()) });
  }

  function unlock() {
    locked = false;
    view.dispatch({ effects: editable.reconfigure(editableExt()) });
    if (refocus) view.focus();
    refocus = false;
  }

  // setViewOnly makes the editor read-only for good (the key's role is
  // "view", or the server said so): the badge shows, renaming is off.
  function setViewOnly(on) {
    if (on === viewOnly) return;
    viewOnly = on;
    viewBadge.hidden = !on;
    host.classList.toggle('view-only', on);
    titleInput.disabled = on || role === null;
    titleInput.title = on ? 'Only people with the edit link can rename this document' : '';
    view.dispatch({ effects: editable.reconfigure(editableExt()) });
    renderPeople(view.state);
  }

  // giveUp stops for good and says why: notice is {label, text}.
  function giveUp(stop) {
    gaveUp = true;
    notice = stop;
    tools.stopped(stop);
    if (stop.gone) {
      share.close();
      shareButton.disabled = true;
      // The document is gone: its unsent edits can never be sent.
      if (storing) stored.save(null);
    }
    conn.stop();
    joined = false;
    client.disconnected();
    lock();
    banner.show(stop.text, {
      dismissible: false,
      action: h('a', { href: '/' }, 'Your documents'),
    });
    renderStatus();
  }

  // fail handles a state that cannot be reconciled with the server: start
  // over from a snapshot.
  function fail(err) {
    console.error('tandem: resynchronising:', err);
    conn.drop();
    joined = false;
    client.disconnected();
    reportLost(client.resync(), 'the editor lost track of the server');
    persist();
    lock();
    conn.retry('backoff');
    renderStatus();
  }

  function reportLost(lost, why) {
    const what = lost === 0 ? 'No unsaved edits were lost.' : `${lost} unsaved ${lost === 1 ? 'edit was' : 'edits were'} lost.`;
    banner.show(`The document was reloaded because ${why}. ${what}`);
  }

  // notice is why the page is not connected, from the last close: shown in
  // the status while reconnecting or after stopping (null: nothing to say).
  let notice = null;

  function renderStatus() {
    const pending = client.pending();
    let state;
    let label;
    let title;
    const online = navigator.onLine;
    if (gaveUp) {
      state = 'offline';
      label = notice?.label ?? 'Disconnected';
      title = notice?.text ?? 'Disconnected';
    } else if (joined) {
      state = 'connected';
      label = viewOnly ? 'Live' : pending === 0 ? 'Saved' : `Saving ${pending}…`;
      title = viewOnly ? 'Connected: changes by others appear as they are made' : 'Connected';
    } else if (!online || conn.silent || (conn.attempts >= OFFLINE_AFTER && notice === null)) {
      state = 'offline';
      label = pending === 0 ? 'Offline' : `Offline · ${pending} unsaved`;
      title = notice?.text ?? 'Offline: edits are kept in this browser';
    } else {
      state = 'reconnecting';
      label = notice ? `${notice.label} · reconnecting…` : everJoined ? 'Reconnecting…' : 'Connecting…';
      if (pending > 0) label += ` · ${pending} unsaved`;
      title = notice?.text ?? 'Reconnecting';
    }
    status.dataset.state = state;
    status.dataset.pending = String(pending);
    status.dataset.stored = String(stored?.stored ?? 0);
    status.title = title;
    statusLabel.textContent = label;

    // The panel under the bar: why, what is not saved, reconnect now.
    const waiting = !gaveUp && !joined && (everJoined || conn.attempts > 0 || pending > 0);
    connPanel.hidden = !waiting;
    connPanel.dataset.state = state;
    if (waiting) {
      whyText.textContent = whyOffline({ online, silent: conn.silent, notice, waitMs: conn.waiting() });
      unsavedLine.hidden = pending === 0 || viewOnly;
      unsavedLine.textContent = pending > 0 ? unsavedText(pending) : '';
    }
  }
  // The countdown in the panel.
  setInterval(() => {
    if (!connPanel.hidden) renderStatus();
  }, 1000);
  reconnectButton.addEventListener('click', () => {
    conn.reconnectNow();
    renderStatus();
  });

  window.addEventListener('online', () => {
    if (!gaveUp && conn.ws === null) conn.connect();
    renderStatus();
  });
  // The browser says the network is gone: the socket is as good as dead.
  window.addEventListener('offline', () => {
    conn.abandon();
    renderStatus();
  });
  window.addEventListener('beforeunload', (e) => {
    // Edits kept in this browser are sent when the document is next
    // opened; only edits that could not be kept are worth a warning.
    if (client.pending() > 0 && (!storing || stored.failed)) {
      e.preventDefault();
      e.returnValue = '';
    }
  });

  // --- the document: title, role, links ---
  let savedTitle = '';
  // loadDoc asks for the role and the links; it runs again after a join
  // until it has them (the first try may fail while the server is away).
  let loadingDoc = false;
  function loadDoc() {
    if (role !== null || loadingDoc || gaveUp) return;
    loadingDoc = true;
    getDoc(docKey).then(docLoaded, docFailed).finally(() => {
      loadingDoc = false;
    });
  }
  let docProblem = null; // the banner's text while the details are missing
  function docLoaded(doc) {
    role = doc.role ?? 'edit';
    links = doc.links ?? {};
    tools.loaded(doc);
    recordDoc({ key: docKey, id: doc.id, title: doc.title ?? '', role });
    showTitle(doc.title ?? '');
    if (role === 'view') setViewOnly(true);
    titleInput.disabled = viewOnly;
    shareButton.disabled = gaveUp && notice?.gone === true;
    if (docProblem !== null && banner.el.textContent.startsWith(docProblem)) banner.hide();
    docProblem = null;
  }
  function docFailed(err) {
    const n = httpNotice(err, { viewOnly });
    if (err.status === 404 || err.status === 410) {
      giveUp(n);
      return;
    }
    docProblem = n ? n.text : `Could not load the document’s details: ${err.message}.`;
    banner.show(docProblem);
  }
  loadDoc();
  // A rename by someone else is not pushed over the socket: look now and
  // then.
  function showTitle(title) {
    savedTitle = title;
    titleInput.value = title;
    document.title = `${title || 'Untitled'} · Tandem`;
  }
  async function refreshTitle() {
    if (document.hidden || gaveUp || role === null || document.activeElement === titleInput) return;
    try {
      const doc = await getDoc(docKey);
      if (doc.title !== savedTitle && document.activeElement !== titleInput) {
        showTitle(doc.title);
        updateDoc(docKey, { title: doc.title });
      }
      if (doc.links) {
        links = doc.links;
        share.update(links, role);
      }
    } catch {
      // The connection status already tells the user the server is away.
    }
  }
  setInterval(refreshTitle, TITLE_REFRESH_MS);
  document.addEventListener('visibilitychange', refreshTitle);
  // A rename by someone else shows at once.
  watchDocs([docKey], (ev) => {
    if (ev.state === 'ok' && typeof ev.title === 'string' && ev.title !== savedTitle && document.activeElement !== titleInput) {
      showTitle(ev.title);
      updateDoc(docKey, { title: ev.title });
    }
  });

  titleInput.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') titleInput.blur();
    if (e.key === 'Escape') {
      titleInput.value = savedTitle;
      titleInput.blur();
    }
  });
  titleInput.addEventListener('change', async () => {
    const title = titleInput.value.trim();
    if (title === savedTitle || viewOnly) return;
    try {
      const doc = await renameDoc(docKey, title);
      showTitle(doc?.title ?? title);
      updateDoc(docKey, { title: doc?.title ?? title });
    } catch (err) {
      titleInput.value = savedTitle;
      const n = httpNotice(err, { viewOnly: true });
      banner.show(n ? n.text : `Could not rename the document: ${err.message}.`);
    }
  });

  // --- name ---
  // The name travels in join, so a new name is announced by joining again
  // (with the same secret, so the same identity; pending ops are resent as
  // after any reconnect).
  let nameTimer = null;
  function commitName() {
    clearTimeout(nameTimer);
    const name = cleanName(nameInput.value);
    if (!name || name === me.name) return;
    me.name = name;
    saveName(name);
    renderPeople(view.state);
    if (joined) {
      joined = false;
      client.disconnected();
      conn.drop();
      conn.connect();
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

  // --- share ---
  shareButton.addEventListener('click', () => {
    if (links !== null) share.open(links, role, shareButton);
  });

  // The key being replaced by a reissue of this page's own link: a close
  // with link_revoked for it is expected (closed()), and the page then
  // reconnects through the new key.
  let keyChange = null;

  // reissue replaces the edit or view link; the dialog calls it once the
  // person has confirmed.
  async function reissue(which) {
    const own = keyOfLink(links?.[which]) === docKey;
    if (own) keyChange = { revoked: false };
    try {
      const res = await reissueLink(docKey, which);
      links = { ...links, ...res.links };
      if (own) switchKey(keyOfLink(links[which]));
      share.update(links, role);
      return links;
    } catch (err) {
      // If the link went anyway (an answer lost), reconnecting through it
      // says so.
      if (own && keyChange?.revoked && !gaveUp) conn.connect();
      throw err;
    } finally {
      keyChange = null;
    }
  }

  // switchKey moves the page to a new key for the same document: the
  // address, the list of documents and the connection (same identity, same
  // pending edits: they are resent as after any reconnect).
  function switchKey(key) {
    if (!key || key === docKey) return;
    const old = docKey;
    docKey = key;
    replaceKey(old, key);
    window.history.replaceState(window.history.state, '', `/d/${encodeURIComponent(key)}${location.search}${location.hash}`);
    if (storing) {
      // The stored edits move to the new key with the page.
      stored.save(null);
      stored.doc = key;
      stored.secret = null;
      storing = false;
      ownIdentity();
    }
    if (gaveUp) return;
    joined = false;
    client.disconnected();
    conn.drop();
    conn.connect();
    renderStatus();
  }

  // Hooks for end-to-end tests.
  window.tandem = {
    getText: () => view.state.doc.toString(),
    getRev: () => client.rev,
    isSynchronized: () => joined && client.isSynchronized(),
    pending: () => client.pending(),
    clientId: () => client.id,
    key: () => docKey,
    viewOnly: () => viewOnly,
    // How many edits the browser's database holds for this page.
    stored: () => stored?.stored ?? 0,
    view,
  };

  // --- keys, help, preview ---
  function togglePreview(on = preview.el.hidden) {
    preview.show(on);
    wrap.classList.toggle('split', on);
    root.classList.toggle('wide', on);
    previewButton.setAttribute('aria-pressed', String(on));
    if (on) preview.update(() => view.state.doc.toString(), view.state.doc.length);
    try {
      localStorage.setItem(PREVIEW_ITEM, on ? 'on' : 'off');
    } catch {
      // storage disabled
    }
  }
  previewButton.addEventListener('click', () => togglePreview());
  helpButton.addEventListener('click', () => help.open(helpButton));
  gotoButton.addEventListener('click', () => gotoLine(view));
  findButton.addEventListener('click', () => openSearchPanel(view));
  installShortcuts({ help: () => help.open(), preview: () => togglePreview() });
  if (previewWanted()) togglePreview(true);

  renderStatus();
  renderCounts();
  start();
}

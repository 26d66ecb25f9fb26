// The history panel: a slider over the document's revisions with the time
// and author of each, step and play buttons, the text at the chosen
// revision shown read-only with what has changed since (against the live
// text), "Restore this version", and named versions.
//
// The revisions come through a Timeline (timeline.js): the log is read in
// pages around the slider's position only, and texts are cached, derived
// locally through loaded ops when near a cached one, else asked of the
// server (GET ?rev=N) once the slider rests. The highlighting comes from
// changeRanges (changes.js).
//
// The panel holds no connection: the page gives it the key, the live text
// and revision, whether this person may edit, and what to do after a
// restore.

import { EditorState, StateEffect, StateField } from '@codemirror/state';
import { Decoration, EditorView, WidgetType, highlightSpecialChars, lineNumbers } from '@codemirror/view';

import { deleteVersion, getAuthors, getDocAt, getOps, getVersions, nameVersion, restoreDoc } from './api.js';
import { changeRanges, summary } from './changes.js';
import { confirmDialog } from './confirm.js';
import { h } from './dom.js';
import { safeColor } from './identity.js';
import { Timeline, bigStep, debounce, playStep } from './timeline.js';

const TEXT_DELAY_MS = 180; // the slider rests this long before a text is asked for
const ENTRY_DELAY_MS = 60;
const DIFF_DELAY_MS = 300;
const PLAY_TICK_MS = 90;
const MAX_WIDGET = 400; // units of added text drawn in full

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
const number = new Intl.NumberFormat();

// when says when an ISO time was, in full and relative to now.
export function when(iso, now = Date.now()) {
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) return { full: '', ago: '' };
  const s = Math.round((ms - now) / 1000);
  const abs = Math.abs(s);
  let ago;
  if (abs < 45) ago = 'just now';
  else if (abs < 3600) ago = relative.format(Math.round(s / 60), 'minute');
  else if (abs < 86400) ago = relative.format(Math.round(s / 3600), 'hour');
  else ago = relative.format(Math.round(s / 86400), 'day');
  return { full: dateFormat.format(new Date(ms)), ago };
}

// --- the viewer's highlighting ---

const setChanges = StateEffect.define();

class AddedWidget extends WidgetType {
  constructor(text) {
    super();
    this.text = text;
  }

  eq(other) {
    return other.text === this.text;
  }

  toDOM() {
    const el = document.createElement('ins');
    el.className = 'cm-hist-added';
    const shown = this.text.length > MAX_WIDGET ? this.text.slice(0, MAX_WIDGET) : this.text;
    // Line breaks are drawn as a mark, not made: a widget taller than its
    // line would put the line numbers out of step.
    shown.split('\n').forEach((part, i) => {
      if (i > 0) {
        const nl = document.createElement('span');
        nl.className = 'cm-hist-nl';
        nl.textContent = '↵';
        el.append(nl);
      }
      if (part) el.append(part);
    });
    if (shown.length < this.text.length) {
      const more = document.createElement('span');
      more.className = 'cm-hist-more';
      more.textContent = ` … ${number.format(this.text.length - shown.length)} more characters`;
      el.append(more);
    }
    el.title = 'Added since this version';
    return el;
  }

  ignoreEvent() {
    return true;
  }
}

const removedMark = Decoration.mark({ class: 'cm-hist-removed', attributes: { title: 'Not in the current text' } });

// changeDecorations draws chunks (in the viewer's text): removed text
// marked, added text as a widget after it.
export function changeDecorations(chunks) {
  const decos = [];
  for (const c of chunks) {
    if (c.to > c.from) decos.push(removedMark.range(c.from, c.to));
    if (c.insert !== '') decos.push(Decoration.widget({ widget: new AddedWidget(c.insert), side: 1 }).range(c.to));
  }
  return Decoration.set(decos, true);
}

const changesField = StateField.define({
  create: () => Decoration.none,
  update(decos, tr) {
    let next = decos.map(tr.changes);
    for (const e of tr.effects) if (e.is(setChanges)) next = e.value;
    return next;
  },
  provide: (f) => EditorView.decorations.from(f),
});

export function historyPanel({ getKey, liveText, liveRev, liveSynced, canEdit, me, onRestored, onError }) {
  let timeline = null;
  let open = false;
  let pos = 0;
  let head = 0;
  let shownRev = -1; // the revision whose text the viewer shows
  let shownText = '';
  let showChanges = true;
  let playing = null; // the play loop's token
  let authors = new Map();
  let authorsAsked = 0;
  let versions = [];

  // --- elements ---
  const viewerHost = h('div', { className: 'history-text', 'data-testid': 'history-text' });
  const viewerTitle = h('span', { className: 'history-viewer-title', 'data-testid': 'history-viewer-title' });
  const diffSummary = h('span', { className: 'history-summary', 'data-testid': 'history-summary' });
  const changesToggle = h('input', { type: 'checkbox', checked: true, 'data-testid': 'history-show-changes' });
  changesToggle.checked = true;
  const viewerHead = h(
    'div',
    { className: 'history-viewer-head' },
    viewerTitle,
    diffSummary,
    h('label', { className: 'history-toggle' }, changesToggle, ' Show changes since'),
  );
  const legend = h(
    'div',
    { className: 'history-legend', 'aria-hidden': 'true' },
    h('span', { className: 'legend-removed' }, 'not in the current text'),
    h('span', { className: 'legend-added' }, 'added since'),
  );

  const revLabel = h('div', { className: 'history-rev', 'data-testid': 'history-rev' });
  const timeLabel = h('div', { className: 'history-time', 'data-testid': 'history-time' });
  const authorLabel = h('div', { className: 'history-author', 'data-testid': 'history-author' });
  const slider = h('input', {
    className: 'history-slider',
    type: 'range',
    min: 0,
    max: 0,
    step: 1,
    value: 0,
    'aria-label': 'Revision',
    'data-testid': 'history-slider',
  });
  const marks = h('div', { className: 'history-marks', 'aria-hidden': 'true' });
  const btn = (label, testid, title, text) =>
    h('button', { className: 'icon-btn history-step', type: 'button', 'aria-label': label, title, 'data-testid': testid }, text);
  const firstBtn = btn('First revision', 'history-first', 'The empty document (Home)', '⏮');
  const backBtn = btn('One revision back', 'history-back', 'One revision back (←)', '‹');
  const playBtn = btn('Play', 'history-play', 'Play the history from here', '▶');
  playBtn.classList.add('play');
  const fwdBtn = btn('One revision forward', 'history-forward', 'One revision forward (→)', '›');
  const lastBtn = btn('Latest revision', 'history-last', 'The current text (End)', '⏭');
  const restoreBtn = h('button', { className: 'btn primary', type: 'button', 'data-testid': 'history-restore' }, 'Restore this version');
  const nameBtn = h('button', { className: 'btn', type: 'button', 'data-testid': 'history-name' }, 'Name this version');
  const nameInput = h('input', {
    className: 'history-name-input',
    type: 'text',
    maxlength: 100,
    placeholder: 'e.g. Sent to the client',
    'aria-label': 'Name of this version',
    'data-testid': 'history-name-input',
  });
  const nameSave = h('button', { className: 'btn primary small', type: 'submit', 'data-testid': 'history-name-save' }, 'Save');
  const nameCancel = h('button', { className: 'btn small', type: 'button' }, 'Cancel');
  const nameForm = h('form', { className: 'history-name-form', hidden: true }, nameInput, h('div', { className: 'history-name-buttons' }, nameSave, nameCancel));
  const versionList = h('ul', { className: 'history-versions', 'data-testid': 'history-versions' });
  const versionsEmpty = h('p', { className: 'history-note' }, 'No named versions yet. Name one to find it again easily.');
  const message = h('p', { className: 'history-message', role: 'status', 'aria-live': 'polite' });
  const closeBtn = h('button', { className: 'icon-btn', type: 'button', 'aria-label': 'Close the history', title: 'Close (Esc)', 'data-testid': 'history-close' }, '×');

  const side = h(
    'aside',
    { className: 'history-side', 'aria-labelledby': 'history-heading' },
    h('div', { className: 'history-side-head' }, h('h2', { id: 'history-heading' }, 'History'), closeBtn),
    h('div', { className: 'history-info' }, revLabel, timeLabel, authorLabel),
    h('div', { className: 'history-slider-wrap' }, marks, slider),
    h('div', { className: 'history-steps' }, firstBtn, backBtn, playBtn, fwdBtn, lastBtn),
    h('div', { className: 'history-actions' }, restoreBtn, nameBtn),
    nameForm,
    message,
    h('h3', {}, 'Named versions'),
    versionList,
    versionsEmpty,
  );
  const el = h(
    'section',
    { className: 'history', hidden: true, 'data-testid': 'history-panel', 'aria-label': 'Document history' },
    h('div', { className: 'history-viewer' }, viewerHead, viewerHost, legend),
    side,
  );

  // The viewer exists while the panel is open (one editor on the page
  // otherwise).
  let viewer = null;
  // Plain text: a Markdown parse of a long text on every step of the
  // slider would cost more than the step itself.
  function viewerState(text) {
    return EditorState.create({
      doc: text,
      extensions: [
        EditorState.lineSeparator.of('\n'),
        EditorState.readOnly.of(true),
        EditorView.editable.of(false),
        EditorView.contentAttributes.of({ tabindex: '0', 'aria-readonly': 'true', 'aria-label': 'The text at this revision' }),
        lineNumbers(),
        highlightSpecialChars(),
        EditorView.lineWrapping,
        changesField,
      ],
    });
  }

  // --- authors ---
  async function loadAuthors() {
    authorsAsked = Date.now();
    try {
      const list = await getAuthors(getKey());
      authors = new Map((Array.isArray(list) ? list : []).map((a) => [a.id, a]));
      renderInfo();
    } catch {
      // The names stay unknown; the revisions still show.
    }
  }

  function authorOf(entry) {
    if (!entry) return null;
    if (entry.author) {
      const a = authors.get(entry.author);
      if (!a && Date.now() - authorsAsked > 5000) loadAuthors();
      return { id: entry.author, name: a?.name ?? 'Someone', color: a?.color ?? '#888' };
    }
    if (entry.client === '@server') return { id: '', name: 'Tandem', color: '#888' };
    return { id: '', name: 'Unknown author', color: '#b0b4ba' };
  }

  // --- showing a revision ---
  function renderInfo() {
    slider.max = String(head);
    slider.value = String(pos);
    slider.setAttribute('aria-valuetext', `Revision ${pos} of ${head}`);
    revLabel.replaceChildren(
      h('strong', {}, pos === head ? 'Current version' : `Revision ${number.format(pos)}`),
      h('span', { className: 'history-of' }, ` · ${number.format(pos)} of ${number.format(head)}`),
    );
    const named = versions.find((v) => v.rev === pos);
    if (named) revLabel.append(h('span', { className: 'history-named', 'data-testid': 'history-named' }, named.name));
    if (pos === 0) {
      timeLabel.textContent = 'The empty document, before the first edit';
      authorLabel.replaceChildren();
    } else {
      const entry = timeline.entry(pos);
      if (!entry) {
        timeLabel.textContent = 'Loading…';
        authorLabel.replaceChildren();
        loadEntry();
      } else {
        const t = when(entry.time);
        timeLabel.replaceChildren(h('span', { title: t.full }, t.full), h('span', { className: 'history-ago' }, ` · ${t.ago}`));
        const a = authorOf(entry);
        authorLabel.replaceChildren(
          h('span', { className: 'history-avatar', style: { backgroundColor: safeColor(a.color) }, 'aria-hidden': 'true' }),
          h('span', { 'data-testid': 'history-author-name' }, a.name),
          a.id !== '' && a.id === me.author ? h('span', { className: 'history-you' }, ' (you)') : null,
        );
      }
    }
    firstBtn.disabled = pos === 0;
    backBtn.disabled = pos === 0;
    fwdBtn.disabled = pos >= head;
    lastBtn.disabled = pos >= head;
    restoreBtn.disabled = !canEdit() || pos >= head || shownRev !== pos;
    restoreBtn.title = !canEdit() ? 'Only people with the edit link can restore a version' : pos >= head ? 'This is the current text' : '';
    nameBtn.disabled = !canEdit();
    renderMarks();
  }

  const loadEntry = debounce(async () => {
    const want = pos;
    try {
      await timeline.load(want);
    } catch (err) {
      if (want === pos) timeLabel.textContent = `Could not load this revision: ${err.message}.`;
      return;
    }
    if (open && want === pos) renderInfo();
  }, ENTRY_DELAY_MS);

  // go moves the slider to rev and shows what is known at once; the text
  // follows when it is cached, else once the slider rests.
  function go(rev, { fromPlay = false } = {}) {
    if (!fromPlay) stop();
    pos = Math.max(0, Math.min(head, rev));
    renderInfo();
    const text = timeline.cachedText(pos);
    if (text !== null) {
      loadText.cancel();
      showText(pos, text);
    } else {
      el.classList.add('loading');
      loadText();
    }
  }

  const loadText = debounce(async () => {
    const want = pos;
    try {
      // The page holding the revision comes too: its time and author, and
      // the ops that make the next revisions without asking.
      const [text] = await Promise.all([timeline.text(want), timeline.load(want).catch(() => null)]);
      if (open && want === pos) showText(want, text);
    } catch (err) {
      if (open && want === pos) {
        el.classList.remove('loading');
        message.textContent = `Could not load revision ${want}: ${err.message}.`;
      }
    }
  }, TEXT_DELAY_MS);

  function showText(rev, text) {
    if (!viewer) return;
    el.classList.remove('loading');
    if (text !== shownText) {
      // From the shown text to the new one by its differences, so the
      // viewer keeps its scroll position.
      const chunks = changeRanges(shownText, text);
      viewer.dispatch({ changes: chunks.map((c) => ({ from: c.from, to: c.to, insert: c.insert })) });
      shownText = text;
    }
    shownRev = rev;
    viewerHost.dataset.rev = String(rev);
    viewerTitle.textContent = rev === head ? 'The current text' : `The text at revision ${number.format(rev)}`;
    renderDiff();
    renderInfo();
  }

  function renderDiff() {
    if (shownRev < 0 || !viewer) return;
    const chunks = showChanges ? changeRanges(shownText, liveText()) : [];
    viewer.dispatch({ effects: setChanges.of(changeDecorations(chunks)) });
    const s = summary(chunks);
    viewerHost.dataset.changes = String(s.changes);
    if (!showChanges) diffSummary.textContent = '';
    else if (s.changes === 0) diffSummary.textContent = 'Same as the current text';
    else {
      const parts = [];
      if (s.removed) parts.push(`${number.format(s.removed)} removed`);
      if (s.added) parts.push(`${number.format(s.added)} added`);
      diffSummary.textContent = `${s.changes} ${s.changes === 1 ? 'change' : 'changes'} since: ${parts.join(', ')}`;
    }
    legend.hidden = !showChanges || s.changes === 0;
  }
  const renderDiffLater = debounce(renderDiff, DIFF_DELAY_MS);

  // --- play ---
  async function play() {
    if (playing) {
      stop();
      return;
    }
    const token = {};
    playing = token;
    playBtn.textContent = '⏸';
    playBtn.setAttribute('aria-label', 'Pause');
    playBtn.title = 'Pause';
    if (pos >= head) go(0, { fromPlay: true });
    try {
      for (let ticks = 0; playing === token && pos < head && ticks < 100_000; ticks++) {
        const next = Math.min(head, pos + playStep(head));
        await timeline.load(next);
        const text = await timeline.text(next);
        if (playing !== token || !open) break;
        pos = next;
        showText(next, text);
        await new Promise((r) => setTimeout(r, PLAY_TICK_MS));
      }
    } catch (err) {
      message.textContent = `Playing stopped: ${err.message}.`;
    } finally {
      if (playing === token) stop();
    }
  }

  function stop() {
    playing = null;
    playBtn.textContent = '▶';
    playBtn.setAttribute('aria-label', 'Play');
    playBtn.title = 'Play the history from here';
  }

  // --- named versions ---
  async function loadVersions() {
    try {
      const list = await getVersions(getKey());
      versions = Array.isArray(list) ? list : [];
    } catch {
      versions = [];
    }
    renderVersions();
    renderInfo();
  }

  function renderVersions() {
    versionsEmpty.hidden = versions.length > 0;
    versionList.replaceChildren(
      ...versions.map((v) => {
        const t = when(v.time);
        const jump = h(
          'button',
          { className: 'history-version', type: 'button', 'data-testid': 'history-version', 'data-rev': v.rev, title: `Show revision ${v.rev}` },
          h('span', { className: 'history-version-name' }, v.name),
          h('span', { className: 'history-version-meta' }, `revision ${number.format(v.rev)} · ${t.ago}`),
        );
        jump.addEventListener('click', () => go(v.rev));
        const remove = canEdit()
          ? h('button', { className: 'icon-btn small', type: 'button', 'aria-label': `Forget the name “${v.name}”`, title: 'Forget this name' }, '×')
          : null;
        remove?.addEventListener('click', async () => {
          try {
            await deleteVersion(getKey(), v.rev);
          } catch (err) {
            message.textContent = `Could not remove the name: ${err.message}.`;
          }
          loadVersions();
        });
        return h('li', {}, jump, remove);
      }),
    );
  }

  function renderMarks() {
    marks.replaceChildren(
      ...versions
        .filter((v) => v.rev <= head)
        .map((v) => {
          const f = head > 0 ? v.rev / head : 0;
          // The thumb is 16 px wide: its centre runs from 8 px to 100% - 8 px.
          return h('span', { className: 'history-mark', style: { left: `calc(${(f * 100).toFixed(3)}% + ${(8 - 16 * f).toFixed(2)}px)` }, title: v.name });
        }),
    );
  }

  nameBtn.addEventListener('click', () => {
    nameForm.hidden = false;
    nameInput.value = '';
    nameInput.focus();
  });
  nameCancel.addEventListener('click', () => {
    nameForm.hidden = true;
    nameBtn.focus();
  });
  nameForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const name = nameInput.value.trim();
    if (!name) return;
    nameSave.disabled = true;
    try {
      await nameVersion(getKey(), pos, name, me.author);
      nameForm.hidden = true;
      message.textContent = `Revision ${number.format(pos)} is now named “${name}”.`;
      await loadVersions();
    } catch (err) {
      message.textContent = `Could not name this version: ${err.message}.`;
    } finally {
      nameSave.disabled = false;
    }
  });

  // --- restore ---
  restoreBtn.addEventListener('click', async () => {
    const rev = pos;
    stop();
    const t = timeline.entry(rev) ? when(timeline.entry(rev).time).full : '';
    const ok = await confirmDialog({
      title: 'Restore this version?',
      text: `The text becomes what it was at revision ${number.format(rev)}${t ? ` (${t})` : ''}. Everyone editing now sees the change; nothing is lost: the current text stays in the history, and the restore can be undone from there.`,
      confirmLabel: 'Restore',
    });
    if (!ok) return;
    restoreBtn.disabled = true;
    try {
      const res = await restoreDoc(getKey(), rev, me.author);
      onRestored(res?.rev, rev);
    } catch (err) {
      message.textContent = `Could not restore this version: ${err.message}.`;
      onError?.(err);
      renderInfo();
    }
  });

  // --- controls ---
  slider.addEventListener('input', () => go(Number(slider.value)));
  slider.addEventListener('keydown', (e) => {
    // PageUp/PageDown: a tenth of the history.
    if (e.key === 'PageUp' || e.key === 'PageDown') {
      e.preventDefault();
      go(pos + (e.key === 'PageUp' ? 1 : -1) * bigStep(head));
    }
  });
  firstBtn.addEventListener('click', () => go(0));
  backBtn.addEventListener('click', () => go(pos - 1));
  fwdBtn.addEventListener('click', () => go(pos + 1));
  lastBtn.addEventListener('click', () => go(head));
  playBtn.addEventListener('click', play);
  closeBtn.addEventListener('click', () => api.close());
  changesToggle.addEventListener('change', () => {
    showChanges = changesToggle.checked;
    renderDiff();
  });
  el.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && !e.defaultPrevented && nameForm.hidden) api.close();
  });

  // A hook for end-to-end tests: the viewer's whole text (the page shows
  // only the lines in view) and its revision.
  window.tandemHistory = { text: () => viewer?.state.doc.toString() ?? null, rev: () => shownRev };

  const api = {
    el,
    isOpen: () => open,
    // open shows the panel at the current revision.
    open() {
      if (open) return;
      open = true;
      const key = getKey();
      timeline = new Timeline({
        fetchOps: (from, to) => getOps(key, from, to),
        fetchText: async (rev) => (await getDocAt(key, rev)).text,
      });
      head = Math.max(0, liveRev() ?? 0);
      timeline.setHead(head);
      shownText = '';
      viewer = new EditorView({ state: viewerState(''), parent: viewerHost });
      // The live text is revision head's when nothing of ours is pending.
      if (liveSynced()) timeline.remember(head, liveText());
      shownRev = -1;
      message.textContent = '';
      nameForm.hidden = true;
      el.hidden = false;
      loadAuthors();
      loadVersions();
      go(head);
      slider.focus();
    },
    close() {
      if (!open) return;
      open = false;
      stop();
      loadText.cancel();
      loadEntry.cancel();
      renderDiffLater.cancel();
      el.hidden = true;
      timeline = null;
      viewer?.destroy();
      viewer = null;
      shownRev = -1;
      shownText = '';
      api.onClose?.();
    },
    // liveChanged is called when the live document moved on: the slider's
    // end follows (staying at the end if it was there), and the changes
    // since are drawn again.
    liveChanged() {
      if (!open) return;
      const rev = liveRev();
      if (Number.isInteger(rev) && rev > head) {
        const atEnd = pos === head && !playing;
        head = rev;
        timeline.setHead(rev);
        if (atEnd) {
          pos = head;
          const text = liveText();
          showText(head, text);
        }
        renderInfo();
      }
      renderDiffLater();
    },
    onClose: null,
  };
  return api;
}

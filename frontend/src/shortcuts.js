// Keyboard shortcuts: the help dialog that lists them (opened with "?"
// outside a text field, or Ctrl-/ anywhere), and the page's own keys.
// The editor's keys are CodeMirror's (search and replace, go to line,
// undo, ...); the dialog lists those people look for.

import { h } from './dom.js';

const isMac = /Mac|iPhone|iPad/.test(globalThis.navigator?.platform ?? '');
const mod = isMac ? '⌘' : 'Ctrl';
const alt = isMac ? '⌥' : 'Alt';

export const SHORTCUTS = [
  ['Help', [
    [`? or ${mod} /`, 'Show this list'],
    ['Esc', 'Close a dialog or the search panel'],
  ]],
  ['Editing', [
    [`${mod} Z`, 'Undo your own last edit'],
    [`${mod} Shift Z or ${mod} Y`, 'Redo'],
    ['Tab / Shift Tab', 'Indent / unindent the lines (Esc then Tab leaves the editor)'],
    [`${alt} ↑ / ${alt} ↓`, 'Move the line up / down'],
    [`${mod} D`, 'Select the next occurrence'],
  ]],
  ['Finding', [
    [`${mod} F`, 'Search and replace'],
    [`${mod} G / Shift ${mod} G`, 'Next / previous match'],
    [`${mod} ${alt} G`, 'Go to line'],
  ]],
  ['Page', [
    [`${mod} ${alt} P`, 'Show or hide the preview'],
    ['Click a person', 'Follow their cursor (click again to stop)'],
  ]],
];

// helpDialog returns the dialog: open(from) shows it and gives the focus
// back to `from` when it closes.
export function helpDialog() {
  const close = h('button', { className: 'icon-btn', type: 'button', 'aria-label': 'Close', title: 'Close (Esc)' }, '×');
  const sections = SHORTCUTS.map(([title, rows]) =>
    h(
      'section',
      { className: 'keys-section' },
      h('h3', {}, title),
      h(
        'dl',
        { className: 'keys' },
        rows.map(([keys, what]) => [h('dt', {}, h('kbd', {}, keys)), h('dd', {}, what)]),
      ),
    ),
  );
  const el = h(
    'dialog',
    { className: 'dialog help', 'aria-labelledby': 'help-title', 'data-testid': 'help-dialog' },
    h('div', { className: 'dialog-head' }, h('h2', { id: 'help-title' }, 'Keyboard shortcuts'), close),
    h('div', { className: 'help-body' }, sections),
  );
  let opener = null;
  close.addEventListener('click', () => el.close());
  el.addEventListener('click', (e) => {
    if (e.target === el) el.close();
  });
  el.addEventListener('close', () => {
    if (opener?.isConnected) opener.focus();
    opener = null;
  });
  return {
    el,
    open(from = document.activeElement) {
      if (el.open) return;
      opener = from;
      el.showModal();
      close.focus();
    },
  };
}

// inTextField says whether typing a character there would type it.
function inTextField(target) {
  if (!(target instanceof Element)) return false;
  return target.closest('input, textarea, select, [contenteditable=""], [contenteditable="true"]') !== null;
}

// installShortcuts listens for the page's keys: {help(), preview()}.
export function installShortcuts({ help, preview }) {
  // In the capture phase: Ctrl-/ comes before the editor's own keys.
  document.addEventListener('keydown', (e) => {
    const modKey = e.ctrlKey || e.metaKey;
    if ((modKey && e.key === '/') || (e.key === '?' && !modKey && !e.altKey && !inTextField(e.target))) {
      e.preventDefault();
      help();
      return;
    }
    if (preview && modKey && e.altKey && (e.key === 'p' || e.key === 'P' || e.code === 'KeyP')) {
      e.preventDefault();
      preview();
    }
  }, true);
}

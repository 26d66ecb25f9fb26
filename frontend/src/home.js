// The home page: "your documents", the documents this browser created or
// opened (recent.js keeps them in localStorage: the server lists every
// document only to its administrator), each with what the server says of
// it now; a button for a new document and a field to open a link; a
// search over the titles and a sort (recently opened, or by title),
// remembered by the browser.

import { createDoc, deleteDoc, getDoc, importDoc, keyOfLink, undeleteDoc } from './api.js';
import { confirmDialog } from './confirm.js';
import { errorBanner, h } from './dom.js';
import { checkImport, checkUpload, fileError, parseExport, textOfUpload, titleFromFileName } from './files.js';
import { forgetDoc, loadRecent, recordDoc, updateDoc } from './recent.js';
import { liveState, watchDocs } from './live.js';
import { themeToggle } from './theme.js';
import { purgeDate } from './tools.js';

const SORT_ITEM = 'tandem.sort';

// filterDocs returns the entries whose title (as last known) contains
// every word of the query, in the order asked for: "recent" (most recently
// opened first) or "title" (alphabetical, in the person's language).
export function filterDocs(entries, query, sort, titleOf = (e) => e.title) {
  const words = query.toLocaleLowerCase().split(/\s+/).filter(Boolean);
  const out = entries.filter((e) => {
    const t = (titleOf(e) || 'Untitled').toLocaleLowerCase();
    return words.every((w) => t.includes(w));
  });
  if (sort === 'title') {
    const collator = new Intl.Collator(undefined, { sensitivity: 'base', numeric: true });
    out.sort((a, b) => collator.compare(titleOf(a) || 'Untitled', titleOf(b) || 'Untitled') || b.opened - a.opened);
  } else {
    out.sort((a, b) => b.opened - a.opened);
  }
  return out;
}

const REFRESH_MS = 30_000;
// Each refresh asks the server about at most this many documents (the most
// recently opened), a few at a time: GET /api/docs/{key} carries the text.
const REFRESH_LIMIT = 50;
const REFRESH_PARALLEL = 4;

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

// timeAgo says when t (an ISO date or milliseconds) was, relative to now.
export function timeAgo(t, now = Date.now()) {
  const ms = typeof t === 'number' ? t : Date.parse(t);
  if (!Number.isFinite(ms) || ms <= 0) return '';
  const s = Math.round((ms - now) / 1000);
  const abs = Math.abs(s);
  if (abs < 45) return 'just now';
  if (abs < 3600) return relative.format(Math.round(s / 60), 'minute');
  if (abs < 86400) return relative.format(Math.round(s / 3600), 'hour');
  if (abs < 86400 * 30) return relative.format(Math.round(s / 86400), 'day');
  return new Date(ms).toLocaleDateString();
}

export function sizeLabel(n) {
  if (n === 1) return '1 character';
  if (n < 1000) return `${n} characters`;
  if (n < 1_000_000) return `${(n / 1000).toFixed(n < 10_000 ? 1 : 0)}k characters`;
  return `${(n / 1_000_000).toFixed(1)}M characters`;
}

// docKeyFromInput accepts a document link (…/d/{key}) or a bare key.
export function docKeyFromInput(text) {
  const s = text.trim();
  const key = keyOfLink(s.replace(/[?#].*$/, ''));
  if (key) return key;
  if (/^[A-Za-z0-9._~-]+$/.test(s)) return s;
  return null;
}

const ROLE_LABEL = { edit: 'Can edit', admin: 'Administrator', view: 'View only' };

export function renderHome(root) {
  document.title = 'Your documents · Tandem';
  const banner = errorBanner();
  const list = h('ul', { className: 'doc-list', 'data-testid': 'doc-list', 'aria-labelledby': 'docs-heading' });
  const emptyNew = h('button', { className: 'btn primary', type: 'button' }, 'Start a new document');
  const empty = h(
    'div',
    { className: 'empty', hidden: true, 'data-testid': 'no-docs' },
    h('p', { className: 'empty-title' }, 'No documents here yet'),
    h('p', {}, 'Documents you create or open in this browser appear here. Start one, or paste a link someone shared with you above.'),
    emptyNew,
  );
  const clearSearch = h('button', { className: 'btn', type: 'button' }, 'Clear the search');
  const noMatch = h(
    'div',
    { className: 'empty', hidden: true, 'data-testid': 'no-match', role: 'status' },
    h('p', { className: 'empty-title' }, 'No document matches'),
    h('p', {}, 'Only titles are searched. Try fewer or other words.'),
    clearSearch,
  );
  const searchInput = h('input', {
    className: 'search-input',
    type: 'search',
    placeholder: 'Search your documents',
    'aria-label': 'Search your documents by title',
    'data-testid': 'search',
  });
  let sort = 'recent';
  try {
    sort = localStorage.getItem(SORT_ITEM) === 'title' ? 'title' : 'recent';
  } catch {
    // storage disabled
  }
  const sortSelect = h(
    'select',
    { className: 'sort-select', id: 'sort-docs', 'data-testid': 'sort' },
    h('option', { value: 'recent' }, 'Recently opened'),
    h('option', { value: 'title' }, 'Title'),
  );
  sortSelect.value = sort;
  const tools = h(
    'div',
    { className: 'home-tools', role: 'search' },
    searchInput,
    h('label', { className: 'sort-field', for: 'sort-docs' }, 'Sort by', sortSelect),
  );

  const newButton = h('button', { className: 'btn primary', type: 'button', 'data-testid': 'new-doc' }, 'New document');
  emptyNew.addEventListener('click', () => newButton.click());
  clearSearch.addEventListener('click', () => {
    searchInput.value = '';
    render();
    searchInput.focus();
  });
  searchInput.addEventListener('input', () => render());
  sortSelect.addEventListener('change', () => {
    try {
      localStorage.setItem(SORT_ITEM, sortSelect.value);
    } catch {
      // storage disabled
    }
    render();
  });
  newButton.addEventListener('click', async () => {
    newButton.disabled = true;
    try {
      const doc = await createDoc();
      const key = keyOfLink(doc.links?.edit);
      if (!key) throw new Error('the server did not answer with an edit link');
      recordDoc({ key, id: doc.id, title: doc.title ?? '', role: doc.role ?? 'edit' });
      location.assign(`/d/${encodeURIComponent(key)}`);
    } catch (err) {
      banner.show(
        err.status === 401 || err.code === 'unauthorized'
          ? 'This server lets only its administrators create documents. Ask for a link to a document instead.'
          : `Could not create a document: ${err.message}.`,
      );
      newButton.disabled = false;
    }
  });

  // Upload a .txt/.md file as a new document; import an exported history.
  const uploadInput = h('input', { type: 'file', accept: '.txt,.md,.markdown,text/plain,text/markdown', hidden: true, 'data-testid': 'upload-input' });
  const importInput = h('input', { type: 'file', accept: '.json,application/json', hidden: true, 'data-testid': 'import-input' });
  const uploadButton = h('button', { className: 'btn', type: 'button', 'data-testid': 'upload', title: 'A new document from a .txt or .md file' }, 'Upload');
  const importButton = h('button', { className: 'btn', type: 'button', 'data-testid': 'import', title: 'A new document from a history exported as .json, with all its revisions' }, 'Import');
  uploadButton.addEventListener('click', () => uploadInput.click());
  importButton.addEventListener('click', () => importInput.click());

  // opened records a new document and opens it.
  function opened(doc) {
    const key = keyOfLink(doc.links?.edit);
    if (!key) throw new Error('the server did not answer with an edit link');
    recordDoc({ key, id: doc.id, title: doc.title ?? '', role: doc.role ?? 'edit' });
    location.assign(`/d/${encodeURIComponent(key)}`);
  }

  async function withFile(input, button, work) {
    const file = input.files?.[0];
    input.value = '';
    if (!file) return;
    banner.hide();
    button.disabled = true;
    try {
      await work(file);
    } finally {
      button.disabled = false;
    }
  }

  uploadInput.addEventListener('change', () =>
    withFile(uploadInput, uploadButton, async (file) => {
      const problem = checkUpload(file);
      if (problem) {
        banner.show(problem);
        return;
      }
      const read = textOfUpload(file.name, await file.text());
      if (read.error) {
        banner.show(read.error);
        return;
      }
      try {
        opened(await createDoc(titleFromFileName(file.name), read.text));
      } catch (err) {
        banner.show(fileError(err, file.name, 'upload'));
      }
    }),
  );

  importInput.addEventListener('change', () =>
    withFile(importInput, importButton, async (file) => {
      const problem = checkImport(file);
      if (problem) {
        banner.show(problem);
        return;
      }
      const text = await file.text();
      const parsed = parseExport(file.name, text);
      if (parsed.error) {
        banner.show(parsed.error);
        return;
      }
      try {
        opened(await importDoc(text));
      } catch (err) {
        banner.show(fileError(err, file.name, 'import'));
      }
    }),
  );

  const openInput = h('input', {
    className: 'open-input',
    type: 'text',
    placeholder: 'Paste a document link',
    'aria-label': 'Document link',
    'data-testid': 'open-link',
  });
  const openForm = h('form', { className: 'open-form' }, openInput, h('button', { className: 'btn', type: 'submit' }, 'Open'));
  openForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const key = docKeyFromInput(openInput.value);
    if (key === null) {
      banner.show('That does not look like a document link.');
      return;
    }
    location.assign(`/d/${encodeURIComponent(key)}`);
  });

  root.replaceChildren(
    h(
      'header',
      { className: 'topbar' },
      h('a', { className: 'brand', href: '/' }, h('span', { className: 'brand-mark', 'aria-hidden': 'true' }), 'Tandem'),
      h('div', { className: 'spacer' }),
      themeToggle(),
      h('div', { className: 'home-actions' }, uploadButton, importButton, newButton, uploadInput, importInput),
    ),
    banner.el,
    h(
      'main',
      { className: 'home' },
      h('div', { className: 'home-head' }, h('h1', { id: 'docs-heading' }, 'Your documents'), openForm),
      tools,
      list,
      empty,
      noMatch,
      h('p', { className: 'home-note' }, 'This list is kept in this browser only. Removing a document from it deletes nothing.'),
    ),
  );

  // What the server said of each key: {doc} or {gone: true}.
  const live = new Map();

  function render() {
    const entries = loadRecent();
    const titleOf = (e) => live.get(e.key)?.doc?.title ?? e.title;
    const shown = filterDocs(entries, searchInput.value, sortSelect.value, titleOf);
    const focusedKey = document.activeElement?.closest?.('.doc-item')?.dataset.key;
    list.replaceChildren(...shown.map((e) => docItem(e, live.get(e.key), actions)));
    empty.hidden = entries.length > 0;
    tools.hidden = entries.length === 0;
    noMatch.hidden = entries.length === 0 || shown.length > 0;
    if (focusedKey) list.querySelector(`.doc-item[data-key="${CSS.escape(focusedKey)}"] a, .doc-item[data-key="${CSS.escape(focusedKey)}"] button`)?.focus();
  }

  function remove(key) {
    forgetDoc(key);
    live.delete(key);
    render();
    list.querySelector('a, button')?.focus();
  }

  // What a document's buttons do: forget it here, delete it (to the
  // trash), restore it from the trash, delete it for good.
  const actions = {
    remove,
    async trash(entry, title) {
      const ok = await confirmDialog({
        title: `Delete “${title}”?`,
        text: 'Everyone loses access at once, through every link. It stays in the trash for a while, and can be restored from there until then.',
        confirmLabel: 'Delete',
        danger: true,
      });
      if (!ok) return;
      try {
        await deleteDoc(entry.key);
      } catch (err) {
        banner.show(`Could not delete “${title}”: ${err.message}.`);
      }
      await check(entry);
      render();
    },
    async restore(entry, title) {
      try {
        // The answer is the document, back as it was.
        const doc = await undeleteDoc(entry.key);
        live.set(entry.key, { doc: { ...doc, editors: 0 } });
      } catch (err) {
        banner.show(`Could not restore “${title}”: ${err.message}.`);
        await check(entry);
      }
      render();
    },
    async purge(entry, title) {
      const ok = await confirmDialog({
        title: `Delete “${title}” forever?`,
        text: 'The document and its whole history are removed for good. This cannot be undone.',
        confirmLabel: 'Delete forever',
        danger: true,
      });
      if (!ok) return;
      try {
        await deleteDoc(entry.key, { purge: true });
        remove(entry.key);
      } catch (err) {
        banner.show(`Could not delete “${title}”: ${err.message}.`);
      }
    },
  };

  // check asks the server about one document and keeps what it learns.
  async function check(entry) {
    try {
      const doc = await getDoc(entry.key);
      live.set(entry.key, { doc });
      updateDoc(entry.key, { id: doc.id, title: doc.title ?? '', role: doc.role });
    } catch (err) {
      if (err.status === 404) live.set(entry.key, { gone: true });
      else if (err.status === 410 || err.code === 'deleted') live.set(entry.key, { trashed: err.details ?? {} });
      // Anything else (the server away, too many requests): keep what was
      // known, and try again at the next refresh.
    }
  }

  let timer = null;
  let running = false;
  async function refresh() {
    clearTimeout(timer);
    if (running) return;
    running = true;
    render();
    const queue = loadRecent().slice(0, REFRESH_LIMIT);
    const worker = async () => {
      for (let e = queue.shift(); e !== undefined; e = queue.shift()) {
        await check(e);
        render();
      }
    };
    await Promise.all(Array.from({ length: REFRESH_PARALLEL }, worker));
    list.dataset.checked = 'true';
    running = false;
    watch();
    if (!document.hidden) timer = setTimeout(refresh, REFRESH_MS);
  }

  // watch follows the listed documents live (renames, people, deletions),
  // restarting when the list of keys changes.
  let watched = '';
  let unwatch = () => {};
  function watch() {
    const keys = loadRecent().slice(0, 200).map((e) => e.key);
    if (keys.join(',') === watched) return;
    unwatch();
    watched = keys.join(',');
    unwatch = watchDocs(keys, (ev) => {
      const state = liveState(ev, live.get(ev.key));
      live.set(ev.key, state);
      if (state.doc?.title !== undefined) updateDoc(ev.key, { title: state.doc.title, role: state.doc.role });
      render();
    });
  }
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) refresh();
  });
  // Another tab opened or removed a document.
  window.addEventListener('storage', (e) => {
    if (e.key === null || e.key === 'tandem.docs') render();
  });
  refresh();
}

function docItem(entry, known, actions) {
  const doc = known?.doc;
  const gone = known?.gone === true;
  const trashed = known?.trashed ?? null;
  const title = (doc?.title ?? entry.title) || 'Untitled';
  const role = doc?.role ?? entry.role;
  const editors = doc?.editors ?? 0;
  const meta = [];
  if (entry.opened) meta.push(`opened ${timeAgo(entry.opened)}`);
  if (doc?.updated) meta.push(`edited ${timeAgo(doc.updated)}`);
  if (doc) meta.push(sizeLabel(doc.size ?? 0));
  const removeButton = h(
    'button',
    {
      className: gone ? 'btn small' : 'icon-btn doc-remove',
      type: 'button',
      'data-testid': 'remove-doc',
      'aria-label': `Remove “${title}” from your documents`,
      title: 'Remove from this list',
    },
    gone ? 'Remove' : '×',
  );
  removeButton.addEventListener('click', () => actions.remove(entry.key));
  const mayEdit = role === 'edit' || role === 'admin';
  const buttons = h('div', { className: 'doc-item-actions' });
  if (trashed) {
    if (mayEdit) {
      const restore = h('button', { className: 'btn small', type: 'button', 'data-testid': 'restore-doc' }, 'Restore');
      restore.addEventListener('click', () => actions.restore(entry, title));
      const purge = h('button', { className: 'btn small subtle', type: 'button', 'data-testid': 'purge-doc' }, 'Delete forever');
      purge.addEventListener('click', () => actions.purge(entry, title));
      buttons.append(restore, purge);
    }
  } else if (doc && mayEdit) {
    const del = h(
      'button',
      { className: 'icon-btn doc-delete', type: 'button', 'data-testid': 'delete-doc', 'aria-label': `Delete “${title}”…`, title: 'Delete (to the trash)' },
      h('span', { className: 'tool-icon icon-trash', 'aria-hidden': 'true' }),
    );
    del.addEventListener('click', () => actions.trash(entry, title));
    buttons.append(del);
  }
  buttons.append(removeButton);
  const until = trashed ? purgeDate(trashed.purge) : '';
  return h(
    'li',
    {
      className: gone ? 'doc-item gone' : trashed ? 'doc-item trashed' : 'doc-item',
      'data-testid': 'doc-item',
      'data-key': entry.key,
      'data-id': entry.id || null,
      'data-state': gone ? 'gone' : trashed ? 'trashed' : doc ? 'ok' : 'unknown',
    },
    h(
      'a',
      { className: 'doc-link', href: `/d/${encodeURIComponent(entry.key)}` },
      h('span', { className: 'doc-title' }, title),
      h(
        'span',
        { className: 'doc-meta' },
        h('span', { className: `role-chip role-${role}` }, ROLE_LABEL[role] ?? role),
        meta.length ? ` ${meta.join(' · ')}` : '',
      ),
      gone
        ? h('span', { className: 'doc-gone', 'data-testid': 'doc-gone' }, 'Deleted or link revoked')
        : trashed
          ? h('span', { className: 'doc-trash', 'data-testid': 'doc-trash' }, until ? `In the trash until ${until}` : 'In the trash')
          : editors > 0
          ? h('span', { className: 'doc-people', title: `${editors} here now` }, h('span', { className: 'live-dot' }), `${editors} here now`)
          : null,
    ),
    buttons,
  );
}

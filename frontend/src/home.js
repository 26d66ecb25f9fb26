// The home page: the documents, newest edit first, and a button for a new one.

import { createDoc, listDocs } from './api.js';
import { errorBanner, h } from './dom.js';

const REFRESH_MS = 15_000;

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

export function timeAgo(iso, now = Date.now()) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '';
  const s = Math.round((t - now) / 1000);
  const abs = Math.abs(s);
  if (abs < 45) return 'just now';
  if (abs < 3600) return relative.format(Math.round(s / 60), 'minute');
  if (abs < 86400) return relative.format(Math.round(s / 3600), 'hour');
  if (abs < 86400 * 30) return relative.format(Math.round(s / 86400), 'day');
  return new Date(t).toLocaleDateString();
}

export function sizeLabel(n) {
  if (n === 1) return '1 character';
  if (n < 1000) return `${n} characters`;
  if (n < 1_000_000) return `${(n / 1000).toFixed(n < 10_000 ? 1 : 0)}k characters`;
  return `${(n / 1_000_000).toFixed(1)}M characters`;
}

// docIdFromInput accepts a document link (…/d/{id}) or a bare id.
export function docIdFromInput(text) {
  const s = text.trim();
  const m = s.match(/\/d\/([^/?#\s]+)/);
  if (m) return decodeURIComponent(m[1]);
  if (/^[A-Za-z0-9._~-]+$/.test(s)) return s;
  return null;
}

export function renderHome(root) {
  document.title = 'Tandem';
  const banner = errorBanner();
  const list = h('ul', { className: 'doc-list', 'data-testid': 'doc-list', 'aria-busy': 'true' });
  const empty = h('p', { className: 'empty', hidden: true }, 'No documents yet. Start one with “New document”.');

  const newButton = h('button', { className: 'btn primary', type: 'button', 'data-testid': 'new-doc' }, 'New document');
  newButton.addEventListener('click', async () => {
    newButton.disabled = true;
    try {
      const doc = await createDoc();
      location.assign(`/d/${encodeURIComponent(doc.id)}`);
    } catch (err) {
      banner.show(`Could not create a document: ${err.message}.`);
      newButton.disabled = false;
    }
  });

  const openInput = h('input', {
    className: 'open-input',
    type: 'text',
    placeholder: 'Paste a document link',
    'aria-label': 'Document link',
    'data-testid': 'open-link',
  });
  const openForm = h(
    'form',
    { className: 'open-form' },
    openInput,
    h('button', { className: 'btn', type: 'submit' }, 'Open'),
  );
  openForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const id = docIdFromInput(openInput.value);
    if (id === null) {
      banner.show('That does not look like a document link.');
      return;
    }
    location.assign(`/d/${encodeURIComponent(id)}`);
  });

  root.replaceChildren(
    h(
      'header',
      { className: 'topbar' },
      h('a', { className: 'brand', href: '/' }, h('span', { className: 'brand-mark', 'aria-hidden': 'true' }), 'Tandem'),
      h('div', { className: 'spacer' }),
      newButton,
    ),
    banner.el,
    h(
      'main',
      { className: 'home' },
      h('div', { className: 'home-head' }, h('h1', {}, 'Documents'), openForm),
      list,
      empty,
    ),
  );

  let timer = null;
  async function refresh() {
    try {
      const docs = await listDocs();
      list.replaceChildren(...docs.map(docItem));
      empty.hidden = docs.length > 0;
      list.removeAttribute('aria-busy');
      if (banner.el.dataset.source === 'list') banner.hide();
    } catch (err) {
      banner.show(`Could not load the documents: ${err.message}.`);
      banner.el.dataset.source = 'list';
    }
    clearTimeout(timer);
    if (!document.hidden) timer = setTimeout(refresh, REFRESH_MS);
  }
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) refresh();
  });
  refresh();
}

function docItem(doc) {
  const editors = doc.editors ?? 0;
  const meta = [`edited ${timeAgo(doc.updated)}`, sizeLabel(doc.size ?? 0)];
  return h(
    'li',
    { className: 'doc-item', 'data-testid': 'doc-item', 'data-id': doc.id },
    h(
      'a',
      { className: 'doc-link', href: `/d/${encodeURIComponent(doc.id)}` },
      h('span', { className: 'doc-title' }, doc.title || 'Untitled'),
      h('span', { className: 'doc-meta' }, meta.join(' · ')),
      editors > 0
        ? h('span', { className: 'doc-people', title: `${editors} editing now` }, h('span', { className: 'live-dot' }), `${editors} here now`)
        : null,
    ),
  );
}

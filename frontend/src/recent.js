// "Your documents": the documents this browser created or opened, kept in
// localStorage, since the server lists all documents only to its
// administrator. Each entry is {key, id, title, role, opened}: the key the
// page was opened with (an edit or view link's token), the document's id
// and title as last seen, the role the key grants, and when it was last
// opened (milliseconds). Entries are told apart by key: a document opened
// through its edit link and through its view link has two entries, each
// with its own role. At most MAX_RECENT entries are kept, the most recently
// opened.
//
// Every function takes the storage to use (window.localStorage by default;
// a Map-like object with getItem/setItem in tests) and does nothing when
// storage is disabled.

export const MAX_RECENT = 200;
const ITEM = 'tandem.docs';

function defaultStorage() {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null; // storage disabled
  }
}

function valid(e) {
  return e !== null && typeof e === 'object' && typeof e.key === 'string' && e.key !== '' && e.key.length <= 200;
}

function clean(e) {
  return {
    key: e.key,
    id: typeof e.id === 'string' ? e.id : '',
    title: typeof e.title === 'string' ? e.title : '',
    role: e.role === 'edit' || e.role === 'view' || e.role === 'admin' ? e.role : 'edit',
    opened: Number.isFinite(e.opened) ? e.opened : 0,
  };
}

// loadRecent returns the entries, the most recently opened first.
export function loadRecent(store = defaultStorage()) {
  let list;
  try {
    list = JSON.parse(store?.getItem(ITEM) ?? '[]');
  } catch {
    return [];
  }
  if (!Array.isArray(list)) return [];
  const seen = new Set();
  const out = [];
  for (const e of list) {
    if (!valid(e) || seen.has(e.key)) continue;
    seen.add(e.key);
    out.push(clean(e));
  }
  return out.sort((a, b) => b.opened - a.opened).slice(0, MAX_RECENT);
}

function save(list, store) {
  try {
    store?.setItem(ITEM, JSON.stringify(list.slice(0, MAX_RECENT)));
  } catch {
    // Storage full or disabled: the list is a convenience, not the data.
  }
}

// recordDoc notes that the document with this key was opened now (or at
// entry.opened); fields it does not give are kept from an earlier entry.
export function recordDoc(entry, store = defaultStorage(), now = Date.now()) {
  if (!valid(entry)) return;
  const list = loadRecent(store);
  const old = list.find((e) => e.key === entry.key) ?? {};
  const merged = clean({ ...old, ...defined(entry), opened: entry.opened ?? now });
  save([merged, ...list.filter((e) => e.key !== entry.key)], store);
}

// updateDoc changes what is known of an entry (title, role, id) without
// moving it in the list; an unknown key is ignored.
export function updateDoc(key, fields, store = defaultStorage()) {
  const list = loadRecent(store);
  const i = list.findIndex((e) => e.key === key);
  if (i < 0) return;
  const next = clean({ ...list[i], ...defined(fields), key, opened: list[i].opened });
  if (JSON.stringify(next) === JSON.stringify(list[i])) return;
  list[i] = next;
  save(list, store);
}

// replaceKey moves an entry to a new key (after its link was reissued from
// this browser).
export function replaceKey(oldKey, newKey, store = defaultStorage()) {
  const list = loadRecent(store);
  const i = list.findIndex((e) => e.key === oldKey);
  if (i < 0 || !newKey) return;
  const entry = { ...list[i], key: newKey };
  save([...list.slice(0, i), entry, ...list.slice(i + 1)].filter((e, j) => e.key !== newKey || j === i), store);
}

// forgetDoc removes an entry.
export function forgetDoc(key, store = defaultStorage()) {
  const list = loadRecent(store);
  const next = list.filter((e) => e.key !== key);
  if (next.length !== list.length) save(next, store);
}

function defined(o) {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null));
}

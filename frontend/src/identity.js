// The local person: a name and a colour, remembered in localStorage, with a
// friendly random default, and an author id (tandem.author): 22 random
// base64url characters made once per browser and sent in every join, so
// that the server records who wrote what across reloads and reconnects
// (the name and colour may change; the author stays). The client's id is
// not made here: the server
// issues it (with a secret) when the page first joins a document, and the
// page keeps it only in memory, for that page load, because a duplicated
// tab copies sessionStorage and two tabs must never share an identity.

const ADJECTIVES = [
  'Quick', 'Calm', 'Bright', 'Brave', 'Clever', 'Gentle', 'Happy', 'Jolly', 'Kind', 'Lucky',
  'Merry', 'Nimble', 'Proud', 'Quiet', 'Swift', 'Witty', 'Bold', 'Curious', 'Eager', 'Sunny',
];
const ANIMALS = [
  'Otter', 'Fox', 'Owl', 'Panda', 'Badger', 'Heron', 'Lynx', 'Koala', 'Robin', 'Seal',
  'Tiger', 'Whale', 'Wren', 'Yak', 'Zebra', 'Falcon', 'Hare', 'Ibis', 'Moose', 'Puffin',
];
// Colours that carry white text and read on a white page.
export const COLORS = [
  '#e5484d', '#f76b15', '#c27c00', '#30a46c', '#12a594', '#0090ff',
  '#3e63dd', '#8e4ec6', '#d6409f', '#978365', '#0d74ce', '#6e56cf',
];

const COLOR_RE = /^#(?:[0-9a-fA-F]{3}){1,2}$/;
export const MAX_NAME = 64;

const pick = (list) => list[Math.floor(Math.random() * list.length)];

function storage() {
  try {
    return window.localStorage;
  } catch {
    return null; // storage disabled: defaults for this page only
  }
}

// cleanName removes control characters and trims to the protocol's limit.
export function cleanName(name) {
  // eslint-disable-next-line no-control-regex
  return String(name).replace(/[\u0000-\u001f\u007f-\u009f]/g, '').trim().slice(0, MAX_NAME);
}

// safeColor returns c when it is a #rgb or #rrggbb colour, else a grey; it
// goes into style values.
export function safeColor(c) {
  return typeof c === 'string' && COLOR_RE.test(c) ? c : '#888888';
}

// withAlpha turns #rgb / #rrggbb into #rrggbbaa.
export function withAlpha(c, alpha) {
  let hex = safeColor(c).slice(1);
  if (hex.length === 3) hex = [...hex].map((x) => x + x).join('');
  const a = Math.round(alpha * 255).toString(16).padStart(2, '0');
  return `#${hex}${a}`;
}

// initials are the first letters (or digits) of the first two words.
export function initials(name) {
  const words = cleanName(name)
    .split(/\s+/)
    .map((w) => w.match(/[\p{L}\p{N}]/gu) ?? [])
    .filter((chars) => chars.length > 0);
  if (words.length === 0) return '?';
  const chars = words.length === 1 ? words[0].slice(0, 2) : [words[0][0], words[1][0]];
  return chars.join('').toUpperCase();
}

const AUTHOR_RE = /^[A-Za-z0-9_-]{1,64}$/;

// newAuthorId returns 22 base64url characters from 132 random bits.
export function newAuthorId(random = (n) => crypto.getRandomValues(new Uint8Array(n))) {
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  return Array.from(random(22), (b) => abc[b & 63]).join('');
}

// loadAuthor returns this browser's author id, made and stored the first
// time (without storage: a new one for this page only).
export function loadAuthor(s = storage()) {
  let id = null;
  try {
    id = s?.getItem('tandem.author') ?? null;
  } catch {
    id = null;
  }
  if (typeof id === 'string' && AUTHOR_RE.test(id)) return id;
  id = newAuthorId();
  try {
    s?.setItem('tandem.author', id);
  } catch {
    // storage full or disabled: this page's id only
  }
  return id;
}

export function loadIdentity() {
  const s = storage();
  let name = cleanName(s?.getItem('tandem.name') ?? '');
  let color = s?.getItem('tandem.color') ?? '';
  if (!name) {
    name = `${pick(ADJECTIVES)} ${pick(ANIMALS)}`;
    s?.setItem('tandem.name', name);
  }
  if (!COLOR_RE.test(color)) {
    color = pick(COLORS);
    s?.setItem('tandem.color', color);
  }
  return { name, color, author: loadAuthor(s) };
}

export function saveName(name) {
  storage()?.setItem('tandem.name', name);
}

// inkOn returns black or white, whichever reads better on the colour c
// (WCAG contrast).
export function inkOn(c) {
  let hex = safeColor(c).slice(1);
  if (hex.length === 3) hex = [...hex].map((x) => x + x).join('');
  const lin = (i) => {
    const v = Number.parseInt(hex.slice(i, i + 2), 16) / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  };
  const L = 0.2126 * lin(0) + 0.7152 * lin(2) + 0.0722 * lin(4);
  // Contrast with white: 1.05 / (L + 0.05); with black: (L + 0.05) / 0.05.
  return 1.05 / (L + 0.05) >= (L + 0.05) / 0.05 ? '#ffffff' : '#111111';
}

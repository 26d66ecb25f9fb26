// What changed between an older text and the current one, as ranges of the
// older text: the history panel shows the older text with what has been
// removed since marked, and what has been added since drawn where it went.
//
// changeRanges(old, cur) returns chunks in order, each
//   {from, to, insert}: old.slice(from, to) is not in the current text
//   (empty when from === to), and `insert` was added in its place ('' when
//   nothing was);
// applying every chunk to `old` gives `cur`. Positions are UTF-16 units and
// never cut a surrogate pair.
//
// The common start and end are cut off first (cheap, and most of a typical
// history), then the middle is compared word by word (jsdiff's Myers diff,
// which reads "Dear Bo" -> "Dear Cy" as one word replaced, not a letter);
// a middle too large or too different for that within the time limit is
// compared line by line, and failing that shown as one replaced block.

import { diffLines, diffWordsWithSpace } from 'diff';

// Above these sizes (units) the middle is compared by lines only.
const WORDS_LIMIT = 200_000;
const TIMEOUT_MS = 250;

const WORD = /[\p{L}\p{N}_]/u;
// isWord says whether the unit at i of s belongs to a word (a surrogate
// half counts as one: emoji are not letters, but a pair is never cut).
const isWord = (s, i) => i >= 0 && i < s.length && (WORD.test(s[i]) || /[\ud800-\udfff]/.test(s[i]));

const isHigh = (c) => c >= 0xd800 && c <= 0xdbff;
const isLow = (c) => c >= 0xdc00 && c <= 0xdfff;

// commonPrefix is the length of the common start, not ending inside a
// surrogate pair.
export function commonPrefix(a, b) {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  if (i > 0 && isHigh(a.charCodeAt(i - 1))) i--;
  return i;
}

// commonSuffix is the length of the common end of a and b within their
// parts after `skip` units, not starting inside a surrogate pair.
export function commonSuffix(a, b, skip = 0) {
  const n = Math.min(a.length, b.length) - skip;
  let i = 0;
  while (i < n && a.charCodeAt(a.length - 1 - i) === b.charCodeAt(b.length - 1 - i)) i++;
  if (i > 0 && isLow(a.charCodeAt(a.length - i))) i--;
  return i;
}

export function changeRanges(old, cur, { timeout = TIMEOUT_MS, wordsLimit = WORDS_LIMIT } = {}) {
  if (old === cur) return [];
  // The cuts move out to word boundaries, so that a changed word is read
  // whole ("Monday" -> "Friday", not "Mon" -> "Fri").
  let pre = commonPrefix(old, cur);
  while (pre > 0 && isWord(old, pre - 1) && (isWord(old, pre) || isWord(cur, pre))) pre--;
  let suf = commonSuffix(old, cur, pre);
  while (suf > 0 && isWord(old, old.length - suf) && (isWord(old, old.length - suf - 1) || isWord(cur, cur.length - suf - 1))) suf--;
  const a = old.slice(pre, old.length - suf);
  const b = cur.slice(pre, cur.length - suf);
  if (a.length === 0 || b.length === 0) return [{ from: pre, to: pre + a.length, insert: b }];
  let parts;
  if (a.length + b.length <= wordsLimit) parts = diffWordsWithSpace(a, b, { timeout });
  if (!parts) parts = diffLines(a, b, { timeout });
  if (!parts) return [{ from: pre, to: pre + a.length, insert: b }];
  return joinNear(old, chunksOf(parts, pre));
}

// joinNear merges chunks that only a little white space keeps apart, so
// that "book a table" -> "Bo booked a room" reads as one replacement, not as
// three interleaved ones.
export function joinNear(old, chunks, gap = 2) {
  const out = [];
  for (const c of chunks) {
    const last = out[out.length - 1];
    const between = last ? old.slice(last.to, c.from) : null;
    if (last && between.length <= gap && /^[ \t]*$/.test(between) && (last.to > last.from || c.to > c.from)) {
      out[out.length - 1] = { from: last.from, to: c.to, insert: last.insert + between + c.insert };
    } else {
      out.push({ ...c });
    }
  }
  return out;
}

// chunksOf turns jsdiff's parts ({value, added, removed}) into chunks in
// the older text's positions, starting at offset; a removal next to an
// addition is one chunk.
export function chunksOf(parts, offset = 0) {
  const out = [];
  let pos = offset;
  let open = null;
  const close = () => {
    if (open && (open.to > open.from || open.insert !== '')) out.push(open);
    open = null;
  };
  for (const p of parts) {
    if (p.removed) {
      if (!open) open = { from: pos, to: pos, insert: '' };
      pos += p.value.length;
      open.to = pos;
    } else if (p.added) {
      if (!open) open = { from: pos, to: pos, insert: '' };
      open.insert += p.value;
    } else {
      close();
      pos += p.value.length;
    }
  }
  close();
  return out;
}

// applyChunks applies chunks to the older text: the current text (used by
// the tests, and as a check).
export function applyChunks(old, chunks) {
  let out = '';
  let pos = 0;
  for (const c of chunks) {
    out += old.slice(pos, c.from) + c.insert;
    pos = c.to;
  }
  return out + old.slice(pos);
}

// summary counts what chunks change: {changes, removed, added} in units.
export function summary(chunks) {
  let removed = 0;
  let added = 0;
  for (const c of chunks) {
    removed += c.to - c.from;
    added += c.insert.length;
  }
  return { changes: chunks.length, removed, added };
}

// Word and character counts for the footer under the editor.

const segmenter = typeof Intl !== 'undefined' && Intl.Segmenter ? new Intl.Segmenter(undefined, { granularity: 'word' }) : null;

// Above this many UTF-16 units the count uses a plain pattern instead of
// the (slower) word segmenter, which also counts each Chinese or Japanese
// word.
const SEGMENT_LIMIT = 100_000;

// countWords counts the words of a text.
export function countWords(text) {
  if (segmenter && text.length <= SEGMENT_LIMIT) {
    let n = 0;
    for (const s of segmenter.segment(text)) if (s.isWordLike) n++;
    return n;
  }
  return (text.match(/[\p{L}\p{N}][\p{L}\p{N}'’_-]*/gu) ?? []).length;
}

// countChars counts characters as people do: an emoji is one, not two
// UTF-16 units.
export function countChars(text) {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0xdc00 || c > 0xdfff || i === 0 || (text.charCodeAt(i - 1) & 0xfc00) !== 0xd800) n++;
  }
  return n;
}

const fmt = (n) => n.toLocaleString();

// countsLabel is the footer's text for a document and its selection.
export function countsLabel(text, selected = '') {
  const words = countWords(text);
  const chars = countChars(text);
  let s = `${fmt(words)} ${words === 1 ? 'word' : 'words'} · ${fmt(chars)} ${chars === 1 ? 'character' : 'characters'}`;
  if (selected) s += ` · ${fmt(countWords(selected))} selected`;
  return s;
}

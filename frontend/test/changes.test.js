// The history panel's highlighting: the ranges of an older text that were
// removed since, and what was added where, checked against the texts
// themselves (applying the chunks to the older text gives the current one)
// and against hand-written expectations.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { applyChunks, changeRanges, commonPrefix, commonSuffix, summary } from '../src/changes.js';

// A small seeded generator (mulberry32), so a failure can be replayed.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const hasSplitPair = (s, pos) => pos > 0 && pos < s.length && /[\ud800-\udbff]/.test(s[pos - 1]) && /[\udc00-\udfff]/.test(s[pos]);

describe('changeRanges', () => {
  it('is empty for equal texts', () => {
    assert.deepEqual(changeRanges('same', 'same'), []);
    assert.deepEqual(changeRanges('', ''), []);
  });

  it('marks a pure insertion and a pure deletion at their place', () => {
    assert.deepEqual(changeRanges('Hello world', 'Hello big world'), [{ from: 6, to: 6, insert: 'big ' }]);
    assert.deepEqual(changeRanges('Hello big world', 'Hello world'), [{ from: 6, to: 10, insert: '' }]);
    assert.deepEqual(changeRanges('', 'new'), [{ from: 0, to: 0, insert: 'new' }]);
    assert.deepEqual(changeRanges('old', ''), [{ from: 0, to: 3, insert: '' }]);
  });

  it('reads a changed word as one word replaced, with the rest kept', () => {
    const chunks = changeRanges('Dear Bo, see you Monday.', 'Dear Cy, see you Friday.');
    assert.deepEqual(chunks, [
      { from: 5, to: 7, insert: 'Cy' },
      { from: 17, to: 23, insert: 'Friday' },
    ]);
    assert.deepEqual(summary(chunks), { changes: 2, removed: 8, added: 8 });
  });

  it('reads a run of replaced words as one replacement', () => {
    const old = '- Dinner: fado at a tasca, book a table';
    const cur = '- Dinner: fado at a tasca, Bo booked Tasca do Chico for 8 pm';
    const chunks = changeRanges(old, cur);
    assert.deepEqual(chunks, [{ from: 27, to: 39, insert: 'Bo booked Tasca do Chico for 8 pm' }]);
    // Apart by more than a little white space (or by a word): two changes.
    assert.equal(changeRanges('one two three', 'ONE two THREE').length, 2);
    assert.equal(changeRanges('a    b', 'X    Y').length, 2);
  });

  it('never cuts an emoji in two', () => {
    // 😀 is \ud83d\ude00 and 😁 is \ud83d\ude01: they share the high half.
    for (const [a, b] of [
      ['x😀y', 'x😁y'],
      ['😀', '😁'],
      ['a😀😀b', 'a😀😁b'],
      ['😀😀', '😀'],
    ]) {
      const chunks = changeRanges(a, b);
      assert.equal(applyChunks(a, chunks), b, `${a} -> ${b}`);
      for (const c of chunks) {
        assert.ok(!hasSplitPair(a, c.from) && !hasSplitPair(a, c.to), `${a} -> ${b}: ${JSON.stringify(chunks)}`);
        assert.ok(!/^[\udc00-\udfff]|[\ud800-\udbff]$/.test(c.insert), `${a} -> ${b}: insert ${JSON.stringify(c.insert)}`);
      }
    }
    assert.equal(commonPrefix('😀', '😁'), 0);
    assert.equal(commonSuffix('a😀', 'b😀'), 2);
    assert.equal(commonSuffix('\ud83d\ude00', '\ud83e\ude00'), 0);
  });

  it('gives chunks in order that rebuild the current text (seeded random edits)', () => {
    const seed = 9009;
    const rand = rng(seed);
    const alphabet = ['a', 'b', ' ', '\n', 'é', '中', '😀', 'word ', 'line\n'];
    const pick = () => alphabet[Math.floor(rand() * alphabet.length)];
    for (let round = 0; round < 300; round++) {
      let old = '';
      const n = Math.floor(rand() * 40);
      for (let i = 0; i < n; i++) old += pick();
      const units = Array.from(old);
      const cur = [...units];
      const edits = Math.floor(rand() * 5);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(rand() * (cur.length + 1));
        if (rand() < 0.5 && cur.length > 0) cur.splice(at, 1 + Math.floor(rand() * 3));
        else cur.splice(at, 0, pick(), pick());
      }
      const next = cur.join('');
      const chunks = changeRanges(old, next);
      const msg = `seed ${seed} round ${round}: ${JSON.stringify(old)} -> ${JSON.stringify(next)}: ${JSON.stringify(chunks)}`;
      assert.equal(applyChunks(old, chunks), next, msg);
      let pos = 0;
      for (const c of chunks) {
        assert.ok(c.from >= pos && c.to >= c.from && c.to <= old.length, msg);
        assert.ok(c.to > c.from || c.insert !== '', msg);
        assert.ok(!hasSplitPair(old, c.from) && !hasSplitPair(old, c.to), msg);
        pos = c.to;
      }
    }
  });

  it('falls back to lines, then to one block, for large or very different texts', () => {
    const lines = Array.from({ length: 2000 }, (_, i) => `line ${i} ${'x'.repeat(i % 7)}`);
    const old = lines.join('\n');
    const cur = lines.map((l, i) => (i % 100 === 0 ? `${l} changed` : l)).join('\n');
    const byLines = changeRanges(old, cur, { wordsLimit: 10 });
    assert.equal(applyChunks(old, byLines), cur);
    assert.equal(byLines.length, 20);
    const block = changeRanges('abc old text xyz', 'abc new word xyz', { wordsLimit: 0, timeout: -1 });
    assert.equal(applyChunks('abc old text xyz', block), 'abc new word xyz');
  });

  it('stays fast on a 1 MB text with a few changes', () => {
    const old = 'The quick brown fox jumps over the lazy dog. '.repeat(23000);
    const cur = `${old.slice(0, 500000)}EDIT${old.slice(500010, 900000)}${old.slice(900100)}`;
    const t0 = Date.now();
    const chunks = changeRanges(old, cur);
    assert.equal(applyChunks(old, chunks), cur);
    assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
  });
});

// "Who wrote this": the server's spans become ranges of the text, are
// checked against the text's length, moved through later changes as any
// range is, and summed up for the legend.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ChangeSet } from '@codemirror/state';

import { mapRanges, percent, shares, spanRanges } from '../src/authorship.js';

describe('authorship', () => {
  it('turns spans into ranges, merging neighbours of one author and skipping empty spans', () => {
    const spans = [
      { len: 5, author: 'ada' },
      { len: 0, author: 'bo' },
      { len: 3, author: 'ada' },
      { len: 4, author: '' },
      { len: 2, author: 'bo' },
    ];
    assert.deepEqual(spanRanges(spans, 14), [
      { from: 0, to: 8, author: 'ada' },
      { from: 8, to: 12, author: '' },
      { from: 12, to: 14, author: 'bo' },
    ]);
    assert.deepEqual(spanRanges([], 0), []);
  });

  it('refuses spans that do not cover the text exactly', () => {
    assert.equal(spanRanges([{ len: 3, author: 'a' }], 4), null);
    assert.equal(spanRanges([{ len: -1, author: 'a' }], 0), null);
    assert.equal(spanRanges([{ len: 1.5, author: 'a' }], 1.5), null);
    assert.equal(spanRanges(null, 0), null);
  });

  it('moves ranges through later edits: inserted text belongs to nobody yet, deleted text goes', () => {
    const ranges = [
      { from: 0, to: 5, author: 'ada' }, // "Hello"
      { from: 5, to: 11, author: 'bo' }, // " world"
    ];
    // Insert "big " at 6, delete "Hel".
    const changes = ChangeSet.of([{ from: 6, insert: 'big ' }, { from: 0, to: 3 }], 11);
    const mapped = mapRanges(ranges, changes);
    // "lo big world": "lo" by ada, " " by bo, "big " nobody, "world" by bo.
    assert.deepEqual(mapped, [
      { from: 0, to: 2, author: 'ada' },
      { from: 2, to: 3, author: 'bo' },
      { from: 7, to: 12, author: 'bo' },
    ]);
    // A range deleted whole disappears.
    assert.deepEqual(mapRanges([{ from: 0, to: 3, author: 'x' }], ChangeSet.of([{ from: 0, to: 3 }], 3)), []);
  });

  it('agrees with a character-by-character reference through random changes (seeded)', () => {
    const seed = 4242;
    let a = seed;
    const rand = () => {
      a = (a * 1103515245 + 12345) % 2147483648;
      return a / 2147483648;
    };
    for (let round = 0; round < 300; round++) {
      // Each character's author ('' for none), then ranges from it.
      const n = Math.floor(rand() * 30);
      let chars = Array.from({ length: n }, () => ['ada', 'bo', ''][Math.floor(rand() * 3)]);
      const ranges = [];
      chars.forEach((who, i) => {
        const last = ranges[ranges.length - 1];
        if (last && last.author === who && last.to === i) last.to++;
        else ranges.push({ from: i, to: i + 1, author: who });
      });
      // Random changes, in old positions, sorted and apart.
      const specs = [];
      let pos = 0;
      while (pos <= n && specs.length < 4) {
        const from = pos + Math.floor(rand() * 6);
        if (from > n) break;
        const to = Math.min(n, from + Math.floor(rand() * 4));
        const insert = rand() < 0.6 ? 'x'.repeat(1 + Math.floor(rand() * 3)) : '';
        if (to > from || insert) specs.push({ from, to, insert });
        pos = to + 1;
      }
      const changes = ChangeSet.of(specs, n);
      // The reference: apply the changes to the array of authors, from the end.
      for (const sp of [...specs].reverse()) chars.splice(sp.from, sp.to - sp.from, ...Array(sp.insert.length).fill(null));
      const got = Array(chars.length).fill(null);
      for (const r of mapRanges(ranges, changes)) for (let i = r.from; i < r.to; i++) got[i] = r.author;
      assert.deepEqual(got, chars, `seed ${seed} round ${round}: ${JSON.stringify(specs)}`);
      chars = null;
    }
  });

  it('sums up each author’s share, largest first', () => {
    const s = shares([
      { from: 0, to: 6, author: 'ada' },
      { from: 6, to: 8, author: 'bo' },
      { from: 8, to: 10, author: 'ada' },
      { from: 10, to: 11, author: '' },
    ]);
    assert.deepEqual(s.map((x) => [x.author, x.units]), [['ada', 8], ['bo', 2], ['', 1]]);
    assert.equal(percent(s[0].share), '73%');
    assert.equal(percent(0.001), '<1%');
    assert.equal(percent(0), '0%');
    assert.deepEqual(shares([]), []);
  });
});

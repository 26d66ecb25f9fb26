// The history panel's model: revisions read in pages around the slider's
// position (bounded in number, refetched when the server answered short),
// and the revision -> text cache (derived locally through loaded ops,
// else asked of the server once, bounded in count and size). A fake server
// holds a log of random edits; the expected texts are the texts it
// recorded as it made them, never recomputed with the code under test.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { Timeline, bigStep, debounce, playStep } from '../src/timeline.js';

// fakeServer makes a log of n ops (each appends or deletes a little) and
// keeps every revision's text. pageCap imitates the server's byte bound:
// at most that many entries per answer.
function fakeServer(n, { pageCap = Infinity } = {}) {
  const texts = [''];
  const log = [];
  let text = '';
  for (let rev = 1; rev <= n; rev++) {
    let op;
    if (rev % 7 === 0 && text.length > 2) {
      op = [1, -1, text.length - 2];
      text = text[0] + text.slice(2);
    } else {
      const ins = `r${rev} `;
      op = text.length > 0 ? [text.length, ins] : [ins];
      text += ins;
    }
    log.push({ rev, op, client: 'c', seq: rev, time: new Date(1_700_000_000_000 + rev * 1000).toISOString(), author: rev % 2 ? 'ada' : 'bo' });
    texts.push(text);
  }
  const calls = { ops: [], texts: [] };
  return {
    texts,
    calls,
    head: n,
    fetchOps: async (from, to) => {
      calls.ops.push([from, to]);
      const out = log.filter((e) => e.rev >= from && e.rev <= to);
      return out.slice(0, pageCap);
    },
    fetchText: async (rev) => {
      calls.texts.push(rev);
      if (rev > n) throw new Error('past the head');
      return texts[rev];
    },
  };
}

function timeline(server, options = {}) {
  const t = new Timeline({ fetchOps: server.fetchOps, fetchText: server.fetchText, ...options });
  t.setHead(server.head);
  return t;
}

describe('Timeline paging', () => {
  it('loads only the page around a revision', async () => {
    const s = fakeServer(100_000);
    const t = timeline(s);
    const e = await t.load(54_321);
    assert.equal(e.rev, 54_321);
    assert.equal(e.author, 'ada');
    assert.deepEqual(s.calls.ops, [[54_001, 54_500]]);
    assert.equal(t.entry(54_001).rev, 54_001);
    assert.equal(t.entry(54_500).rev, 54_500);
    assert.equal(t.entry(54_501), null);
    assert.equal(t.entry(0), null);
    // Already loaded: no request.
    await t.load(54_400);
    assert.equal(s.calls.ops.length, 1);
  });

  it('reads a short page on from its last entry, a bounded number of times', async () => {
    const s = fakeServer(1200, { pageCap: 120 });
    const t = timeline(s);
    await t.load(700);
    assert.deepEqual(s.calls.ops, [[501, 1000], [621, 1000], [741, 1000], [861, 1000], [981, 1000]]);
    for (let r = 501; r <= 1000; r++) assert.equal(t.entry(r)?.rev, r);

    // A server that keeps answering nothing new is not asked forever.
    let calls = 0;
    const stuck = new Timeline({
      fetchOps: async (from) => {
        calls++;
        return [{ rev: from - 1, op: [1] }];
      },
      fetchText: async () => '',
      maxRounds: 5,
    });
    stuck.setHead(10_000);
    assert.equal(await stuck.load(42), null);
    assert.equal(calls, 1);
  });

  it('asks once for a page that many callers want at once', async () => {
    const s = fakeServer(3000);
    const t = timeline(s);
    await Promise.all([t.load(1), t.load(2), t.load(499), t.load(500)]);
    assert.deepEqual(s.calls.ops, [[1, 500]]);
  });

  it('keeps at most maxPages pages, the least recently used going first', async () => {
    const s = fakeServer(10_000);
    const t = timeline(s, { maxPages: 3 });
    for (const r of [1, 501, 1001]) await t.load(r);
    await t.load(2); // page 0 used again
    await t.load(1501);
    assert.deepEqual([...t.pages.keys()].sort(), [0, 2, 3]);
    assert.equal(t.isLoaded(600), false);
    assert.equal(t.isLoaded(10), true);
  });

  it('bounds the ops it holds by size too', async () => {
    const s = fakeServer(5000);
    const t = timeline(s, { maxOpUnits: 5000 });
    for (let p = 0; p < 10; p++) await t.load(p * 500 + 1);
    assert.ok(t.opUnits <= 5000 || t.pages.size === 1, `${t.opUnits} units in ${t.pages.size} pages`);
  });

  it('reads a page again when the document went past where it ended', async () => {
    const s = fakeServer(1000);
    const t = new Timeline({ fetchOps: s.fetchOps, fetchText: s.fetchText });
    t.setHead(300);
    await t.load(100);
    assert.deepEqual(s.calls.ops, [[1, 300]]);
    assert.equal(t.entry(301), null);
    t.setHead(400);
    assert.equal((await t.load(350)).rev, 350);
    assert.deepEqual(s.calls.ops, [[1, 300], [1, 400]]);
  });
});

describe('Timeline texts', () => {
  it('asks the server for a far revision once, then answers from the cache', async () => {
    const s = fakeServer(100_000);
    const t = timeline(s);
    assert.equal(await t.text(77_777), s.texts[77_777]);
    assert.equal(await t.text(77_777), s.texts[77_777]);
    assert.deepEqual(s.calls.texts, [77_777]);
    // Two at once: one request.
    await Promise.all([t.text(50_000), t.text(50_000)]);
    assert.deepEqual(s.calls.texts, [77_777, 50_000]);
  });

  it('derives later revisions through the loaded ops (stepping and playing cost no request)', async () => {
    const s = fakeServer(5000);
    const t = timeline(s);
    assert.equal(await t.text(1200), s.texts[1200]);
    await t.load(1300);
    for (let r = 1200; r <= 1500; r++) {
      if (!t.isLoaded(r)) await t.load(r);
      assert.equal(await t.text(r), s.texts[r], `rev ${r}`);
    }
    assert.deepEqual(s.calls.texts, [1200]);
    // The first revisions derive from the empty document.
    await t.load(1);
    assert.equal(t.cachedText(0), '');
    assert.equal(t.cachedText(30), s.texts[30]);
    // Backwards needs the server (ops cannot be undone without the text).
    assert.equal(t.cachedText(1100), null);
  });

  it('does not rebuild a long text op by op beyond its budget', async () => {
    const s = fakeServer(3000);
    const t = timeline(s, { replayBudget: 1000 });
    await t.text(2000); // a text of several thousand units
    await t.load(2100);
    assert.equal(t.cachedText(2001), null);
    assert.equal(await t.text(2001), s.texts[2001]);
  });

  it('keeps at most maxTexts texts and maxTextUnits units', async () => {
    const s = fakeServer(20_000);
    const t = timeline(s, { maxTexts: 5, maxTextUnits: 200_000, replayLimit: 0 });
    for (let r = 1000; r < 20_000; r += 1000) await t.text(r);
    assert.ok(t.texts.size <= 5);
    let units = 0;
    for (const v of t.texts.values()) units += v.length;
    assert.equal(units, t.textUnits);
    assert.ok(t.textUnits <= 200_000);
    // The most recent stay.
    assert.ok(t.texts.has(19_000));
  });

  it('scrubbing across 100,000 revisions keeps few pages and few requests', async () => {
    const s = fakeServer(100_000);
    const t = timeline(s, { maxPages: 10 });
    const t0 = Date.now();
    for (let r = 1; r <= 100_000; r += 997) {
      await t.load(r);
      assert.equal(t.entry(r).rev, r);
    }
    assert.ok(t.pages.size <= 10);
    assert.ok(s.calls.ops.length <= 101, `${s.calls.ops.length} requests`);
    assert.ok(Date.now() - t0 < 10_000);
  });
});

describe('steps', () => {
  it('plays a long history in a bounded number of ticks', () => {
    assert.equal(playStep(10), 1);
    assert.equal(playStep(300), 1);
    assert.equal(playStep(100_000), 334);
    assert.equal(playStep(0), 1);
    assert.equal(bigStep(5), 1);
    assert.equal(bigStep(100_000), 10_000);
  });

  it('debounces: only the last call runs, after the wait', async () => {
    const got = [];
    const d = debounce((x) => got.push(x), 20);
    d(1);
    d(2);
    d(3);
    assert.deepEqual(got, []);
    await new Promise((r) => setTimeout(r, 60));
    assert.deepEqual(got, [3]);
    d(4);
    d.flush();
    assert.deepEqual(got, [3, 4]);
    d(5);
    d.cancel();
    await new Promise((r) => setTimeout(r, 40));
    assert.deepEqual(got, [3, 4]);
  });
});

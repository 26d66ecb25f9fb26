// "Your documents" in localStorage: recorded, updated, moved to a new key,
// forgotten, bounded, and robust to whatever the storage holds.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { MAX_RECENT, forgetDoc, loadRecent, recordDoc, replaceKey, updateDoc } from '../src/recent.js';

class FakeStorage {
  constructor() {
    this.items = new Map();
  }

  getItem(k) {
    return this.items.has(k) ? this.items.get(k) : null;
  }

  setItem(k, v) {
    this.items.set(k, String(v));
  }
}

describe('recent documents', () => {
  it('records documents, the most recently opened first, one entry per key', () => {
    const s = new FakeStorage();
    recordDoc({ key: 'k1', id: 'd1', title: 'One', role: 'edit' }, s, 1000);
    recordDoc({ key: 'k2', id: 'd2', title: 'Two', role: 'view' }, s, 2000);
    recordDoc({ key: 'k1', id: 'd1', role: 'edit' }, s, 3000); // opened again, title kept
    assert.deepEqual(loadRecent(s), [
      { key: 'k1', id: 'd1', title: 'One', role: 'edit', opened: 3000 },
      { key: 'k2', id: 'd2', title: 'Two', role: 'view', opened: 2000 },
    ]);
  });

  it('keeps a document opened by its edit and its view link as two entries', () => {
    const s = new FakeStorage();
    recordDoc({ key: 'edit', id: 'd', title: 'T', role: 'edit' }, s, 1);
    recordDoc({ key: 'view', id: 'd', title: 'T', role: 'view' }, s, 2);
    assert.deepEqual(loadRecent(s).map((e) => [e.key, e.role]), [['view', 'view'], ['edit', 'edit']]);
  });

  it('updates an entry in place and ignores unknown keys', () => {
    const s = new FakeStorage();
    recordDoc({ key: 'a', title: 'A' }, s, 1);
    recordDoc({ key: 'b', title: 'B' }, s, 2);
    updateDoc('a', { title: 'A2' }, s);
    updateDoc('zzz', { title: 'nope' }, s);
    assert.deepEqual(loadRecent(s).map((e) => [e.key, e.title, e.opened]), [['b', 'B', 2], ['a', 'A2', 1]]);
  });

  it('moves an entry to a reissued key', () => {
    const s = new FakeStorage();
    recordDoc({ key: 'old', id: 'd', title: 'T', role: 'edit' }, s, 5);
    recordDoc({ key: 'other', title: 'O' }, s, 1);
    replaceKey('old', 'new', s);
    assert.deepEqual(loadRecent(s).map((e) => [e.key, e.title, e.opened]), [['new', 'T', 5], ['other', 'O', 1]]);
  });

  it('forgets an entry', () => {
    const s = new FakeStorage();
    recordDoc({ key: 'a' }, s, 1);
    recordDoc({ key: 'b' }, s, 2);
    forgetDoc('a', s);
    assert.deepEqual(loadRecent(s).map((e) => e.key), ['b']);
  });

  it(`keeps at most ${MAX_RECENT} entries, dropping the least recently opened`, () => {
    const s = new FakeStorage();
    for (let i = 0; i < MAX_RECENT + 25; i++) recordDoc({ key: `k${i}` }, s, i);
    const list = loadRecent(s);
    assert.equal(list.length, MAX_RECENT);
    assert.equal(list[0].key, `k${MAX_RECENT + 24}`);
    assert.equal(list.at(-1).key, 'k25');
  });

  it('survives garbage in storage and storage that refuses writes', () => {
    const s = new FakeStorage();
    for (const junk of ['{', '42', '{"a":1}', '[null, 1, {"key": ""}, {"key": 7}]']) {
      s.setItem('tandem.docs', junk);
      assert.deepEqual(loadRecent(s), [], junk);
    }
    s.setItem('tandem.docs', '[{"key":"ok","role":"owner","opened":"x"}]');
    assert.deepEqual(loadRecent(s), [{ key: 'ok', id: '', title: '', role: 'edit', opened: 0 }]);
    const full = { getItem: () => null, setItem: () => { throw new Error('quota'); } };
    assert.doesNotThrow(() => recordDoc({ key: 'a' }, full));
    assert.deepEqual(loadRecent(null), []);
  });
});

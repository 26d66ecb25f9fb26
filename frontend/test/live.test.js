import assert from 'node:assert/strict';
import { test } from 'node:test';

import { liveState, watchDocs } from '../src/live.js';

class FakeSource {
  static last = null;
  constructor(url) {
    this.url = url;
    this.handlers = {};
    this.closed = false;
    FakeSource.last = this;
  }
  addEventListener(type, fn) {
    this.handlers[type] = fn;
  }
  close() {
    this.closed = true;
  }
  emit(data) {
    this.handlers.doc({ data });
  }
}

test('watchDocs asks for the keys and passes on well-formed events', () => {
  const got = [];
  const stop = watchDocs(['a b', 'c'], (ev) => got.push(ev), FakeSource);
  assert.equal(FakeSource.last.url, '/api/events?keys=a%20b,c');
  FakeSource.last.emit('{"key":"c","state":"ok","title":"T"}');
  FakeSource.last.emit('not json');
  FakeSource.last.emit('{"state":"ok"}');
  assert.deepEqual(got, [{ key: 'c', state: 'ok', title: 'T' }]);
  stop();
  assert.equal(FakeSource.last.closed, true);
  assert.equal(typeof watchDocs([], () => {}, FakeSource), 'function');
});

test('liveState keeps what the event does not say', () => {
  const known = { doc: { id: 'x', title: 'Old', editors: 1 } };
  assert.deepEqual(liveState({ key: 'k', state: 'ok', title: 'New', editors: 0, rev: 3 }, known), {
    doc: { id: 'x', title: 'New', editors: 0, rev: 3 },
  });
  assert.deepEqual(liveState({ key: 'k', state: 'gone' }, known), { gone: true });
  assert.deepEqual(liveState({ key: 'k', state: 'deleted', purge: 'p' }, known), { trashed: { purge: 'p' } });
});

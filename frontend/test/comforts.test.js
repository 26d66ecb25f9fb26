// Small pure helpers of the page: the words for a connection that is not
// there, word and character counts, the home page's search and sort.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { countChars, countWords, countsLabel } from '../src/counts.js';
import { filterDocs } from '../src/home.js';
import { inkOn } from '../src/identity.js';
import { closeNotice, unsavedText, whyOffline } from '../src/notices.js';

describe('why the page is not connected', () => {
  it('says why and when it tries again', () => {
    assert.equal(whyOffline({ online: false, waitMs: 3200 }), 'This device is offline. Trying again in 4 s.');
    assert.match(whyOffline({ silent: true, waitMs: null }), /stopped answering.*Connecting…$/);
    const tooMany = whyOffline({ notice: closeNotice(1008, 'too_many_connections'), waitMs: 7000 });
    assert.match(tooMany, /^Too many connections from your address/);
    assert.doesNotMatch(tooMany, /tries again shortly/, 'no second promise of a retry');
    assert.match(whyOffline({ notice: closeNotice(1001, null), waitMs: 100 }), /^The server is restarting\. Trying again now\.$/);
    assert.equal(whyOffline({}), 'The server cannot be reached. Connecting…');
  });

  it('counts the unsent edits', () => {
    assert.equal(unsavedText(3), '3 edits not yet saved, they will be sent when you are back online.');
    assert.equal(unsavedText(1), '1 edit not yet saved, it will be sent when you are back online.');
  });
});

describe('counts', () => {
  it('counts words and characters as people do', () => {
    assert.equal(countWords(''), 0);
    assert.equal(countWords('Hello, world! # Title\n- one two'), 5);
    assert.equal(countChars('a😀b'), 3);
    assert.equal(countChars('中文'), 2);
    assert.equal(countsLabel('one', ''), '1 word · 3 characters');
    assert.equal(countsLabel('one two', 'two'), '2 words · 7 characters · 1 selected');
    const big = 'word '.repeat(30_000);
    assert.equal(countWords(big), 30_000);
  });
});

describe('home page', () => {
  const docs = [
    { key: 'a', title: 'Shopping list', opened: 3 },
    { key: 'b', title: 'apple pie recipe', opened: 1 },
    { key: 'c', title: '', opened: 2 },
  ];
  it('searches titles by every word, case-insensitively', () => {
    assert.deepEqual(filterDocs(docs, 'LIST shop', 'recent').map((d) => d.key), ['a']);
    assert.deepEqual(filterDocs(docs, 'untitled', 'recent').map((d) => d.key), ['c']);
    assert.deepEqual(filterDocs(docs, 'nothing', 'recent'), []);
  });
  it('sorts by recent or title', () => {
    assert.deepEqual(filterDocs(docs, '', 'recent').map((d) => d.key), ['a', 'c', 'b']);
    assert.deepEqual(filterDocs(docs, '', 'title').map((d) => d.key), ['b', 'a', 'c']);
  });
});

describe('ink on a colour', () => {
  it('picks the readable one', () => {
    assert.equal(inkOn('#3e63dd'), '#ffffff');
    assert.equal(inkOn('#f76b15'), '#111111');
    assert.equal(inkOn('#ffeb3b'), '#111111');
    assert.equal(inkOn('#000'), '#ffffff');
  });
});

describe('a deleted document', () => {
  it('is explained when the server says it is in the trash', async () => {
    const { httpNotice } = await import('../src/notices.js');
    const n = httpNotice({ status: 410, code: 'deleted' });
    assert.equal(n.gone, true);
    assert.match(n.text, /trash/);
  });
});

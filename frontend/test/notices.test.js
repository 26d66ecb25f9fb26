// The words for a closed connection: chosen by the error before the close,
// else by the close code; every error code the close-code table lists that
// stops the client has a sentence of its own.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { STOP, closeAction, closeCodes } from '../src/closecodes.js';
import { closeNotice, httpNotice, stopNotice } from '../src/notices.js';

describe('notices', () => {
  it('tells a revoked link from a forbidden change, both close 4003', () => {
    assert.equal(closeNotice(4003, 'link_revoked').text, 'This link was revoked. Ask the owner for a new one.');
    assert.equal(closeNotice(4003, 'link_revoked').gone, true);
    assert.equal(closeNotice(4003, 'forbidden').gone, undefined);
    assert.match(closeNotice(4003, 'forbidden', { viewOnly: true }).text, /view the document, not change it/);
    assert.match(closeNotice(4003, 'forbidden').text, /not allowed/);
    assert.match(closeNotice(4003, null, { viewOnly: true }).label, /View only/);
  });

  it('has words for the waits and the restarts', () => {
    assert.match(closeNotice(1008, 'too_many_connections').text, /too many connections/i);
    assert.match(closeNotice(1008, 'join_timeout').text, /in time/);
    assert.match(closeNotice(1008, 'rate_limited').text, /too quickly/);
    assert.match(closeNotice(1008, null).text, /too quickly/);
    assert.match(closeNotice(1011, 'internal').text, /problem/);
    assert.match(closeNotice(1001, null).text, /restarting/);
    assert.match(closeNotice(4004, 'not_found').text, /deleted, or the link is wrong/);
    assert.equal(closeNotice(1006, null), null);
  });

  it('has a sentence for every close code that stops', () => {
    for (const { code } of closeCodes) {
      if (closeAction(code) !== STOP) continue;
      const n = stopNotice(code, null);
      assert.ok(n.label && n.text && !n.text.includes('code '), `close ${code}: ${JSON.stringify(n)}`);
    }
    assert.match(stopNotice(4999, 'odd').text, /code 4999, odd/);
  });

  it('explains HTTP errors', () => {
    assert.match(httpNotice({ status: 404 }).text, /deleted/);
    assert.match(httpNotice({ status: 429, code: 'rate_limited', retryAfter: 3 }).text, /in 3 s/);
    assert.match(httpNotice({ status: 403, code: 'forbidden' }, { viewOnly: true }).text, /not change it/);
    assert.equal(httpNotice({ status: 500 }), null);
  });
});

// The conversions between CodeMirror changes and ops, checked against the
// OT functions on random edits, and the remote-caret field against ot.js's
// cursor rule.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ChangeSet, EditorState, Text } from '@codemirror/state';

import { changesToOp, opToChanges } from '../src/cmops.js';
import { apply, transformIndex } from '../src/ot.js';
import { peersField, removePeer, resetPeers, setPeer } from '../src/remote.js';
import { mulberry32, randomOp } from './sim.js';

const text = (s) => Text.of(s.split('\n'));

describe('CodeMirror changes and ops', () => {
  it('round-trips a replacement', () => {
    const changes = ChangeSet.of([{ from: 1, to: 2, insert: 'XY' }], 4, '\n');
    assert.deepEqual(changesToOp(changes, 4), [1, 'XY', -1, 2]);
    assert.deepEqual(opToChanges([1, 'XY', -1, 2]), [{ from: 1, to: 2, insert: 'XY' }]);
  });

  it('keeps "\\r" as a character (lengths match the server)', () => {
    const doc = 'a\r\nb';
    const changes = ChangeSet.of(opToChanges([4, 'c\r\n']), doc.length, '\n');
    assert.equal(changes.apply(text(doc)).toString(), 'a\r\nbc\r\n');
  });

  it('agrees with apply on random edits, and converts back to the same op', () => {
    const rand = mulberry32(7);
    let doc = 'start 😀 é 中\nsecond line\n';
    for (let i = 0; i < 2000; i++) {
      const op = randomOp(rand, doc);
      const changes = ChangeSet.of(opToChanges(op), doc.length, '\n');
      const want = apply(op, doc);
      assert.equal(changes.apply(text(doc)).toString(), want, `edit ${i}: op ${JSON.stringify(op)}`);
      assert.deepEqual(changesToOp(changes, doc.length), op, `edit ${i}`);
      doc = want.length > 400 ? want.slice(0, 200).replace(/[\ud800-\udbff]$/, '') : want;
    }
  });

  it('moves remote carets by the ot.js cursor rule through every change', () => {
    const rand = mulberry32(11);
    let doc = 'abc 😀 def\nghi';
    let state = EditorState.create({ doc, extensions: [EditorState.lineSeparator.of('\n'), peersField] });
    for (let i = 0; i < 500; i++) {
      const sel = Array.from({ length: doc.length + 1 }, (_, p) => [p, doc.length - p]);
      state = state.update({ effects: resetPeers.of([{ client: 'x', name: 'X', color: '#123', sel }]) }).state;
      const op = randomOp(rand, doc);
      state = state.update({ changes: ChangeSet.of(opToChanges(op), doc.length, '\n') }).state;
      const got = state.field(peersField).get('x').sel;
      const want = sel.map(([a, h]) => [transformIndex(op, a), transformIndex(op, h)]);
      assert.deepEqual(got, want, `edit ${i}: op ${JSON.stringify(op)}`);
      doc = apply(op, doc);
      if (doc.length > 60) {
        const cut = doc.slice(-30).replace(/^[\udc00-\udfff]/, '');
        state = state.update({ changes: { from: 0, to: doc.length - cut.length } }).state;
        doc = cut;
      }
      assert.equal(state.doc.toString(), doc);
    }
  });

  it('keeps a caret before an insertion in place and moves one after a replacement start', () => {
    let state = EditorState.create({ doc: 'abcdef', extensions: [peersField] });
    state = state.update({ effects: setPeer.of({ client: 'x', name: 'X', color: '#123', sel: [[1, 1], [3, 3], [5, 5]] }) }).state;
    state = state.update({ changes: { from: 3, to: 4, insert: 'XY' } }).state; // abcXYef
    assert.deepEqual(state.field(peersField).get('x').sel, [[1, 1], [5, 5], [6, 6]]);
    state = state.update({ effects: removePeer.of('x') }).state;
    assert.equal(state.field(peersField).size, 0);
  });
});

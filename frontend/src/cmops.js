// Conversions between CodeMirror changes and ops. Both count UTF-16 units
// (CodeMirror positions are JavaScript string offsets), so positions carry
// over unchanged.

import { Builder } from './ot.js';

// changesToOp turns a CodeMirror change set into one op spanning the old
// document (length docLength). Positions are UTF-16 units on both sides.
export function changesToOp(changes, docLength) {
  const b = new Builder();
  let pos = 0;
  changes.iterChanges((fromA, toA, _fromB, _toB, inserted) => {
    b.retain(fromA - pos);
    b.insert(inserted.toString());
    b.delete(toA - fromA);
    pos = toA;
  });
  b.retain(docLength - pos);
  return b.ops;
}

// opToChanges turns an op into CodeMirror change specs, all in positions of
// the document the op applies to.
export function opToChanges(op) {
  const specs = [];
  let pos = 0;
  for (let i = 0; i < op.length; i++) {
    const c = op[i];
    if (typeof c === 'string') {
      const next = op[i + 1];
      if (typeof next === 'number' && next < 0) {
        specs.push({ from: pos, to: pos - next, insert: c });
        pos -= next;
        i++;
      } else {
        specs.push({ from: pos, insert: c });
      }
    } else if (c > 0) {
      pos += c;
    } else {
      specs.push({ from: pos, to: pos - c });
      pos -= c;
    }
  }
  return specs;
}

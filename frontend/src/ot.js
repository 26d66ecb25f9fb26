// Operational transformation for plain text, with the semantics of ot.js.
//
// An operation is the ot.js JSON form: an array whose elements are a positive
// integer (retain that many units), a non-empty string (insert it) or a
// negative integer (delete that many units). It spans the whole document: its
// retains and deletes add up to the length of the text it applies to. Every
// length and position counts UTF-16 code units, which is what JavaScript
// strings (and CodeMirror) count, so `"😀".length === 2` is the right measure.
//
// Tie-break: when both operations insert at the same position,
// transform(a, b) puts a's text first (to the left of b's). A cursor exactly
// at an insertion point moves to after the inserted text.
//
// Operations returned by this module are canonical: no empty parts, adjacent
// parts of one kind merged, an insert always before an adjacent delete, the
// trailing retain kept. The functions never mutate their arguments.

const isRetain = (c) => typeof c === 'number' && c > 0;
const isDelete = (c) => typeof c === 'number' && c < 0;
const isInsert = (c) => typeof c === 'string';

// Builder appends parts to an operation, keeping it canonical exactly as the
// ot.js TextOperation methods retain, insert and delete do.
export class Builder {
  constructor() {
    this.ops = [];
    this.baseLength = 0;
    this.targetLength = 0;
  }

  retain(n) {
    if (n === 0) return this;
    this.baseLength += n;
    this.targetLength += n;
    const last = this.ops.length - 1;
    if (isRetain(this.ops[last])) this.ops[last] += n;
    else this.ops.push(n);
    return this;
  }

  insert(s) {
    if (s === '') return this;
    this.targetLength += s.length;
    const ops = this.ops;
    const last = ops.length - 1;
    if (isInsert(ops[last])) {
      ops[last] += s;
    } else if (isDelete(ops[last])) {
      // Insert before delete: the order of the two does not change the
      // result, so one order is chosen to make equal edits compare equal.
      if (isInsert(ops[last - 1])) ops[last - 1] += s;
      else {
        ops.push(ops[last]);
        ops[last] = s;
      }
    } else {
      ops.push(s);
    }
    return this;
  }

  // delete takes a positive count (or a negative one, as in the JSON form).
  delete(n) {
    if (n === 0) return this;
    if (n > 0) n = -n;
    this.baseLength -= n;
    const last = this.ops.length - 1;
    if (isDelete(this.ops[last])) this.ops[last] += n;
    else this.ops.push(n);
    return this;
  }
}

// normalize checks an operation in JSON form and returns its canonical form.
// It throws a TypeError for a part that is 0, a number that is not an integer
// (ot.js would accept 1.5 as a retain; the protocol refuses it), or anything
// that is neither a number nor a string. An empty string is dropped.
export function normalize(op) {
  if (!Array.isArray(op)) throw new TypeError('operation must be an array');
  const b = new Builder();
  for (const c of op) {
    if (typeof c === 'string') b.insert(c);
    else if (typeof c === 'number' && Number.isSafeInteger(c) && c !== 0) {
      if (c > 0) b.retain(c);
      else b.delete(c);
    } else {
      throw new TypeError(`invalid operation part: ${JSON.stringify(c) ?? String(c)}`);
    }
  }
  return b.ops;
}

// baseLength is the length of the text the operation applies to.
export function baseLength(op) {
  let n = 0;
  for (const c of op) if (typeof c === 'number') n += Math.abs(c);
  return n;
}

// targetLength is the length of the text the operation produces.
export function targetLength(op) {
  let n = 0;
  for (const c of op) {
    if (isRetain(c)) n += c;
    else if (isInsert(c)) n += c.length;
  }
  return n;
}

// isNoop is true for [] and for a lone retain (a canonical op that changes
// nothing).
export function isNoop(op) {
  return op.length === 0 || (op.length === 1 && isRetain(op[0]));
}

// apply returns the text after the operation. It throws when the operation
// does not span the whole text.
export function apply(op, str) {
  if (baseLength(op) !== str.length) {
    throw new Error(`operation base length ${baseLength(op)} does not match text length ${str.length}`);
  }
  const out = [];
  let i = 0;
  for (const c of op) {
    if (isRetain(c)) {
      out.push(str.slice(i, i + c));
      i += c;
    } else if (isInsert(c)) {
      out.push(c);
    } else {
      i -= c;
    }
  }
  return out.join('');
}

// invert returns the operation that undoes op on str (the text op applies to).
export function invert(op, str) {
  if (baseLength(op) !== str.length) {
    throw new Error(`operation base length ${baseLength(op)} does not match text length ${str.length}`);
  }
  const b = new Builder();
  let i = 0;
  for (const c of op) {
    if (isRetain(c)) {
      b.retain(c);
      i += c;
    } else if (isInsert(c)) {
      b.delete(c.length);
    } else {
      b.insert(str.slice(i, i - c));
      i -= c;
    }
  }
  return b.ops;
}

// compose returns one operation with the effect of a followed by b.
export function compose(a, b) {
  if (targetLength(a) !== baseLength(b)) {
    throw new Error(`cannot compose: first target length ${targetLength(a)} is not second base length ${baseLength(b)}`);
  }
  const out = new Builder();
  let i1 = 0;
  let i2 = 0;
  let op1 = a[i1++];
  let op2 = b[i2++];
  for (;;) {
    if (op1 === undefined && op2 === undefined) break;
    if (isDelete(op1)) {
      out.delete(op1);
      op1 = a[i1++];
      continue;
    }
    if (isInsert(op2)) {
      out.insert(op2);
      op2 = b[i2++];
      continue;
    }
    if (op1 === undefined) throw new Error('cannot compose: first operation is too short');
    if (op2 === undefined) throw new Error('cannot compose: first operation is too long');

    if (isRetain(op1) && isRetain(op2)) {
      if (op1 > op2) {
        out.retain(op2);
        op1 -= op2;
        op2 = b[i2++];
      } else if (op1 === op2) {
        out.retain(op1);
        op1 = a[i1++];
        op2 = b[i2++];
      } else {
        out.retain(op1);
        op2 -= op1;
        op1 = a[i1++];
      }
    } else if (isInsert(op1) && isDelete(op2)) {
      if (op1.length > -op2) {
        op1 = op1.slice(-op2);
        op2 = b[i2++];
      } else if (op1.length === -op2) {
        op1 = a[i1++];
        op2 = b[i2++];
      } else {
        op2 += op1.length;
        op1 = a[i1++];
      }
    } else if (isInsert(op1) && isRetain(op2)) {
      if (op1.length > op2) {
        out.insert(op1.slice(0, op2));
        op1 = op1.slice(op2);
        op2 = b[i2++];
      } else if (op1.length === op2) {
        out.insert(op1);
        op1 = a[i1++];
        op2 = b[i2++];
      } else {
        out.insert(op1);
        op2 -= op1.length;
        op1 = a[i1++];
      }
    } else if (isRetain(op1) && isDelete(op2)) {
      if (op1 > -op2) {
        out.delete(op2);
        op1 += op2;
        op2 = b[i2++];
      } else if (op1 === -op2) {
        out.delete(op2);
        op1 = a[i1++];
        op2 = b[i2++];
      } else {
        out.delete(op1);
        op2 += op1;
        op1 = a[i1++];
      }
    } else {
      throw new Error('cannot compose: invalid operation part');
    }
  }
  return out.ops;
}

// transform takes two operations made concurrently on the same text and
// returns [a', b'] with apply(b', apply(a, s)) === apply(a', apply(b, s)).
// When both insert at the same position, a's text goes first.
export function transform(a, b) {
  if (baseLength(a) !== baseLength(b)) {
    throw new Error(`cannot transform: base lengths ${baseLength(a)} and ${baseLength(b)} differ`);
  }
  const ap = new Builder();
  const bp = new Builder();
  let i1 = 0;
  let i2 = 0;
  let op1 = a[i1++];
  let op2 = b[i2++];
  for (;;) {
    if (op1 === undefined && op2 === undefined) break;
    if (isInsert(op1)) {
      ap.insert(op1);
      bp.retain(op1.length);
      op1 = a[i1++];
      continue;
    }
    if (isInsert(op2)) {
      ap.retain(op2.length);
      bp.insert(op2);
      op2 = b[i2++];
      continue;
    }
    if (op1 === undefined) throw new Error('cannot transform: first operation is too short');
    if (op2 === undefined) throw new Error('cannot transform: first operation is too long');

    let min;
    if (isRetain(op1) && isRetain(op2)) {
      if (op1 > op2) {
        min = op2;
        op1 -= op2;
        op2 = b[i2++];
      } else if (op1 === op2) {
        min = op2;
        op1 = a[i1++];
        op2 = b[i2++];
      } else {
        min = op1;
        op2 -= op1;
        op1 = a[i1++];
      }
      ap.retain(min);
      bp.retain(min);
    } else if (isDelete(op1) && isDelete(op2)) {
      // Both delete the same text: the overlap is deleted once.
      if (-op1 > -op2) {
        op1 -= op2;
        op2 = b[i2++];
      } else if (op1 === op2) {
        op1 = a[i1++];
        op2 = b[i2++];
      } else {
        op2 -= op1;
        op1 = a[i1++];
      }
    } else if (isDelete(op1) && isRetain(op2)) {
      if (-op1 > op2) {
        min = op2;
        op1 += op2;
        op2 = b[i2++];
      } else if (-op1 === op2) {
        min = op2;
        op1 = a[i1++];
        op2 = b[i2++];
      } else {
        min = -op1;
        op2 += op1;
        op1 = a[i1++];
      }
      ap.delete(min);
    } else if (isRetain(op1) && isDelete(op2)) {
      if (op1 > -op2) {
        min = -op2;
        op1 += op2;
        op2 = b[i2++];
      } else if (op1 === -op2) {
        min = op1;
        op1 = a[i1++];
        op2 = b[i2++];
      } else {
        min = op1;
        op2 += op1;
        op1 = a[i1++];
      }
      bp.delete(min);
    } else {
      throw new Error('cannot transform: invalid operation part');
    }
  }
  return [ap.ops, bp.ops];
}

// transformIndex moves a position through op, as ot.js does: a position
// exactly at an insertion point ends up after the inserted text; a position
// inside a deleted range moves to the start of the deletion.
export function transformIndex(op, index) {
  let newIndex = index;
  for (const c of op) {
    if (isRetain(c)) {
      index -= c;
    } else if (isInsert(c)) {
      newIndex += c.length;
    } else {
      newIndex -= Math.min(index, -c);
      index += c;
    }
    if (index < 0) break;
  }
  return newIndex;
}

// transformSelection moves selections in the wire form, [[anchor, head], …],
// through op.
export function transformSelection(op, sel) {
  return sel.map(([anchor, head]) => [transformIndex(op, anchor), transformIndex(op, head)]);
}

// hasLoneSurrogate reports whether s contains half of a surrogate pair on its
// own; the server refuses such inserts.
export function hasLoneSurrogate(s) {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return true;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return true;
    }
  }
  return false;
}

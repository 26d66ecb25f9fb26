// The OT functions against the reference vectors computed with ot.js 0.0.15
// (test/vectors, copied from the project's reference set), plus the inputs
// where this implementation is deliberately stricter than ot.js.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

import {
  apply,
  baseLength,
  compose,
  hasLoneSurrogate,
  invert,
  isNoop,
  normalize,
  targetLength,
  transform,
  transformIndex,
  transformSelection,
} from '../src/ot.js';

const load = (name) => JSON.parse(readFileSync(new URL(`vectors/${name}`, import.meta.url), 'utf8'));

// run computes, for one case, every result field the vectors record. It
// throws where ot.js threw.
function run(c) {
  switch (c.kind) {
    case 'normalize': {
      const op = normalize(c.op);
      return { normalized: op, base_length: baseLength(op), target_length: targetLength(op), is_noop: isNoop(op) };
    }
    case 'op': {
      const op = normalize(c.op);
      const result = apply(op, c.doc);
      const inverse = invert(op, c.doc);
      return {
        normalized: op,
        base_length: baseLength(op),
        target_length: targetLength(op),
        is_noop: isNoop(op),
        result,
        result_length: result.length,
        inverse,
        inverse_restores: apply(inverse, result) === c.doc,
      };
    }
    case 'transform': {
      const a = normalize(c.a);
      const b = normalize(c.b);
      const [aPrime, bPrime] = transform(a, b);
      const docA = apply(a, c.doc);
      const docB = apply(b, c.doc);
      const docAB = apply(bPrime, docA);
      const docBA = apply(aPrime, docB);
      return {
        a_prime: aPrime,
        b_prime: bPrime,
        doc_a: docA,
        doc_b: docB,
        doc_ab: docAB,
        doc_ba: docBA,
        converged: docAB === docBA,
        result: docAB,
      };
    }
    case 'compose': {
      const a = normalize(c.a);
      const b = normalize(c.b);
      const composed = compose(a, b);
      const docA = apply(a, c.doc);
      const result = apply(b, docA);
      const composedResult = apply(composed, c.doc);
      return {
        composed,
        doc_a: docA,
        result,
        composed_result: composedResult,
        compose_consistent: result === composedResult,
      };
    }
    case 'server': {
      // ot.js's Server.receiveOperation: refuse a revision outside the
      // history, transform against everything since, apply, append.
      const history = [];
      let doc = c.doc;
      const steps = [];
      for (const s of c.submissions) {
        if (s.revision < 0 || s.revision > history.length) throw new Error('revision not in history');
        let op = normalize(s.op);
        for (const applied of history.slice(s.revision)) op = transform(op, applied)[0];
        doc = apply(op, doc);
        history.push(op);
        steps.push({ op, revision: history.length, doc });
      }
      return { steps, result: doc, revision: history.length };
    }
    case 'cursor': {
      const op = normalize(c.op);
      const result = apply(op, c.doc);
      const ranges = c.selection.ranges.map(({ anchor, head }) => {
        const [[a, h]] = transformSelection(op, [[anchor, head]]);
        return { anchor: a, head: h };
      });
      return { selection: { ranges }, result };
    }
    default:
      throw new Error(`unknown case kind ${c.kind}`);
  }
}

for (const [casesFile, expectedFile] of [
  ['cases.json', 'expected.json'],
  ['cases-astral.json', 'expected-astral.json'],
]) {
  describe(`reference vectors ${casesFile}`, () => {
    const { cases } = load(casesFile);
    const { results, summary } = load(expectedFile);
    const byId = new Map(results.map((r) => [r.id, r]));

    it('has an expected result for every case', () => {
      assert.equal(cases.length, summary.total);
      for (const c of cases) assert.ok(byId.has(c.id), `no expected result for ${c.id}`);
    });

    const kinds = [...new Set(cases.map((c) => c.kind))];
    for (const kind of kinds) {
      it(`agrees with ot.js on every ${kind} case`, () => {
        let checked = 0;
        for (const c of cases.filter((x) => x.kind === kind)) {
          const want = byId.get(c.id);
          if (!want.ok) {
            assert.throws(() => run(c), `${c.id}: ot.js refused it (${want.error}) but we accepted it`);
          } else {
            let got;
            assert.doesNotThrow(() => {
              got = run(c);
            }, `${c.id}: ot.js accepted it`);
            for (const [field, value] of Object.entries(want)) {
              if (field === 'id' || field === 'kind' || field === 'ok') continue;
              assert.deepStrictEqual(got[field], value, `${c.id}: field ${field}: got ${JSON.stringify(got[field])}, want ${JSON.stringify(value)}`);
            }
          }
          checked++;
        }
        assert.equal(checked, summary.by_kind[kind]);
      });
    }
  });
}

describe('stricter than ot.js', () => {
  // ot.js's fromJSON takes any positive number as a retain and any negative
  // one as a delete; the protocol refuses numbers that are not integers.
  for (const bad of [[1.5], [2, -0.5], [NaN], [Infinity], [-Infinity], [2 ** 60]]) {
    it(`refuses ${JSON.stringify(bad)} (ot.js accepts it)`, () => {
      assert.throws(() => normalize(bad), TypeError);
    });
  }
  // Refused by ot.js too; listed because the protocol names them.
  for (const bad of [[0], [1, null], [true], [{}], [[1]]]) {
    it(`refuses ${JSON.stringify(bad)}`, () => {
      assert.throws(() => normalize(bad), TypeError);
    });
  }
  it('refuses a non-array', () => {
    assert.throws(() => normalize('abc'), TypeError);
  });
});

describe('hasLoneSurrogate', () => {
  const cases = [
    ['', false],
    ['abc', false],
    ['😀', false],
    ['a😀b', false],
    ['\ud83d', true],
    ['\ude00', true],
    ['a\ud83db', true],
    ['\ude00\ud83d', true],
    ['😀\ud83d', true],
  ];
  for (const [s, want] of cases) {
    it(`${JSON.stringify(s)} → ${want}`, () => assert.equal(hasLoneSurrogate(s), want));
  }
});

describe('transformIndex', () => {
  it('moves a cursor at an insertion point after the inserted text', () => {
    assert.equal(transformIndex([1, 'XY', 2], 1), 3);
  });
  it('leaves a cursor before an insertion alone', () => {
    assert.equal(transformIndex([1, 'XY', 2], 0), 0);
  });
  it('moves a cursor inside a deletion to its start', () => {
    assert.equal(transformIndex([1, -3, 1], 3), 1);
  });
  it('moves a cursor inside a replaced range to after the replacement', () => {
    assert.equal(transformIndex([1, 'XY', -3, 1], 2), 3);
  });
});

describe('apply', () => {
  it('refuses an op shorter or longer than the text', () => {
    assert.throws(() => apply([2], 'abc'));
    assert.throws(() => apply([4], 'abc'));
  });
});

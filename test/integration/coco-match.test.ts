// COCOeval's matching and accumulate steps on both backends: the native addon's matchCocoCells
// and accumulateCoco against the TypeScript matchCells and accumulateOutcomes (their references)
// on the same inputs, every written byte / double compared, and the evaluation that uses them
// against the one that does not, every precision/recall/score cell.
import { describe, expect, it } from 'vitest';
import { accumulateOutcomes, evaluate, matchCells } from '@omnidistill/coco';
import type { Accumulation, CellMatch } from '@omnidistill/coco';
import { loadNative } from '@omnidistill/native';
import { VARIANTS, variantCase } from '../../packages/coco/test/cases.js';
import type { Variant } from '../../packages/coco/test/cases.js';

const native = loadNative();
const matchNative = (m: CellMatch): void => native.matchCocoCells!(m);
const accumulateNative = (acc: Accumulation): void => native.accumulateCoco!(acc);
const NATIVE = { cellMatcher: matchNative, accumulator: accumulateNative };

// the oracle suite's variants, plus a threshold low enough to turn the far-apart rejection off
const variants: Variant[] = [...VARIANTS, { name: 'keypoints low threshold (no far-apart rejection)', iouType: 'keypoints', params: { iouThrs: [0.005, 0.5] } }];

/** The arrays a matcher writes (dOrder included: it sorts each cell's range). */
function written(m: CellMatch): Record<string, number[]> {
  return { dOrder: Array.from(m.dOrder), detOf: Array.from(m.detOf), rank: Array.from(m.rank), outcome: Array.from(m.outcome), npig: Array.from(m.npig) };
}

/** A copy of `m` whose written arrays are fresh, so both matchers start from the same state. */
function cloneWritable(m: CellMatch): CellMatch {
  return { ...m, dOrder: m.dOrder.slice(), detOf: m.detOf.slice(), rank: m.rank.slice(), outcome: m.outcome.slice(), npig: m.npig.slice() };
}

/** The arrays accumulate writes, as plain numbers (toEqual compares them exactly, -0 and NaN included). */
function accumulated(acc: Accumulation): Record<string, number[]> {
  return { precision: Array.from(acc.precision), recall: Array.from(acc.recall), scores: Array.from(acc.scores) };
}

function cloneOutputs(acc: Accumulation): Accumulation {
  return { ...acc, precision: acc.precision.slice(), recall: acc.recall.slice(), scores: acc.scores.slice() };
}

describe('matchCocoCells and accumulateCoco (native) write what matchCells and accumulateOutcomes (TypeScript) write', () => {
  for (let seed = 1; seed <= 27; seed++) {
    const variant = variants[seed % variants.length];
    it(`seed ${seed}: ${variant.name}`, () => {
      const { gt, res, p } = variantCase(seed, variant, 40); // 40 instances: cells past the insertion-sort size
      let compared = 0;
      const bothMatchers = (m: CellMatch): void => {
        const other = cloneWritable(m);
        matchCells(m);
        matchNative(other);
        expect(written(other)).toEqual(written(m));
        compared++;
      };
      const bothAccumulators = (acc: Accumulation): void => {
        const other = cloneOutputs(acc);
        accumulateOutcomes(acc);
        accumulateNative(other);
        expect(accumulated(other)).toEqual(accumulated(acc));
        compared++;
      };
      const ts = evaluate(gt, res, p);
      const viaNative = evaluate(gt, res, p, NATIVE);
      evaluate(gt, res, p, { cellMatcher: bothMatchers, accumulator: bothAccumulators });
      expect(compared).toBe(2);
      expect(Array.from(viaNative.precision)).toEqual(Array.from(ts.precision));
      expect(Array.from(viaNative.recall)).toEqual(Array.from(ts.recall));
      expect(Array.from(viaNative.scores)).toEqual(Array.from(ts.scores));
      // the case must exercise real matching, not only empty cells
      expect(Array.from(ts.precision).some((v) => v > 0)).toBe(true);
    });
  }
});

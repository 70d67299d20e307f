// The fast evaluator against its oracle (the straightforward pycocotools port) on random
// cases: every precision, recall and score cell must be bit-identical.
import { describe, expect, it } from 'vitest';
import { evaluate, evaluateReference } from '@omnidistill/coco';
import { VARIANTS, variantCase } from './cases.js';

describe('fast evaluate() agrees with evaluateReference() bit for bit', () => {
  for (let seed = 1; seed <= 32; seed++) {
    const variant = VARIANTS[seed % VARIANTS.length];
    it(`seed ${seed}: ${variant.name}`, () => {
      const { gt, res, p } = variantCase(seed, variant);
      const fast = evaluate(gt, res, p);
      const ref = evaluateReference(gt, res, p);
      expect(fast.counts).toEqual(ref.counts);
      expect(Array.from(fast.precision)).toEqual(Array.from(ref.precision));
      expect(Array.from(fast.recall)).toEqual(Array.from(ref.recall));
      expect(Array.from(fast.scores)).toEqual(Array.from(ref.scores));
      expect(fast.ignoredResults).toBe(ref.ignoredResults);
      // the case must exercise real matching, not only empty cells
      expect(Array.from(ref.precision).some((v) => v > 0)).toBe(true);
    });
  }
});

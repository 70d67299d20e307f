// The fast evaluator against its oracle (the straightforward pycocotools port) on random
// cases: every precision, recall and score cell must be bit-identical.
import { describe, expect, it } from 'vitest';
import { createParams, evaluate, evaluateReference, validateDataset, validateResults } from '@omnidistill/coco';
import type { EvalParams, IouType } from '@omnidistill/coco';
import { generateCase } from './generate.js';

interface Variant {
  name: string;
  iouType: IouType;
  params?: Partial<EvalParams>;
  /** drop the boxes of the results: areas then come from the keypoints' extent */
  noBoxes?: boolean;
}

const variants: Variant[] = [
  { name: 'bbox defaults', iouType: 'bbox' },
  { name: 'keypoints defaults', iouType: 'keypoints' },
  { name: 'bbox small maxDets (cuts)', iouType: 'bbox', params: { maxDets: [1, 2, 3] } },
  { name: 'keypoints maxDets 2', iouType: 'keypoints', params: { maxDets: [1, 2] } },
  { name: 'bbox useCats=false', iouType: 'bbox', params: { useCats: false } },
  { name: 'keypoints useCats=false', iouType: 'keypoints', params: { useCats: false } },
  { name: 'keypoints results without boxes', iouType: 'keypoints', noBoxes: true },
  { name: 'bbox custom thresholds and areas', iouType: 'bbox', params: { iouThrs: [0.3, 0.5, 0.51], areaRng: [[0, 1e10], [0, 5000]], areaRngLbl: ['all', 'tiny'] } },
];

describe('fast evaluate() agrees with evaluateReference() bit for bit', () => {
  for (let seed = 1; seed <= 32; seed++) {
    const variant = variants[seed % variants.length];
    it(`seed ${seed}: ${variant.name}`, () => {
      const c = generateCase({
        seed,
        images: 12 + (seed % 5) * 6,
        categories: 1 + (seed % 3),
        scoreDecimals: seed % 2 === 0 ? 1 : undefined,
        crowdRate: seed % 4 === 0 ? 0.3 : 0.05,
        firstAnnotationId: seed % 6 === 0 ? 0 : 1,
        instancesPerImage: seed % 7 === 0 ? 12 : 3,
      });
      const gt = validateDataset(c.gt);
      if (variant.noBoxes) for (const r of c.results) delete r.bbox;
      const res = validateResults(c.results, gt);
      const imgIds = seed % 5 === 0 ? gt.images.filter((_, i) => i % 2 === 0).map((i) => i.id) : undefined;
      const p = createParams(variant.iouType, gt, { ...variant.params, ...(imgIds ? { imgIds } : {}) });
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

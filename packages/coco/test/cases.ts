// The random evaluation cases shared by the suites that compare two evaluators or two matchers
// bit for bit (oracle.test.ts; test/integration/coco-match.test.ts): parameter variants that
// exercise cuts, pooled categories, keypoint-derived areas and custom thresholds.
import { createParams, validateDataset, validateResults } from '@omnidistill/coco';
import type { CocoDataset, CocoResult, EvalParams, IouType } from '@omnidistill/coco';
import { generateCase } from './generate.js';

export interface Variant {
  name: string;
  iouType: IouType;
  params?: Partial<EvalParams>;
  /** drop the boxes of the results: areas then come from the keypoints' extent */
  noBoxes?: boolean;
}

export const VARIANTS: Variant[] = [
  { name: 'bbox defaults', iouType: 'bbox' },
  { name: 'keypoints defaults', iouType: 'keypoints' },
  { name: 'bbox small maxDets (cuts)', iouType: 'bbox', params: { maxDets: [1, 2, 3] } },
  { name: 'keypoints maxDets 2', iouType: 'keypoints', params: { maxDets: [1, 2] } },
  { name: 'bbox useCats=false', iouType: 'bbox', params: { useCats: false } },
  { name: 'keypoints useCats=false', iouType: 'keypoints', params: { useCats: false } },
  { name: 'keypoints results without boxes', iouType: 'keypoints', noBoxes: true },
  { name: 'bbox custom thresholds and areas', iouType: 'bbox', params: { iouThrs: [0.3, 0.5, 0.51], areaRng: [[0, 1e10], [0, 5000]], areaRngLbl: ['all', 'tiny'] } },
];

/**
 * The case of `seed` under `variant`: a few dozen images, 1–3 categories, crowds, an
 * annotation id 0 every sixth seed, half the images evaluated every fifth, and every seventh
 * seed `crowdedInstances` instances per image.
 */
export function variantCase(seed: number, variant: Variant, crowdedInstances = 12): { gt: CocoDataset; res: CocoResult[]; p: EvalParams } {
  const c = generateCase({
    seed,
    images: 12 + (seed % 5) * 6,
    categories: 1 + (seed % 3),
    scoreDecimals: seed % 2 === 0 ? 1 : undefined,
    crowdRate: seed % 4 === 0 ? 0.3 : 0.05,
    firstAnnotationId: seed % 6 === 0 ? 0 : 1,
    instancesPerImage: seed % 7 === 0 ? crowdedInstances : 3,
  });
  const gt = validateDataset(c.gt);
  if (variant.noBoxes) for (const r of c.results) delete r.bbox;
  const res = validateResults(c.results, gt);
  const imgIds = seed % 5 === 0 ? gt.images.filter((_, i) => i % 2 === 0).map((i) => i.id) : undefined;
  return { gt, res, p: createParams(variant.iouType, gt, { ...variant.params, ...(imgIds ? { imgIds } : {}) }) };
}

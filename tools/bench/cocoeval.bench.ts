// COCOeval evaluate + accumulate: the fast evaluator next to the straightforward
// pycocotools-structured port (its test oracle), on a generated workload of
// 5 000 images / ~15 000 instances with 17 keypoints and ~30 000 results.
import { createParams, evaluate, evaluateReference, summarize, validateDataset, validateResults } from '@omnidistill/coco';
import type { CocoDataset, CocoResult, IouType } from '@omnidistill/coco';
import { generateCase } from '../../packages/coco/test/generate.js';

/** pycocotools evaluate()+accumulate() on this workload and machine class, as quoted in issue 4 (not measured here). */
const PYCOCOTOOLS_QUOTED_S: Record<IouType, number> = { bbox: 3.0, keypoints: 3.2 };

function timeIt(fn: () => void, repeats: number): number {
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const c = generateCase({ seed: 2024, images: 5000, instancesPerImage: 3, detectionsPerInstance: 1.6, falsePositives: 0.2, scoreDecimals: 3 });
const gt: CocoDataset = validateDataset(c.gt);
const results: CocoResult[] = validateResults(c.results, gt);
console.log(`workload: ${gt.images.length} images, ${gt.annotations.length} instances (17 keypoints), ${results.length} results`);

for (const iouType of ['bbox', 'keypoints'] as IouType[]) {
  const p = createParams(iouType, gt);
  const fastStats = summarize(evaluate(gt, results, p)).stats;
  const refStats = summarize(evaluateReference(gt, results, p)).stats;
  const same = fastStats.every((v, i) => v === refStats[i]);
  for (let i = 0; i < 3; i++) evaluate(gt, results, p); // warm-up
  const fast = timeIt(() => evaluate(gt, results, p), 9);
  const ref = timeIt(() => evaluateReference(gt, results, p), 3);
  const quoted = PYCOCOTOOLS_QUOTED_S[iouType];
  console.log(
    `${iouType.padEnd(9)} fast ${(fast * 1000).toFixed(1).padStart(7)} ms | baseline ${(ref * 1000).toFixed(1).padStart(7)} ms | ` +
      `fast/baseline ${(ref / fast).toFixed(1)}x | vs pycocotools (quoted ${quoted.toFixed(1)} s, not measured) ${(quoted / fast).toFixed(1)}x | ` +
      `AP ${fastStats[0].toFixed(4)} stats identical: ${same}`,
  );
}

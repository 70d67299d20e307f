// COCOeval evaluate + accumulate: the fast evaluator next to the straightforward
// pycocotools-structured port (its test oracle), on a generated workload of
// 5 000 images / ~15 000 instances with 17 keypoints and ~30 000 results.
import { createParams, evaluate, evaluateReference, summarize, validateDataset, validateResults } from '@omnidistill/coco';
import type { CocoDataset, CocoResult, IouType } from '@omnidistill/coco';
import { generateCase } from '../../packages/coco/test/generate.js';

/** pycocotools evaluate()+accumulate() on this workload and machine class, as quoted in issue 4 (not measured here). */
const PYCOCOTOOLS_QUOTED_S: Record<IouType, number> = { bbox: 3.0, keypoints: 3.2 };

interface Timing {
  /** fastest wall time (s): the least disturbed run on a shared machine */
  min: number;
  median: number;
  /** median CPU time of this process (s), less sensitive to other load than wall time */
  cpu: number;
}

function timeIt(fn: () => void, repeats: number): Timing {
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    fn();
    wall.push(Number(process.hrtime.bigint() - t0) / 1e9);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1e6);
  }
  const mid = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  return { min: Math.min(...wall), median: mid(wall), cpu: mid(cpu) };
}

const ms = (s: number): string => `${(s * 1000).toFixed(1)} ms`;

const c = generateCase({ seed: 2024, images: 5000, instancesPerImage: 3, detectionsPerInstance: 1.8, falsePositives: 0.2, scoreDecimals: 3 });
const gt: CocoDataset = validateDataset(c.gt);
const results: CocoResult[] = validateResults(c.results, gt);
console.log(`workload: ${gt.images.length} images, ${gt.annotations.length} instances (17 keypoints), ${results.length} results`);

for (const iouType of ['bbox', 'keypoints'] as IouType[]) {
  const p = createParams(iouType, gt);
  const fastStats = summarize(evaluate(gt, results, p)).stats;
  const refStats = summarize(evaluateReference(gt, results, p)).stats;
  const same = fastStats.every((v, i) => v === refStats[i]);
  for (let i = 0; i < 3; i++) evaluate(gt, results, p); // warm-up
  const fast = timeIt(() => evaluate(gt, results, p), 15);
  const ref = timeIt(() => evaluateReference(gt, results, p), 3);
  const quoted = PYCOCOTOOLS_QUOTED_S[iouType];
  console.log(`${iouType}: stats of fast and baseline identical: ${same}; AP ${fastStats[0].toFixed(4)}`);
  console.log(`  fast      wall min ${ms(fast.min)}  median ${ms(fast.median)}  cpu ${ms(fast.cpu)}`);
  console.log(`  baseline  wall min ${ms(ref.min)}  median ${ms(ref.median)}  cpu ${ms(ref.cpu)}`);
  console.log(`  ratio baseline/fast: ${(ref.min / fast.min).toFixed(1)}x (wall min), ${(ref.cpu / fast.cpu).toFixed(1)}x (cpu)`);
  console.log(
    `  vs pycocotools ${quoted.toFixed(1)} s (QUOTED figure from issue 4 for this workload and machine class, not measured here): ` +
      `${(quoted / fast.min).toFixed(1)}x (wall min), ${(quoted / fast.median).toFixed(1)}x (wall median)`,
  );
}

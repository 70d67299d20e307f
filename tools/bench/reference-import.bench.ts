// One training path, not two? The reference keypoint model trained through its built-in graph
// (defineKeypointModel: training skips the pixel shuffle by re-indexing the targets) vs through
// the import path (built → ONNX → studentDefinition, batch statistics as the built-in), at the
// demo's --quick training shape (16 images of 96 × 96, 32 RoIs), AdamW, native engine. Same
// initial weights and the same minibatches on both sides: the losses are printed side by side,
// and rounds of steps are interleaved so a busy machine slows both alike (wall and CPU time).
//
//   cd tools/bench && node --import tsx --conditions=source reference-import.bench.ts [steps] [threads] [rounds]

import { HEATMAP_TARGET_INPUT, HEATMAP_WEIGHT_INPUT, decodeOnnxModel, instantiate, studentDefinition, type ModelDefinition } from '@omnidistill/artifacts';
import { KEYPOINT_TENSORS, defineKeypointModel, exportDynamicModel, resolveKeypointConfig } from '@omnidistill/models';
import { Rng, engineFactory, type Feeds } from '@omnidistill/train';
import { loadLine } from './peers.js';

const STEPS = Number(process.argv[2] ?? 20);
const THREADS = Number(process.argv[3] ?? 1);
const ROUNDS = Number(process.argv[4] ?? 4);
const B = 16, S = 96, R = 32, K = 17, M = 28;
const T = KEYPOINT_TENSORS;

const config = resolveKeypointConfig({ keypoints: K, seed: 1 });
const builtIn = defineKeypointModel(config, { batch: B, height: S, width: S, rois: R });
const { g } = instantiate(builtIn, 'eval', 'standard');
const initial = new Map(g.params.map((p) => [p.name, p.init]));
let t0 = performance.now();
const onnx = exportDynamicModel(builtIn, initial, {});
const imported = studentDefinition(decodeOnnxModel(onnx), {
  inputShapes: { [T.image]: [B, 3, S, S], [T.rois]: [R, 4], [T.roiBatch]: [R] },
  batchNorm: 'batch',
  loss: { kind: 'heatmap', output: T.heatmaps },
});
const importMs = performance.now() - t0;

/** Random minibatches in the built-in's tensor names; `asImported` renames the loss inputs. */
const rng = new Rng(3);
const batches: Feeds[] = Array.from({ length: 4 }, () => {
  const rois = new Float32Array(R * 4);
  for (let r = 0; r < R; r++) {
    const x = rng.nextFloat() * 60, y = rng.nextFloat() * 40;
    rois.set([x, y, x + 8 + rng.nextFloat() * 28, y + 16 + rng.nextFloat() * 40], 4 * r);
  }
  return {
    [T.image]: { data: Float32Array.from({ length: B * 3 * S * S }, () => rng.nextNormal()), dims: [B, 3, S, S] },
    [T.rois]: { data: rois, dims: [R, 4] },
    [T.roiBatch]: { data: BigInt64Array.from({ length: R }, () => BigInt(rng.nextInt(B))), dims: [R] },
    [T.target]: { data: BigInt64Array.from({ length: R * K }, () => BigInt(rng.nextInt(M * M))), dims: [R, K] },
    [T.weight]: { data: Float32Array.from({ length: R * K }, () => (rng.nextFloat() < 0.85 ? 1 : 0)), dims: [R, K] },
  };
});
const asImported = (f: Feeds): Feeds => {
  const { [T.target]: target, [T.weight]: weight, ...rest } = f;
  return { ...rest, [HEATMAP_TARGET_INPUT]: target, [HEATMAP_WEIGHT_INPUT]: weight };
};

const setup = { optimizer: { type: 'adamw' as const, learningRate: 2e-3, weightDecay: 1e-4 }, schedule: { totalSteps: 1000 } };
const engineOf = (define: ModelDefinition) => engineFactory(define, setup, { engine: 'native', threads: THREADS, initialParameters: initial, log: () => {} })(undefined);
const sides = [
  { name: 'built-in', engine: await engineOf(builtIn), feeds: batches, losses: [] as number[], wall: [] as number[], cpu: [] as number[] },
  { name: 'imported', engine: await engineOf(imported), feeds: batches.map(asImported), losses: [] as number[], wall: [] as number[], cpu: [] as number[] },
];

// The same first steps on both: the losses must agree (same weights, same data, same optimizer).
for (const s of sides) for (let i = 0; i < 6; i++) s.losses.push((await s.engine.step(s.feeds[i % s.feeds.length])).loss);
const rel = sides[0].losses.map((l, i) => Math.abs(l - sides[1].losses[i]) / Math.abs(l));
console.log(`reference keypoint model, batch ${B} × 96², ${R} RoIs, AdamW, ${THREADS} thread(s); import (export + studentDefinition) ${importMs.toFixed(0)} ms`);
console.log(`losses of the first 6 steps: built-in ${sides[0].losses.map((l) => l.toFixed(5)).join(' ')}`);
console.log(`                              imported ${sides[1].losses.map((l) => l.toFixed(5)).join(' ')}  (max |Δ|/loss ${Math.max(...rel).toExponential(1)})`);

for (let round = 0; round < ROUNDS; round++) {
  // Alternate which side goes first, so a load change inside a round does not favour one.
  for (const s of round % 2 === 0 ? sides : [...sides].reverse()) {
    const c0 = process.cpuUsage();
    t0 = performance.now();
    for (let i = 0; i < STEPS; i++) await s.engine.step(s.feeds[i % s.feeds.length]);
    s.wall.push((performance.now() - t0) / STEPS);
    const c = process.cpuUsage(c0);
    s.cpu.push((c.user + c.system) / 1000 / STEPS);
  }
  const [a, b] = sides;
  console.log(`round ${round + 1}: built-in ${a.wall.at(-1)!.toFixed(1)} ms/step (CPU ${a.cpu.at(-1)!.toFixed(1)}), imported ${b.wall.at(-1)!.toFixed(1)} ms/step (CPU ${b.cpu.at(-1)!.toFixed(1)}); imported/built-in wall ${(b.wall.at(-1)! / a.wall.at(-1)!).toFixed(3)}×, CPU ${(b.cpu.at(-1)! / a.cpu.at(-1)!).toFixed(3)}×`);
}
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
const ratios = (k: 'wall' | 'cpu') => sides[1][k].map((x, i) => x / sides[0][k][i]);
console.log(`median over ${ROUNDS} rounds of ${STEPS} steps: imported/built-in wall ${median(ratios('wall')).toFixed(3)}× (range ${Math.min(...ratios('wall')).toFixed(3)}–${Math.max(...ratios('wall')).toFixed(3)}), CPU ${median(ratios('cpu')).toFixed(3)}× (range ${Math.min(...ratios('cpu')).toFixed(3)}–${Math.max(...ratios('cpu')).toFixed(3)})`);
console.log(`(${loadLine()})`);
for (const s of sides) await s.engine.release();

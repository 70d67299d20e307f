// Does `omnidistill train --model` train a torch model the way torch does? The CLI's top-down
// fixture (a torch.onnx export, 17 keypoints, 32×24 crops) is trained for N steps by the native
// engine and, from the same initial weights on the very same minibatches (saved here) with the
// same AdamW and learning-rate schedule, by PyTorch (track_torch.py); both loss curves printed.
//
//   cd tools/bench && node --import tsx --conditions=source ../student/track-torch.ts [steps]

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HEATMAP_TARGET_INPUT, HEATMAP_WEIGHT_INPUT, decodeOnnxModel, effectiveLearningRate, studentDefinition } from '../../packages/artifacts/src/index.js';
import { COCO_PERSON } from '../../packages/core/src/index.js';
import { NO_CROP_AUGMENTATION, TopDownBatchBuilder, heatmapTargets, loadCocoSource } from '../../packages/models/src/index.js';
import { generateSplits } from '../../packages/synth/src/index.js';
import { Rng, engineFactory, type Feeds } from '../../packages/train/src/index.js';

const STEPS = Number(process.argv[2] ?? 40);
const BATCH = 8;
const here = fileURLToPath(new URL('.', import.meta.url));
const modelPath = join(here, '../../packages/cli/test/fixtures/models/topdown-student.onnx');
const dir = mkdtempSync(join(tmpdir(), 'track-torch-'));

const splits = await generateSplits({ outDir: dir, style: 'keypoints', imageSize: 64, seed: 11, counts: { labeled: 32 }, concurrency: 2 });
const labeled = await loadCocoSource({ coco: splits.splits.labeled!.annotations, imageDir: splits.splits.labeled!.imagesDir });
const spec = { image: 'input', heatmaps: 'heatmaps', pixels: { channelOrder: 'rgb' as const, scale: 255, mean: [0.5, 0.5, 0.5] as [number, number, number], std: [0.25, 0.25, 0.25] as [number, number, number] }, schema: COCO_PERSON };
const builder = new TopDownBatchBuilder({ batch: BATCH, height: 32, width: 24, targets: heatmapTargets(8, 6), spec, augmentation: { ...NO_CROP_AUGMENTATION, flipProbability: 0.5, jitter: 0.05 } });
const rng = new Rng(5);
const batches: Feeds[] = Array.from({ length: STEPS }, () => builder.build(Array.from({ length: 4 }, () => labeled.images[rng.nextInt(labeled.images.length)]), rng));

const optimizer = { type: 'adamw' as const, learningRate: 2e-3, weightDecay: 1e-4 };
const schedule = { totalSteps: STEPS };
const define = studentDefinition(decodeOnnxModel(new Uint8Array(readFileSync(modelPath))), { inputShapes: { input: [BATCH, 3, 32, 24] }, loss: { kind: 'heatmap', output: 'heatmaps' } });
const engine = await engineFactory(define, { optimizer, schedule }, { engine: 'native', threads: 1, log: () => {} })(undefined);
const ours: number[] = [];
for (const b of batches) ours.push((await engine.step(b)).loss);
await engine.release();

// The minibatches and learning rates for torch: float32 inputs, int64 targets, float32 weights.
const parts: Uint8Array[] = [];
for (const b of batches) for (const k of ['input', HEATMAP_TARGET_INPUT, HEATMAP_WEIGHT_INPUT]) parts.push(new Uint8Array(b[k].data.buffer, b[k].data.byteOffset, b[k].data.byteLength));
writeFileSync(join(dir, 'batches.bin'), Buffer.concat(parts));
const lrs = Array.from({ length: STEPS }, (_, s) => effectiveLearningRate(s + 1, optimizer, schedule));
writeFileSync(join(dir, 'meta.json'), JSON.stringify({ steps: STEPS, batch: BATCH, k: 17, height: 32, width: 24, lrs, weightDecay: optimizer.weightDecay }));
const r = spawnSync('/usr/bin/python3', [join(here, 'track_torch.py'), modelPath, dir], { encoding: 'utf8' });
if (r.status !== 0) throw new Error(r.stderr);
const torch = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as number[];

console.log('step  omnidistill  torch     |Δ|/torch');
let worst = 0;
ours.forEach((l, i) => {
  const rel = Math.abs(l - torch[i]) / torch[i];
  worst = Math.max(worst, rel);
  if (i < 5 || (i + 1) % 5 === 0) console.log(`${String(i + 1).padStart(4)}  ${l.toFixed(5).padStart(11)}  ${torch[i].toFixed(5).padStart(8)}  ${rel.toExponential(1)}`);
});
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
console.log(`max relative difference over ${STEPS} steps: ${worst.toExponential(2)}; mean loss first/last 5 steps: ours ${mean(ours.slice(0, 5)).toFixed(4)} → ${mean(ours.slice(-5)).toFixed(4)}, torch ${mean(torch.slice(0, 5)).toFixed(4)} → ${mean(torch.slice(-5)).toFixed(4)}`);

// Does `omnidistill train --model` train a torch model the way torch does, over a whole schedule?
// A torch.onnx export of a reduced-width top-down model (fixtures.py TopDownHeatmap, SimpleBaseline
// style, or TopDownStride4, the reference model's layers top-down with a pixel shuffle; 17
// keypoints, 64×48 crops, torch's own initialisation) is trained for the demo's
// --quick student schedule (800 steps, 16 crops, AdamW 2e-3 ÷10 at 70%/90%, weight decay 1e-4) by
// trainOnnxStudent (what `train --model` runs, same options), which records every minibatch it
// builds; PyTorch then trains the same architecture from the same initial weights on those very
// minibatches with the same optimizer and learning rates (track_torch.py). Both final models are
// written into the same ONNX graph and scored by the same evaluator (the demo's keypoint AP, GT
// boxes, on the val split): loss windows side by side, relative differences, AP difference.
//
//   cd tools/bench && nice -n 10 node --import tsx --conditions=source ../student/track-schedule.ts \
//     [--steps 800] [--labeled L.json --images DIR] [--generated G.json --generated-images DIR] \
//     [--val V.json --val-images DIR] [--out DIR] [--architecture simplebaseline|stride4 --width-multiplier N]
// Without data flags it generates the demo's --quick splits (96 px, 200 labeled / 300 val, seed 1)
// and trains on the labeled split; with a demo's output, pass its labeled, generated and val files.

import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { HEATMAP_TARGET_INPUT, HEATMAP_WEIGHT_INPUT, effectiveLearningRate, replaceInitializers } from '../../packages/artifacts/src/index.js';
import { createModelSession, loadManifest, type KeypointManifest } from '../../packages/infer/src/index.js';
import { trainOnnxStudent } from '../../packages/models/src/index.js';
import { DEMO_SETTINGS, generateSplits } from '../../packages/synth/src/index.js';
import { customPlan } from '../../packages/transforms/src/index.js';
import { studentSpecFromManifest } from '../../packages/cli/src/commands/train-student.js';
import { keypointAp, type SplitPaths } from '../../packages/cli/src/pipeline/evaluate.js';
import { demoPlan, demoSettings } from '../../packages/cli/src/pipeline/demo.js';
import type { Feeds } from '../../packages/train/src/index.js';

const { values: v } = parseArgs({
  options: {
    steps: { type: 'string', default: '800' },
    labeled: { type: 'string' },
    images: { type: 'string' },
    generated: { type: 'string' },
    'generated-images': { type: 'string' },
    val: { type: 'string' },
    'val-images': { type: 'string' },
    out: { type: 'string' },
    architecture: { type: 'string', default: 'simplebaseline' },
    'width-multiplier': { type: 'string', default: '2' },
  },
});
const STEPS = Number(v.steps);
const BATCH = 16, K = 17, H = 64, W = 48, LR = 2e-3, WD = 1e-4, SEED = 1;
const here = fileURLToPath(new URL('.', import.meta.url));
const dir = resolve(v.out ?? mkdtempSync(join(tmpdir(), 'track-schedule-')));
mkdirSync(dir, { recursive: true });

function python(...args: string[]): string {
  const r = spawnSync('/usr/bin/python3', [join(here, 'track_torch.py'), ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`track_torch.py ${args[0]}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  return r.stdout.trim().split('\n').at(-1)!;
}

// 1. The torch export and its manifest.
const modelPath = join(dir, 'topdown.onnx');
const { params } = JSON.parse(python('export', modelPath, String(K), v['width-multiplier']!, String(H), String(W), v.architecture!)) as { params: number };
const manifest = {
  format: 'omnidistill-model', version: 1, role: 'keypoints', layout: 'topdown-heatmap',
  inputs: { image: 'input' }, outputs: { heatmaps: 'heatmaps' },
  pixels: { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] }, keypoints: { schema: 'coco-person' },
};
writeFileSync(join(dir, 'topdown.json'), JSON.stringify(manifest, null, 2));
const spec = studentSpecFromManifest(manifest, 'topdown.json');

// 2. Data: given, or the demo's --quick labeled and val splits.
let labeled: SplitPaths, val: SplitPaths;
if (v.labeled && v.images && v.val && v['val-images']) {
  labeled = { annotations: v.labeled, imageDir: v.images };
  val = { annotations: v.val, imageDir: v['val-images'] };
} else {
  const q = DEMO_SETTINGS.Q;
  const s = await generateSplits({ outDir: join(dir, 'data'), style: 'keypoints', imageSize: q.imageSize, seed: SEED, counts: { labeled: q.counts.labeled, val: q.counts.val } });
  labeled = { annotations: s.splits.labeled!.annotations, imageDir: s.splits.labeled!.imagesDir };
  val = { annotations: s.splits.val!.annotations, imageDir: s.splits.val!.imagesDir };
}
const generated = v.generated && v['generated-images'] ? { coco: v.generated, imageDir: v['generated-images'] } : undefined;

// 3. Ours: the `train --model` trainer, one thread, every minibatch appended to batches.bin.
const fd = openSync(join(dir, 'batches.bin'), 'w');
const bytesOf = (t: Feeds[string]) => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
console.log(`track-schedule: ${params} params (torch ${v.architecture} width ${v['width-multiplier']}, ${H}×${W} crops), ${STEPS} steps, batch ${BATCH}, AdamW ${LR} wd ${WD}, ÷10 at 70%/90%; data ${labeled.annotations}${generated ? ` ∪ ${generated.coco}` : ''}; out ${dir}`);
let t0 = performance.now();
const ours = await trainOnnxStudent({
  modelPath, spec, manifest, train: { coco: labeled.annotations, imageDir: labeled.imageDir }, ...(generated ? { generated } : {}),
  steps: STEPS, batch: BATCH, lr: LR, weightDecay: WD, seed: SEED, threads: 1, progressEvery: 1,
  outDir: dir, name: 'omnidistill', log: () => {},
  onBatch: (f) => {
    for (const k of ['input', HEATMAP_TARGET_INPUT, HEATMAP_WEIGHT_INPUT]) writeSync(fd, bytesOf(f[k]));
  },
});
closeSync(fd);
const oursSeconds = (performance.now() - t0) / 1000;

// 4. Torch on the same minibatches, from the same initial weights, same learning rates.
const optimizer = { type: 'adamw' as const, learningRate: LR, weightDecay: WD };
const lrs = Array.from({ length: STEPS }, (_, s) => effectiveLearningRate(s + 1, optimizer, { totalSteps: STEPS }));
const weightsOut = join(dir, 'torch-weights.bin');
writeFileSync(join(dir, 'meta.json'), JSON.stringify({ steps: STEPS, batch: BATCH, k: K, height: H, width: W, widthMultiplier: Number(v['width-multiplier']), architecture: v.architecture, lrs, weightDecay: WD, threads: 1, weightsOut }));
t0 = performance.now();
const torch = JSON.parse(python('train', modelPath, dir)) as number[];
const torchSeconds = (performance.now() - t0) / 1000;
const names = JSON.parse(readFileSync(`${weightsOut}.json`, 'utf8')) as { names: string[]; sizes: number[] };
const flat = new Float32Array(readFileSync(weightsOut).buffer.slice(0));
const torchParams = new Map<string, Float32Array>();
let at = 0;
names.names.forEach((n, i) => {
  torchParams.set(n, flat.slice(at, at + names.sizes[i]));
  at += names.sizes[i];
});
const torchOnnx = join(dir, 'torch.onnx');
writeFileSync(torchOnnx, replaceInitializers(new Uint8Array(readFileSync(modelPath)), torchParams));

// 5. Losses side by side.
const oursLoss = ours.history.map((h) => h.loss);
if (oursLoss.length !== STEPS) throw new Error(`expected ${STEPS} per-step losses, got ${oursLoss.length}`);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const std = (xs: number[]) => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)));
const rel = oursLoss.map((l, i) => Math.abs(l - torch[i]) / torch[i]);
const WINDOW = Math.max(1, Math.round(STEPS / 16));
console.log(`\nsteps        omnidistill  torch    |Δ|/torch (window means)  step-to-step σ of torch's loss in the window`);
const windowRel: number[] = [];
for (let s = 0; s < STEPS; s += WINDOW) {
  const a = mean(oursLoss.slice(s, s + WINDOW));
  const b = mean(torch.slice(s, s + WINDOW));
  windowRel.push(Math.abs(a - b) / b);
  console.log(`${`${s + 1}–${Math.min(STEPS, s + WINDOW)}`.padEnd(11)}  ${a.toFixed(4).padStart(11)}  ${b.toFixed(4).padStart(6)}  ${windowRel.at(-1)!.toExponential(1).padStart(9)}                 ${std(torch.slice(s, s + WINDOW)).toFixed(4)}`);
}
console.log(`per step: max |Δ|/torch ${Math.max(...rel).toExponential(2)}, mean ${mean(rel).toExponential(2)}; first step with |Δ|/torch > 1e-3: ${rel.findIndex((r) => r > 1e-3) + 1 || 'none'}`);
console.log(`window means (${WINDOW} steps): max |Δ|/torch ${Math.max(...windowRel).toExponential(2)}, mean ${mean(windowRel).toExponential(2)}`);
console.log(`training time: omnidistill ${oursSeconds.toFixed(0)} s (${ours.engine}, batches built and recorded included), torch ${torchSeconds.toFixed(0)} s (reading the batches included)`);

// 6. The same evaluator on both final models.
const plan = demoPlan(demoSettings('keypoints', true));
const m = (await loadManifest(join(dir, 'omnidistill.json'))) as KeypointManifest;
const rows: [string, number, number][] = [];
for (const [name, path] of [['omnidistill', ours.onnxPath], ['torch', torchOnnx]] as const) {
  const single = await keypointAp(await createModelSession(path, m), val, customPlan([]));
  const multi = await keypointAp(await createModelSession(path, m), val, plan);
  rows.push([name, 100 * single.stats[0], 100 * multi.stats[0]]);
}
console.log(`\nkeypoint AP on ${val.annotations} (GT boxes)   single pass   ${plan.transforms.length} transforms`);
for (const [name, a, b] of rows) console.log(`${name.padEnd(40)}  ${a.toFixed(1).padStart(11)}  ${b.toFixed(1).padStart(12)}`);
console.log(`${'difference (omnidistill − torch)'.padEnd(40)}  ${(rows[0][1] - rows[1][1]).toFixed(2).padStart(11)}  ${(rows[0][2] - rows[1][2]).toFixed(2).padStart(12)}`);

// Does `omnidistill train --model` train a torch model the way torch does, over a whole schedule?
// A torch.onnx export of a reduced-width top-down model (fixtures.py TopDownStride4 by default:
// the reference keypoint model's layers top-down with a pixel shuffle, 71 k parameters at width
// 32, a model that learns the task; or --architecture simplebaseline, TopDownHeatmap, which
// barely does; 17 keypoints, 64×48 crops, torch's own initialisation) is trained for the demo's
// --quick student schedule (800 steps, 16 crops, AdamW 2e-3 ÷10 at 70%/90%, weight decay 1e-4)
// by trainOnnxStudent (what `train --model` runs, same options), which records every minibatch
// it builds; PyTorch then trains the same architecture from the same initial weights on those
// very minibatches with the same optimizer and learning rates (track_torch.py). Both final models
// are written into the same ONNX graph and scored by the same evaluator (the demo's keypoint AP,
// GT boxes, val split). Two float trajectories of a chaotic optimisation drift apart after a few
// dozen steps whatever computes them, so one pair of runs cannot tell a real difference from float
// noise: --repeats N (default 3) runs the pair N times, repeat r ≥ 1 from the export perturbed
// by one float rounding (× (1 + 1e-7·N(0, 1)), seed r), and compares the means, with torch's
// own spread over the repeats beside them.
//
//   cd tools/bench && nice -n 10 node --import tsx --conditions=source ../student/track-schedule.ts \
//     [--steps 800] [--labeled L.json --images DIR] [--generated G.json --generated-images DIR] \
//     [--val V.json --val-images DIR] [--out DIR] [--architecture stride4|simplebaseline --width-multiplier N]
//     [--repeats N] [--plan-eval] [--results FILE.json]
// Without data flags it generates the demo's --quick splits (96 px, 200 labeled / 300 val, seed 1)
// and trains on the labeled split; with a demo's output, pass its labeled, generated and val files.
// --plan-eval also scores with the demo's 8-transform plan; --results writes the numbers (window
// means, summaries, AP) as JSON (tools/student/results/ holds the committed run).

import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { HEATMAP_TARGET_INPUT, HEATMAP_WEIGHT_INPUT, effectiveLearningRate, replaceInitializers } from '../../packages/artifacts/src/index.js';
import { createModelSession, loadManifest, type KeypointManifest } from '../../packages/infer/src/index.js';
import { writeFileAtomic } from '../../packages/coco/src/index.js';
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
    architecture: { type: 'string', default: 'stride4' },
    'width-multiplier': { type: 'string' },
    repeats: { type: 'string', default: '3' },
    'plan-eval': { type: 'boolean', default: false },
    results: { type: 'string' },
  },
});
const STEPS = Number(v.steps);
if (v.architecture !== 'stride4' && v.architecture !== 'simplebaseline') throw new Error(`--architecture: stride4 or simplebaseline, not ${v.architecture}`);
/** Channels of TopDownStride4 (default 32: 71 k parameters), or SimpleBaseline's width multiplier (default 2). */
const WIDTH = Number(v['width-multiplier'] ?? (v.architecture === 'stride4' ? 32 : 2));
const REPEATS = Number(v.repeats);
if (!(Number.isInteger(REPEATS) && REPEATS >= 1)) throw new Error(`--repeats: a positive integer, not ${v.repeats}`);
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
const { params } = JSON.parse(python('export', modelPath, String(K), String(WIDTH), String(H), String(W), v.architecture!)) as { params: number };
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

// 3. Per repeat: ours, the `train --model` trainer (one thread, every minibatch appended to
// batches.bin), then torch on those minibatches from the same initial weights with the same
// optimizer and learning rates. Repeat 0 starts from the export itself, repeat r from the export
// perturbed by one float rounding (seed r, the same file for both sides).
const optimizer = { type: 'adamw' as const, learningRate: LR, weightDecay: WD };
const lrs = Array.from({ length: STEPS }, (_, s) => effectiveLearningRate(s + 1, optimizer, { totalSteps: STEPS }));
const bytesOf = (t: Feeds[string]) => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
console.log(`track-schedule: ${params} params (torch ${v.architecture} width ${WIDTH}, ${H}×${W} crops), ${STEPS} steps, batch ${BATCH}, AdamW ${LR} wd ${WD}, ÷10 at 70%/90%; data ${labeled.annotations}${generated ? ` ∪ ${generated.coco}` : ''}; ${REPEATS} repeat(s); out ${dir}`);

interface Side {
  readonly losses: number[];
  readonly seconds: number;
  readonly onnxPath: string;
}

/** Our trainer on `start`, recording its minibatches. */
async function trainOurs(start: string, name: string): Promise<Side & { engine: string }> {
  const fd = openSync(join(dir, 'batches.bin'), 'w');
  const t = performance.now();
  const run = await trainOnnxStudent({
    modelPath: start, spec, manifest, train: { coco: labeled.annotations, imageDir: labeled.imageDir }, ...(generated ? { generated } : {}),
    steps: STEPS, batch: BATCH, lr: LR, weightDecay: WD, seed: SEED, threads: 1, progressEvery: 1,
    batchNorm: 'frozen', // as track_torch.py trains (eval mode); the export's statistics are torch's initial ones, whose default is batch
    outDir: dir, name, log: () => {},
    onBatch: (f) => {
      for (const k of ['input', HEATMAP_TARGET_INPUT, HEATMAP_WEIGHT_INPUT]) writeSync(fd, bytesOf(f[k]));
    },
  });
  closeSync(fd);
  const losses = run.history.map((h) => h.loss);
  if (losses.length !== STEPS) throw new Error(`expected ${STEPS} per-step losses, got ${losses.length}`);
  return { losses, seconds: (performance.now() - t) / 1000, onnxPath: run.onnxPath, engine: run.engine };
}

/** Torch on the recorded minibatches from `start`; its final weights written into the exported graph. */
function trainTorch(start: string, name: string): Side {
  const weightsOut = join(dir, `${name}-weights.bin`);
  writeFileSync(join(dir, 'meta.json'), JSON.stringify({ steps: STEPS, batch: BATCH, k: K, height: H, width: W, widthMultiplier: WIDTH, architecture: v.architecture, lrs, weightDecay: WD, threads: 1, weightsOut }));
  const t = performance.now();
  const losses = JSON.parse(python('train', start, dir)) as number[];
  const seconds = (performance.now() - t) / 1000;
  const names = JSON.parse(readFileSync(`${weightsOut}.json`, 'utf8')) as { names: string[]; sizes: number[] };
  const flat = new Float32Array(readFileSync(weightsOut).buffer.slice(0));
  const trained = new Map<string, Float32Array>();
  let at = 0;
  names.names.forEach((n, i) => {
    trained.set(n, flat.slice(at, at + names.sizes[i]));
    at += names.sizes[i];
  });
  const onnxPath = join(dir, `${name}.onnx`);
  writeFileSync(onnxPath, replaceInitializers(new Uint8Array(readFileSync(start)), trained));
  return { losses, seconds, onnxPath };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const std = (xs: number[]) => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)));
const WINDOW = Math.max(1, Math.round(STEPS / 16));
const round = (x: number) => Number(x.toPrecision(5));

/** How a loss curve differs from a reference one: per step, and over WINDOW-step means. */
function against(losses: number[], reference: number[]) {
  const rel = losses.map((l, i) => Math.abs(l - reference[i]) / reference[i]);
  const windows: { steps: string; mean: number; reference: number; rel: number; referenceStd: number }[] = [];
  for (let s = 0; s < STEPS; s += WINDOW) {
    const a = mean(losses.slice(s, s + WINDOW));
    const b = mean(reference.slice(s, s + WINDOW));
    windows.push({ steps: `${s + 1}-${Math.min(STEPS, s + WINDOW)}`, mean: round(a), reference: round(b), rel: round(Math.abs(a - b) / b), referenceStd: round(std(reference.slice(s, s + WINDOW))) });
  }
  return {
    perStepMaxRel: round(Math.max(...rel)), perStepMeanRel: round(mean(rel)), firstStepAbove1e3: rel.findIndex((r) => r > 1e-3) + 1 || null,
    windowMaxRel: round(Math.max(...windows.map((w) => w.rel))), windowMeanRel: round(mean(windows.map((w) => w.rel))), windows,
  };
}

const m = (await loadManifest(join(dir, 'topdown.json'))) as KeypointManifest;
const plan = demoPlan(demoSettings('keypoints', true));
/** Keypoint AP (GT boxes, val split) of a trained file: single pass, and with --plan-eval the demo's transform plan. */
async function apOf(path: string): Promise<{ single: number; plan?: number }> {
  const single = round(100 * (await keypointAp(await createModelSession(path, m), val, customPlan([]))).stats[0]);
  if (!v['plan-eval']) return { single };
  return { single, plan: round(100 * (await keypointAp(await createModelSession(path, m), val, plan)).stats[0]) };
}

const repeats = [];
for (let r = 0; r < REPEATS; r++) {
  const start = r === 0 ? modelPath : join(dir, `start-${r}.onnx`);
  if (r > 0) python('perturb', modelPath, start, '1e-7', String(r));
  const ours = await trainOurs(start, `omnidistill-${r}`);
  const torch = trainTorch(start, `torch-${r}`);
  const loss = against(ours.losses, torch.losses);
  const ap = { omnidistill: await apOf(ours.onnxPath), torch: await apOf(torch.onnxPath) };
  repeats.push({ start: r === 0 ? 'the export' : `the export × (1 + 1e-7·N(0, 1)), seed ${r}`, seconds: { omnidistill: round(ours.seconds), torch: round(torch.seconds) }, engine: ours.engine, loss, ap, finalWindow: { omnidistill: loss.windows.at(-1)!.mean, torch: loss.windows.at(-1)!.reference }, curves: { omnidistill: ours.losses, torch: torch.losses } });
  console.log(`\nrepeat ${r} (${repeats[r].start}): training ${ours.seconds.toFixed(0)} s ours (${ours.engine}), ${torch.seconds.toFixed(0)} s torch`);
  console.log(`steps        omnidistill   torch    |Δ|/torch   σ of torch's loss in the window`);
  for (const w of loss.windows) console.log(`${w.steps.padEnd(11)}  ${w.mean.toFixed(4).padStart(11)}  ${w.reference.toFixed(4).padStart(6)}  ${w.rel.toExponential(1).padStart(10)}   ${w.referenceStd.toFixed(4)}`);
  console.log(`per step: max |Δ|/torch ${loss.perStepMaxRel.toExponential(2)}, mean ${loss.perStepMeanRel.toExponential(2)}, first step > 1e-3: ${loss.firstStepAbove1e3 ?? 'none'}; window means: max ${loss.windowMaxRel.toExponential(2)}, mean ${loss.windowMeanRel.toExponential(2)}`);
  console.log(`keypoint AP (GT boxes, single pass${v['plan-eval'] ? '; demo plan' : ''}): omnidistill ${ap.omnidistill.single.toFixed(1)}${ap.omnidistill.plan !== undefined ? `; ${ap.omnidistill.plan.toFixed(1)}` : ''}, torch ${ap.torch.single.toFixed(1)}${ap.torch.plan !== undefined ? `; ${ap.torch.plan.toFixed(1)}` : ''}`);
}

// 4. Across repeats: our runs against torch's, and torch's against torch's (the float-noise spread).
const apSides = { omnidistill: repeats.map((r) => r.ap.omnidistill.single), torch: repeats.map((r) => r.ap.torch.single) };
const finals = { omnidistill: repeats.map((r) => r.finalWindow.omnidistill), torch: repeats.map((r) => r.finalWindow.torch) };
const torchCurves = repeats.map((r) => r.curves.torch);
const torchVsTorch = torchCurves.slice(1).map((c) => against(c, torchCurves[0]));
const summary = {
  ap: {
    omnidistill: { runs: apSides.omnidistill, mean: round(mean(apSides.omnidistill)), std: round(std(apSides.omnidistill)) },
    torch: { runs: apSides.torch, mean: round(mean(apSides.torch)), std: round(std(apSides.torch)) },
    meanDifference: round(mean(apSides.omnidistill) - mean(apSides.torch)),
  },
  finalWindowLoss: {
    omnidistill: { runs: finals.omnidistill, mean: round(mean(finals.omnidistill)) },
    torch: { runs: finals.torch, mean: round(mean(finals.torch)) },
    meanRelDifference: round((mean(finals.omnidistill) - mean(finals.torch)) / mean(finals.torch)),
  },
  ...(torchVsTorch.length > 0 ? { torchRepeatsVsTorchRepeat0: torchVsTorch.map((d) => ({ perStepMeanRel: d.perStepMeanRel, firstStepAbove1e3: d.firstStepAbove1e3, windowMaxRel: d.windowMaxRel, windowMeanRel: d.windowMeanRel })) } : {}),
};
console.log(`\nover ${REPEATS} repeat(s): keypoint AP omnidistill ${summary.ap.omnidistill.mean.toFixed(2)} ± ${summary.ap.omnidistill.std.toFixed(2)} [${apSides.omnidistill.join(', ')}], torch ${summary.ap.torch.mean.toFixed(2)} ± ${summary.ap.torch.std.toFixed(2)} [${apSides.torch.join(', ')}]; difference of the means ${summary.ap.meanDifference.toFixed(2)}`);
console.log(`last-window loss: omnidistill ${summary.finalWindowLoss.omnidistill.mean.toFixed(4)}, torch ${summary.finalWindowLoss.torch.mean.toFixed(4)} (${(100 * summary.finalWindowLoss.meanRelDifference).toFixed(2)}%)`);
for (const [i, d] of torchVsTorch.entries()) console.log(`torch repeat ${i + 1} vs torch repeat 0 (float noise alone): window means max ${d.windowMaxRel.toExponential(2)}, mean ${d.windowMeanRel.toExponential(2)}; first step > 1e-3: ${d.firstStepAbove1e3 ?? 'none'}`);

// 5. The record (small: window means and summaries, not the per-step curves).
if (v.results) {
  await writeFileAtomic(resolve(v.results), `${JSON.stringify({
    command: `cd tools/bench && nice -n 10 node --import tsx --conditions=source ../student/track-schedule.ts ${process.argv.slice(2).join(' ')}`,
    model: { architecture: v.architecture, width: WIDTH, params, crop: [H, W], keypoints: K },
    schedule: { steps: STEPS, batch: BATCH, optimizer: 'adamw', lr: LR, weightDecay: WD, decay: '÷10 at 70% and 90%', seed: SEED, threads: 1 },
    data: { labeled: generated ? 'given' : 'demo --quick labeled split (seed 1, 200 images)', generated: generated ? 'given' : null, val: v.val ? 'given' : 'demo --quick val split (300 images)' },
    evaluation: 'keypoint AP, GT boxes, single pass (the demo evaluator, keypointAp)',
    summary,
    repeats: repeats.map(({ curves: _, ...r }) => r),
  }, null, 1)}\n`);
  console.log(`results → ${resolve(v.results)}`);
}

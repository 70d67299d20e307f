// Training-step speed of the two engines side by side, through the real training loop, on
// (1) the speed-table network of ORT-TRAINING.md (3×64×48 image → 17 heatmaps 16×12, ~98.9k
//     parameters, batch 32, AdamW) and
// (2) the reference keypoint model of @omnidistill/models (backbone + RoIAlign + head, DEMO-NOTES
//     setting Q: 96 px, batch 16, 32 RoIs) with its real minibatch builder (pixel normalisation,
//     flips, RoI jitter, keypoint targets).
// Prints steps/s of each engine, the native/wasm ratio (goal ≥ 4×), and where a step goes —
// inside ORT (forward, backward, optimizer) versus our own overhead (sampling, data loading +
// augmentation + target generation, engine bookkeeping; goal ≤ 10%).
//
//   cd tools/bench && node --import tsx --conditions=source train.bench.ts [steps] [speed|reference]

import { availableParallelism } from 'node:os';
import { instantiate, spatialSoftmaxCrossEntropy, type GraphBuilder, type ModelDefinition, type Value } from '@omnidistill/artifacts';
import { COCO_PERSON } from '@omnidistill/core';
import { KeypointBatchBuilder, defineKeypointModel } from '@omnidistill/models';
import {
  MixedSourceSampler,
  Rng,
  engineFactory,
  profileNativeStep,
  trainLoop,
  type EngineState,
  type Feeds,
  type SampleRef,
  type TrainingEngine,
  type TrainingSetup,
  type TrainResult,
} from '@omnidistill/train';
import { fakePeopleImages } from './fake-people.js';

const BATCH = 32, C = 3, H = 64, W = 48, K = 17, HH = 16, HW = 12;
const STEPS = Number(process.argv[2] ?? 20);
const WASM_STEPS = Math.max(3, Math.round(STEPS / 2));
const WARMUP = 3;

/** Reference-sized keypoint network: two stride-2 convs to stride 4, three 3×3 convs, 1×1 head. */
const defineKeypointNet: ModelDefinition = (g) => {
  const rng = new Rng(2024);
  const image = g.input('image', 'float32', [BATCH, C, H, W]);
  let x: Value = image;
  let cin = C;
  const layers: [number, number][] = [[24, 2], [32, 2], [56, 1], [64, 1], [72, 1]];
  layers.forEach(([cout, stride], i) => {
    x = g.relu(conv(g, rng, `conv${i}`, x, cin, cout, 3, stride));
    cin = cout;
  });
  const logits = conv(g, rng, 'head', x, cin, K, 1, 1);
  if (g.phase === 'eval') return { outputs: { heatmaps: logits } };
  const target = g.input('kp.target', 'int64', [BATCH, K]);
  const weight = g.input('kp.weight', 'float32', [BATCH, K]);
  return { loss: spatialSoftmaxCrossEntropy(g, logits, target, weight) };
};

function conv(g: GraphBuilder, rng: Rng, name: string, x: Value, cin: number, cout: number, k: number, stride: number): Value {
  const bound = Math.sqrt(6 / (cin * k * k));
  const w = g.param(`${name}.w`, [cout, cin, k, k], Float32Array.from({ length: cout * cin * k * k }, () => (rng.nextFloat() * 2 - 1) * bound));
  const b = g.param(`${name}.b`, [cout], new Float32Array(cout));
  const p = (k - 1) >> 1;
  return g.conv(x, w, b, { strides: [stride, stride], pads: [p, p, p, p] });
}

// ---- data: decoded images held in memory, as a real loader would after decoding --------------
const POOL = 256;
const dataRng = new Rng(7);
const images = Array.from({ length: POOL }, () => Float32Array.from({ length: C * H * W }, () => dataRng.nextFloat()));
const keypoints = Array.from({ length: POOL }, () => Float32Array.from({ length: K * 3 }, (_, i) => (i % 3 === 0 ? dataRng.nextFloat() * W : i % 3 === 1 ? dataRng.nextFloat() * H : 2)));
const FLIP = Array.from({ length: K }, (_, k) => (k === 0 ? 0 : k % 2 === 1 ? k + 1 : k - 1)); // COCO left/right pairs

/** Copies each sample (random horizontal flip with left/right swap) and encodes its keypoint targets. */
function makeBatch(refs: readonly SampleRef[], rng: Rng): Feeds {
  const image = new Float32Array(BATCH * C * H * W);
  const target = new BigInt64Array(BATCH * K);
  const weight = new Float32Array(BATCH * K);
  refs.forEach((r, n) => {
    const src = images[(r.source === 'labeled' ? r.index : POOL / 2 + r.index) % POOL];
    const kp = keypoints[(r.source === 'labeled' ? r.index : POOL / 2 + r.index) % POOL];
    const flip = rng.nextFloat() < 0.5;
    const dst = n * C * H * W;
    if (!flip) image.set(src, dst);
    else for (let row = 0; row < C * H; row++) for (let col = 0; col < W; col++) image[dst + row * W + col] = src[row * W + W - 1 - col];
    for (let k = 0; k < K; k++) {
      const from = flip ? FLIP[k] : k;
      const x = flip ? W - kp[from * 3] : kp[from * 3], y = kp[from * 3 + 1], v = kp[from * 3 + 2];
      const hx = Math.min(HW - 1, Math.max(0, Math.floor((x / W) * HW))), hy = Math.min(HH - 1, Math.max(0, Math.floor((y / H) * HH)));
      target[n * K + k] = BigInt(hy * HW + hx);
      weight[n * K + k] = v > 0 ? 1 : 0;
    }
  });
  return {
    image: { data: image, dims: [BATCH, C, H, W] },
    'kp.target': { data: target, dims: [BATCH, K] },
    'kp.weight': { data: weight, dims: [BATCH, K] },
  };
}

const setup: TrainingSetup = { optimizer: { type: 'adamw', learningRate: 2e-3 }, schedule: { totalSteps: 1000 } };
const ROUNDS = 4;

/** A model to benchmark: its definition, minibatch size and minibatch builder. */
interface BenchModel {
  readonly label: string;
  readonly define: ModelDefinition;
  readonly batch: number;
  readonly makeBatch: (refs: readonly SampleRef[], rng: Rng) => Feeds;
}

// ---- (2) the reference keypoint model with its real minibatch builder -------------------------
const QS = 96, QB = 16, QR = 32;
const qImages = fakePeopleImages(64, QS, 1);
const qBuilder = new KeypointBatchBuilder({ height: QS, width: QS, rois: QR, heatmapSize: 28, schema: COCO_PERSON });

const MODELS: BenchModel[] = [
  { label: `speed-table net (ORT-TRAINING.md): 3×${H}×${W} → ${K}×${HH}×${HW}, batch ${BATCH}`, define: defineKeypointNet, batch: BATCH, makeBatch },
  {
    label: `reference keypoint model (@omnidistill/models, setting Q): ${QS} px, batch ${QB}, ${QR} RoIs, M 28`,
    define: defineKeypointModel({ keypoints: K }, { batch: QB, height: QS, width: QS, rois: QR }),
    batch: QB,
    makeBatch: (refs, rng) => qBuilder.build(refs.map((r) => qImages[(r.source === 'labeled' ? 0 : 32) + (r.index % 32)]), rng),
  },
];

interface Totals {
  engine: string;
  steps: number;
  /** ms per step of each round, for the spread of the ratio. */
  rounds: number[];
  timing: Record<keyof TrainResult['timing'], number>;
  detail: Record<string, number>;
}

/** One round: a short training run through the real loop (after warm-up steps that are not counted). */
async function round(totals: Totals, createEngine: (s: EngineState | undefined) => Promise<TrainingEngine>, steps: number, m: BenchModel): Promise<void> {
  const result = await trainLoop({
    createEngine: async (s) => {
      const engine = await createEngine(s);
      for (let i = 0; i < WARMUP; i++) await engine.step(m.makeBatch(new MixedSourceSampler({ labeledSize: 32, generatedSize: 32, seed: 9 }).nextBatch(m.batch), new Rng(i)));
      const step = engine.step.bind(engine);
      engine.step = async (feeds) => {
        const r = await step(feeds);
        for (const [k, v] of Object.entries(r.detail ?? {})) totals.detail[k] = (totals.detail[k] ?? 0) + v;
        return r;
      };
      return engine;
    },
    iterations: steps,
    batchSize: m.batch,
    sampler: new MixedSourceSampler({ labeledSize: 32, generatedSize: 32, seed: 1 }),
    makeBatch: m.makeBatch,
    onProgress: () => {},
    log: () => {},
  });
  totals.engine = result.engine;
  totals.steps += result.stepsRun;
  totals.rounds.push(result.timing.total / result.stepsRun);
  for (const [k, v] of Object.entries(result.timing)) totals.timing[k as keyof TrainResult['timing']] = (totals.timing[k as keyof TrainResult['timing']] ?? 0) + v;
}

function perStep(t: Totals, key: keyof TrainResult['timing']): number {
  return t.timing[key] / t.steps;
}

function report(t: Totals): void {
  const total = perStep(t, 'total');
  const ours = perStep(t, 'sampling') + perStep(t, 'batch') + perStep(t, 'engineOverhead');
  console.log(
    `  ${t.engine}: ${(1000 / total).toFixed(2)} steps/s (${total.toFixed(1)} ms/step): inside ORT ${perStep(t, 'runtime').toFixed(1)} ms, ` +
      `our overhead ${ours.toFixed(2)} ms = ${((100 * ours) / total).toFixed(1)}% ` +
      `(sampling ${perStep(t, 'sampling').toFixed(3)}, load+augment+targets ${perStep(t, 'batch').toFixed(2)}, engine bookkeeping ${perStep(t, 'engineOverhead').toFixed(2)})`,
  );
}

const threads = availableParallelism();
const only = process.argv[3];
for (const m of MODELS.filter((x) => !only || x.label.startsWith(only))) {
  const params = instantiate(m.define, 'eval', 'standard').g.params.reduce((sum, p) => sum + p.init.length, 0);
  console.log(`\n=== ${m.label}, ${params} params, AdamW; ${ROUNDS} interleaved rounds, ${STEPS} timed steps per native round, ${WASM_STEPS} per wasm round, ${WARMUP} warm-up steps each ===`);
  const engines = {
    wasm: engineFactory(m.define, setup, { engine: 'wasm' }),
    nativeAll: engineFactory(m.define, setup, { engine: 'native', threads, provider: 'cpu' }),
    native1: engineFactory(m.define, setup, { engine: 'native', threads: 1, provider: 'cpu' }),
    nativeNoSpin: engineFactory(m.define, setup, { engine: 'native', threads, provider: 'cpu', spinning: false }),
  };
  const totals = Object.fromEntries(Object.keys(engines).map((k) => [k, { engine: k, steps: 0, rounds: [], timing: {}, detail: {} } as unknown as Totals])) as Record<keyof typeof engines, Totals>;
  // Rounds interleave the engines so that load from other processes hits them alike.
  for (let r = 0; r < ROUNDS; r++) {
    await round(totals.wasm, engines.wasm, WASM_STEPS, m);
    await round(totals.nativeAll, engines.nativeAll, STEPS, m);
    if (threads > 1) await round(totals.native1, engines.native1, STEPS, m);
    if (threads > 1) await round(totals.nativeNoSpin, engines.nativeNoSpin, STEPS, m);
  }
  const sampler = new MixedSourceSampler({ labeledSize: 32, generatedSize: 32, seed: 2 });
  const batchRng = new Rng(3);
  const prof = await profileNativeStep(m.define, setup, () => m.makeBatch(sampler.nextBatch(m.batch), batchRng), { threads, steps: STEPS });

  console.log('steps/s (through trainLoop: sampling, batch building, engine step)');
  report(totals.wasm);
  report(totals.nativeAll);
  if (threads > 1) report(totals.nativeNoSpin);
  if (threads > 1) report(totals.native1);
  const ratio = perStep(totals.wasm, 'total') / perStep(totals.nativeAll, 'total');
  const vs = (t: Totals) => (perStep(totals.wasm, 'total') / perStep(t, 'total')).toFixed(2);
  console.log(
    `ratio native/wasm steps/s: ${ratio.toFixed(2)}× with ${threads} native threads (default settings)` +
      (threads > 1 ? `, ${vs(totals.nativeNoSpin)}× without spinning, ${vs(totals.native1)}× with 1 thread` : '') +
      ' (goal ≥ 4×)',
  );
  const perRound = totals.wasm.rounds.map((w, r) => (w / totals.nativeAll.rounds[r]).toFixed(2));
  console.log(`  per round (wasm round r vs native round r, default settings): ${perRound.join(' ')}`);
  const d = totals.wasm.detail, n = totals.wasm.steps;
  console.log('where a step goes:');
  console.log(
    `  wasm: runTrainStep (forward + backward) ${(d.trainStep / n).toFixed(1)} ms, runOptimizerStep ${(d.optimizerStep / n).toFixed(2)} ms, lazyResetGrad ${(d.lazyResetGrad / n).toFixed(3)} ms`,
  );
  const loopMs = perStep(totals.nativeAll, 'total');
  const ours = perStep(totals.nativeAll, 'sampling') + perStep(totals.nativeAll, 'batch') + perStep(totals.nativeAll, 'engineOverhead');
  const pct = (x: number, of: number) => `${((100 * x) / of).toFixed(0)}%`;
  const s = prof.sections;
  console.log(
    `  native (${threads} threads, ORT per-node profile of ${prof.steps} real steps, ${prof.nodes.toFixed(0)} nodes/step, ${prof.stepMs.toFixed(1)} ms/step while profiled): ` +
      `forward ${s.forward.toFixed(1)} ms (${pct(s.forward, prof.stepMs)}), backward ${s.backward.toFixed(1)} ms (${pct(s.backward, prof.stepMs)}), ` +
      `optimizer + schedule ${s.optimizer.toFixed(1)} ms (${pct(s.optimizer, prof.stepMs)}), ORT between nodes ${prof.betweenNodesMs.toFixed(1)} ms (${pct(prof.betweenNodesMs, prof.stepMs)})` +
      (s.other > 0 ? `, ORT-added nodes ${s.other.toFixed(1)} ms` : '') +
      `; our overhead in the loop ${ours.toFixed(1)} ms (${pct(ours, loopMs)} of ${loopMs.toFixed(1)} ms)`,
  );
  console.log('  largest op types (kernel ms/step, part, nodes/step):');
  for (const o of prof.ops.slice(0, 10)) console.log(`    ${o.ms.toFixed(2).padStart(6)} ms  ${o.op.padEnd(14)} ${o.section.padEnd(9)} ${o.nodes.toFixed(0)}`);
}

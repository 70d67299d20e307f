// Training-step speed of the two engines side by side on a reference-sized keypoint model
// (3×64×48 image → 17 heatmaps 16×12, ~98.9k parameters, batch 32, AdamW): steps/s of each,
// the native/wasm ratio (goal ≥ 4×), and where a step's time goes — inside ORT (forward,
// backward, optimizer) versus our own overhead (sampling, data loading + augmentation +
// target generation, engine bookkeeping), measured through the real training loop.
//
//   cd tools/bench && node --import tsx --conditions=source train.bench.ts [steps]

import { availableParallelism } from 'node:os';
import { instantiate, spatialSoftmaxCrossEntropy, type GraphBuilder, type ModelDefinition, type Value } from '@omnidistill/artifacts';
import {
  MixedSourceSampler,
  Rng,
  engineFactory,
  profileNativeSplit,
  trainLoop,
  type EngineState,
  type Feeds,
  type SampleRef,
  type TrainingEngine,
  type TrainingSetup,
  type TrainResult,
} from '@omnidistill/train';

const BATCH = 32, C = 3, H = 64, W = 48, K = 17, HH = 16, HW = 12;
const STEPS = Number(process.argv[2] ?? 20);
const WASM_STEPS = Math.max(3, Math.round(STEPS / 4));
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

const initialParameters = new Map(instantiate(defineKeypointNet, 'eval', 'standard').g.params.map((p) => [p.name, p.init]));
const paramCount = [...initialParameters.values()].reduce((s, p) => s + p.length, 0);
const setup: TrainingSetup = { optimizer: { type: 'adamw', learningRate: 2e-3 }, schedule: { totalSteps: 1000 } };
const ROUNDS = 3;

interface Totals {
  engine: string;
  steps: number;
  timing: Record<keyof TrainResult['timing'], number>;
  detail: Record<string, number>;
}

/** One round: a short training run through the real loop (after warm-up steps that are not counted). */
async function round(totals: Totals, createEngine: (s: EngineState | undefined) => Promise<TrainingEngine>, steps: number): Promise<void> {
  const result = await trainLoop({
    createEngine: async (s) => {
      const engine = await createEngine(s);
      for (let i = 0; i < WARMUP; i++) await engine.step(makeBatch(new MixedSourceSampler({ labeledSize: 128, generatedSize: 128, seed: 9 }).nextBatch(BATCH), new Rng(i)));
      const step = engine.step.bind(engine);
      engine.step = async (feeds) => {
        const r = await step(feeds);
        for (const [k, v] of Object.entries(r.detail ?? {})) totals.detail[k] = (totals.detail[k] ?? 0) + v;
        return r;
      };
      return engine;
    },
    iterations: steps,
    batchSize: BATCH,
    sampler: new MixedSourceSampler({ labeledSize: 128, generatedSize: 128, seed: 1 }),
    makeBatch,
    onProgress: () => {},
    log: () => {},
  });
  totals.engine = result.engine;
  totals.steps += result.stepsRun;
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
console.log(
  `train.bench: keypoint net 3×${H}×${W} → ${K}×${HH}×${HW}, ${paramCount} params, batch ${BATCH}, AdamW; ` +
    `${ROUNDS} interleaved rounds per engine, ${STEPS} timed steps each (wasm: ${WASM_STEPS}), ${WARMUP} warm-up steps per round`,
);
const engines = {
  wasm: engineFactory(defineKeypointNet, setup, { engine: 'wasm' }),
  nativeAll: engineFactory(defineKeypointNet, setup, { engine: 'native', threads, provider: 'cpu' }),
  native1: engineFactory(defineKeypointNet, setup, { engine: 'native', threads: 1, provider: 'cpu' }),
};
const totals = Object.fromEntries(Object.keys(engines).map((k) => [k, { engine: k, steps: 0, timing: {}, detail: {} } as unknown as Totals])) as Record<keyof typeof engines, Totals>;
// Rounds interleave the engines so that load from other processes hits them alike.
for (let r = 0; r < ROUNDS; r++) {
  await round(totals.wasm, engines.wasm, WASM_STEPS);
  await round(totals.nativeAll, engines.nativeAll, STEPS);
  if (threads > 1) await round(totals.native1, engines.native1, STEPS);
}
const split = await profileNativeSplit(defineKeypointNet, makeBatch(new MixedSourceSampler({ labeledSize: 128, generatedSize: 128, seed: 2 }).nextBatch(BATCH), new Rng(3)), threads, STEPS);

console.log('\nsteps/s (through trainLoop: sampling, batch building, engine step)');
report(totals.wasm);
report(totals.nativeAll);
if (threads > 1) report(totals.native1);
const ratio = perStep(totals.wasm, 'total') / perStep(totals.nativeAll, 'total');
console.log(`\nratio native/wasm steps/s: ${ratio.toFixed(2)}× with ${threads} native threads${threads > 1 ? `, ${(perStep(totals.wasm, 'total') / perStep(totals.native1, 'total')).toFixed(2)}× with 1` : ''} (goal ≥ 4×)`);
const d = totals.wasm.detail, n = totals.wasm.steps;
console.log('\nwhere a step goes, inside ORT:');
console.log(
  `  wasm: runTrainStep (forward + backward) ${(d.trainStep / n).toFixed(1)} ms, runOptimizerStep ${(d.optimizerStep / n).toFixed(2)} ms, lazyResetGrad ${(d.lazyResetGrad / n).toFixed(3)} ms`,
);
const nStep = perStep(totals.nativeAll, 'runtime');
console.log(
  `  native (${threads} threads): forward ≈ ${split.forwardMs.toFixed(1)} ms, backward ≈ ${(split.forwardBackwardMs - split.forwardMs).toFixed(1)} ms, ` +
    `optimizer + schedule ≈ ${(nStep - split.forwardBackwardMs).toFixed(1)} ms (fused step ${nStep.toFixed(1)} ms; forward and forward+backward timed as separate graphs, so the split is approximate)`,
);

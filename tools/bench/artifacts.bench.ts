// Training-step cost of the reference keypoint model under each gradient lowering and
// runtime, side by side in one process: the wasm ORT training session with ORT's gradient
// kernels ('ort') and with standard-op gradients ('standard'), and the standard-ONNX
// training step (buildTrainingStep) on onnxruntime-node with 1 and 2 threads.
// Also prints where the native step spends its time, by op type (ORT profiling).
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { buildTrainingArtifacts, buildTrainingStep } from '@omnidistill/artifacts';
import { defineKeypointModel } from '@omnidistill/models';

// onnxruntime-* are dependencies of packages/artifacts (not of this package): resolve them there.
const requireFromArtifacts = createRequire(new URL('../../packages/artifacts/package.json', import.meta.url));
const ortNode = requireFromArtifacts('onnxruntime-node') as typeof import('onnxruntime-node');
const webDist = new URL('../../packages/artifacts/node_modules/onnxruntime-web/dist/', import.meta.url);

const BATCH = Number(process.env.BENCH_BATCH ?? 16);
const SIZE = Number(process.env.BENCH_SIZE ?? 96);
const ROIS = 2 * BATCH;
const K = 17;
const M = 28;
const STEPS = Number(process.env.BENCH_STEPS ?? 5);
const define = defineKeypointModel({ keypoints: K }, { batch: BATCH, height: SIZE, width: SIZE, rois: ROIS });
const optimizer = { type: 'adamw', learningRate: 2e-3 } as const;
const schedule = { totalSteps: 1000 };

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}
const rnd = lcg(1);
const data: Record<string, { data: Float32Array | BigInt64Array; dims: number[] }> = {
  image: { data: Float32Array.from({ length: BATCH * 3 * SIZE * SIZE }, () => rnd() - 0.5), dims: [BATCH, 3, SIZE, SIZE] },
  rois: {
    data: Float32Array.from({ length: ROIS * 4 }, (_, i) => (i % 4 < 2 ? 4 + rnd() * 30 : 50 + rnd() * (SIZE - 54))),
    dims: [ROIS, 4],
  },
  roi_batch: { data: BigInt64Array.from({ length: ROIS }, (_, i) => BigInt(i % BATCH)), dims: [ROIS] },
  kp_target: { data: BigInt64Array.from({ length: ROIS * K }, () => BigInt(Math.floor(rnd() * M * M))), dims: [ROIS, K] },
  kp_weight: { data: Float32Array.from({ length: ROIS * K }, () => (rnd() < 0.9 ? 1 : 0)), dims: [ROIS, K] },
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

type Runner = { name: string; run: () => Promise<void>; times: number[]; release: () => Promise<void> };

async function wasmRunner(lowering: 'ort' | 'standard'): Promise<Runner> {
  const ort = await import(fileURLToPath(new URL('ort.training.wasm.min.mjs', webDist)));
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.wasmBinary = readFileSync(new URL('ort-training-wasm-simd-threaded.wasm', webDist));
  const art = buildTrainingArtifacts(define, { lowering, optimizer, schedule });
  const session = await ort.TrainingSession.create({ checkpointState: art.checkpoint, trainModel: art.trainingModel, optimizerModel: art.optimizerModel });
  // 1.19.2 takes the feeds by position: build them in trainingInputNames order.
  const feeds: Record<string, unknown> = {};
  for (const name of session.trainingInputNames as string[]) {
    const f = data[name];
    feeds[name] = new ort.Tensor(f.data instanceof BigInt64Array ? 'int64' : 'float32', f.data, f.dims);
  }
  return {
    name: `wasm training session, ${lowering === 'ort' ? 'ORT gradient kernels' : 'standard-op gradients'} (train + optimizer step)`,
    times: [],
    run: async () => {
      await session.runTrainStep(feeds);
      await session.runOptimizerStep();
      await session.lazyResetGrad();
    },
    release: () => session.release(),
  };
}

async function nativeRunner(threads: number, profile = false): Promise<Runner & { session: InstanceType<typeof ortNode.InferenceSession> }> {
  const step = buildTrainingStep(define, { optimizer, schedule });
  const session = await ortNode.InferenceSession.create(step.model, { intraOpNumThreads: threads, interOpNumThreads: 1, enableProfiling: profile, profileFilePrefix: '/tmp/omni-artifacts-bench' });
  const feeds: Record<string, InstanceType<typeof ortNode.Tensor>> = {};
  for (const [k, f] of Object.entries(data)) feeds[k] = new ortNode.Tensor(f.data instanceof BigInt64Array ? 'int64' : 'float32', f.data, f.dims);
  for (const s of step.state) feeds[s.input] = new ortNode.Tensor('float32', s.initial, [...s.shape]);
  let k = 0;
  return {
    name: `onnxruntime-node standard step (fwd + bwd + AdamW), ${threads} thread${threads > 1 ? 's' : ''}`,
    session,
    times: [],
    run: async () => {
      feeds.step = new ortNode.Tensor('int64', BigInt64Array.of(BigInt(++k)), [1]);
      const out = await session.run(feeds);
      for (const s of step.state) feeds[s.input] = out[s.output];
    },
    release: () => session.release(),
  };
}

function printProfile(session: InstanceType<typeof ortNode.InferenceSession>, runs: number): void {
  session.endProfiling();
  // onnxruntime-node writes <prefix>_<timestamp>.json and does not return the path.
  const file = readdirSync('/tmp').filter((f) => f.startsWith('omni-artifacts-bench')).map((f) => `/tmp/${f}`).sort().pop()!;
  const events = JSON.parse(readFileSync(file, 'utf8')) as { cat: string; name: string; dur: number; args?: { op_name?: string } }[];
  const byOp = new Map<string, number>();
  for (const e of events) if (e.cat === 'Node' && e.name.endsWith('_kernel_time')) byOp.set(e.args?.op_name ?? '?', (byOp.get(e.args?.op_name ?? '?') ?? 0) + e.dur);
  const total = [...byOp.values()].reduce((a, b) => a + b, 0);
  console.log('native step (1 thread), kernel time by op type:');
  for (const [op, us] of [...byOp].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(`  ${op.padEnd(22)} ${(us / 1000 / runs).toFixed(1).padStart(8)} ms/step  ${((100 * us) / total).toFixed(1)}%`);
  rmSync(file, { force: true });
}

console.log(`reference keypoint model, batch ${BATCH}, ${SIZE}×${SIZE}, ${ROIS} RoIs, K=${K}, AdamW; median of ${STEPS} interleaved rounds`);
const runners: Runner[] = [await wasmRunner('ort'), await wasmRunner('standard'), await nativeRunner(1), await nativeRunner(2)];
for (const r of runners) await r.run(); // warm-up
// Interleaved rounds, so that load from other processes hits every variant alike.
for (let i = 0; i < STEPS; i++) {
  for (const r of runners) {
    const t0 = performance.now();
    await r.run();
    r.times.push(performance.now() - t0);
  }
}
const base = median(runners[0].times);
for (const r of runners) {
  const m = median(r.times);
  console.log(`${r.name.padEnd(78)} ${m.toFixed(1).padStart(8)} ms   ${(base / m).toFixed(2)}× the wasm ORT-kernel step`);
  await r.release();
}
if (process.env.BENCH_PROFILE) {
  const p = await nativeRunner(1, true);
  for (let i = 0; i < 3; i++) await p.run();
  printProfile(p.session, 3);
  await p.release();
}

// Training step of the reference models on the native engine vs the same models in PyTorch CPU
// (issue 17): the keypoint model (16 images of 96 px, 32 RoIs) and the CenterNet-style detector
// (16 images of 96 px), AdamW, at 1 and 2 threads. Both sides start from the same parameters and
// step through the same minibatches (built once by the real batch builders, handed to the torch
// process as raw tensors); the first losses are compared before anything is timed, and the
// trainable parameter counts must be equal. Rounds interleave ours and PyTorch's at each thread
// count, so load from other processes hits both alike; each round reports wall ms per step
// (median of its steps) and CPU ms per step (all threads of the process), and the load average.
// The torch side is tools/peers/train_torch.py under Debian's python3-torch; skipped with the
// reason when it cannot run. After the ratios, a "ceiling" line per thread count: PyTorch's step ÷ our
// convolution kernels alone (per-node profile), the most any change outside the convolutions can reach.
//
//   cd tools/bench && node --import tsx --conditions=source torch-train.bench.ts [rounds] [steps] [keypoints|detector]

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { instantiate, resolveOptimizer } from '@omnidistill/artifacts';
import { engineFactory, profileNativeStep, type Feeds, type TrainingEngine } from '@omnidistill/train';
import { PEER_SCRIPTS, PeerServer, loadLine, median, pythonMissing } from './peers.js';
import { CATEGORIES, msByCategory } from './step-parts.js';
import { BENCH_SETUP as setup, trainBenchModels, type TrainBenchModel as BenchModel } from './train-models.js';

const ROUNDS = Number(process.argv[2] ?? 5);
const STEPS = Number(process.argv[3] ?? 8);
const ONLY = process.argv[4];
const WARMUP = 3;
/** Distinct minibatches both sides cycle through. */
const BATCHES = 4;
/** Steps whose losses are compared (fresh models, the first minibatches in order). */
const CHECKED_STEPS = 3;
/** Steps profiled per side and thread count for the ceiling (after the timed rounds). */
const PROFILED_STEPS = 6;
const THREADS = [1, 2].filter((t) => t <= Math.max(2, availableParallelism()));

interface RawEntry {
  name: string;
  dtype: 'float32' | 'int64';
  shape: readonly number[];
  offset: number;
}

/** Writes the initial parameters and the minibatches for the torch process: a JSON manifest and one raw file. */
function writePeerData(dir: string, m: BenchModel): string {
  const chunks: Uint8Array[] = [];
  let offset = 0;
  const add = (name: string, data: Float32Array | BigInt64Array, shape: readonly number[]): RawEntry => {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    chunks.push(bytes);
    const entry: RawEntry = { name, dtype: data instanceof Float32Array ? 'float32' : 'int64', shape, offset };
    offset += bytes.length + ((8 - (bytes.length % 8)) % 8);
    if (bytes.length % 8) chunks.push(new Uint8Array(8 - (bytes.length % 8)));
    return entry;
  };
  const parameters = instantiate(m.define, 'eval', 'standard').g.params.map((p) => add(p.name, p.init, p.shape));
  const batches = m.batches.map((feeds) =>
    Object.entries(feeds).map(([name, f]) => {
      if (!(f.data instanceof Float32Array || f.data instanceof BigInt64Array)) throw new Error(`feed ${name}: float32 or int64 expected`);
      return add(name, f.data, f.dims);
    }),
  );
  const raw = join(dir, `${m.kind}.raw`);
  writeFileSync(raw, Buffer.concat(chunks));
  const manifest = join(dir, `${m.kind}.json`);
  writeFileSync(manifest, JSON.stringify({ raw, arch: m.arch, optimizer: resolveOptimizer(setup.optimizer), parameters, batches }));
  return manifest;
}

/** Wall ms per step (median of the round's steps) and CPU ms per step (whole process). */
interface Round {
  wallMs: number;
  cpuMs: number;
}

async function timeOurs(engine: TrainingEngine, batches: readonly Feeds[], steps: number, from: number): Promise<Round> {
  const wall: number[] = [];
  const c0 = process.cpuUsage();
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    await engine.step(batches[(from + i) % batches.length]);
    wall.push(performance.now() - t0);
  }
  const c = process.cpuUsage(c0);
  return { wallMs: median(wall), cpuMs: (c.user + c.system) / 1000 / steps };
}

async function timeTorch(peer: PeerServer, threads: number, steps: number): Promise<Round> {
  const r = await peer.request<{ wall: number[]; cpu: number; threads: number }>({ cmd: 'time', threads, steps });
  if (r.threads !== threads) throw new Error(`torch ran ${r.threads} threads, asked for ${threads}`);
  return { wallMs: median(r.wall) * 1000, cpuMs: r.cpu * 1000 };
}

/** Fresh engine and fresh torch model from the same parameters: the first losses must agree. */
async function checkLosses(m: BenchModel, peer: PeerServer): Promise<void> {
  const engine = await engineFactory(m.define, setup, { engine: 'native', threads: 1, provider: 'cpu', log: () => {} })(undefined);
  const ours: number[] = [];
  for (let i = 0; i < CHECKED_STEPS; i++) ours.push((await engine.step(m.batches[i % m.batches.length])).loss);
  await engine.release();
  const { losses } = await peer.request<{ losses: number[] }>({ cmd: 'losses', steps: CHECKED_STEPS });
  const worst = Math.max(...ours.map((l, i) => Math.abs(l - losses[i]) / Math.max(Math.abs(losses[i]), 1e-6)));
  const fmt = (xs: number[]) => xs.map((x) => x.toFixed(5)).join(' ');
  console.log(`   losses of steps 1–${CHECKED_STEPS}: ours ${fmt(ours)}, PyTorch ${fmt(losses)} (largest relative difference ${worst.toExponential(1)})`);
  if (!(worst < 1e-3)) throw new Error(`${m.kind}: losses differ from PyTorch's by ${worst.toExponential(2)} (relative): the two models are not the same`);
}

/**
 * The most a change outside the convolution kernels could reach: PyTorch's (unprofiled) step
 * divided by our convolution kernels' time alone (ORT's per-node profile). A ratio goal above it
 * needs faster convolutions. PyTorch's own convolution ops (torch.profiler self time) are printed
 * beside ours.
 */
async function printCeiling(m: BenchModel, peer: PeerServer, threads: number, torchStepMs: number): Promise<void> {
  const ours = await profileNativeStep(m.define, setup, (i) => m.batches[i % m.batches.length], { threads, steps: PROFILED_STEPS });
  const oursConvMs = msByCategory(ours).get(CATEGORIES[0].name) ?? 0;
  const torch = await peer.request<{ convMs: number; opsMs: number }>({ cmd: 'profile', threads, steps: PROFILED_STEPS });
  console.log(
    `   ceiling, ${threads} thread${threads > 1 ? 's' : ''}: PyTorch's step ${torchStepMs.toFixed(1)} ms ÷ our convolution kernels ${oursConvMs.toFixed(1)} ms ` +
      `(of ${ours.stepMs.toFixed(1)} ms profiled) = ${(torchStepMs / oursConvMs).toFixed(2)}× at most without faster convolutions; ` +
      `PyTorch's convolution ops ${torch.convMs.toFixed(1)} ms of ${torch.opsMs.toFixed(1)} ms profiled (theirs ÷ ours ${(torch.convMs / oursConvMs).toFixed(2)}); ${loadLine()}`,
  );
}

async function bench(m: BenchModel, dir: string): Promise<void> {
  const params = instantiate(m.define, 'eval', 'standard').g.params;
  const trainable = params.filter((p) => p.trainable).reduce((n, p) => n + p.init.length, 0);
  const peer = new PeerServer(join(PEER_SCRIPTS, 'train_torch.py'), [m.kind, writePeerData(dir, m)]);
  try {
    const info = await peer.request<{ trainable: number; torch: string }>({ cmd: 'info' });
    console.log(`\n=== ${m.label}; AdamW (lr 2e-3, weight decay 1e-4), batch-statistics BatchNorm ===`);
    console.log(`   trainable parameters: ours ${trainable}, PyTorch ${info.trainable}`);
    if (info.trainable !== trainable) throw new Error(`${m.kind}: trainable parameter counts differ (ours ${trainable}, PyTorch ${info.trainable})`);
    await checkLosses(m, peer);
    const engines = new Map<number, TrainingEngine>();
    for (const t of THREADS) {
      const engine = await engineFactory(m.define, setup, { engine: 'native', threads: t, provider: 'cpu', log: () => {} })(undefined);
      for (let i = 0; i < WARMUP; i++) await engine.step(m.batches[i % m.batches.length]);
      engines.set(t, engine);
    }
    const results = new Map(THREADS.map((t) => [t, { ours: [] as Round[], torch: [] as Round[] }]));
    console.log(`   ${ROUNDS} interleaved rounds of ${STEPS} steps per side and thread count (${WARMUP} warm-up steps each); wall = median ms/step of the round, cpu = CPU ms/step`);
    for (let r = 0; r < ROUNDS; r++) {
      const parts: string[] = [];
      for (const t of THREADS) {
        const ours = await timeOurs(engines.get(t)!, m.batches, STEPS, WARMUP + r * STEPS);
        const torch = await timeTorch(peer, t, STEPS);
        results.get(t)!.ours.push(ours);
        results.get(t)!.torch.push(torch);
        parts.push(`${t} thr: ours ${ours.wallMs.toFixed(1)} (cpu ${ours.cpuMs.toFixed(1)}), torch ${torch.wallMs.toFixed(1)} (cpu ${torch.cpuMs.toFixed(1)}) → ${(torch.wallMs / ours.wallMs).toFixed(2)}×`);
      }
      console.log(`   round ${r + 1}: ${parts.join(' | ')}`);
    }
    console.log(`   ${engines.get(THREADS[0])!.info.description}; PyTorch ${info.torch} CPU; ${loadLine()}`);
    for (const t of THREADS) {
      const { ours, torch } = results.get(t)!;
      const w = median(torch.map((x) => x.wallMs)) / median(ours.map((x) => x.wallMs));
      const c = median(torch.map((x) => x.cpuMs)) / median(ours.map((x) => x.cpuMs));
      console.log(
        `RATIO training step, ${m.kind === 'keypoints' ? 'keypoint model' : 'detector'}, ${t} thread${t > 1 ? 's' : ''} vs PyTorch CPU: ${w.toFixed(2)}x wall, ${c.toFixed(2)}x cpu ` +
          `(ours ${median(ours.map((x) => x.wallMs)).toFixed(1)} ms, torch ${median(torch.map((x) => x.wallMs)).toFixed(1)} ms; goal ≥ 1.5)`,
      );
    }
    for (const e of engines.values()) await e.release();
    for (const t of THREADS) await printCeiling(m, peer, t, median(results.get(t)!.torch.map((x) => x.wallMs)));
  } finally {
    peer.close();
  }
}

const missing = pythonMissing(['torch', 'torchvision', 'numpy']);
if (missing) {
  console.log(`skipped: ${missing} (apt-get install python3-torch python3-torchvision python3-numpy)`);
} else {
  const dir = mkdtempSync(join(tmpdir(), 'omnidistill-torch-train-'));
  try {
    for (const m of trainBenchModels(BATCHES, ONLY)) await bench(m, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// In-process A/B of training-step variants on the native engine (issue 17): the reference
// keypoint model and the detector (the torch-train.bench settings: 16 images of 96 px, AdamW),
// each variant its own engine from the same parameters, stepped alternately on the same
// minibatches so that load from other processes hits all alike. Prints per variant the median
// wall ms and median CPU ms per step (all threads of this process), the first-quartile CPU ms,
// the ratio to the first variant, the first losses (equal across variants up to float
// rounding), and the load average.
//
//   cd tools/bench && node --import tsx --conditions=source train-ab.bench.ts [steps] [threads] [keypoints|detector] [variant,variant,…]
//
// Variants: base (NCHWc convolutions, weight gradients as per-tap MatMuls / im2col), wgrad-conv
// (NCHWc, weight gradients as NCHWc convolutions of Xᵀ by dYᵀ), plain (no NCHWc); on top of
// wgrad-conv: inter-op (ORT's parallel executor, `threads` nodes at once on one intra-op thread
// each), no-spin (idle pool threads sleep).

import { instantiate, type GradientOptions } from '@omnidistill/artifacts';
import { createNativeEngine, nativeStepArtifacts, nchwcBlockSize, type NativeEngineOptions, type TrainingEngine } from '@omnidistill/train';
import { loadLine, median } from './peers.js';
import { BENCH_SETUP as setup, trainBenchModels } from './train-models.js';

const STEPS = Number(process.argv[2] ?? 20);
const THREADS = Number(process.argv[3] ?? 1);
const ONLY = process.argv[4];
const WARMUP = 2;
const BATCHES = 3;

/** One variant of the step: NCHWc convolutions or not, and the gradient lowering's choices. */
interface Variant {
  readonly nchwc: boolean;
  readonly gradient: GradientOptions;
  /** Engine options that replace `threads` intra-op threads. */
  readonly engine?: (threads: number) => Partial<NativeEngineOptions>;
}
const VARIANTS: Readonly<Record<string, Variant>> = {
  base: { nchwc: true, gradient: { convWeightGradient: 'classic' } },
  'wgrad-conv': { nchwc: true, gradient: { convWeightGradient: 'conv' } },
  plain: { nchwc: false, gradient: { convWeightGradient: 'classic' } },
  // ORT's parallel executor: `threads` nodes at once, one intra-op thread each.
  'inter-op': { nchwc: true, gradient: { convWeightGradient: 'conv' }, engine: (threads) => ({ threads: 1, interOpThreads: threads }) },
  'no-spin': { nchwc: true, gradient: { convWeightGradient: 'conv' }, engine: () => ({ spinning: false }) },
  // ORT's parallel sections cut into smaller shards handed out as threads free up (instead of
  // one equal share per thread): a thread slowed by another process no longer holds up the other.
  'dyn-block': { nchwc: true, gradient: { convWeightGradient: 'conv' }, engine: () => ({ sessionConfig: { 'session.dynamic_block_base': '4' } }) },
  // The intra-op pool's worker pinned to the second core (the calling thread stays unpinned).
  affinity: { nchwc: true, gradient: { convWeightGradient: 'conv' }, engine: () => ({ sessionConfig: { 'session.intra_op_thread_affinities': '2' } }) },
};
const chosen = (process.argv[5] ?? 'base,wgrad-conv').split(',');
for (const v of chosen) if (!VARIANTS[v]) throw new Error(`unknown variant "${v}": one of ${Object.keys(VARIANTS).join(', ')}`);

function quartile(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 4)];
}

const block = await nchwcBlockSize();
for (const m of trainBenchModels(BATCHES, ONLY)) {
  const initialParameters = new Map(instantiate(m.define, 'eval', 'standard').g.params.map((p) => [p.name, p.init]));
  const engines: TrainingEngine[] = [];
  const losses: number[][] = [];
  for (const name of chosen) {
    const v = VARIANTS[name];
    const art = nativeStepArtifacts(m.define, setup, { nchwcBlock: v.nchwc ? block : 0, gradient: v.gradient });
    const engine = await createNativeEngine(art, { initialParameters, threads: THREADS, provider: 'cpu', ...v.engine?.(THREADS) });
    const l: number[] = [];
    for (let i = 0; i < WARMUP; i++) l.push((await engine.step(m.batches[i % BATCHES])).loss);
    engines.push(engine);
    losses.push(l);
  }
  const wall = chosen.map(() => [] as number[]);
  const cpu = chosen.map(() => [] as number[]);
  for (let s = 0; s < STEPS; s++) {
    // Alternate the order too, so that neither variant always runs right after the other.
    const order = s % 2 ? [...engines.keys()].reverse() : [...engines.keys()];
    for (const k of order) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await engines[k].step(m.batches[(WARMUP + s) % BATCHES]);
      wall[k].push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu[k].push((c.user + c.system) / 1000);
    }
  }
  console.log(`\n=== ${m.kind}, ${THREADS} thread${THREADS > 1 ? 's' : ''}, ${STEPS} alternating steps per variant; ${loadLine()} ===`);
  chosen.forEach((name, k) => {
    const ratio = median(cpu[0]) / median(cpu[k]);
    console.log(
      `  ${name.padEnd(10)} wall ${median(wall[k]).toFixed(1).padStart(6)} ms  cpu ${median(cpu[k]).toFixed(1).padStart(6)} ms (q1 ${quartile(cpu[k]).toFixed(1)})  ` +
        `${chosen[0]}/this cpu ${ratio.toFixed(2)}× wall ${(median(wall[0]) / median(wall[k])).toFixed(2)}×  first losses ${losses[k].map((l) => l.toFixed(6)).join(' ')}`,
    );
  });
  for (const e of engines) await e.release();
}

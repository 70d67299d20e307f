// Why a native training step scales worse from 1 to 2 threads than PyTorch's (issue 17): the
// step is profiled node by node (profileNativeStep) at 1 and at 2 intra-op threads, in
// alternating rounds so that load from other processes hits both alike, and each node's
// fastest kernel time (over all profiled steps) is compared. A node that parallelises perfectly takes half its
// 1-thread time at 2 threads; what it takes beyond that ("excess") is what keeps the step from
// scaling. Prints the excess by op type and the nodes with the most of it, plus the step's and
// ORT's between-node time at both thread counts. Per-node times are wall time: on a loaded
// machine they swell, so compare the 1- and 2-thread columns of one run, not runs.
//
//   cd tools/bench && node --import tsx --conditions=source train-scaling.bench.ts [rounds] [steps] [keypoints|detector] [top]

import { profileNativeStep, type NativeStepProfile } from '@omnidistill/train';
import { loadLine, median } from './peers.js';
import { BENCH_SETUP, trainBenchModels } from './train-models.js';

const ROUNDS = Number(process.argv[2] ?? 3);
const STEPS = Number(process.argv[3] ?? 6);
const ONLY = process.argv[4];
const TOP = Number(process.argv[5] ?? 25);
const THREADS = [1, 2] as const;

interface Row {
  readonly key: string;
  readonly op: string;
  /** Median ms per step at 1 and 2 threads. */
  readonly t1: number;
  readonly t2: number;
}

/**
 * Each node's fastest run over all profiled steps of all rounds: the other processes on a
 * shared machine only ever add to a node's time, so the minimum is the least disturbed figure.
 */
function fastestNodes(profiles: readonly NativeStepProfile[]): Map<string, { op: string; ms: number }> {
  const all = new Map<string, { op: string; ms: number }>();
  for (const p of profiles) for (const n of p.perNode) {
    const e = all.get(n.name);
    all.set(n.name, { op: n.op, ms: Math.min(e?.ms ?? Infinity, n.minMs) });
  }
  return all;
}

function rows(one: readonly NativeStepProfile[], two: readonly NativeStepProfile[]): Row[] {
  const a = fastestNodes(one), b = fastestNodes(two);
  return [...new Set([...a.keys(), ...b.keys()])].map((key) => ({
    key, op: a.get(key)?.op ?? b.get(key)!.op, t1: a.get(key)?.ms ?? 0, t2: b.get(key)?.ms ?? 0,
  }));
}

/** What a row takes at 2 threads beyond half its 1-thread time. */
const excess = (r: { t1: number; t2: number }) => r.t2 - r.t1 / 2;

function line(label: string, r: { t1: number; t2: number }, extra = ''): string {
  const speedup = r.t2 > 0 ? (r.t1 / r.t2).toFixed(2) : '—';
  return `   ${r.t1.toFixed(2).padStart(7)} ${r.t2.toFixed(2).padStart(7)}  ${speedup.padStart(5)}×  ${excess(r).toFixed(2).padStart(6)}  ${label}${extra}`;
}

for (const m of trainBenchModels(3, ONLY)) {
  const profiles: Record<number, NativeStepProfile[]> = { 1: [], 2: [] };
  for (let r = 0; r < ROUNDS; r++) {
    for (const t of r % 2 ? [...THREADS].reverse() : THREADS) {
      profiles[t].push(await profileNativeStep(m.define, BENCH_SETUP, (i) => m.batches[i % m.batches.length], { threads: t, steps: STEPS }));
    }
  }
  const step = { t1: median(profiles[1].map((p) => p.stepMs)), t2: median(profiles[2].map((p) => p.stepMs)) };
  const between = { t1: median(profiles[1].map((p) => p.betweenNodesMs)), t2: median(profiles[2].map((p) => p.betweenNodesMs)) };
  const nodes = rows(profiles[1], profiles[2]);
  const fastest = nodes.reduce((s, r) => ({ t1: s.t1 + r.t1, t2: s.t2 + r.t2 }), { t1: 0, t2: 0 });
  const byOp = new Map<string, { t1: number; t2: number; n: number }>();
  for (const r of nodes) {
    const e = byOp.get(r.op) ?? { t1: 0, t2: 0, n: 0 };
    e.t1 += r.t1; e.t2 += r.t2; e.n++;
    byOp.set(r.op, e);
  }
  console.log(`\n=== ${m.kind}: ${ROUNDS} rounds × ${STEPS} profiled steps per thread count; ${loadLine()}`);
  console.log('   1 thr   2 thr  speedup  excess (ms per step; excess = 2-thread time − half the 1-thread time)');
  console.log(line('whole step (median of the rounds\' mean step)', step));
  console.log(line('all nodes, each at its fastest run (used below)', fastest));
  console.log(line('ORT between nodes', between));
  const gap = (t: 1 | 2) => median(profiles[t].map((p) => p.medianGapUs)).toFixed(1);
  console.log(`   ORT's median gap between two nodes: ${gap(1)} µs at 1 thread, ${gap(2)} µs at 2 (${median(profiles[1].map((p) => p.nodes)).toFixed(0)} nodes per step)`);
  console.log(' by op type:');
  for (const [op, e] of [...byOp].sort((x, y) => excess(y[1]) - excess(x[1]))) console.log(line(op, e, ` (${e.n} nodes)`));
  console.log(` top ${TOP} nodes by excess:`);
  for (const r of [...nodes].sort((x, y) => excess(y) - excess(x)).slice(0, TOP)) console.log(line(`${r.op} ${r.key}`, r));
}

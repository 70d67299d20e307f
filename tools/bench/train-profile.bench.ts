// Where a native training step's time goes (issue 17), for the reference keypoint model and the
// detector at the torch-train.bench settings: ORT's per-node profile over real steps
// (profileNativeStep), kernel time per op type and part of the step, rolled up into
// convolution kernels, layout traffic around them (NCHWc reorders, transposes, pads, slices,
// concatenations), the other element-wise and reduction ops, and ORT's time between nodes.
// Shares are of the profiled step; the per-node times are wall time, so on a loaded machine
// the absolute figures swell while the shares stay comparable.
//
//   cd tools/bench && node --import tsx --conditions=source train-profile.bench.ts [threads] [steps] [keypoints|detector] [top]

import { profileNativeStep, type NativeStepProfile } from '@omnidistill/train';
import { loadLine } from './peers.js';
import { CATEGORIES, REST, msByCategory } from './step-parts.js';
import { BENCH_SETUP, trainBenchModels } from './train-models.js';

const THREADS = Number(process.argv[2] ?? 1);
const STEPS = Number(process.argv[3] ?? 8);
const ONLY = process.argv[4];
const TOP = Number(process.argv[5] ?? 16);

function pct(ms: number, of: number): string {
  return `${((100 * ms) / of).toFixed(1).padStart(5)} %`;
}

function report(kind: string, p: NativeStepProfile): void {
  const step = p.stepMs;
  console.log(`\n=== ${kind}, ${THREADS} thread${THREADS > 1 ? 's' : ''}: ${step.toFixed(1)} ms per profiled step, ${p.nodes.toFixed(0)} nodes; ${loadLine()}`);
  const parts = (['forward', 'backward', 'optimizer', 'other'] as const).map((s) => `${s} ${pct(p.sections[s], step)}`);
  console.log(`   kernel time by part: ${parts.join(', ')}; between nodes ${pct(p.betweenNodesMs, step)}`);
  const byCategory = msByCategory(p);
  for (const name of [...CATEGORIES.map((c) => c.name), REST]) console.log(`   ${pct(byCategory.get(name) ?? 0, step)}  ${name}`);
  console.log(`   ${pct(p.betweenNodesMs, step)}  ORT between nodes`);
  console.log(`   top op types (part, op, ms per step, share, nodes per step):`);
  for (const o of p.ops.slice(0, TOP)) console.log(`     ${o.section.padEnd(9)} ${o.op.padEnd(16)} ${o.ms.toFixed(2).padStart(7)} ms ${pct(o.ms, step)}  ${o.nodes}`);
}

for (const m of trainBenchModels(3, ONLY)) {
  const p = await profileNativeStep(m.define, BENCH_SETUP, (i) => m.batches[i % m.batches.length], { threads: THREADS, steps: STEPS });
  report(m.kind, p);
}

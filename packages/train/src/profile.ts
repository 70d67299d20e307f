// Where a native training step's time goes: the step graph runs on onnxruntime-node with ORT's
// per-node profiler on, parameters and moments carried from step to step as in training, and
// each node's kernel time is attributed to the part of the step that emitted it (forward pass
// and loss, backward, optimizer update) through the node names @omnidistill/artifacts records.
// What the kernels do not account for is ORT's own work between nodes (scheduling, allocation,
// thread hand-offs).

import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { instantiate, type ModelDefinition, type StepSection } from '@omnidistill/artifacts';
import { expectInteger } from '@omnidistill/core';
import type { Feeds } from './engine.js';
import { createNativeEngine } from './native-engine.js';
import { nchwcBlockSize } from './nchwc-probe.js';
import { nativeStepArtifacts, nchwcFromEnvironment, type TrainingSetup } from './setup.js';

/** Kernel time of one op type in one part of the step, per step. */
export interface OpTime {
  readonly op: string;
  readonly section: StepSection | 'other';
  readonly ms: number;
  /** Nodes of this op type in this part, per step. */
  readonly nodes: number;
}

/** Kernel time of one node, per step. */
export interface NodeTime {
  /** The node's name in the optimised graph (ORT's fusions append "/<Fusion>/…"). */
  readonly name: string;
  readonly op: string;
  readonly section: StepSection | 'other';
  /** Mean over the profiled steps. */
  readonly ms: number;
  /** The fastest of its runs (a node runs once per step): on a shared machine, the least disturbed. */
  readonly minMs: number;
}

/** Per-step figures of a profiled native training step (means over the profiled steps). */
export interface NativeStepProfile {
  readonly steps: number;
  /** Wall time of one step graph run, as ORT measured it (profiling adds a few per cent). */
  readonly stepMs: number;
  /** Kernel time per part; 'other' = nodes ORT added itself (e.g. layout transforms). */
  readonly sections: Readonly<Record<StepSection | 'other', number>>;
  /** stepMs − all kernel time: ORT's work between nodes. */
  readonly betweenNodesMs: number;
  /**
   * Median time from one node's end to the next one's start, µs: ORT's cost per node, robust
   * to the occasional long gap where another process took the core.
   */
  readonly medianGapUs: number;
  /** Node executions per step. */
  readonly nodes: number;
  /** Op types by kernel time, largest first. */
  readonly ops: readonly OpTime[];
  /** Every node by kernel time, largest first (e.g. to compare two thread counts node by node). */
  readonly perNode: readonly NodeTime[];
}

/** Options of {@link profileNativeStep}. */
export interface ProfileOptions {
  /** Intra-op threads (default 1). */
  readonly threads?: number;
  /** Profiled steps (default 10), after `warmup` (default 2) unprofiled ones. */
  readonly steps?: number;
  readonly warmup?: number;
  /** Thread-pool spinning, as the native engine's option (default: the engine's default). */
  readonly spinning?: boolean;
  /** NCHWc convolutions, as the engine factory's option (default: the engine's default). */
  readonly nchwc?: boolean;
}

interface ProfileEvent {
  readonly cat: string;
  readonly name: string;
  readonly ts: number;
  readonly dur: number;
  readonly args?: { readonly op_name?: string };
}

/**
 * The part of the step a kernel-time event belongs to. Nodes a rewrite put in place of ours
 * (the NCHWc convolutions: `<ours>/nchwc/conv`) are recorded under their full names; ORT
 * appends "/<Fusion>/" to nodes it fused, so shorter '/' prefixes are tried after the full name.
 */
function sectionOfEvent(event: ProfileEvent, sectionOf: Readonly<Record<string, StepSection>>): StepSection | 'other' {
  const parts = nodeNameOf(event).split('/');
  for (let n = parts.length; n > 0; n--) {
    const name = parts.slice(0, n).join('/');
    if (Object.hasOwn(sectionOf, name)) return sectionOf[name];
  }
  return 'other';
}

/**
 * Profiles `define`'s native training step (CPU) node by node over real steps: `feeds(step)`
 * gives each step's minibatch (or one fixed minibatch), the updated parameters and moments feed
 * the next step.
 *
 * @example
 * const p = await profileNativeStep(define, setup, (i) => makeBatch(i), { threads: 2 });
 * console.log(p.sections.backward, p.betweenNodesMs, p.ops[0]);
 */
export async function profileNativeStep(
  define: ModelDefinition,
  setup: TrainingSetup,
  feeds: Feeds | ((step: number) => Feeds),
  options: ProfileOptions = {},
): Promise<NativeStepProfile> {
  const threads = expectInteger(options.threads ?? 1, 'options.threads', 1);
  const steps = expectInteger(options.steps ?? 10, 'options.steps', 1);
  const warmup = expectInteger(options.warmup ?? 2, 'options.warmup', 0);
  const art = nativeStepArtifacts(define, setup, { nchwcBlock: (options.nchwc ?? nchwcFromEnvironment()) ? await nchwcBlockSize() : 0 });
  const initialParameters = new Map(instantiate(define, 'eval', 'standard').g.params.map((p) => [p.name, p.init]));
  const dir = mkdtempSync(join(tmpdir(), 'omnidistill-profile-'));
  try {
    // The engine itself runs the steps (state carried, same session settings), with ORT's
    // profiler on for its step session; the profile is written when it is released.
    const engine = await createNativeEngine(art, {
      initialParameters,
      threads,
      provider: 'cpu',
      ...(options.spinning !== undefined ? { spinning: options.spinning } : {}),
      profileFilePrefix: join(dir, 'step'),
    });
    try {
      for (let i = 0; i < warmup + steps; i++) await engine.step(typeof feeds === 'function' ? feeds(i) : feeds);
    } finally {
      await engine.release();
    }
    const file = readdirSync(dir).find((f) => f.endsWith('.json'));
    if (!file) throw new Error(`profileNativeStep: onnxruntime-node wrote no profile under ${dir}`);
    return summarise(JSON.parse(readFileSync(join(dir, file), 'utf8')) as ProfileEvent[], art.nodeSections ?? {}, warmup, steps);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Per-step means over the runs after the warm-up ones. */
function summarise(events: readonly ProfileEvent[], sectionOf: Readonly<Record<string, StepSection>>, warmup: number, steps: number): NativeStepProfile {
  const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').sort((a, b) => a.ts - b.ts);
  if (runs.length < warmup + steps) throw new Error(`profileNativeStep: the profile holds ${runs.length} runs, expected ${warmup + steps}`);
  const from = runs[warmup].ts;
  const gaps = nodeGaps(events, runs.slice(warmup));
  const runUs = runs.slice(warmup).reduce((s, e) => s + e.dur, 0);
  const totals: Record<StepSection | 'other', number> = { forward: 0, backward: 0, optimizer: 0, other: 0 };
  const byOp = new Map<string, { op: string; section: StepSection | 'other'; us: number; count: number }>();
  const byNode = new Map<string, { name: string; op: string; section: StepSection | 'other'; us: number; minUs: number }>();
  let kernelUs = 0;
  let nodes = 0;
  for (const e of events) {
    if (!isKernelEvent(e) || e.ts < from) continue;
    const section = sectionOfEvent(e, sectionOf);
    const op = e.args?.op_name ?? '?';
    totals[section] += e.dur;
    kernelUs += e.dur;
    nodes++;
    const key = `${section} ${op}`;
    const entry = byOp.get(key) ?? { op, section, us: 0, count: 0 };
    entry.us += e.dur;
    entry.count++;
    byOp.set(key, entry);
    const name = nodeNameOf(e);
    const node = byNode.get(name) ?? { name, op, section, us: 0, minUs: Infinity };
    node.us += e.dur;
    node.minUs = Math.min(node.minUs, e.dur);
    byNode.set(name, node);
  }
  const perStep = (us: number) => us / steps / 1000;
  return {
    steps,
    stepMs: perStep(runUs),
    sections: { forward: perStep(totals.forward), backward: perStep(totals.backward), optimizer: perStep(totals.optimizer), other: perStep(totals.other) },
    betweenNodesMs: perStep(runUs - kernelUs),
    medianGapUs: gaps.length > 0 ? [...gaps].sort((a, b) => a - b)[gaps.length >> 1] : 0,
    nodes: nodes / steps,
    ops: [...byOp.values()].sort((a, b) => b.us - a.us).map((o) => ({ op: o.op, section: o.section, ms: perStep(o.us), nodes: o.count / steps })),
    perNode: [...byNode.values()].sort((a, b) => b.us - a.us).map((n) => ({ name: n.name, op: n.op, section: n.section, ms: perStep(n.us), minMs: n.minUs / 1000 })),
  };
}

/** Whether a profile event is one node's kernel run (ORT names them "<node>_kernel_time"). */
function isKernelEvent(e: ProfileEvent): boolean {
  return e.cat === 'Node' && e.name.endsWith('_kernel_time');
}

/** The node a kernel event belongs to: its name without ORT's "_kernel_time". */
function nodeNameOf(e: ProfileEvent): string {
  return e.name.replace(/_kernel_time$/, '');
}

/** Within each run, the time from each kernel's end to the next kernel's start, µs. */
function nodeGaps(events: readonly ProfileEvent[], runs: readonly ProfileEvent[]): number[] {
  const kernels = events.filter(isKernelEvent).sort((a, b) => a.ts - b.ts);
  const gaps: number[] = [];
  let k = 0;
  for (const run of runs) {
    while (k < kernels.length && kernels[k].ts < run.ts) k++;
    let end: number | undefined;
    for (; k < kernels.length && kernels[k].ts <= run.ts + run.dur; k++) {
      if (end !== undefined) gaps.push(Math.max(0, kernels[k].ts - end));
      end = kernels[k].ts + kernels[k].dur;
    }
  }
  return gaps;
}

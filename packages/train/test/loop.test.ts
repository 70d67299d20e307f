import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { InputFileError } from '@omnidistill/core';
import {
  CheckpointMismatchError,
  MixedSourceSampler,
  TrainingDivergedError,
  createNativeEngine,
  formatProgress,
  latestCheckpoint,
  loadCheckpoint,
  trainLoop,
  type Feeds,
  type SampleRef,
  type TrainLoopOptions,
  type TrainProgress,
} from '@omnidistill/train';
import { linearData, linearInit, linearNativeArtifacts, type LinearSpec } from './linear-model.js';

const SPEC: LinearSpec = {
  batch: 8,
  inDim: 4,
  outDim: 2,
  optimizer: { kind: 'adamw', lr: 0.05, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 },
};
// One underlying linear map: the "labeled" and "generated" sources are two slices of it.
const all = linearData(SPEC, 64, 1);
const labeled = { xs: all.xs.slice(0, 24), ys: all.ys.slice(0, 24) };
const generated = { xs: all.xs.slice(24), ys: all.ys.slice(24) };

/** Builds a batch; the RNG adds input jitter so the loop's RNG state matters for resume. */
function makeBatch(refs: readonly SampleRef[], rng: { nextFloat(): number }, poisonAt?: { step: number; counter: { n: number } }): Feeds {
  const x = new Float32Array(SPEC.batch * SPEC.inDim), y = new Float32Array(SPEC.batch * SPEC.outDim);
  refs.forEach((r, i) => {
    const src = r.source === 'labeled' ? labeled : generated;
    src.xs[r.index].forEach((v, d) => (x[i * SPEC.inDim + d] = v + (rng.nextFloat() - 0.5) * 0.01));
    y.set(src.ys[r.index], i * SPEC.outDim);
  });
  if (poisonAt && ++poisonAt.counter.n === poisonAt.step) y[0] = Number.NaN;
  return { x: { data: x, dims: [SPEC.batch, SPEC.inDim] }, y: { data: y, dims: [SPEC.batch, SPEC.outDim] } };
}

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'omni-train-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function options(dir: string | undefined, extra: Partial<TrainLoopOptions> = {}): TrainLoopOptions {
  return {
    createEngine: (initial) =>
      createNativeEngine(linearNativeArtifacts(SPEC), { initialParameters: linearInit(SPEC), initialState: initial, threads: 1 }),
    iterations: 40,
    batchSize: SPEC.batch,
    sampler: new MixedSourceSampler({ labeledSize: 24, generatedSize: 40, seed: 5 }),
    makeBatch: (refs, rng) => makeBatch(refs, rng),
    seed: 3,
    onProgress: () => {},
    log: () => {},
    ...(dir ? { checkpoint: { dir, every: 8 } } : {}),
    ...extra,
  };
}

describe('trainLoop (native engine, linear fixture)', () => {
  it('reduces the loss and reports progress with engine, lr, samples/s and ETA', async () => {
    const reports: TrainProgress[] = [];
    const result = await trainLoop(options(undefined, { onProgress: (p) => reports.push(p), learningRate: () => 0.05 }));
    expect(result.step).toBe(40);
    expect(reports.map((r) => r.step)).toEqual([10, 20, 30, 40]);
    expect(reports[3].loss).toBeLessThan(reports[0].loss / 5);
    expect(reports[0].engine).toMatch(/^native \(onnxruntime-node .*, cpu, 1 thread\)$/);
    const line = formatProgress(reports[1]);
    expect(line).toMatch(/^step 20\/40  loss \S+  lr 5\.00e-2  \d+\.\d samples\/s  ETA \S+  \[native/);
    expect(result.timing.runtime).toBeGreaterThan(0);
  });

  it('resumes bit-for-bit: interrupted at 20 (checkpoint) then resumed equals the uninterrupted run', async () => {
    const straight = await trainLoop(options(tempDir()));
    const dir = tempDir();
    const first = await trainLoop(options(dir, { stopAfter: 20 }));
    expect(first.step).toBe(20);
    const lines: string[] = [];
    const resumed = await trainLoop(options(dir, { resume: true, log: (l) => lines.push(l) }));
    expect(resumed.resumedFrom).toBe(20);
    expect(resumed.stepsRun).toBe(20);
    expect(lines[0]).toMatch(/resuming from .*step-00000020 at step 20\/40 on native .*: optimizer moments restored/);
    for (const [name, value] of straight.state.parameters) expect(resumed.state.parameters.get(name)).toEqual(value);
    for (const [name, value] of straight.state.moments!) expect(resumed.state.moments!.get(name)).toEqual(value);
  });

  it('stops on a NaN loss with a clear error and leaves the last good checkpoint intact', async () => {
    const dir = tempDir();
    const counter = { n: 0 };
    const run = trainLoop(options(dir, { makeBatch: (refs, rng) => makeBatch(refs, rng, { step: 19, counter }) }));
    await expect(run).rejects.toThrow(TrainingDivergedError);
    await expect(run).rejects.toThrow(/loss became NaN at step 19.*last good checkpoint is .*step-00000016/);
    const folder = latestCheckpoint(dir)!;
    expect(folder).toMatch(/step-00000016$/);
    const ckpt = loadCheckpoint(folder);
    expect(ckpt.engine.step).toBe(16);
    expect(Number.isFinite(ckpt.loss)).toBe(true);
    for (const v of ckpt.engine.parameters.values()) expect(v.every(Number.isFinite)).toBe(true);
    expect(readdirSync(dir).filter((f) => f.startsWith('.tmp'))).toEqual([]);
  });

  it('keeps only the newest checkpoints', async () => {
    const dir = tempDir();
    await trainLoop(options(dir, { checkpoint: { dir, every: 4, keep: 3 } }));
    expect(readdirSync(dir).filter((f) => f.startsWith('step-')).sort()).toEqual(['step-00000032', 'step-00000036', 'step-00000040']);
  });

  it('an abort stops after the step in progress, checkpoints it, and a resume equals the uninterrupted run', async () => {
    const straight = await trainLoop(options(tempDir()));
    const dir = tempDir();
    const controller = new AbortController();
    // Aborted from inside step 13's batch (as a signal handler would, mid-step): step 13 finishes.
    let batches = 0;
    const first = await trainLoop(
      options(dir, {
        signal: controller.signal,
        makeBatch: (refs, rng) => {
          if (++batches === 13) controller.abort();
          return makeBatch(refs, rng);
        },
      }),
    );
    expect(first.interrupted).toBe(true);
    expect(first.step).toBe(13);
    expect(latestCheckpoint(dir)).toMatch(/step-00000013$/);
    const resumed = await trainLoop(options(dir, { resume: true }));
    expect(resumed.resumedFrom).toBe(13);
    expect(resumed.interrupted).toBe(false);
    for (const [name, value] of straight.state.parameters) expect(resumed.state.parameters.get(name)).toEqual(value);
  });

  it('checkpoints by wall time with everySeconds, and hands the latest extra back on resume', async () => {
    const dir = tempDir();
    let saves = 0;
    const first = await trainLoop(options(dir, { stopAfter: 6, checkpoint: { dir, everySeconds: 1e-6, keep: 10, extra: () => ({ saves: ++saves }) } }));
    expect(first.step).toBe(6);
    // A microsecond budget is spent by every step: one checkpoint per step.
    expect(readdirSync(dir).filter((f) => f.startsWith('step-'))).toHaveLength(6);
    const resumed = await trainLoop(options(dir, { resume: true, stopAfter: 7 }));
    expect(resumed.resumedExtra).toEqual({ saves: 6 });
  });

  it('refuses to resume a checkpoint made from other inputs and says what changed', async () => {
    const dir = tempDir();
    const identity = { 'labeled data': 'a'.repeat(64), steps: '40' };
    await trainLoop(options(dir, { stopAfter: 8, checkpoint: { dir, every: 8, identity } }));
    const changed = { 'labeled data': 'b'.repeat(64), steps: '40' };
    const run = trainLoop(options(dir, { resume: true, checkpoint: { dir, every: 8, identity: changed } }));
    await expect(run).rejects.toThrow(CheckpointMismatchError);
    await expect(run).rejects.toThrow(/changed: labeled data aaaaaaaaaaaa… → bbbbbbbbbbbb…\); rerun with the original inputs, or delete/);
    const same = await trainLoop(options(dir, { resume: true, checkpoint: { dir, every: 8, identity } }));
    expect(same.resumedFrom).toBe(8);
  });

  it('a damaged latest.json is an InputFileError naming the file and how to start over', async () => {
    const dir = tempDir();
    await trainLoop(options(dir, { stopAfter: 8 }));
    writeFileSync(join(dir, 'latest.json'), '{"checkpoint": "step-0000');
    const run = trainLoop(options(dir, { resume: true }));
    await expect(run).rejects.toThrow(InputFileError);
    await expect(run).rejects.toThrow(/latest\.json: not valid JSON \(.*\); delete .* to start the training over/);
  });

  it('asks for a checkpoint folder when told to resume without one', async () => {
    await expect(trainLoop(options(undefined, { resume: true }))).rejects.toThrow(/options\.checkpoint: expected a checkpoint folder/);
  });
});

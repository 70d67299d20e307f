// The one training loop both engines share: draw a minibatch from the sampler, build its
// tensors, run one engine step, report progress, evaluate, checkpoint; resume from the latest
// checkpoint (refusing one made from other inputs); stop on a non-finite loss without touching
// the last good checkpoint; stop at a step boundary, checkpointed, when the caller aborts.

import { OmniTypeError, expectInteger } from '@omnidistill/core';
import type { EngineState, Feeds, TrainingEngine } from './engine.js';
import { checkIdentity, latestCheckpoint, loadCheckpoint, saveCheckpoint, type CheckpointIdentity, type TrainingCheckpoint } from './checkpoint.js';
import { Rng } from './rng.js';
import { MixedSourceSampler, type SampleRef } from './sampler.js';

/** One progress report. */
export interface TrainProgress {
  /** Optimizer steps completed. */
  readonly step: number;
  readonly iterations: number;
  /** Mean loss over the steps since the previous report. */
  readonly loss: number;
  /** Learning rate of the last step (from `learningRate`), NaN when unknown. */
  readonly learningRate: number;
  /** Training throughput since the previous report. */
  readonly samplesPerSecond: number;
  /** Estimated seconds to finish. */
  readonly etaSeconds: number;
  /** The engine, as it describes itself. */
  readonly engine: string;
}

/** Where the loop's time went (milliseconds, summed over the steps run in this call). */
export interface TrainTiming {
  /** Drawing sample references. */
  readonly sampling: number;
  /** `makeBatch`: data loading, augmentation and target generation. */
  readonly batch: number;
  /** Inside the runtime (forward, backward, optimizer). */
  readonly runtime: number;
  /** Engine bookkeeping outside the runtime (wrapping tensors, reading the loss). */
  readonly engineOverhead: number;
  readonly evaluation: number;
  readonly checkpoint: number;
  readonly total: number;
}

/** Result of {@link trainLoop}. */
export interface TrainResult {
  /** Optimizer steps completed (including those before a resume). */
  readonly step: number;
  /** Loss of the last step. */
  readonly loss: number;
  /** Steps taken in this call. */
  readonly stepsRun: number;
  /** The checkpoint folder written last, if any. */
  readonly lastCheckpoint: string | undefined;
  readonly timing: TrainTiming;
  /** The step this call resumed from (0 for a fresh start). */
  readonly resumedFrom: number;
  /** The `extra` of the checkpoint this call resumed from (undefined for a fresh start). */
  readonly resumedExtra: unknown;
  /** True when `signal` stopped the run before `iterations` (a checkpoint holds the last step). */
  readonly interrupted: boolean;
  /** Final parameters (and moments where the engine has them), e.g. for export. */
  readonly state: EngineState;
  /** The engine's self-description (also in every progress line). */
  readonly engine: string;
}

/** Raised when the loss becomes NaN or infinite; the last good checkpoint is left as it was. */
export class TrainingDivergedError extends Error {
  readonly step: number;
  readonly loss: number;
  readonly lastCheckpoint: string | undefined;
  constructor(step: number, loss: number, lastCheckpoint: string | undefined) {
    super(
      `training diverged: the loss became ${loss} at step ${step}; stopped without saving. ` +
        (lastCheckpoint ? `The last good checkpoint is ${lastCheckpoint}. ` : 'No checkpoint was written before it. ') +
        'Lower the learning rate, lengthen the warm-up or check the targets for NaN.',
    );
    this.name = 'TrainingDivergedError';
    this.step = step;
    this.loss = loss;
    this.lastCheckpoint = lastCheckpoint;
  }
}

/**
 * A run stopped by its abort signal. Thrown by callers that cannot return a partial result
 * (the loop itself returns `interrupted: true`); `checkpoint` is where the same run resumes.
 */
export class TrainingInterruptedError extends Error {
  readonly step: number;
  readonly iterations: number;
  readonly checkpoint: string | undefined;
  constructor(step: number, iterations: number, checkpoint: string | undefined) {
    super(
      `interrupted at step ${step}/${iterations}; ` +
        (checkpoint ? `latest checkpoint ${checkpoint}: run the same command again to resume` : 'no step was checkpointed: run the same command again to start'),
    );
    this.name = 'TrainingInterruptedError';
    this.step = step;
    this.iterations = iterations;
    this.checkpoint = checkpoint;
  }
}

/** Options of {@link trainLoop}. */
export interface TrainLoopOptions {
  /**
   * Creates the engine, from `initial` when resuming (parameters, step and — when the checkpoint
   * has them — optimizer moments), else from the model's initial weights.
   */
  readonly createEngine: (initial: EngineState | undefined) => Promise<TrainingEngine>;
  /** Total optimizer steps of the schedule (a resumed run continues up to this). */
  readonly iterations: number;
  readonly batchSize: number;
  /** Where samples come from; restored from the checkpoint on resume. */
  readonly sampler: MixedSourceSampler;
  /** Builds the minibatch tensors (data loading, augmentation, target generation). */
  readonly makeBatch: (samples: readonly SampleRef[], rng: Rng) => Feeds | Promise<Feeds>;
  /** Seed of the loop's own RNG (handed to `makeBatch` for augmentation). */
  readonly seed?: number;
  /** Learning rate at a 0-based step, for the progress line (the graph computes the real one). */
  readonly learningRate?: (step: number) => number;
  /** Checkpointing: see {@link CheckpointOptions}. */
  readonly checkpoint?: CheckpointOptions;
  /**
   * Continue from the latest checkpoint in `checkpoint.dir` when there is one (refused with a
   * {@link CheckpointMismatchError} when its `identity` differs from `checkpoint.identity`).
   */
  readonly resume?: boolean;
  /**
   * Aborting stops the run after the step in progress; that step is checkpointed (when
   * `checkpoint` is set) and the result says `interrupted`. A later call with `resume` continues.
   */
  readonly signal?: AbortSignal;
  /** Evaluation hook, every `every` steps and at the end. */
  readonly evaluate?: { readonly every: number; readonly run: (engine: TrainingEngine, step: number) => Promise<void> | void };
  /** Progress callback, every `progressEvery` steps (default 10) and at the end; default: {@link printProgress}. */
  readonly onProgress?: (p: TrainProgress) => void;
  readonly progressEvery?: number;
  /** Log lines (resume notices); default: stderr. */
  readonly log?: (line: string) => void;
  /**
   * Stop after this many steps in total (checkpointing there) although the schedule spans
   * `iterations`; a later call with `resume` continues. Default: `iterations`.
   */
  readonly stopAfter?: number;
}

/**
 * When checkpoints are written: every `every` steps and/or whenever `everySeconds` of wall time
 * have passed since the last one (at least one of the two), at the end, and on interruption.
 * The newest `keep` (default 2) are kept. Checkpoint timing never changes the trained values.
 */
export interface CheckpointOptions {
  readonly dir: string;
  readonly every?: number;
  readonly everySeconds?: number;
  readonly keep?: number;
  /**
   * JSON the caller gets back on resume (`TrainResult.resumedExtra`). A function is called at
   * each save with the `extra` of the checkpoint this run resumed from (undefined on a fresh start).
   */
  readonly extra?: unknown;
  /** What the run is made from (content hashes of the data, settings); a resume with another identity is refused. */
  readonly identity?: CheckpointIdentity;
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Renders one progress line: step, loss, learning rate, samples/s, ETA and the engine. */
export function formatProgress(p: TrainProgress): string {
  const width = String(p.iterations).length;
  const lr = Number.isNaN(p.learningRate) ? '?' : p.learningRate.toExponential(2);
  return (
    `step ${String(p.step).padStart(width)}/${p.iterations}  loss ${p.loss.toPrecision(5)}  lr ${lr}  ` +
    `${p.samplesPerSecond.toFixed(1)} samples/s  ETA ${formatDuration(p.etaSeconds)}  [${p.engine}]`
  );
}

/** The default progress printer: one line per report on stderr. */
export function printProgress(p: TrainProgress): void {
  process.stderr.write(`${formatProgress(p)}\n`);
}

/** What happens to the optimizer moments on resume, for the resume log line. */
function resumeMomentsNote(ckpt: TrainingCheckpoint, engine: TrainingEngine): string {
  const wasmNote = 'the wasm engine cannot read or restore Adam moments; SGD without momentum resumes exactly';
  if (!engine.info.keepsMoments) {
    if (engine.info.momentsRestored) return 'optimizer moments restored from the checkpoint (the wasm engine cannot save them: a later wasm checkpoint restarts them)';
    return `optimizer moments restart from zero (${wasmNote})`;
  }
  if (ckpt.engine.moments) return 'optimizer moments restored';
  if (ckpt.engineName === 'wasm') return `optimizer moments restart from zero (the checkpoint comes from the wasm engine: ${wasmNote})`;
  return 'no optimizer moments to restore (plain SGD)';
}

interface Restored {
  checkpoint: TrainingCheckpoint;
  folder: string;
}

function restore(options: TrainLoopOptions): Restored | undefined {
  if (!options.resume) return undefined;
  if (!options.checkpoint) throw new OmniTypeError('options.checkpoint', 'a checkpoint folder to resume from (options.resume is true)', undefined);
  const folder = latestCheckpoint(options.checkpoint.dir);
  if (!folder) return undefined;
  const checkpoint = loadCheckpoint(folder);
  if (options.checkpoint.identity) checkIdentity(options.checkpoint.dir, checkpoint.identity, options.checkpoint.identity);
  return { checkpoint, folder };
}

/**
 * Runs (or resumes) training to `iterations` steps.
 *
 * @example
 * const setup = { optimizer: { type: 'adamw', learningRate: 2e-3 }, schedule: { totalSteps: 800 } } as const;
 * const result = await trainLoop({
 *   createEngine: engineFactory(defineKeypointNet, setup), // native first, else wasm
 *   learningRate: learningRateOf(setup),
 *   iterations: 800, batchSize: 16,
 *   sampler: new MixedSourceSampler({ labeledSize, generatedSize, seed: 1 }),
 *   makeBatch: (refs, rng) => loadAndEncode(refs, rng),
 *   checkpoint: { dir: 'runs/student', every: 100 }, resume: true,
 * });
 */
export async function trainLoop(options: TrainLoopOptions): Promise<TrainResult> {
  const iterations = expectInteger(options.iterations, 'options.iterations', 1);
  const batchSize = expectInteger(options.batchSize, 'options.batchSize', 1);
  const progressEvery = expectInteger(options.progressEvery ?? 10, 'options.progressEvery', 1);
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const onProgress = options.onProgress ?? printProgress;
  if (options.checkpoint) {
    const { every, everySeconds } = options.checkpoint;
    if (every === undefined && everySeconds === undefined) throw new OmniTypeError('options.checkpoint', 'every (steps) or everySeconds', options.checkpoint);
    if (every !== undefined) expectInteger(every, 'options.checkpoint.every', 1);
    if (everySeconds !== undefined && !(everySeconds > 0)) throw new OmniTypeError('options.checkpoint.everySeconds', 'a positive number', everySeconds);
  }
  if (options.evaluate) expectInteger(options.evaluate.every, 'options.evaluate.every', 1);

  const restored = restore(options);
  const sampler = restored?.checkpoint.sampler ? MixedSourceSampler.fromState(restored.checkpoint.sampler) : options.sampler;
  const rng = restored ? Rng.fromState(restored.checkpoint.rng) : new Rng([options.seed ?? 0, 0x100b]);
  const engine = await options.createEngine(restored?.checkpoint.engine);
  const resumedFrom = restored?.checkpoint.engine.step ?? 0;
  if (restored) {
    const momentsNote = resumeMomentsNote(restored.checkpoint, engine);
    log(`resuming from ${restored.folder} at step ${resumedFrom}/${iterations} on ${engine.info.description}: ${momentsNote}`);
  }

  const t = { sampling: 0, batch: 0, runtime: 0, engineOverhead: 0, evaluation: 0, checkpoint: 0 };
  const tStart = performance.now();
  let step = resumedFrom;
  let lastLoss = restored?.checkpoint.loss ?? Number.NaN;
  let lastCheckpoint = restored?.folder;
  let windowLoss = 0, windowSteps = 0, windowStart = performance.now();
  const stopAt = Math.min(iterations, options.stopAfter ?? iterations);

  let savedStep = resumedFrom;
  let lastSaveTime = performance.now();
  const saveDue = (atEnd: boolean) => {
    const c = options.checkpoint;
    if (!c) return false;
    if (atEnd || (c.every !== undefined && step % c.every === 0)) return true;
    return c.everySeconds !== undefined && performance.now() - lastSaveTime >= c.everySeconds * 1000;
  };
  const save = async () => {
    if (!options.checkpoint) return;
    const c0 = performance.now();
    const state = await engine.state();
    const given = options.checkpoint.extra;
    const extra = typeof given === 'function' ? (given as (resumed: unknown) => unknown)(restored?.checkpoint.extra) : given;
    lastCheckpoint = await saveCheckpoint(
      options.checkpoint.dir,
      {
        engine: state,
        engineName: engine.info.name,
        parameters: engine.parameters,
        sampler: sampler.state(),
        rng: rng.state(),
        loss: lastLoss,
        ...(extra !== undefined ? { extra } : {}),
        ...(options.checkpoint.identity ? { identity: options.checkpoint.identity } : {}),
      },
      options.checkpoint.keep ?? 2,
    );
    savedStep = step;
    lastSaveTime = performance.now();
    t.checkpoint += performance.now() - c0;
  };

  let finalState: EngineState;
  let interrupted = false;
  try {
    while (step < stopAt) {
      if (options.signal?.aborted) {
        interrupted = true;
        break;
      }
      const s0 = performance.now();
      const refs = sampler.nextBatch(batchSize);
      const s1 = performance.now();
      const feeds = await options.makeBatch(refs, rng);
      const s2 = performance.now();
      const result = await engine.step(feeds);
      const s3 = performance.now();
      t.sampling += s1 - s0;
      t.batch += s2 - s1;
      t.runtime += result.runtimeMs;
      t.engineOverhead += Math.max(0, s3 - s2 - result.runtimeMs);
      if (!Number.isFinite(result.loss)) throw new TrainingDivergedError(step + 1, result.loss, lastCheckpoint);
      step++;
      lastLoss = result.loss;
      windowLoss += result.loss;
      windowSteps++;

      const atEnd = step === stopAt;
      if (options.evaluate && (step % options.evaluate.every === 0 || atEnd)) {
        const e0 = performance.now();
        await options.evaluate.run(engine, step);
        t.evaluation += performance.now() - e0;
      }
      if (saveDue(atEnd)) await save();
      if (step % progressEvery === 0 || atEnd) {
        const now = performance.now();
        const seconds = (now - windowStart) / 1000;
        const perStep = seconds / windowSteps;
        onProgress({
          step,
          iterations,
          loss: windowLoss / windowSteps,
          learningRate: options.learningRate ? options.learningRate(step - 1) : Number.NaN,
          samplesPerSecond: (windowSteps * batchSize) / seconds,
          etaSeconds: perStep * (iterations - step),
          engine: engine.info.description,
        });
        windowLoss = 0;
        windowSteps = 0;
        windowStart = now;
      }
    }
    if (interrupted && step !== savedStep) await save();
    finalState = await engine.state();
  } finally {
    await engine.release();
  }
  return {
    step,
    loss: lastLoss,
    stepsRun: step - resumedFrom,
    lastCheckpoint,
    resumedFrom,
    resumedExtra: restored?.checkpoint.extra,
    interrupted,
    timing: { ...t, total: performance.now() - tStart },
    state: finalState,
    engine: engine.info.description,
  };
}

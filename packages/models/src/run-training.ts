// The training run both reference models share: AdamW with the ÷10-at-70%/90% schedule,
// the mixed labeled/generated sampler, @omnidistill/train's loop on the chosen engine, and
// the loss history. The model-specific parts (graph, minibatches, export) come in as arguments.
import { instantiate, learningRateFactor, type ModelDefinition } from '@omnidistill/artifacts';
import { expectOneOf } from '@omnidistill/core';
import {
  MixedSourceSampler,
  TrainingInterruptedError,
  engineFactory,
  trainLoop,
  type CheckpointIdentity,
  type EngineChoice,
  type Feeds,
  type Rng,
  type SampleRef,
  type TrainProgress,
} from '@omnidistill/train';
import type { LoadedDataset, LoadedImage } from './data.js';
import { perturbSample, PERTURBATIONS, type Perturbation } from './perturb.js';

/** Training options both reference models take; {@link runTraining} applies their defaults. */
export interface SharedTrainOptions {
  /** Probability of a labeled sample when a generated split is given. Default 0.6 (the paper's 6:4). */
  readonly labeledProbability?: number;
  /**
   * `strong`: every generated sample is perturbed (colour jitter, pixel noise, an erased
   * rectangle) before its minibatch is built; labeled samples never are. Default 'none'.
   */
  readonly perturbation?: Perturbation;
  /** AdamW learning rate (÷10 at 70% and 90%). Default 2e-3. */
  readonly lr?: number;
  /** AdamW decoupled weight decay. Default 1e-4. */
  readonly weightDecay?: number;
  readonly seed?: number;
  /** Training engine: 'native' (onnxruntime-node, default), 'wasm' (onnxruntime-web training) or 'auto' (native, else wasm, saying why). */
  readonly engine?: EngineChoice;
  /** Intra-op threads of the native engine (default: all cores). */
  readonly threads?: number;
  readonly onProgress?: (p: TrainProgress) => void;
  /** Progress every n steps (default 20). */
  readonly progressEvery?: number;
  /**
   * Periodic checkpoints in `dir` (every `every` steps and/or `everySeconds`; default every 30 s),
   * and resume from the latest one there. `identity` names what the run is made from (content
   * hashes, settings): a checkpoint with another identity is refused, never silently reused.
   */
  readonly checkpoint?: { readonly dir: string; readonly every?: number; readonly everySeconds?: number; readonly identity?: CheckpointIdentity };
  /** Aborting stops after the step in progress, checkpoints it and throws a TrainingInterruptedError. */
  readonly signal?: AbortSignal;
  /** Log lines (the resume notice); default stderr. */
  readonly log?: (line: string) => void;
}

/** Default checkpoint interval: at most this much work is lost to a crash. */
export const DEFAULT_CHECKPOINT_SECONDS = 30;

/** The engine `options` ask for (default 'native'), checked before any data is loaded. */
export function engineChoiceOf(options: SharedTrainOptions): EngineChoice {
  return expectOneOf(options.engine ?? 'native', 'options.engine', ['native', 'wasm', 'auto'] as const);
}

export interface TrainingRun {
  readonly define: ModelDefinition;
  readonly steps: number;
  readonly batch: number;
  readonly labeled: LoadedDataset;
  readonly generated?: LoadedDataset;
  /** Builds the feeds of one minibatch from its images. */
  readonly makeBatch: (images: LoadedImage[], rng: Rng) => Feeds | Promise<Feeds>;
  /** The caller's shared options, defaults not yet applied. */
  readonly options: SharedTrainOptions;
}

export interface TrainingOutcome {
  readonly parameters: ReadonlyMap<string, Float32Array>;
  readonly history: { step: number; loss: number }[];
  readonly parameterCount: number;
  readonly engine: string;
  readonly seconds: number;
  readonly batchSeconds: number;
  readonly stepsPerSecond: number;
  /** The step this run resumed from (0: a fresh start). */
  readonly resumedFrom: number;
}

/** What a checkpoint carries besides the training state: the loss history so far. */
interface CheckpointExtra {
  readonly history: { step: number; loss: number }[];
}

function historyOf(extra: unknown): { step: number; loss: number }[] {
  const h = (extra as Partial<CheckpointExtra> | undefined)?.history;
  return Array.isArray(h) ? h : [];
}

/** Runs the training loop of one reference model from its initial weights. */
export async function runTraining(run: TrainingRun): Promise<TrainingOutcome> {
  const o = run.options;
  const lr = o.lr ?? 2e-3;
  const seed = o.seed ?? 0;
  const schedule = { totalSteps: run.steps };
  const setup = { optimizer: { type: 'adamw' as const, learningRate: lr, weightDecay: o.weightDecay ?? 1e-4 }, schedule };
  const { g } = instantiate(run.define, 'eval', 'standard');
  const initialParameters = new Map(g.params.map((p) => [p.name, p.init]));
  const { labeled, generated } = run;
  const sampler = new MixedSourceSampler({
    labeledSize: labeled.images.length,
    generatedSize: generated?.images.length ?? 0,
    labeledProbability: generated ? (o.labeledProbability ?? 0.6) : 1,
    seed,
  });
  const pick = (ref: SampleRef) => (ref.source === 'labeled' ? labeled : generated!).images[ref.index];
  const perturbation = expectOneOf(o.perturbation ?? 'none', 'options.perturbation', PERTURBATIONS);
  const history: { step: number; loss: number }[] = [];
  const ckpt = o.checkpoint;
  const t0 = performance.now();
  const result = await trainLoop({
    createEngine: engineFactory(run.define, setup, { engine: engineChoiceOf(o), initialParameters, ...(o.threads ? { threads: o.threads } : {}) }),
    iterations: run.steps,
    batchSize: run.batch,
    sampler,
    seed,
    learningRate: (step) => lr * learningRateFactor(step + 1, schedule),
    makeBatch: (refs, rng) => run.makeBatch(refs.map((ref) => perturbSample(pick(ref), ref.source, perturbation, rng)), rng),
    progressEvery: o.progressEvery ?? 20,
    onProgress: (p) => {
      history.push({ step: p.step, loss: p.loss });
      o.onProgress?.(p);
    },
    ...(ckpt
      ? {
          checkpoint: {
            dir: ckpt.dir,
            ...(ckpt.every === undefined && ckpt.everySeconds === undefined ? { everySeconds: DEFAULT_CHECKPOINT_SECONDS } : {}),
            ...(ckpt.every !== undefined ? { every: ckpt.every } : {}),
            ...(ckpt.everySeconds !== undefined ? { everySeconds: ckpt.everySeconds } : {}),
            ...(ckpt.identity ? { identity: ckpt.identity } : {}),
            // The history up to the checkpoint, so a resumed run reports the whole curve.
            extra: (resumed: unknown): CheckpointExtra => ({ history: [...historyOf(resumed), ...history] }),
          },
          resume: true,
        }
      : {}),
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.log ? { log: o.log } : {}),
  });
  if (result.interrupted) throw new TrainingInterruptedError(result.step, run.steps, result.lastCheckpoint);
  const seconds = (performance.now() - t0) / 1000;
  return {
    parameters: result.state.parameters,
    history: [...historyOf(result.resumedExtra), ...history],
    resumedFrom: result.resumedFrom,
    parameterCount: g.params.filter((p) => p.trainable).reduce((n, p) => n + p.init.length, 0),
    engine: result.engine,
    seconds,
    batchSeconds: result.timing.batch / 1000,
    stepsPerSecond: result.stepsRun / seconds,
  };
}

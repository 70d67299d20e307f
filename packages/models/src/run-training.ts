// The training run both reference models share: AdamW with the ÷10-at-70%/90% schedule,
// the mixed labeled/generated sampler, @omnidistill/train's loop on the chosen engine, and
// the loss history. The model-specific parts (graph, minibatches, export) come in as arguments.
import { instantiate, learningRateFactor, type ModelDefinition } from '@omnidistill/artifacts';
import { MixedSourceSampler, engineFactory, trainLoop, type EngineChoice, type Feeds, type Rng, type SampleRef, type TrainProgress } from '@omnidistill/train';
import type { LoadedDataset, LoadedImage } from './data.js';

export interface TrainingRun {
  readonly define: ModelDefinition;
  readonly steps: number;
  readonly batch: number;
  readonly lr: number;
  readonly weightDecay: number;
  readonly seed: number;
  readonly engine: EngineChoice;
  readonly threads?: number;
  readonly labeled: LoadedDataset;
  readonly generated?: LoadedDataset;
  /** Probability of a labeled sample when `generated` is given (the paper: 0.6). */
  readonly labeledProbability: number;
  /** Builds the feeds of one minibatch from its images. */
  readonly makeBatch: (images: LoadedImage[], rng: Rng) => Feeds | Promise<Feeds>;
  readonly progressEvery: number;
  readonly onProgress?: (p: TrainProgress) => void;
}

export interface TrainingOutcome {
  readonly parameters: ReadonlyMap<string, Float32Array>;
  readonly history: { step: number; loss: number }[];
  readonly parameterCount: number;
  readonly engine: string;
  readonly seconds: number;
  readonly batchSeconds: number;
  readonly stepsPerSecond: number;
}

/** Runs the training loop of one reference model from its initial weights. */
export async function runTraining(run: TrainingRun): Promise<TrainingOutcome> {
  const schedule = { totalSteps: run.steps };
  const setup = { optimizer: { type: 'adamw' as const, learningRate: run.lr, weightDecay: run.weightDecay }, schedule };
  const { g } = instantiate(run.define, 'eval', 'standard');
  const initialParameters = new Map(g.params.map((p) => [p.name, p.init]));
  const { labeled, generated } = run;
  const sampler = new MixedSourceSampler({
    labeledSize: labeled.images.length,
    generatedSize: generated?.images.length ?? 0,
    labeledProbability: generated ? run.labeledProbability : 1,
    seed: run.seed,
  });
  const pick = (ref: SampleRef) => (ref.source === 'labeled' ? labeled : generated!).images[ref.index];
  const history: { step: number; loss: number }[] = [];
  const t0 = performance.now();
  const result = await trainLoop({
    createEngine: engineFactory(run.define, setup, { engine: run.engine, initialParameters, ...(run.threads ? { threads: run.threads } : {}) }),
    iterations: run.steps,
    batchSize: run.batch,
    sampler,
    seed: run.seed,
    learningRate: (step) => run.lr * learningRateFactor(step + 1, schedule),
    makeBatch: (refs, rng) => run.makeBatch(refs.map(pick), rng),
    progressEvery: run.progressEvery,
    onProgress: (p) => {
      history.push({ step: p.step, loss: p.loss });
      run.onProgress?.(p);
    },
  });
  const seconds = (performance.now() - t0) / 1000;
  return {
    parameters: result.state.parameters,
    history,
    parameterCount: g.params.filter((p) => p.trainable).reduce((n, p) => n + p.init.length, 0),
    engine: result.engine,
    seconds,
    batchSeconds: result.timing.batch / 1000,
    stepsPerSecond: result.stepsRun / seconds,
  };
}

// One checkpointed training run, as `omnidistill train` (both forms) and the demo's
// in-process trainings run it: periodic checkpoints in OUT/<name>.checkpoints, resume from
// the latest one when the same run is started again (bit-for-bit: the same final parameters
// as an uninterrupted run), refusal when the inputs changed, and a stop at the next step
// boundary on Ctrl-C.
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { readCocoDataset } from '@omnidistill/coco';
import { hashFile } from '@omnidistill/infer';
import { trainDetector, trainKeypointModel } from '@omnidistill/models';
import type { CocoSource, Perturbation, TrainedModel } from '@omnidistill/models';
import { TrainingInterruptedError } from '@omnidistill/train';
import type { CheckpointIdentity, TrainProgress } from '@omnidistill/train';
import { interruptSignal } from '../commands/args.js';
import { EXIT } from '../commands/types.js';

/** When checkpoints are written: every N optimizer steps, or every N seconds of training. */
export type CheckpointInterval = { readonly steps: number } | { readonly seconds: number };

/** The data and schedule settings both `train` forms share (reference model and --model student). */
export interface TrainDataSettings {
  readonly train: CocoSource;
  readonly generated?: CocoSource;
  readonly labeledProbability?: number;
  /** `strong`: generated samples are perturbed (see @omnidistill/models' perturb). */
  readonly perturbation?: Perturbation;
  readonly steps: number;
  readonly batch: number;
  readonly lr: number;
  readonly seed: number;
  readonly threads?: number;
}

/** Everything that shapes a reference-model training run; the same settings resume, other ones are refused. */
export interface TrainRunSettings extends TrainDataSettings {
  readonly task: 'keypoints' | 'detection';
  readonly outDir: string;
  readonly name: string;
  readonly checkpointEvery: CheckpointInterval;
}

export interface TrainRunIO {
  readonly log: (line: string) => void;
  readonly onProgress: (p: TrainProgress) => void;
  readonly signal?: AbortSignal;
}

/** Where the checkpoints of the model `name` live. */
export function checkpointFolder(outDir: string, name: string): string {
  return join(outDir, `${name}.checkpoints`);
}

/** SHA-256 of a COCO file's bytes and of the bytes of every image it lists (in its order). */
async function sourceIdentity(source: CocoSource): Promise<{ annotations: string; images: string }> {
  const annotations = await hashFile(source.coco);
  const dataset = await readCocoDataset(source.coco);
  const images = createHash('sha256');
  for (const image of dataset.images) images.update(`${image.id}\t${image.file_name}\t${await hashFile(resolve(source.imageDir, image.file_name))}\n`);
  return { annotations, images: images.digest('hex') };
}

/**
 * The part of a checkpoint's identity both `train` forms share: the content of every input
 * (annotation files and image bytes) and every data/schedule setting that changes the trained
 * values. Keys are named like the flags, so a refusal says which one changed.
 */
export async function dataIdentity(s: TrainDataSettings): Promise<CheckpointIdentity> {
  const labeled = await sourceIdentity(s.train);
  const generated = s.generated ? await sourceIdentity(s.generated) : undefined;
  return {
    '--labeled (content)': labeled.annotations,
    '--images (content)': labeled.images,
    ...(generated
      ? {
          '--generated (content)': generated.annotations,
          '--generated-images (content)': generated.images,
          '--labeled-fraction': String(s.labeledProbability ?? 0.6),
          // Only when set, so checkpoints of runs from before the flag still resume.
          ...(s.perturbation && s.perturbation !== 'none' ? { '--perturb-generated': s.perturbation } : {}),
        }
      : {}),
    '--steps': String(s.steps),
    '--batch': String(s.batch),
    '--lr': String(s.lr),
    '--seed': String(s.seed),
    // Intra-op threads may change the order of floating-point sums.
    '--threads': s.threads === undefined ? 'all cores' : String(s.threads),
  };
}

/** The identity a reference-model checkpoint records: the task, the data and the schedule. */
export async function trainIdentity(s: TrainRunSettings): Promise<CheckpointIdentity> {
  return { '--task': s.task, ...(await dataIdentity(s)) };
}

/** The loop's checkpoint options for an interval flag. */
export function checkpointEvery(interval: CheckpointInterval): { every: number } | { everySeconds: number } {
  return 'steps' in interval ? { every: interval.steps } : { everySeconds: interval.seconds };
}

/**
 * Runs a training with Ctrl-C wired to its abort signal: a TrainingInterruptedError (the
 * training checkpointed the step in progress) becomes exit code 130 and its message.
 */
export async function runInterruptible(log: (line: string) => void, train: (signal: AbortSignal) => Promise<number>): Promise<number> {
  const { signal, dispose } = interruptSignal(log);
  try {
    return await train(signal);
  } catch (err) {
    if (err instanceof TrainingInterruptedError || signal.aborted) {
      log(err instanceof TrainingInterruptedError ? err.message : 'interrupted before training started; run the same command again to start');
      return EXIT.INTERRUPTED;
    }
    throw err;
  } finally {
    dispose();
  }
}

/**
 * Trains (or resumes) the model and exports it. Throws a TrainingInterruptedError (after
 * checkpointing) when `io.signal` fires, a CheckpointMismatchError when the checkpoints in
 * OUT/<name>.checkpoints belong to another run.
 */
export async function trainWithCheckpoints(s: TrainRunSettings, io: TrainRunIO): Promise<TrainedModel> {
  const identity = await trainIdentity(s);
  const options = {
    train: s.train,
    ...(s.generated ? { generated: s.generated, labeledProbability: s.labeledProbability ?? 0.6, ...(s.perturbation ? { perturbation: s.perturbation } : {}) } : {}),
    steps: s.steps,
    batch: s.batch,
    lr: s.lr,
    seed: s.seed,
    ...(s.threads !== undefined ? { threads: s.threads } : {}),
    outDir: s.outDir,
    name: s.name,
    onProgress: io.onProgress,
    log: io.log,
    checkpoint: { dir: checkpointFolder(s.outDir, s.name), identity, ...checkpointEvery(s.checkpointEvery) },
    ...(io.signal ? { signal: io.signal } : {}),
  };
  return s.task === 'keypoints' ? trainKeypointModel(options) : trainDetector(options);
}

// One checkpointed training run, as `omnidistill train` and the demo's in-process trainings
// run it: periodic checkpoints in OUT/<name>.checkpoints, resume from the latest one when the
// same run is started again (bit-for-bit: the same final parameters as an uninterrupted run),
// refusal when the inputs changed, and a stop at the next step boundary on Ctrl-C.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { join, resolve } from 'node:path';
import { readCocoDataset } from '@omnidistill/coco';
import { trainDetector, trainKeypointModel } from '@omnidistill/models';
import type { CocoSource, TrainedModel } from '@omnidistill/models';
import type { CheckpointIdentity, TrainProgress } from '@omnidistill/train';

/** When checkpoints are written: every N optimizer steps, or every N seconds of training. */
export type CheckpointInterval = { readonly steps: number } | { readonly seconds: number };

/** Everything that shapes a training run; the same settings resume, other ones are refused. */
export interface TrainRunSettings {
  readonly task: 'keypoints' | 'detection';
  readonly train: CocoSource;
  readonly generated?: CocoSource;
  readonly labeledProbability?: number;
  readonly steps: number;
  readonly batch: number;
  readonly lr: number;
  readonly seed: number;
  readonly threads?: number;
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

async function hashInto(hash: ReturnType<typeof createHash>, file: string): Promise<void> {
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
}

/** SHA-256 of a COCO file's bytes and of the bytes of every image it lists (in its order). */
async function sourceIdentity(source: CocoSource): Promise<{ annotations: string; images: string }> {
  const annotations = createHash('sha256');
  await hashInto(annotations, source.coco);
  const dataset = await readCocoDataset(source.coco);
  const images = createHash('sha256');
  for (const image of dataset.images) {
    images.update(`${image.id}\t${image.file_name}\n`);
    await hashInto(images, resolve(source.imageDir, image.file_name));
  }
  return { annotations: annotations.digest('hex'), images: images.digest('hex') };
}

/**
 * The identity a checkpoint records: the content of every input (annotation files and image
 * bytes) and every setting that changes the trained values. Keys are named like the flags,
 * so a refusal says which one changed.
 */
export async function trainIdentity(s: TrainRunSettings): Promise<CheckpointIdentity> {
  const labeled = await sourceIdentity(s.train);
  const generated = s.generated ? await sourceIdentity(s.generated) : undefined;
  return {
    '--task': s.task,
    '--labeled (content)': labeled.annotations,
    '--images (content)': labeled.images,
    ...(generated
      ? {
          '--generated (content)': generated.annotations,
          '--generated-images (content)': generated.images,
          '--labeled-fraction': String(s.labeledProbability ?? 0.6),
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

/**
 * Trains (or resumes) the model and exports it. Throws a TrainingInterruptedError (after
 * checkpointing) when `io.signal` fires, a CheckpointMismatchError when the checkpoints in
 * OUT/<name>.checkpoints belong to another run.
 */
export async function trainWithCheckpoints(s: TrainRunSettings, io: TrainRunIO): Promise<TrainedModel> {
  const identity = await trainIdentity(s);
  const every = 'steps' in s.checkpointEvery ? { every: s.checkpointEvery.steps } : { everySeconds: s.checkpointEvery.seconds };
  const options = {
    train: s.train,
    ...(s.generated ? { generated: s.generated, labeledProbability: s.labeledProbability ?? 0.6 } : {}),
    steps: s.steps,
    batch: s.batch,
    lr: s.lr,
    seed: s.seed,
    ...(s.threads !== undefined ? { threads: s.threads } : {}),
    outDir: s.outDir,
    name: s.name,
    onProgress: io.onProgress,
    log: io.log,
    checkpoint: { dir: checkpointFolder(s.outDir, s.name), identity, ...every },
    ...(io.signal ? { signal: io.signal } : {}),
  };
  return s.task === 'keypoints' ? trainKeypointModel(options) : trainDetector(options);
}

// `predict`: a model on a folder of images under a plan → COCO results that `eval` reads.
// Inference goes through the same resumable shard runner as label (the shards sit beside
// the results file), then every instance is written — nothing is thresholded.
import { writeCocoResults } from '@omnidistill/coco';
import { readPredictions, readSkipped, runFingerprint, runInference } from '@omnidistill/infer';
import type { ImageEntry, RunEvent, RunProgress } from '@omnidistill/infer';
import { toCocoResults } from '@omnidistill/select';
import type { TransformPlan } from '@omnidistill/transforms';
import { predictorFor } from './label.js';
import type { LabelOptions } from './label.js';

export interface PredictOptions extends Pick<LabelOptions, 'task' | 'detector' | 'keypoints'> {
  images: readonly ImageEntry[];
  imageDir: string;
  plan: TransformPlan;
  /** The COCO results file to write. */
  out: string;
  /** Folder of the prediction shards (resumable). */
  shardDir: string;
  /** Identifies the model(s) and RoI source, so a resume never mixes runs. */
  fingerprint: string;
  onProgress?: (p: RunProgress) => void;
  onEvent?: (e: RunEvent) => void;
  signal?: AbortSignal;
}

export interface PredictSummary {
  complete: boolean;
  results: number;
  images: number;
  skipped: number;
}

/** Runs the model over the images (resuming) and writes the COCO results. */
export async function predictToResults(options: PredictOptions): Promise<PredictSummary> {
  const predict = await predictorFor(options);
  const run = await runInference({
    images: options.images,
    imageRoot: options.imageDir,
    outDir: options.shardDir,
    predict,
    fingerprint: runFingerprint('predict', options.task, options.fingerprint, JSON.stringify(options.plan)),
    onProgress: options.onProgress,
    onEvent: options.onEvent,
    signal: options.signal,
  });
  if (!run.complete) return { complete: false, results: 0, images: run.total, skipped: 0 };
  const results = await toCocoResults(readPredictions(options.shardDir), { task: options.task });
  await writeCocoResults(options.out, results);
  const skipped = (await readSkipped(options.shardDir)).length;
  return { complete: true, results: results.length, images: run.total, skipped };
}

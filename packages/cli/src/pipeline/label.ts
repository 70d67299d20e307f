// Label generation (DESIGN.md data flow steps 3–6): the teacher on every unlabeled image
// under the transform plan → raw prediction shards (crash-safe, resumable) → count-matched
// selection → the generated-labels COCO file and the calibration record. With a shard
// (DESIGN.md "Scale"), only this shard's images are predicted and a DONE record replaces
// the selection, which `label merge` runs over all shards.
import { join } from 'node:path';
import { readCocoDataset } from '@omnidistill/coco';
import type { CocoDataset } from '@omnidistill/coco';
import { detectionPredictor, freezeImageList, freezeImageManifest, keypointPredictor, readPredictions, runFingerprint, runInference, shardDir } from '@omnidistill/infer';
import type { DetectorSession, ImagePredictor, KeypointSession, RunProgress } from '@omnidistill/infer';
import type { TransformPlan } from '@omnidistill/transforms';
import { gtRois } from './evaluate.js';
import { emptySummary, writeSelection, type CalibrationSummary } from './label-select.js';
import { finishShard } from './label-shard.js';

export type { CalibrationSummary } from './label-select.js';

/** Images per chunk file of predictions by default. */
export const DEFAULT_CHUNK_SIZE = 64;

/** Where the RoIs of the keypoint pass come from on unlabeled images. */
export type KeypointRoiSource =
  | { kind: 'detector'; detector: DetectorSession }
  /** Given person boxes (a COCO file of the same images; only its boxes are read). */
  | { kind: 'boxes'; annotations: string };

export interface LabelOptions {
  task: 'keypoints' | 'detection';
  /**
   * keypoints task: the keypoint teacher and where its RoIs come from; `null` for layouts
   * that find the people themselves (keypoint R-CNN, YOLO-pose).
   */
  keypoints?: { model: KeypointSession; rois: KeypointRoiSource | null };
  /** detection task: the detector teacher. */
  detector?: DetectorSession;
  /** COCO file listing the unlabeled images (annotations, if any, are ignored). */
  unlabeled: string;
  imageDir: string;
  /** The labeled set whose statistics the selection matches. */
  labeled: string;
  plan: TransformPlan;
  /** Output folder: predictions/ shards, generated.json, calibration.json. */
  outDir: string;
  /** Identifies the teacher (e.g. a hash of its ONNX bytes), so a resume never mixes teachers. */
  teacherFingerprint: string;
  onProgress?: (p: RunProgress) => void;
  signal?: AbortSignal;
  /** Predict only this shard of the frozen image list and write its DONE record (no selection). */
  shard?: { index: number; count: number };
  /** Images per resumable chunk file (default 64); the unit of resume and of shard assignment. */
  chunkSize?: number;
}

export interface LabelResult {
  generated: string;
  calibration: string;
  predictions: string;
  complete: boolean;
  summary: CalibrationSummary;
  /** Shard runs: the DONE record written (generated/calibration are then not written). */
  shardDone?: string;
}

/** Runs inference over the unlabeled images (resuming), then selection. */
export async function generateLabels(options: LabelOptions): Promise<LabelResult> {
  const unlabeled = await readCocoDataset(options.unlabeled);
  await readCocoDataset(options.labeled); // a bad labeled set fails now, not after inference
  // The image list is frozen (sorted by id, hashed) so that every shard, and a single run,
  // predict the same images in the same order whatever the order of the COCO file.
  const frozen = freezeImageList(unlabeled.images.map((i) => ({ imageId: i.id, fileName: i.file_name })));
  await freezeImageManifest(options.outDir, frozen);
  const predictionsDir = options.shard ? shardDir(options.outDir, options.shard.index, options.shard.count) : join(options.outDir, 'predictions');
  const predict = await predictorFor(options);
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const fingerprint = runFingerprint(options.task, options.teacherFingerprint, JSON.stringify(options.plan), roiFingerprint(options));
  const run = await runInference({
    images: frozen.images,
    imageRoot: options.imageDir,
    outDir: predictionsDir,
    predict,
    fingerprint,
    onProgress: options.onProgress,
    signal: options.signal,
    shardSize: chunkSize,
    ...(options.shard ? { partition: options.shard } : {}),
  });
  const generated = join(options.outDir, 'generated.json');
  const calibrationPath = join(options.outDir, 'calibration.json');
  const base = { generated, calibration: calibrationPath, predictions: predictionsDir };
  if (!run.complete) return { ...base, complete: false, summary: emptySummary() };
  const selection = { task: options.task, labeled: options.labeled, ...numKeypointsOf(options) };

  if (options.shard) {
    const shardDone = await finishShard(predictionsDir, { shard: options.shard, manifestHash: frozen.hash, teacherFingerprint: options.teacherFingerprint, runFingerprint: fingerprint, plan: options.plan, chunkSize, selection, run });
    return { ...base, complete: true, summary: emptySummary(), shardDone };
  }
  const written = await writeSelection(() => readPredictions(predictionsDir), selection, options.outDir);
  return { ...base, complete: true, summary: written.summary };
}

function numKeypointsOf(options: LabelOptions): { numKeypoints?: number } {
  return options.task === 'keypoints' ? { numKeypoints: options.keypoints!.model.manifest.keypoints.names.length } : {};
}

/** The per-image predictor of a teacher (and its RoI source) under a plan; shared by label and predict. */
export async function predictorFor(options: Pick<LabelOptions, 'task' | 'detector' | 'keypoints' | 'plan'>): Promise<ImagePredictor> {
  if (options.task === 'detection') {
    if (!options.detector) throw new TypeError('options.detector: expected a detector session for the detection task, received undefined');
    return detectionPredictor(options.detector, { plan: options.plan });
  }
  const kp = options.keypoints;
  if (!kp) throw new TypeError('options.keypoints: expected a keypoint model and RoI source for the keypoints task, received undefined');
  const categoryId = kp.model.manifest.keypoints.categoryId;
  let base: ImagePredictor;
  if (kp.rois === null) return keypointPredictor(kp.model, null, { plan: options.plan });
  if (kp.rois.kind === 'detector') {
    base = keypointPredictor(kp.model, { kind: 'detector', detector: kp.rois.detector }, { plan: options.plan, keypointScore: 'probability' });
  } else {
    const boxes: CocoDataset = await readCocoDataset(kp.rois.annotations);
    base = keypointPredictor(
      kp.model,
      {
        kind: 'given',
        rois: (entry) => {
          const b = gtRois(boxes, entry.imageId, categoryId);
          const n = b.length / 4;
          return { boxes: b, scores: new Float64Array(n).fill(1), categoryIds: new Int32Array(n).fill(categoryId) };
        },
      },
      { plan: options.plan, keypointScore: 'probability' },
    );
  }
  // With given boxes there is no box score: an instance's confidence is the mean keypoint
  // probability (the same score the evaluation uses), so count matching still ranks them.
  if (kp.rois.kind === 'detector') return base;
  return async (image, entry) => {
    const instances = await base(image, entry);
    for (const inst of instances) {
      const kps = inst.keypoints ?? [];
      let s = 0;
      for (let j = 2; j < kps.length; j += 3) s += kps[j];
      inst.score = kps.length > 0 ? s / (kps.length / 3) : 0;
    }
    return instances;
  };
}

function roiFingerprint(options: LabelOptions): string {
  const r = options.keypoints?.rois;
  return r === undefined ? 'none' : r === null ? 'self-detecting' : r.kind === 'boxes' ? `boxes:${r.annotations}` : 'detector';
}

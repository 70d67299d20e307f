// Label generation (DESIGN.md data flow steps 3–6): the teacher on every unlabeled image
// under the transform plan → raw prediction shards (crash-safe, resumable) → count-matched
// selection → the generated-labels COCO file and the calibration record.
import { join } from 'node:path';
import { readCocoDataset } from '@omnidistill/coco';
import type { CocoCategory, CocoDataset } from '@omnidistill/coco';
import { detectionPredictor, keypointPredictor, readPredictions, runFingerprint, runInference } from '@omnidistill/infer';
import type { DetectorSession, ImagePredictor, KeypointSession, RunProgress } from '@omnidistill/infer';
import { selectLabels, targetsFromDataset, writeCalibrationRecord, writeGeneratedLabels } from '@omnidistill/select';
import type { Calibration } from '@omnidistill/select';
import type { TransformPlan } from '@omnidistill/transforms';
import { gtRois } from './evaluate.js';

/** Where the RoIs of the keypoint pass come from on unlabeled images. */
export type KeypointRoiSource =
  | { kind: 'detector'; detector: DetectorSession }
  /** Given person boxes (a COCO file of the same images; only its boxes are read). */
  | { kind: 'boxes'; annotations: string };

export interface LabelOptions {
  task: 'keypoints' | 'detection';
  /** keypoints task: the keypoint teacher and where its RoIs come from. */
  keypoints?: { model: KeypointSession; rois: KeypointRoiSource };
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
}

export interface LabelResult {
  generated: string;
  calibration: string;
  predictions: string;
  complete: boolean;
  summary: CalibrationSummary;
}

/** The figures of a calibration that the demo table and the report show. */
export interface CalibrationSummary {
  instanceThresholds: { categoryId: number | null; threshold: number | null; status: string }[];
  keypointThreshold: number | null;
  instancesPerImage: { target: number; before: number; after: number };
  keypointsPerInstance?: { target: number; before: number; after: number };
  generatedImages: number;
  generatedInstances: number;
  /** Selection outcomes that are not a real count match (no predictions, tied scores). */
  warnings: string[];
}

/** Runs inference over the unlabeled images (resuming), then selection. */
export async function generateLabels(options: LabelOptions): Promise<LabelResult> {
  const unlabeled = await readCocoDataset(options.unlabeled);
  const labeled = await readCocoDataset(options.labeled);
  const predictionsDir = join(options.outDir, 'predictions');
  const predict = await predictorFor(options);
  const run = await runInference({
    images: unlabeled.images.map((i) => ({ imageId: i.id, fileName: i.file_name })),
    imageRoot: options.imageDir,
    outDir: predictionsDir,
    predict,
    fingerprint: runFingerprint(options.task, options.teacherFingerprint, JSON.stringify(options.plan), roiFingerprint(options)),
    onProgress: options.onProgress,
    signal: options.signal,
  });
  const generated = join(options.outDir, 'generated.json');
  const calibrationPath = join(options.outDir, 'calibration.json');
  if (!run.complete) return { generated, calibration: calibrationPath, predictions: predictionsDir, complete: false, summary: emptySummary() };

  const categories: CocoCategory[] = labeled.categories;
  const { dataset, calibration } = await selectLabels(() => readPredictions(predictionsDir), targetsFromDataset(labeled), {
    task: options.task,
    categories,
    ...(options.task === 'keypoints' ? { numKeypoints: options.keypoints!.model.manifest.keypoints.names.length } : {}),
  });
  await writeGeneratedLabels(generated, dataset);
  await writeCalibrationRecord(calibrationPath, calibration);
  return { generated, calibration: calibrationPath, predictions: predictionsDir, complete: true, summary: summarise(calibration, dataset) };
}

async function predictorFor(options: LabelOptions): Promise<ImagePredictor> {
  if (options.task === 'detection') {
    if (!options.detector) throw new TypeError('options.detector: expected a detector session for the detection task, received undefined');
    return detectionPredictor(options.detector, { plan: options.plan });
  }
  const kp = options.keypoints;
  if (!kp) throw new TypeError('options.keypoints: expected a keypoint model and RoI source for the keypoints task, received undefined');
  const categoryId = kp.model.manifest.keypoints.categoryId;
  let base: ImagePredictor;
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
  return r === undefined ? 'none' : r.kind === 'boxes' ? `boxes:${r.annotations}` : 'detector';
}

function emptySummary(): CalibrationSummary {
  return { instanceThresholds: [], keypointThreshold: null, instancesPerImage: { target: 0, before: 0, after: 0 }, generatedImages: 0, generatedInstances: 0, warnings: [] };
}

function summarise(calibration: Calibration, dataset: CocoDataset): CalibrationSummary {
  const k = calibration.keypointThreshold;
  return {
    instanceThresholds: calibration.instanceThresholds.map((t) => ({ categoryId: t.categoryId, threshold: t.threshold, status: t.status })),
    keypointThreshold: k?.threshold ?? null,
    instancesPerImage: calibration.instancesPerImage,
    ...(k ? { keypointsPerInstance: { target: k.target, before: k.before, after: k.after } } : {}),
    generatedImages: dataset.images.length,
    generatedInstances: dataset.annotations.length,
    warnings: calibration.warnings,
  };
}

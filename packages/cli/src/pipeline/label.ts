// Label generation (DESIGN.md data flow steps 3–6): the teacher on every unlabeled image
// under the transform plan → raw prediction shards (crash-safe, resumable) → count-matched
// selection → the generated-labels COCO file and the calibration record. With a shard
// (DESIGN.md "Scale"), only this shard's images are predicted and a DONE record replaces
// the selection, which `label merge` runs over all shards.
import { join } from 'node:path';
import { CocoValidationError, readCocoDataset, readCocoImages } from '@omnidistill/coco';
import type { CocoDataset } from '@omnidistill/coco';
import { InputFileError, OmniRangeError } from '@omnidistill/core';
import {
  DEFAULT_MAX_PIXELS,
  detectionPredictor,
  containedPath,
  freezeImageStream,
  hashFile,
  keypointPredictor,
  lockDirectory,
  readPredictions,
  runFingerprint,
  runInference,
  shardDir,
  summariseSkipped,
  withStageClock,
} from '@omnidistill/infer';
import type { StageClock } from '@omnidistill/infer';
import type { DetectorSession, ImageEntry, ImagePredictor, KeypointSession, RunEvent, RunProgress, RunSummary } from '@omnidistill/infer';
import type { TransformPlan } from '@omnidistill/transforms';
import { gtRois } from './evaluate.js';
import { emptySummary, writeSelection, type CalibrationSummary, type SelectionRule } from './label-select.js';
import { finishShard } from './label-shard.js';
import type { LabelTimings } from './label-timing.js';
import { checkFailedFraction, DEFAULT_MAX_FAILED_FRACTION, skipLogLines, skipReport } from './skip-report.js';
import type { SkipReport } from './skip-report.js';

export type { CalibrationSummary } from './label-select.js';

/** Images per chunk file of predictions by default. */
export const DEFAULT_CHUNK_SIZE = 64;

/** Where the RoIs of the keypoint pass come from on unlabeled images. */
export type KeypointRoiSource =
  /**
   * `fingerprint`: a digest of the detector's bytes, so a resume with another detector is
   * refused. `plan`: the detector runs under it with box voting (the faithful pipeline);
   * without it, one identity pass.
   */
  | { kind: 'detector'; detector: DetectorSession; fingerprint: string; plan?: TransformPlan }
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
  /** How predictions are kept (default: count-matched, the paper's rule). */
  selection?: SelectionRule;
  /** Where generated.json and calibration.json go (default `outDir`), so several rules share one set of predictions. */
  selectionDir?: string;
  /** Records where the time goes (set-up, prediction loop, model share, selection). */
  timings?: LabelTimings;
  /** Lines worth a user's attention (lock taken over, shards redone, images skipped). */
  log?: (line: string) => void;
  signal?: AbortSignal;
  /** Images with more pixels are skipped as too-large (default 50 MP, infer's DEFAULT_MAX_PIXELS). */
  maxPixels?: number;
  /** The run fails (no labels written) when a larger share of the images cannot be used (default 0.1). */
  maxFailedFraction?: number;
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
  /** Images that could not be used, by reason (once the run is complete). */
  skipped?: SkipReport;
}

/**
 * Runs inference over the unlabeled images (resuming), then selection. The folder a run
 * writes to is locked for the whole run (a second run on it is refused, naming the holder);
 * a resume is refused when an input changed (naming it); images that cannot be used are
 * reported by reason, and more than `maxFailedFraction` of them fails the run (exit 2)
 * before selection.
 */
export async function generateLabels(options: LabelOptions): Promise<LabelResult> {
  const log = options.log ?? (() => undefined);
  await readCocoDataset(options.labeled); // a bad labeled set fails now, not after inference
  // Shard jobs share --out (each writes its own shard folder): they lock their folder only.
  const lockedDir = options.shard ? shardDir(options.outDir, options.shard.index, options.shard.count) : options.outDir;
  const lock = await lockDirectory(lockedDir, {
    onTakeover: (h) => log(`${lockedDir}: taking over the lock of ${h ? `pid ${h.pid} on ${h.host}` : 'an unknown run'}, which is no longer running`),
  });
  try {
    return await labelLocked(options, log);
  } finally {
    await lock.release();
  }
}

async function labelLocked(options: LabelOptions, log: (line: string) => void): Promise<LabelResult> {
  // The image list is frozen (sorted by id, hashed) so that every shard, and a single run,
  // predict the same images in the same order whatever the order of the COCO file. It is
  // streamed from the COCO file into images.jsonl and read back from there: never held.
  const { frozen } = await freezeUnlabeled(options.outDir, options.unlabeled, options.imageDir);
  const predictionsDir = options.shard ? shardDir(options.outDir, options.shard.index, options.shard.count) : join(options.outDir, 'predictions');
  const predictor = await predictorFor(options.timings ? withClock(options, options.timings.clock) : options);
  const predict = options.timings ? options.timings.timed(predictor) : predictor;
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const inputs = await inputDigests(options);
  const fingerprint = runFingerprint(inputs);
  options.timings?.loopStart();
  const run = await runInference({
    images: frozen,
    imageRoot: options.imageDir,
    outDir: predictionsDir,
    predict,
    fingerprint,
    inputs,
    ...(options.maxPixels !== undefined ? { maxPixels: options.maxPixels } : {}),
    onProgress: options.onProgress,
    onEvent: (e) => logEvent(e, log),
    signal: options.signal,
    shardSize: chunkSize,
    ...(options.timings ? { clock: options.timings.clock } : {}),
    ...(options.shard ? { partition: options.shard } : {}),
  });
  options.timings?.loopEnd();
  const selectionDir = options.selectionDir ?? options.outDir;
  const generated = join(selectionDir, 'generated.json');
  const calibrationPath = join(selectionDir, 'calibration.json');
  const base = { generated, calibration: calibrationPath, predictions: predictionsDir };
  if (!run.complete) return { ...base, complete: false, summary: emptySummary() };
  const skipped = await reportSkipped(options, predictionsDir, run, log);
  const selection = { task: options.task, labeled: options.labeled, ...numKeypointsOf(options), ...(options.selection ? { rule: options.selection } : {}) };

  if (options.shard) {
    const shardDone = await finishShard(predictionsDir, { shard: options.shard, manifestHash: frozen.hash, teacherFingerprint: options.teacherFingerprint, runFingerprint: fingerprint, plan: options.plan, chunkSize, selection, run });
    return { ...base, complete: true, summary: emptySummary(), shardDone, skipped };
  }
  const select = () => writeSelection(() => readPredictions(predictionsDir), selection, selectionDir);
  const written = options.timings ? await options.timings.selection(select) : await select();
  return { ...base, complete: true, summary: written.summary, skipped };
}

/**
 * Freezes the images of the unlabeled COCO file into `outDir/images.jsonl` (see infer's
 * freezeImageStream), streamed: only `{ imageId, fileName }` reaches the sort. A repeated id
 * is reported as a problem of the COCO file; with `imageDir`, a `../` or absolute file name
 * (which would read outside it) is refused, naming the first such image in file order.
 */
export async function freezeUnlabeled(outDir: string, unlabeled: string, imageDir?: string): ReturnType<typeof freezeImageStream> {
  try {
    return await freezeImageStream(outDir, unlabeledEntries(unlabeled, imageDir));
  } catch (error) {
    if (error instanceof OmniRangeError && /^images\[\d+\]\.id:/.test(error.message)) {
      throw new CocoValidationError(unlabeled, [{ path: error.message.split(':')[0], message: error.message }], 1);
    }
    throw error;
  }
}

async function* unlabeledEntries(unlabeled: string, imageDir?: string): AsyncGenerator<ImageEntry> {
  for await (const image of readCocoImages(unlabeled)) {
    const entry = { imageId: image.id, fileName: image.file_name };
    if (imageDir !== undefined && containedPath(imageDir, entry.fileName) === null) {
      throw new InputFileError(
        unlabeled,
        `${unlabeled}: image ${entry.imageId} has file_name ${JSON.stringify(entry.fileName)}, which leads outside the image folder ${imageDir}; file names must be relative paths inside it`,
      );
    }
    yield entry;
  }
}

/** Logs the skipped images by reason and fails the run when too many of them failed. */
async function reportSkipped(options: LabelOptions, predictionsDir: string, run: RunSummary, log: (line: string) => void): Promise<SkipReport> {
  const summary = await summariseSkipped(predictionsDir, { allowIncomplete: options.shard !== undefined });
  for (const line of skipLogLines(summary, run.total)) log(line);
  const report = skipReport(summary, run.total);
  checkFailedFraction(report, options.maxFailedFraction ?? DEFAULT_MAX_FAILED_FRACTION, options.imageDir);
  return report;
}

/**
 * Digests of everything that shapes the raw predictions, by name, so that a refused resume
 * says which changed: files by content (streaming SHA-256), settings by value.
 */
async function inputDigests(options: LabelOptions): Promise<Record<string, string>> {
  const r = options.keypoints?.rois;
  return {
    task: options.task,
    teacher: options.teacherFingerprint,
    plan: runFingerprint(JSON.stringify(options.plan)),
    unlabeled: await hashFile(options.unlabeled),
    rois: r === undefined ? 'none' : r === null ? 'self-detecting' : r.kind,
    ...(r?.kind === 'boxes' ? { boxes: await hashFile(r.annotations) } : {}),
    ...(r?.kind === 'detector' ? { detector: r.fingerprint } : {}),
    ...(r?.kind === 'detector' && r.plan ? { 'detector-plan': runFingerprint(JSON.stringify(r.plan)) } : {}),
    'max-pixels': String(options.maxPixels ?? DEFAULT_MAX_PIXELS),
  };
}

/** The run events a user should see (skips are summed up at the end instead). */
function logEvent(e: RunEvent, log: (line: string) => void): void {
  if (e.type === 'shard-redone') log(`predictions shard ${e.shard}: redoing it (${e.why})`);
  else if (e.type === 'manifest-damaged') log(`${e.message.replace(/; rerun .*$/, '')}: starting the predictions over`);
}

function numKeypointsOf(options: LabelOptions): { numKeypoints?: number } {
  return options.task === 'keypoints' ? { numKeypoints: options.keypoints!.model.manifest.keypoints.names.length } : {};
}

/** The options' model sessions with their stages timed on `clock` (transform, model, ensemble). */
function withClock(options: LabelOptions, clock: StageClock): LabelOptions {
  const kp = options.keypoints;
  const rois = kp?.rois;
  return {
    ...options,
    ...(options.detector ? { detector: withStageClock(options.detector, clock) } : {}),
    ...(kp
      ? { keypoints: { model: withStageClock(kp.model, clock), rois: rois?.kind === 'detector' ? { ...rois, detector: withStageClock(rois.detector, clock) } : rois ?? null } }
      : {}),
  };
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
    const roiOptions = kp.rois.plan ? { plan: kp.rois.plan } : {};
    base = keypointPredictor(kp.model, { kind: 'detector', detector: kp.rois.detector, options: roiOptions }, { plan: options.plan, keypointScore: 'probability' });
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

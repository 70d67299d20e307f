// Multi-transform inference (REFERENCE.md §1 step 3, §3): keypoints with RoIs fixed by one
// identity pass and every transform's heatmaps in each RoI's frame; detection with every
// transform's boxes mapped back to the original image and merged.
import { OmniRangeError, expectInteger, type Detections, type KeypointArray } from '@omnidistill/core';
import { IDENTITY, customPlan, isIdentity, resolvePlan, resolveTransform, type TransformGeometry, type TransformPlan } from '@omnidistill/transforms';
import { mergeDetections, type MergeOptions, type TransformDetections } from '@omnidistill/boxes';
import type { DecodedImage } from './image.js';
import type { KeypointInferenceOptions } from './keypoint-options.js';
import { layoutOf } from './layouts/index.js';
import type { RawDetections } from './run-model.js';
import type { DetectorSession, KeypointSession, ModelSession } from './session.js';
import type { Layout } from './layouts/types.js';
import { MAX_TRANSFORM_BATCH, batchRefusal, transformBatchOf } from './transform-batch.js';
import { timeStage } from './stage-clock.js';

/**
 * Keypoints of the `rois` (`[N, 4]` original-image pixels, fixed beforehand by one
 * identity detector pass or given) under every transform of the plan, ensembled and decoded
 * by the model's layout (`rois`: heatmaps in each RoI's frame; `topdown-heatmap` / `simcc`:
 * in each person crop's frame). Self-detecting layouts (keypoint R-CNN, YOLO-pose) take no
 * RoIs: use {@link predictRegressedKeypoints}.
 */
export async function predictKeypoints(model: KeypointSession, image: DecodedImage, rois: Float64Array, options: KeypointInferenceOptions): Promise<KeypointArray> {
  const runner = keypointRunner(model);
  if (runner.kind !== 'rois') {
    throw new Error(`${model.source}: layout "${model.manifest.layout}" finds the people itself and takes no RoIs; predict with predictRegressedKeypoints (no --detector/--boxes)`);
  }
  return runner.predict(model, image, rois, options);
}

/** The keypoint runner of a keypoint model's layout. */
export function keypointRunner(model: KeypointSession) {
  const runner = layoutOf(model.manifest).keypoints;
  if (!runner) throw new Error(`${model.source}: layout "${model.manifest.layout}" has no keypoint role`);
  return runner;
}

/** The layout's detector pass over several transforms (batched where the layout can). */
function detectAllOf(detector: DetectorSession): NonNullable<Layout['detectAll']> {
  const layout = layoutOf(detector.manifest);
  if (!layout.detectAll) throw new Error(`${detector.source}: layout "${detector.manifest.layout}" has no detector role`);
  return layout.detectAll;
}

/** One detector pass under one transform through the model's layout (boxes in that transform's pixels). */
export async function detectOnce(detector: DetectorSession, image: DecodedImage, geometry: TransformGeometry): Promise<RawDetections> {
  const layout = layoutOf(detector.manifest);
  if (!layout.detect) throw new Error(`${detector.source}: layout "${detector.manifest.layout}" has no detector role`);
  return layout.detect(detector, image, geometry);
}

/** Options of {@link detectRois}. */
export interface RoiOptions {
  /** Category ids whose boxes become RoIs (default: all). */
  categoryIds?: readonly number[];
  /** Keep at most this many RoIs, best first (default 100, Detectron's detections per image). */
  maxRois?: number;
  /** Drop boxes scoring below this (default: keep every score; selection thresholds later). */
  minScore?: number;
  /**
   * Run the detector under this plan and merge its boxes (NMS + box voting, as
   * {@link predictDetections}) instead of one identity pass: the paper's teacher finds the
   * people with the same test-time transforms as the keypoint pass.
   */
  plan?: TransformPlan;
}

/** RoIs in original-image pixels, best score first, with their scores and categories. */
export interface Rois {
  boxes: Float64Array;
  scores: Float64Array;
  categoryIds: Int32Array;
}

/**
 * The RoIs of the keypoint pass: ONE identity (original size, unflipped) detector pass, or
 * with `options.plan` the plan's merged detections, filtered by category and score, best
 * first, at most `maxRois`.
 */
export async function detectRois(detector: DetectorSession, image: DecodedImage, options: RoiOptions = {}): Promise<Rois> {
  const maxRois = options.maxRois ?? 100;
  expectInteger(maxRois, 'options.maxRois', 0);
  const raw = options.plan ? await votedDetections(detector, image, options.plan) : await detectOnce(detector, image, resolveTransform(IDENTITY, image));
  const wanted = options.categoryIds ? new Set(options.categoryIds) : null;
  const minScore = options.minScore ?? -Infinity;
  const order = Array.from({ length: raw.scores.length }, (_, i) => i)
    .filter((i) => raw.scores[i] >= minScore && (wanted === null || wanted.has(raw.categoryIds[i])))
    // Stable order: score descending, then detector order, so reruns give the same RoIs.
    .sort((a, b) => raw.scores[b] - raw.scores[a] || a - b)
    .slice(0, maxRois);
  return pick(raw, order);
}

/** Boxes, scores and COCO category ids: one raw pass or a plan's merged detections. */
type DetectionList = { [K in keyof RawDetections]: ArrayLike<number> };

/** The plan's merged detections (labels are already COCO category ids). */
async function votedDetections(detector: DetectorSession, image: DecodedImage, plan: TransformPlan): Promise<DetectionList> {
  const d = await predictDetections(detector, image, { plan });
  return { boxes: d.boxes, scores: d.scores, categoryIds: d.labels };
}

function pick(raw: DetectionList, order: number[]): Rois {
  const boxes = new Float64Array(4 * order.length);
  const scores = new Float64Array(order.length);
  const categoryIds = new Int32Array(order.length);
  order.forEach((src, i) => {
    for (let j = 0; j < 4; j++) boxes[4 * i + j] = raw.boxes[4 * src + j];
    scores[i] = raw.scores[src];
    categoryIds[i] = raw.categoryIds[src];
  });
  return { boxes, scores, categoryIds };
}

/** Options of {@link predictDetections}. */
export interface DetectionInferenceOptions {
  plan: TransformPlan;
  /**
   * `@omnidistill/boxes` merge settings (boxes are in the continuous pixel convention):
   * its defaults are Detectron's — candidates with score > 0.05, per-class NMS at 0.5, box
   * voting at IoU 0.8, at most 100 detections per image.
   */
  merge?: Omit<MergeOptions, 'convention'>;
}

/**
 * Runs the detector under every transform of the plan; each transform's detections stay
 * in that transformed image's pixels, with the geometry that maps them back. Layouts that
 * can (`detectAll`: yolo with a dynamic batch dimension) run several transforms per call.
 */
export async function detectAllTransforms(detector: DetectorSession, image: DecodedImage, plan: TransformPlan): Promise<TransformDetections[]> {
  const geometries = resolvePlan(plan, image);
  const raws = await detectAllOf(detector)(detector, image, geometries);
  return raws.map((raw, i) => ({ transform: geometries[i], detections: { boxes: raw.boxes, scores: raw.scores, labels: raw.categoryIds } }));
}

/**
 * Detection under every transform of the plan, merged by `@omnidistill/boxes`' detection
 * merge in one call: boxes mapped back to original-image pixels (un-flip x → W' − x, then
 * un-scale), union, per-class NMS, box voting over the union.
 */
export async function predictDetections(detector: DetectorSession, image: DecodedImage, options: DetectionInferenceOptions): Promise<Detections> {
  const perTransform = await detectAllTransforms(detector, image, options.plan);
  return timeStage(detector.clock, 'ensemble', () => mergeDetections(perTransform, { ...options.merge, convention: 'continuous' }));
}

/** True when a plan is the identity alone (single-pass inference). */
export function isSinglePass(plan: TransformPlan): boolean {
  if (plan.transforms.length === 0) throw new OmniRangeError('plan.transforms', 'at least the identity transform', plan.transforms);
  return plan.transforms.length === 1 && isIdentity(plan.transforms[0]);
}

/**
 * One line for a run's log on how the transforms of an image reach the model, for layouts
 * that can batch them (yolo): several per call with a dynamic batch dimension, or one per call
 * with how to get more. Null when there is nothing to say (one transform, or a layout that
 * cannot batch transforms).
 */
export function transformBatchNote(model: ModelSession, transforms: number): string | null {
  if (!layoutOf(model.manifest).batchesTransforms[model.manifest.role] || transforms < 2) return null;
  const n = transformBatchOf(model);
  if (n > 1) return `${model.source}: dynamic batch dimension: the ${transforms} transforms of an image go up to ${n} per model call`;
  const refused = batchRefusal(model);
  if (refused !== null) return `${model.source}: declares a dynamic batch dimension, but its graph does not take a batch (${refused}): ${transforms} model calls per image, one transform each`;
  return `${model.source}: batch dimension fixed at 1: ${transforms} model calls per image; an export with a dynamic batch dimension would take up to ${MAX_TRANSFORM_BATCH} transforms per call`;
}

/**
 * Runs the layout's batched path once on a small blank image (identity + flip) when the model
 * declares a dynamic batch dimension, so that a graph which does not honour it is found before
 * a run starts and {@link transformBatchNote} says what will really run. One model call (two
 * when the batch is refused); nothing for models or layouts that do not batch transforms.
 */
export async function probeTransformBatch(model: ModelSession): Promise<void> {
  const layout = layoutOf(model.manifest);
  if (!layout.batchesTransforms[model.manifest.role] || transformBatchOf(model) < 2) return;
  const blank: DecodedImage = { width: 64, height: 64, data: new Uint8Array(64 * 64 * 3).fill(114) };
  const geometries = resolvePlan(customPlan([{ flip: true }]), blank);
  try {
    if (model.manifest.role === 'detector') await layout.detectAll?.(model as DetectorSession, blank, geometries);
    else if (layout.keypoints?.kind === 'regressed') await layout.keypoints.runAll?.(model as KeypointSession, blank, geometries);
  } catch {
    // Only what the batched call showed matters here; a model that fails on a blank image fails on real ones in the run, which reports them.
  }
}

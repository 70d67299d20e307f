// Multi-transform inference (REFERENCE.md §1 step 3, §3): keypoints with RoIs fixed by one
// identity pass and every transform's heatmaps in each RoI's frame; detection with every
// transform's boxes mapped back to the original image and merged.
import { OmniRangeError, expectInteger, type Detections, type KeypointArray } from '@omnidistill/core';
import {
  IDENTITY,
  forwardRois,
  isIdentity,
  resolvePlan,
  resolveTransform,
  sizeDependentMask,
  type TransformGeometry,
  type TransformPlan,
} from '@omnidistill/transforms';
import { mergeDetections, type MergeOptions, type TransformDetections } from '@omnidistill/boxes';
import { ensembleAndDecode, type BackendRequest } from '@omnidistill/ensemble';
import type { DecodedImage } from './image.js';
import { prepareInput, runDetector, runKeypointModel, type RawDetections } from './run-model.js';
import type { DetectorSession, KeypointSession } from './session.js';

/**
 * Ensembles `[T, N, K, M, M]` heatmaps (un-flipping the flipped transforms) and decodes
 * keypoints `[N, K, 3]` (x, y, score) in original-image pixels. Normally
 * `@omnidistill/ensemble`'s fused kernel; injectable for tests and other backends.
 */
export type EnsembleAndDecode = (request: EnsembleRequest) => Promise<KeypointArray>;

export interface EnsembleRequest {
  heatmaps: Float32Array;
  t: number;
  n: number;
  k: number;
  m: number;
  /** `[N, 4]` RoIs in original-image pixels. */
  rois: Float32Array;
  flipped: boolean[];
  flipPairs: [number, number][];
  mode: 'avg' | 'max';
  /** `[T, N]` 1 = transform t contributes to RoI n (size-dependent combination). */
  mask?: Uint8Array;
}

/** Options of {@link predictKeypoints}. */
export interface KeypointInferenceOptions {
  plan: TransformPlan;
  /** Ensemble + decode implementation (default: `@omnidistill/ensemble`'s fused kernel on `backend`). */
  ensemble?: EnsembleAndDecode;
  /** Backend of the default ensemble kernel (default `auto`: cuda → cpu → ts, skips reported by the kernel). */
  backend?: BackendRequest;
  /**
   * Keypoint score written in the third value: the logit at the maximum (default,
   * torchvision's) or the spatial-softmax probability of the decoded map.
   */
  keypointScore?: 'logit' | 'probability';
  /** Heatmap combination across transforms (default `avg`, the paper's). */
  mode?: 'avg' | 'max';
  /**
   * Detectron's size-dependent combination: per RoI, drop the down-scaled passes for
   * small RoIs and the up-scaled ones for large RoIs (area threshold in px², default
   * off). `true` uses 180².
   */
  sizeDependent?: boolean | { areaThreshold: number };
  /** RoIs per model call when the model's RoI dimension is dynamic (default: all). */
  roiBatch?: number;
}

/**
 * Keypoints of the `rois` (`[N, 4]` original-image pixels, fixed beforehand by one
 * identity detector pass or given) under every transform of the plan: each transform
 * resizes/flips the image, projects the RoIs into it and runs the keypoint model; the
 * `[T, N, K, M, M]` heatmaps are ensembled and decoded in one call.
 *
 * Memory per image: `T · N · K · M² · 4` bytes of heatmaps (cap N with the RoI source).
 */
export async function predictKeypoints(
  model: KeypointSession,
  image: DecodedImage,
  rois: Float64Array,
  options: KeypointInferenceOptions,
): Promise<KeypointArray> {
  const n = rois.length / 4;
  const { names, heatmapSize: m, flipPairs } = model.manifest.keypoints;
  const k = names.length;
  if (n === 0) return { data: new Float32Array(0), n: 0, k };
  const geometries = resolvePlan(options.plan, image);
  const t = geometries.length;
  const perTransform = n * k * m * m;
  const heatmaps = new Float32Array(t * perTransform);
  const batch = options.roiBatch ?? n;
  expectInteger(batch, 'options.roiBatch', 1);
  for (let ti = 0; ti < t; ti++) {
    const g = geometries[ti];
    const input = await prepareInput(model, image, g);
    const projected = forwardRois(rois, g, { convention: 'continuous' });
    await runKeypointModel(model, input, projected, batch, heatmaps, ti * perTransform);
  }
  const mask = sizeDependentMaskFor(geometries, rois, options.sizeDependent);
  const ensemble = options.ensemble ?? defaultEnsemble(options.backend ?? 'auto', options.keypointScore ?? 'logit');
  return ensemble({
    heatmaps,
    t,
    n,
    k,
    m,
    rois: Float32Array.from(rois),
    flipped: geometries.map((g) => g.flip),
    flipPairs,
    mode: options.mode ?? 'avg',
    ...(mask ? { mask } : {}),
  });
}

/** `@omnidistill/ensemble`'s fused ensemble + decode as an {@link EnsembleAndDecode}. */
export function defaultEnsemble(backend: BackendRequest, score: 'logit' | 'probability'): EnsembleAndDecode {
  return async (r) => {
    const probability = score === 'probability';
    const result = await ensembleAndDecode({ data: r.heatmaps, t: r.t, n: r.n, k: r.k, m: r.m }, r.rois, {
      mode: r.mode,
      flipped: r.flipped,
      flipPairs: r.flipPairs,
      ...(r.mask ? { mask: r.mask } : {}),
      backend,
      probability,
    });
    const keypoints = result.keypoints;
    if (probability && result.probability) {
      for (let i = 0; i < keypoints.n * keypoints.k; i++) keypoints.data[3 * i + 2] = result.probability[i];
    }
    return keypoints;
  };
}

function sizeDependentMaskFor(geometries: TransformGeometry[], rois: Float64Array, option: KeypointInferenceOptions['sizeDependent']): Uint8Array | undefined {
  if (!option) return undefined;
  const areaThreshold = option === true ? undefined : option.areaThreshold;
  return sizeDependentMask(geometries, rois, { convention: 'continuous', ...(areaThreshold === undefined ? {} : { areaThreshold }) });
}

/** Options of {@link detectRois}. */
export interface RoiOptions {
  /** Category ids whose boxes become RoIs (default: all). */
  categoryIds?: readonly number[];
  /** Keep at most this many RoIs, best first (default 100, Detectron's detections per image). */
  maxRois?: number;
  /** Drop boxes scoring below this (default: keep every score; selection thresholds later). */
  minScore?: number;
}

/** RoIs in original-image pixels, best score first, with their scores and categories. */
export interface Rois {
  boxes: Float64Array;
  scores: Float64Array;
  categoryIds: Int32Array;
}

/**
 * The RoIs of the keypoint pass: ONE identity (original size, unflipped) detector pass,
 * filtered by category and score, best first, at most `maxRois`.
 */
export async function detectRois(detector: DetectorSession, image: DecodedImage, options: RoiOptions = {}): Promise<Rois> {
  const maxRois = options.maxRois ?? 100;
  expectInteger(maxRois, 'options.maxRois', 0);
  const identity = resolveTransform(IDENTITY, image);
  const input = await prepareInput(detector, image, identity);
  const raw = await runDetector(detector, input, image);
  const wanted = options.categoryIds ? new Set(options.categoryIds) : null;
  const minScore = options.minScore ?? -Infinity;
  const order = [...raw.scores.keys()]
    .filter((i) => raw.scores[i] >= minScore && (wanted === null || wanted.has(raw.categoryIds[i])))
    // Stable order: score descending, then detector order, so reruns give the same RoIs.
    .sort((a, b) => raw.scores[b] - raw.scores[a] || a - b)
    .slice(0, maxRois);
  return pick(raw, order);
}

function pick(raw: RawDetections, order: number[]): Rois {
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
 * in that transformed image's pixels, with the geometry that maps them back.
 */
export async function detectAllTransforms(detector: DetectorSession, image: DecodedImage, plan: TransformPlan): Promise<TransformDetections[]> {
  const out: TransformDetections[] = [];
  for (const g of resolvePlan(plan, image)) {
    const input = await prepareInput(detector, image, g);
    const raw = await runDetector(detector, input, g.target);
    out.push({ transform: g, detections: { boxes: raw.boxes, scores: raw.scores, labels: raw.categoryIds } });
  }
  return out;
}

/**
 * Detection under every transform of the plan, merged by `@omnidistill/boxes`' detection
 * merge in one call: boxes mapped back to original-image pixels (un-flip x → W' − x, then
 * un-scale), union, per-class NMS, box voting over the union.
 */
export async function predictDetections(detector: DetectorSession, image: DecodedImage, options: DetectionInferenceOptions): Promise<Detections> {
  const perTransform = await detectAllTransforms(detector, image, options.plan);
  return mergeDetections(perTransform, { ...options.merge, convention: 'continuous' });
}

/** True when a plan is the identity alone (single-pass inference). */
export function isSinglePass(plan: TransformPlan): boolean {
  if (plan.transforms.length === 0) throw new OmniRangeError('plan.transforms', 'at least the identity transform', plan.transforms);
  return plan.transforms.length === 1 && isIdentity(plan.transforms[0]);
}

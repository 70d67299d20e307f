// Options of keypoint inference and the default heatmap ensemble (the paper's RoI-frame
// averaging, @omnidistill/ensemble's fused kernel), shared by the keypoint layouts.
import { sizeDependentMask, type TransformGeometry, type TransformPlan } from '@omnidistill/transforms';
import { ensembleAndDecode, type BackendRequest } from '@omnidistill/ensemble';
import type { KeypointArray } from '@omnidistill/core';

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
  /** Backend of the default ensemble kernel (default `auto`: cuda → cpu → wasm → ts, skips reported by the kernel). */
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

export function sizeDependentMaskFor(geometries: TransformGeometry[], rois: Float64Array, option: KeypointInferenceOptions['sizeDependent']): Uint8Array | undefined {
  if (!option) return undefined;
  const areaThreshold = option === true ? undefined : option.areaThreshold;
  return sizeDependentMask(geometries, rois, { convention: 'continuous', ...(areaThreshold === undefined ? {} : { areaThreshold }) });
}


// Typed-array layouts shared across packages. Everything is flat and row-major so a
// whole batch crosses the native boundary (and worker threads) without per-element objects.

/**
 * N boxes as `[x1, y1, x2, y2]` rows in pixel coordinates: `length = 4 * N`.
 * Which pixel convention applies (continuous or Detectron's +1) is always explicit
 * in the function that consumes them.
 */
export type BoxArray = Float32Array | Float64Array;

/** Detections of one image: N boxes with their scores and integer category labels. */
export interface Detections {
  /** `[N, 4]` x1, y1, x2, y2. */
  boxes: BoxArray;
  /** `[N]` confidence scores. */
  scores: Float32Array | Float64Array;
  /** `[N]` category ids. */
  labels: Int32Array;
}

/** Keypoints of N instances: `[N, K, 3]` rows of (x, y, score-or-visibility). */
export interface KeypointArray {
  data: Float32Array;
  n: number;
  k: number;
}

/** Heatmap logits `[T, N, K, M, M]` (T transforms; T = 1 for a plain `[N, K, M, M]`). */
export interface HeatmapBatch {
  data: Float32Array;
  t: number;
  n: number;
  k: number;
  m: number;
}

/** Number of boxes in a flat `[N, 4]` array (throws if the length is not a multiple of 4). */
export function boxCount(boxes: BoxArray, path = 'boxes'): number {
  if (boxes.length % 4 !== 0) {
    throw new RangeError(`${path}: expected a length that is a multiple of 4, received ${boxes.length}`);
  }
  return boxes.length / 4;
}

/** Image size in pixels. */
export interface ImageSize {
  width: number;
  height: number;
}

// The records that flow into and out of selection: raw predictions with every score kept
// (written by @omnidistill/infer), the labeled targets, and the calibration result.

/**
 * One predicted instance with every score kept (nothing thresholded yet).
 * `bbox` is `[x1, y1, x2, y2]` in original-image pixels (continuous coordinates).
 */
export interface RawInstance {
  bbox: [number, number, number, number];
  /** Instance (box) confidence. */
  score: number;
  /** COCO category id. */
  categoryId: number;
  /**
   * Keypoint task only: `K * 3` numbers `(x, y, score)` in original-image pixels; the
   * score is whatever the decoder produced (a logit or a probability), unthresholded.
   */
  keypoints?: number[];
}

/** Raw predictions of one unlabeled image. */
export interface RawImagePrediction {
  /** COCO image id given to this image in the generated set. */
  imageId: number;
  /** Path of the image relative to the image root (COCO `file_name`). */
  fileName: string;
  width: number;
  height: number;
  instances: RawInstance[];
}

/** The selection task: one global instance threshold + keypoint threshold, or one per category. */
export type SelectionTask = 'keypoints' | 'detection';

/**
 * The labeled set's statistics the generated set must match (REFERENCE.md §1 step 4).
 * Averages are over labeled images / labeled instances; see `targetsFromDataset`.
 */
export interface LabeledTargets {
  /** Average number of (non-crowd) instances per labeled image, all categories together. */
  instancesPerImage: number;
  /** Detection: average instances per labeled image of each category id. */
  perCategory?: ReadonlyMap<number, number>;
  /** Keypoints: average number of labeled keypoints (v > 0) per labeled instance. */
  keypointsPerInstance?: number;
}

/**
 * How a threshold was reached.
 * - `matched`: the kept count is the closest count any threshold can give to the target.
 * - `exhausted`: the target asks for more than all predictions; every prediction is kept.
 * - `no-candidates`: there is nothing to threshold (no scores, or no units to average over);
 *   nothing is kept.
 * - `tied`: the scores cannot rank the predictions where the target falls — every score is
 *   equal, or the top tie group alone overshoots the target so keeping nothing was closest.
 *   What is kept is not a calibrated choice; `calibrationWarnings` says so.
 */
export type ThresholdStatus = 'matched' | 'exhausted' | 'no-candidates' | 'tied';

/** Kept count (per unit) as a function of the threshold, sampled for plotting. */
export interface ThresholdCurve {
  /** Increasing thresholds, evenly spaced from the lowest to the highest score. */
  thresholds: number[];
  /** `count(score >= thresholds[i]) / units`. */
  perUnit: number[];
}

/** One count-matched threshold: keep a prediction iff `score >= threshold`. */
export interface ThresholdChoice {
  /** `null` means keep nothing (no threshold value keeps zero in a finite way). */
  threshold: number | null;
  status: ThresholdStatus;
  /** Target average per unit (per image, or per kept instance for keypoints). */
  target: number;
  /** Number of units the average is taken over. */
  units: number;
  /** Number of candidate scores. */
  candidates: number;
  /** Number of scores kept. */
  kept: number;
  /** Average per unit before thresholding: `candidates / units` (0 when units = 0). */
  before: number;
  /** Average per unit after thresholding: `kept / units` (0 when units = 0). */
  after: number;
  /** How many kept scores equal the threshold exactly (a tie group is kept or dropped whole). */
  tiedAtThreshold: number;
  curve: ThresholdCurve;
}

/** Instance threshold of one category (detection) or of all instances (`categoryId: null`). */
export interface InstanceThreshold extends ThresholdChoice {
  categoryId: number | null;
}

/** The calibration record: every threshold with the counts before/after and its curve. */
export interface Calibration {
  task: SelectionTask;
  /** Number of unlabeled images predictions were read for. */
  images: number;
  /** Keypoints: one entry with `categoryId: null`. Detection: one per category, by id. */
  instanceThresholds: InstanceThreshold[];
  /** Keypoints only: the keypoint-score threshold, averaged over kept instances. */
  keypointThreshold: ThresholdChoice | null;
  /** All categories together: instances per image before/after instance thresholding. */
  instancesPerImage: { target: number; before: number; after: number };
  /** Thresholds that are not a real count match (no predictions, tied scores), in words. */
  warnings: string[];
}

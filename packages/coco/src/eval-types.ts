// The output of an evaluation: pycocotools' `eval` dict as flat typed arrays.

import type { EvalParams } from './params.js';

/**
 * The accumulated evaluation, pycocotools' `COCOeval.eval`. Arrays are C-order flat:
 * `precision[t][r][k][a][m]` is at `(((t·R + r)·K + k)·A + a)·M + m`, `recall[t][k][a][m]`
 * at `((t·K + k)·A + a)·M + m`. A cell is -1 where the category has no non-ignored
 * ground truth in that area range.
 */
export interface CocoEvalResult {
  params: EvalParams;
  /** `[T, R, K, A, M]`: thresholds, recall thresholds, categories (1 if !useCats), area ranges, maxDets. */
  counts: [number, number, number, number, number];
  precision: Float64Array;
  recall: Float64Array;
  /** Score of the detection at which each precision cell was read. */
  scores: Float64Array;
  /** Results whose category is not among `params.catIds` (pycocotools drops them silently). */
  ignoredResults: number;
}

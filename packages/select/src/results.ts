// Raw predictions as a COCO results list, for evaluating a teacher or student with
// @omnidistill/coco's COCOeval (single pass or multi-transform, same records).
import type { CocoResult } from '@omnidistill/coco';
import { expectOneOf, expectFiniteNumber } from '@omnidistill/core';
import type { PredictionSource } from './calibrate.js';
import type { SelectionTask } from './types.js';
import { validateRawImagePrediction } from './validate.js';

/** Options of {@link toCocoResults}. */
export interface ResultsOptions {
  task: SelectionTask;
  /**
   * Leave out instances scoring below this (default: keep all; COCOeval keeps the top
   * `maxDets` per image anyway).
   */
  minScore?: number;
}

/**
 * Converts raw predictions to COCO results: `bbox` as `[x, y, w, h]`, `score` = the
 * instance score (Detectron's default keypoint confidence, "bbox"), and for keypoints the
 * `(x, y, keypoint score)` triples as predicted — COCOeval ignores the third value.
 */
export async function toCocoResults(source: PredictionSource, options: ResultsOptions): Promise<CocoResult[]> {
  const task = expectOneOf(options?.task, 'options.task', ['keypoints', 'detection'] as const);
  const minScore = options.minScore === undefined ? -Infinity : expectFiniteNumber(options.minScore, 'options.minScore');
  const out: CocoResult[] = [];
  let index = 0;
  for await (const record of source) {
    const pred = validateRawImagePrediction(record, `predictions[${index++}]`);
    for (const inst of pred.instances) {
      if (inst.score < minScore) continue;
      const [x1, y1, x2, y2] = inst.bbox;
      const result: CocoResult = { image_id: pred.imageId, category_id: inst.categoryId, score: inst.score, bbox: [x1, y1, x2 - x1, y2 - y1] };
      if (task === 'keypoints' && inst.keypoints) result.keypoints = Float64Array.from(inst.keypoints);
      out.push(result);
    }
  }
  return out;
}

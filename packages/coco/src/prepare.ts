// Checks shared by both evaluators before any matching: results against the ground truth
// and the parameters (keypoint counts vs sigmas).
import { OmniRangeError } from '@omnidistill/core';
import type { CocoDataset, CocoResult } from './types.js';
import type { EvalParams } from './params.js';

/** Throws when a keypoint evaluation meets a ground truth or result it cannot score. */
export function checkKeypointInputs(gt: CocoDataset, results: readonly CocoResult[], p: EvalParams): void {
  if (p.iouType !== 'keypoints') return;
  const k = p.kptOksSigmas.length;
  const cats = new Set(p.catIds);
  gt.annotations.forEach((a, i) => {
    if (!cats.has(a.category_id)) return;
    if (a.keypoints === undefined) {
      throw new OmniRangeError(`annotations[${i}].keypoints`, `${3 * k} numbers for a keypoints evaluation of category ${a.category_id} (or leave it out of params.catIds)`, a.keypoints);
    }
    if (a.keypoints.length !== 3 * k) {
      throw new OmniRangeError(`annotations[${i}].keypoints`, `${3 * k} numbers (${k} × 3, one triple per OKS sigma)`, a.keypoints.length);
    }
  });
  results.forEach((r, i) => {
    if (r.keypoints === undefined || r.keypoints.length !== 3 * k) {
      throw new OmniRangeError(`results[${i}].keypoints`, `${3 * k} numbers (${k} × 3, one triple per OKS sigma)`, r.keypoints?.length ?? r.keypoints);
    }
  });
}

/** Throws when a result names an image the ground truth lacks (pycocotools: "Results do not correspond to current coco set"). */
export function checkResultImages(gt: CocoDataset, results: readonly CocoResult[]): void {
  const ids = new Set<number>();
  for (const img of gt.images) ids.add(img.id);
  for (let i = 0; i < results.length; i++) {
    if (!ids.has(results[i].image_id)) {
      throw new OmniRangeError(`results[${i}].image_id`, 'the id of an image in the ground truth', results[i].image_id);
    }
  }
}

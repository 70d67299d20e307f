// Checks shared by both evaluators before any matching: results against the ground truth
// and the parameters (keypoint counts vs sigmas). Results come as records (both evaluators)
// or as columns (the fast one); each check has one wording for both.
import { OmniRangeError } from '@omnidistill/core';
import type { CocoDataset, CocoResult } from './types.js';
import type { EvalParams } from './params.js';
import type { CocoResultsColumns } from './results-columns.js';
import type { AnnotationColumns } from './dataset-columns.js';

/** Throws when a keypoint evaluation meets a ground truth or result it cannot score. */
export function checkKeypointInputs(gt: CocoDataset, results: readonly CocoResult[], p: EvalParams): void {
  const anns = gt.annotations;
  checkGroundTruthKeypoints(anns.length, (i) => anns[i].category_id, (i) => anns[i].keypoints?.length, p);
  if (p.iouType !== 'keypoints') return;
  const k = p.kptOksSigmas.length;
  results.forEach((r, i) => {
    if (r.keypoints === undefined || r.keypoints.length !== 3 * k) throw keypointCountError(i, k, r.keypoints?.length);
  });
}

/** checkKeypointInputs for annotations and results as columns. */
export function checkKeypointColumns(anns: AnnotationColumns, c: CocoResultsColumns, p: EvalParams): void {
  const kpLength = (i: number): number | undefined => (anns.kpCount[i] < 0 ? undefined : anns.kpCount[i]);
  checkGroundTruthKeypoints(anns.annId.length, (i) => anns.annCategoryId[i], kpLength, p);
  if (p.iouType !== 'keypoints') return;
  const k = p.kptOksSigmas.length;
  for (let i = 0; i < c.kpCount.length; i++) {
    const n = c.kpCount[i];
    if (n !== 3 * k) throw keypointCountError(i, k, n < 0 ? undefined : n);
  }
}

function keypointCountError(i: number, k: number, received: number | undefined): OmniRangeError {
  return new OmniRangeError(`results[${i}].keypoints`, `${3 * k} numbers (${k} × 3, one triple per OKS sigma)`, received);
}

/** Every evaluated annotation (of the n, by category and keypoint count) has 3 numbers per OKS sigma. */
function checkGroundTruthKeypoints(n: number, categoryOf: (i: number) => number, kpLength: (i: number) => number | undefined, p: EvalParams): void {
  if (p.iouType !== 'keypoints') return;
  const k = p.kptOksSigmas.length;
  const cats = new Set(p.catIds);
  for (let i = 0; i < n; i++) {
    const category = categoryOf(i);
    if (!cats.has(category)) continue;
    const length = kpLength(i);
    if (length === undefined) {
      throw new OmniRangeError(`annotations[${i}].keypoints`, `${3 * k} numbers for a keypoints evaluation of category ${category} (or leave it out of params.catIds)`, undefined);
    }
    if (length !== 3 * k) {
      throw new OmniRangeError(`annotations[${i}].keypoints`, `${3 * k} numbers (${k} × 3, one triple per OKS sigma)`, length);
    }
  }
}

/** Throws when a result names an image the ground truth lacks (pycocotools: "Results do not correspond to current coco set"). */
export function checkResultImages(gt: CocoDataset, results: readonly CocoResult[]): void {
  checkImageIds(gt, results.length, (i) => results[i].image_id);
}

/** checkResultImages for results as columns. */
export function checkResultImageColumns(gt: CocoDataset, c: CocoResultsColumns): void {
  checkImageIds(gt, c.imageId.length, (i) => c.imageId[i]);
}

function checkImageIds(gt: CocoDataset, n: number, imageId: (i: number) => number): void {
  const ids = new Set<number>();
  for (const img of gt.images) ids.add(img.id);
  for (let i = 0; i < n; i++) {
    if (!ids.has(imageId(i))) {
      throw new OmniRangeError(`results[${i}].image_id`, 'the id of an image in the ground truth', imageId(i));
    }
  }
}

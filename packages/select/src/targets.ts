// The labeled set's statistics that calibration matches (DESIGN.md data flow step 2).
import { OmniRangeError, OmniTypeError } from '@omnidistill/core';
import type { CocoDatasetLike } from './coco-shape.js';
import type { LabeledTargets } from './types.js';

/**
 * Computes the calibration targets from a labeled COCO dataset.
 *
 * Counting rules (the generated set is measured the same way):
 * - crowd annotations (`iscrowd: 1`) are regions, not instances: never counted;
 * - every other annotation is an instance, including keypoint instances with
 *   `num_keypoints: 0` (the generated set also keeps instances whose keypoints all fall
 *   below threshold);
 * - a labeled keypoint is one with visibility `v > 0`;
 * - `perCategory` has an entry for every category of the file (0 when it has no instance).
 */
export function targetsFromDataset(dataset: CocoDatasetLike): LabeledTargets {
  if (typeof dataset !== 'object' || dataset === null) throw new OmniTypeError('dataset', 'a COCO dataset object', dataset);
  for (const key of ['images', 'annotations', 'categories'] as const) {
    if (!Array.isArray(dataset[key])) throw new OmniTypeError(`dataset.${key}`, 'an array', dataset[key]);
  }
  const images = dataset.images.length;
  if (images === 0) throw new OmniRangeError('dataset.images', 'at least one labeled image', dataset.images);
  const perCategoryCount = new Map<number, number>(dataset.categories.map((c) => [c.id, 0]));
  let instances = 0;
  let keypoints = 0;
  dataset.annotations.forEach((a) => {
    if (a.iscrowd === 1) return;
    instances++;
    perCategoryCount.set(a.category_id, (perCategoryCount.get(a.category_id) ?? 0) + 1);
    const kps = a.keypoints;
    if (kps) for (let k = 2; k < kps.length; k += 3) if (kps[k] > 0) keypoints++;
  });
  return {
    instancesPerImage: instances / images,
    perCategory: new Map([...perCategoryCount].map(([id, n]) => [id, n / images])),
    keypointsPerInstance: instances === 0 ? 0 : keypoints / instances,
  };
}

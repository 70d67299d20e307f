// The labeled set's statistics that calibration matches (DESIGN.md data flow step 2),
// computed by @omnidistill/coco's `datasetStatistics`.
import { datasetStatistics, type CocoDataset, type DatasetStatistics } from '@omnidistill/coco';
import { OmniRangeError, OmniTypeError } from '@omnidistill/core';
import type { LabeledTargets } from './types.js';

/**
 * Calibration targets from `datasetStatistics` (crowd regions left out):
 * instances per image overall and per category (averaged over all images, zeros
 * included), and labeled (v > 0) keypoints per instance over the instances that carry
 * keypoints — for a keypoint dataset every instance, including `num_keypoints: 0` ones,
 * just as the generated set keeps instances whose keypoints all fall below threshold.
 */
export function targetsFromStatistics(stats: DatasetStatistics): LabeledTargets {
  if (typeof stats !== 'object' || stats === null) throw new OmniTypeError('stats', 'DatasetStatistics', stats);
  if (stats.images === 0) throw new OmniRangeError('stats.images', 'at least one labeled image', stats.images);
  return {
    instancesPerImage: stats.instancesPerImage.mean,
    perCategory: new Map(stats.perCategory.map((c) => [c.categoryId, c.instancesPerImage.mean])),
    keypointsPerInstance: stats.keypointsPerInstance.mean,
  };
}

/** {@link targetsFromStatistics} of a labeled COCO dataset. */
export function targetsFromDataset(dataset: CocoDataset): LabeledTargets {
  if (typeof dataset !== 'object' || dataset === null) throw new OmniTypeError('dataset', 'a COCO dataset object', dataset);
  for (const key of ['images', 'annotations', 'categories'] as const) {
    if (!Array.isArray(dataset[key])) throw new OmniTypeError(`dataset.${key}`, 'an array', dataset[key]);
  }
  if (dataset.images.length === 0) throw new OmniRangeError('dataset.images', 'at least one labeled image', dataset.images);
  return targetsFromStatistics(datasetStatistics(dataset));
}

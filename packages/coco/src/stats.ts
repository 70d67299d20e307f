// Dataset statistics the selection step calibrates against: how many instances an image
// holds (overall and per category) and how many keypoints an instance has labeled.
import type { CocoDataset } from './types.js';

/** A distribution of small counts: `histogram[c]` = how many items have count c. */
export interface CountDistribution {
  /** number of items counted (images, or instances) */
  items: number;
  total: number;
  mean: number;
  histogram: number[];
}

export interface CategoryStatistics {
  categoryId: number;
  name: string;
  /** instances of this category per image, over ALL images (zeros included) */
  instancesPerImage: CountDistribution;
}

export interface DatasetStatistics {
  images: number;
  /** counted instances (crowd regions left out unless includeCrowd) */
  instances: number;
  instancesPerImage: CountDistribution;
  perCategory: CategoryStatistics[];
  /** labeled (v > 0) keypoints per instance, over instances that carry keypoints */
  keypointsPerInstance: CountDistribution;
}

function distribution(counts: ArrayLike<number>): CountDistribution {
  const histogram: number[] = [];
  let total = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i];
    total += c;
    while (histogram.length <= c) histogram.push(0);
    histogram[c]++;
  }
  return { items: counts.length, total, mean: counts.length === 0 ? 0 : total / counts.length, histogram };
}

/**
 * Instances per image (overall and per category) and labeled keypoints per instance.
 * Crowd regions are not instances a detector should output, so they are left out
 * unless `includeCrowd` is set.
 */
export function datasetStatistics(ds: CocoDataset, options: { includeCrowd?: boolean } = {}): DatasetStatistics {
  const includeCrowd = options.includeCrowd ?? false;
  const imageIndex = new Map<number, number>();
  ds.images.forEach((img, i) => imageIndex.set(img.id, i));
  const catIndex = new Map<number, number>();
  ds.categories.forEach((c, i) => catIndex.set(c.id, i));
  const nI = ds.images.length;
  const perImage = new Int32Array(nI);
  const perCat = ds.categories.map(() => new Int32Array(nI));
  const kpCounts: number[] = [];
  let instances = 0;
  for (const a of ds.annotations) {
    if (a.iscrowd === 1 && !includeCrowd) continue;
    const i = imageIndex.get(a.image_id);
    const c = catIndex.get(a.category_id);
    if (i === undefined || c === undefined) continue;
    instances++;
    perImage[i]++;
    perCat[c][i]++;
    if (a.keypoints !== undefined) {
      let n = 0;
      for (let j = 2; j < a.keypoints.length; j += 3) if (a.keypoints[j] > 0) n++;
      kpCounts.push(n);
    }
  }
  return {
    images: nI,
    instances,
    instancesPerImage: distribution(perImage),
    perCategory: ds.categories.map((c, k) => ({ categoryId: c.id, name: c.name, instancesPerImage: distribution(perCat[k]) })),
    keypointsPerInstance: distribution(kpCounts),
  };
}

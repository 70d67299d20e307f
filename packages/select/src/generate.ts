// Pass 2 of selection: apply the calibrated thresholds and emit the generated labels as a
// plain COCO ground-truth dataset (REFERENCE.md §1 steps 4–5).
import { OmniRangeError, OmniTypeError, expectFiniteNumber } from '@omnidistill/core';
import type { PredictionSource } from './calibrate.js';
import type { CocoCategory } from '@omnidistill/coco';
import type { GeneratedAnnotation, GeneratedDataset } from './coco-shape.js';
import { passes } from './threshold.js';
import type { Calibration, RawImagePrediction, RawInstance } from './types.js';
import { validateRawImagePrediction } from './validate.js';
import { writeDatasetStream } from './write.js';

/** Options of {@link generateLabels}. */
export interface GenerateOptions {
  /** Categories of the generated file (normally the labeled set's, keypoint names included). */
  categories: CocoCategory[];
  /**
   * Images with no kept instance stay in the generated set with zero annotations (the
   * default: they are real "nothing here" evidence, and the image count stays that of
   * the unlabeled set). `true` leaves them out.
   */
  dropEmptyImages?: boolean;
  /**
   * Keypoint instances: `area = keypointAreaFactor × box area`. COCO's person `area` is
   * the segmentation area, which generated labels do not have; the box area (factor 1,
   * the default) is the natural stand-in and is what COCOeval's OKS scale and area
   * ranges then see. Detection instances always use the box area.
   */
  keypointAreaFactor?: number;
  /** Copy each instance's score into its annotation as `score` (default false). */
  includeScores?: boolean;
  /** The `info` block of the file (default: a one-line description, no timestamp, so reruns are byte-identical). */
  info?: Record<string, unknown>;
}

/**
 * Applies `calibration` to the raw predictions (a second pass over the same source) and
 * returns the generated-labels COCO dataset.
 *
 * - An instance is kept iff its score passes its threshold (the global one for keypoints,
 *   its category's for detection; a category without a threshold is dropped).
 * - Keypoints: kept keypoints are `(x, y, 2)`; below-threshold ones become `(0, 0, 0)`;
 *   `num_keypoints` counts the kept ones. An instance with no kept keypoint is still a
 *   kept instance (its box is a label) with `num_keypoints: 0`.
 * - `bbox` is COCO `[x, y, w, h]`; annotation ids run from 1 in source order, so the same
 *   predictions give the same file.
 */
export async function generateLabels(source: PredictionSource, calibration: Calibration, options: GenerateOptions): Promise<GeneratedDataset> {
  const dataset: GeneratedDataset = { info: infoOf(options), images: [], annotations: [], categories: options.categories };
  for await (const { image, annotations } of selectedRecords(source, calibration, options)) {
    dataset.images.push(image);
    for (const a of annotations) dataset.annotations.push(a);
  }
  return dataset;
}

/** Counts of a generated-labels file written by {@link writeGeneratedLabelsStreaming}. */
export interface GeneratedCounts {
  images: number;
  annotations: number;
}

/**
 * Writes the same file as `writeGeneratedLabels(path, await generateLabels(openSource(), …))`,
 * byte for byte, without holding the dataset: `openSource` is read twice (images, then
 * annotations) and each record is written as it is selected, so memory does not grow with
 * the number of images.
 */
export async function writeGeneratedLabelsStreaming(
  path: string,
  openSource: () => PredictionSource,
  calibration: Calibration,
  options: GenerateOptions,
): Promise<GeneratedCounts> {
  const counts: GeneratedCounts = { images: 0, annotations: 0 };
  async function* images() {
    for await (const r of selectedRecords(openSource(), calibration, options)) {
      counts.images++;
      yield r.image;
    }
  }
  async function* annotations() {
    for await (const r of selectedRecords(openSource(), calibration, options)) {
      counts.annotations += r.annotations.length;
      yield* r.annotations;
    }
  }
  await writeDatasetStream(path, { info: infoOf(options), images: images(), annotations: annotations(), categories: options.categories });
  return counts;
}

function infoOf(options: GenerateOptions): Record<string, unknown> {
  return options.info ?? { description: 'omnidistill generated labels (data distillation)' };
}

/**
 * The selection of every record of `source`, in source order: its image entry and kept
 * annotations (ids from 1 across the stream). Images left out by `dropEmptyImages` are not
 * yielded. Throws at the end when the source has another number of records than the
 * calibration was made on.
 */
async function* selectedRecords(
  source: PredictionSource,
  calibration: Calibration,
  options: GenerateOptions,
): AsyncGenerator<{ image: GeneratedDataset['images'][number]; annotations: GeneratedAnnotation[] }> {
  if (!Array.isArray(options?.categories)) throw new OmniTypeError('options.categories', 'an array of COCO categories', options?.categories);
  const areaFactor = options.keypointAreaFactor ?? 1;
  expectFiniteNumber(areaFactor, 'options.keypointAreaFactor');
  if (areaFactor <= 0) throw new OmniRangeError('options.keypointAreaFactor', 'a positive number', areaFactor);
  const thresholdOf = instanceThresholdLookup(calibration);
  const keypointThreshold = calibration.keypointThreshold?.threshold ?? null;
  let index = 0;
  let nextId = 1;
  for await (const record of source) {
    const pred = validateRawImagePrediction(record, `predictions[${index++}]`);
    const kept = pred.instances.filter((inst) => passes(inst.score, thresholdOf(inst.categoryId)));
    if (kept.length === 0 && options.dropEmptyImages) continue;
    const annotations = kept.map((inst) => {
      const annotation = toAnnotation(inst, pred, nextId++, calibration.task === 'keypoints', keypointThreshold, areaFactor);
      if (options.includeScores) annotation.score = inst.score;
      return annotation;
    });
    yield { image: { id: pred.imageId, file_name: pred.fileName, width: pred.width, height: pred.height }, annotations };
  }
  if (index !== calibration.images) {
    throw new OmniRangeError('source', `the ${calibration.images} records the calibration was made on`, index);
  }
}

/** Maps a category id to its instance threshold (`null`: keep nothing). */
function instanceThresholdLookup(calibration: Calibration): (categoryId: number) => number | null {
  // Keypoints, and detection calibrated with one shared threshold: one entry with categoryId null.
  if (calibration.task === 'keypoints' || calibration.instanceThresholds.some((t) => t.categoryId === null)) {
    const global = calibration.instanceThresholds[0]?.threshold ?? null;
    return () => global;
  }
  const byId = new Map(calibration.instanceThresholds.map((t) => [t.categoryId, t.threshold]));
  return (id) => byId.get(id) ?? null;
}

function toAnnotation(
  inst: RawInstance,
  image: RawImagePrediction,
  id: number,
  withKeypoints: boolean,
  keypointThreshold: number | null,
  areaFactor: number,
): GeneratedAnnotation {
  const [x1, y1, x2, y2] = inst.bbox;
  const w = x2 - x1;
  const h = y2 - y1;
  const annotation: GeneratedAnnotation = {
    id,
    image_id: image.imageId,
    category_id: inst.categoryId,
    bbox: [x1, y1, w, h],
    area: w * h * (withKeypoints ? areaFactor : 1),
    iscrowd: 0,
  };
  if (withKeypoints) {
    const src = inst.keypoints ?? [];
    const keypoints = new Float64Array(src.length);
    let count = 0;
    for (let k = 0; k < src.length; k += 3) {
      const keep = passes(src[k + 2], keypointThreshold);
      keypoints[k] = keep ? src[k] : 0;
      keypoints[k + 1] = keep ? src[k + 1] : 0;
      keypoints[k + 2] = keep ? 2 : 0;
      if (keep) count++;
    }
    annotation.keypoints = keypoints;
    annotation.num_keypoints = count;
  }
  return annotation;
}

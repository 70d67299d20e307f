// COCO AP of an exported model on a labeled split, single pass or with test-time
// multi-transform inference (the paper's Tables 1a/3/4a columns).
import { join } from 'node:path';
import { createParams, evaluate, readCocoDataset, summarize } from '@omnidistill/coco';
import type { CocoDataset, CocoResult } from '@omnidistill/coco';
import { decodeImage, detectAllTransforms, predictDetections, predictKeypoints } from '@omnidistill/infer';
import type { DecodedImage, DetectorSession, KeypointSession, Rois } from '@omnidistill/infer';
import type { TransformPlan } from '@omnidistill/transforms';
import { isIdentity } from '@omnidistill/transforms';

/** A labeled split on disk: COCO file + the folder its `file_name`s are relative to. */
export interface SplitPaths {
  annotations: string;
  imageDir: string;
}

export interface ApResult {
  /** pycocotools' summary stats (12 for bbox, 10 for keypoints). */
  stats: number[];
  /** The printed summary. */
  text: string;
  images: number;
  results: number;
  seconds: number;
}

type Tick = (done: number, total: number) => void;

/** The ground-truth boxes of one image as `[N, 4]` x1, y1, x2, y2 (non-crowd, non-empty). */
export function gtRois(dataset: CocoDataset, imageId: number, categoryId: number): Float64Array {
  const anns = dataset.annotations.filter(
    (a) => a.image_id === imageId && a.category_id === categoryId && !a.iscrowd && a.bbox[2] > 0 && a.bbox[3] > 0,
  );
  const rois = new Float64Array(anns.length * 4);
  anns.forEach((a, i) => rois.set([a.bbox[0], a.bbox[1], a.bbox[0] + a.bbox[2], a.bbox[1] + a.bbox[3]], 4 * i));
  return rois;
}

/**
 * The RoIs of one validation image for end-to-end keypoint AP (e.g. a detector's person
 * boxes); each instance is then scored by its box score, as Mask R-CNN scores keypoints.
 */
export type EvalRois = (imageId: number, image: DecodedImage) => Promise<Pick<Rois, 'boxes' | 'scores'>>;

/**
 * Keypoint AP. Without `rois`, the ground-truth boxes are the RoIs (as DEMO-NOTES measured;
 * it isolates the keypoint model) and an instance's score is the mean of its keypoints'
 * spatial-softmax probabilities. With `rois` (a detector's boxes), it is the end-to-end
 * number the paper reports.
 */
export async function keypointAp(model: KeypointSession, split: SplitPaths, plan: TransformPlan, tick?: Tick, rois?: EvalRois): Promise<ApResult> {
  const t0 = performance.now();
  const gt = await readCocoDataset(split.annotations);
  const categoryId = model.manifest.keypoints.categoryId;
  const results: CocoResult[] = [];
  let done = 0;
  for (const img of gt.images) {
    const given = rois ? null : gtRois(gt, img.id, categoryId);
    if (given === null || given.length > 0) {
      const decoded = await decodeImage(join(split.imageDir, img.file_name));
      if (!decoded.ok) throw new Error(`${img.file_name}: ${decoded.failure.message}`);
      const found = rois ? await rois(img.id, decoded.image) : null;
      const boxes = found ? found.boxes : given!;
      if (boxes.length === 0) {
        tick?.(++done, gt.images.length);
        continue;
      }
      const kp = await predictKeypoints(model, decoded.image, boxes, { plan, keypointScore: 'probability' });
      for (let i = 0; i < kp.n; i++) {
        const keypoints = Float64Array.from(kp.data.subarray(i * kp.k * 3, (i + 1) * kp.k * 3));
        const score = found ? found.scores[i] : meanProbability(keypoints);
        results.push({ image_id: img.id, category_id: categoryId, score, keypoints });
      }
    }
    tick?.(++done, gt.images.length);
  }
  const params = createParams('keypoints', gt, { catIds: [categoryId] });
  const summary = summarize(evaluate(gt, results, params));
  return { stats: [...summary.stats], text: summary.text, images: gt.images.length, results: results.length, seconds: (performance.now() - t0) / 1000 };
}

function meanProbability(keypoints: Float64Array): number {
  let sum = 0;
  for (let j = 2; j < keypoints.length; j += 3) sum += keypoints[j];
  return sum / (keypoints.length / 3);
}

/**
 * Box AP of a detector. A single-pass plan (identity only) scores the detector's own
 * output; a multi-transform plan merges every transform's boxes (union → NMS → voting).
 */
export async function boxAp(detector: DetectorSession, split: SplitPaths, plan: TransformPlan, tick?: Tick): Promise<ApResult> {
  const t0 = performance.now();
  const gt = await readCocoDataset(split.annotations);
  const single = plan.transforms.length === 1 && isIdentity(plan.transforms[0]);
  const results: CocoResult[] = [];
  let done = 0;
  for (const img of gt.images) {
    const decoded = await decodeImage(join(split.imageDir, img.file_name));
    if (!decoded.ok) throw new Error(`${img.file_name}: ${decoded.failure.message}`);
    const d = single
      ? (await detectAllTransforms(detector, decoded.image, plan))[0].detections
      : await predictDetections(detector, decoded.image, { plan });
    for (let i = 0; i < d.scores.length; i++) {
      const [x1, y1, x2, y2] = [d.boxes[4 * i], d.boxes[4 * i + 1], d.boxes[4 * i + 2], d.boxes[4 * i + 3]];
      results.push({ image_id: img.id, category_id: d.labels[i], score: d.scores[i], bbox: [x1, y1, x2 - x1, y2 - y1] });
    }
    tick?.(++done, gt.images.length);
  }
  const summary = summarize(evaluate(gt, results, createParams('bbox', gt)));
  return { stats: [...summary.stats], text: summary.text, images: gt.images.length, results: results.length, seconds: (performance.now() - t0) / 1000 };
}

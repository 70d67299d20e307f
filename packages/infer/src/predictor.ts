// Per-image predictors for the runner: decoded image in, raw instances (every score kept) out.
import type { RawInstance } from '@omnidistill/select';
import type { DecodedImage } from './image.js';
import {
  detectRois,
  keypointRunner,
  predictDetections,
  predictKeypoints,
  type DetectionInferenceOptions,
  type RoiOptions,
  type Rois,
} from './multi.js';
import type { KeypointInferenceOptions } from './keypoint-options.js';
import { predictRegressedKeypoints, type RegressedInferenceOptions } from './regressed.js';
import type { DetectorSession, KeypointSession } from './session.js';
import type { ImageEntry } from './shards.js';

/** Where the RoIs of the keypoint pass come from. */
export type RoiSource =
  | { kind: 'detector'; detector: DetectorSession; options?: RoiOptions }
  /** Given boxes (ground truth, an external detector): `[N, 4]` original-image pixels. */
  | { kind: 'given'; rois: (entry: ImageEntry, image: DecodedImage) => Promise<Rois> | Rois };

export type ImagePredictor = (image: DecodedImage, entry: ImageEntry) => Promise<RawInstance[]>;

/**
 * Keypoint predictor: RoIs from one identity detector pass (default restricted to the
 * keypoint model's category) or given, then multi-transform keypoints. Each instance is
 * the RoI as `bbox`, its box score, and `(x, y, score)` per keypoint. Self-detecting layouts
 * (keypoint R-CNN, YOLO-pose: `layoutOf(manifest).traits.selfDetecting`) take `null` as the
 * RoI source: their instances are fused across transforms by matching (regressed.ts).
 */
export function keypointPredictor(model: KeypointSession, roiSource: RoiSource | null, options: KeypointInferenceOptions & Omit<RegressedInferenceOptions, 'plan'>): ImagePredictor {
  const categoryId = model.manifest.keypoints.categoryId;
  const runner = keypointRunner(model);
  if (runner.kind === 'regressed') {
    if (roiSource !== null) throw new Error(`${model.source}: layout "${model.manifest.layout}" finds the people itself; give no RoI source (no --detector / --boxes)`);
    return async (image) => {
      const found = await predictRegressedKeypoints(model, image, options);
      return Array.from({ length: found.scores.length }, (_, i) => ({
        bbox: box(found.boxes, i),
        score: found.scores[i],
        categoryId,
        keypoints: Array.from(found.keypoints.data.subarray(i * found.keypoints.k * 3, (i + 1) * found.keypoints.k * 3)),
      }));
    };
  }
  if (roiSource === null) throw new Error(`${model.source}: layout "${model.manifest.layout}" needs RoIs: give a detector or boxes`);
  return async (image, entry) => {
    const rois =
      roiSource.kind === 'detector'
        ? await detectRois(roiSource.detector, image, { categoryIds: [categoryId], ...roiSource.options })
        : await roiSource.rois(entry, image);
    const kps = await predictKeypoints(model, image, rois.boxes, options);
    const out: RawInstance[] = [];
    for (let i = 0; i < kps.n; i++) {
      const keypoints = Array.from(kps.data.subarray(i * kps.k * 3, (i + 1) * kps.k * 3));
      out.push({ bbox: box(rois.boxes, i), score: rois.scores[i], categoryId: rois.categoryIds[i], keypoints });
    }
    return out;
  };
}

/** Detection predictor: the detector under every transform, merged. */
export function detectionPredictor(detector: DetectorSession, options: DetectionInferenceOptions): ImagePredictor {
  return async (image) => {
    const d = await predictDetections(detector, image, options);
    const out: RawInstance[] = [];
    for (let i = 0; i < d.scores.length; i++) out.push({ bbox: box(d.boxes, i), score: d.scores[i], categoryId: d.labels[i] });
    return out;
  };
}

function box(boxes: ArrayLike<number>, i: number): [number, number, number, number] {
  return [boxes[4 * i], boxes[4 * i + 1], boxes[4 * i + 2], boxes[4 * i + 3]];
}

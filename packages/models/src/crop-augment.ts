// Training-time geometry of a top-down person crop: the box jittered, made to the input's
// aspect and padded (infer's cropFrame, the inference side's crop), then randomly scaled,
// rotated about its centre and mirrored (SimpleBaseline / HRNet / MMPose's top-down
// augmentation). One affine map serves both directions: crop pixels → image for resampling,
// image keypoints → crop pixels for the targets, so the two can never disagree.
import { OmniRangeError } from '@omnidistill/core';
import { cropFrame } from '@omnidistill/infer';
import type { Rng } from '@omnidistill/train';

/** Random crop transforms of top-down training (manifest `training.augmentation`). */
export interface CropAugmentation {
  /** Horizontal flip probability (channels swapped by the schema's flip pairs). */
  readonly flipProbability: number;
  /** Box jitter: each side moves by U(−j, j) × the box size, before the aspect fix. */
  readonly jitter: number;
  /** Crop size × clip(1 + f·N(0, 1), 1 − f, 1 + f) (a larger crop shows a smaller person). 0: off. */
  readonly scaleFactor: number;
  /** Rotation in degrees: clip(r·N(0, 1), −2r, 2r), applied with `rotationProbability`. 0: off. */
  readonly rotationFactor: number;
  readonly rotationProbability: number;
}

/**
 * MMPose 0.x's top-down COCO pipeline (TopDownRandomFlip 0.5, TopDownGetRandomScaleRotation
 * rot_factor 40, scale_factor 0.5, rot_prob 0.6), with the trainer's box jitter: for long
 * schedules on real data (MMPose trains 210 epochs).
 */
export const MMPOSE_CROP_AUGMENTATION: CropAugmentation = {
  flipProbability: 0.5,
  jitter: 0.05,
  scaleFactor: 0.5,
  rotationFactor: 40,
  rotationProbability: 0.6,
};

/**
 * Defaults: flip and box jitter, no scale or rotation. Measured on the 66 k-parameter top-down
 * model of tools/teachers/train_keypoints.py re-initialised and trained 800 × 16 crops (the demo's
 * --quick student schedule) on the synthetic people, keypoint AP with GT boxes single / ± flip:
 * these defaults 35.8 / 38.8, MMPose's scale and rotation 17.5 / 20.9 — the short schedule cannot
 * absorb them (see the package README for the other settings measured).
 */
export const CROP_AUGMENTATION_DEFAULTS: CropAugmentation = {
  flipProbability: 0.5,
  jitter: 0.05,
  scaleFactor: 0,
  rotationFactor: 0,
  rotationProbability: 0.6,
};

/** No random transform at all (tests, and fine-tuning that must see the inference crops). */
export const NO_CROP_AUGMENTATION: CropAugmentation = { flipProbability: 0, jitter: 0, scaleFactor: 0, rotationFactor: 0, rotationProbability: 0 };

/** Named settings a manifest may give instead of an object (`"augmentation": "mmpose"`). */
export const CROP_AUGMENTATION_PRESETS: Readonly<Record<string, CropAugmentation>> = {
  default: CROP_AUGMENTATION_DEFAULTS,
  mmpose: MMPOSE_CROP_AUGMENTATION,
  none: NO_CROP_AUGMENTATION,
};

const RANGES: Record<keyof CropAugmentation, [number, number, string]> = {
  flipProbability: [0, 1, 'a probability in [0, 1]'],
  jitter: [0, 0.5, 'a fraction of the box in [0, 0.5]'],
  scaleFactor: [0, 0.99, 'a number in [0, 1) (crop size × 1 ± f)'],
  rotationFactor: [0, 90, 'degrees in [0, 90] (rotations up to twice this)'],
  rotationProbability: [0, 1, 'a probability in [0, 1]'],
};

/**
 * A preset's name, or fields over the defaults, each range-checked (errors name `path.field`).
 *
 * @example
 * resolveCropAugmentation('mmpose'); // MMPOSE_CROP_AUGMENTATION
 * resolveCropAugmentation({ scaleFactor: 0.25 }); // the defaults with crops scaled by 1 ± 0.25
 */
export function resolveCropAugmentation(settings: string | Partial<Record<keyof CropAugmentation, unknown>> = {}, path = 'augmentation'): CropAugmentation {
  if (typeof settings === 'string') {
    const preset = CROP_AUGMENTATION_PRESETS[settings];
    if (!preset) throw new OmniRangeError(path, `a preset (${Object.keys(CROP_AUGMENTATION_PRESETS).map((n) => `"${n}"`).join(', ')}) or an object of fields`, settings);
    return preset;
  }
  const out: Record<string, number> = { ...CROP_AUGMENTATION_DEFAULTS };
  for (const [key, value] of Object.entries(settings)) {
    const range = RANGES[key as keyof CropAugmentation];
    if (!range) throw new OmniRangeError(`${path}.${key}`, `one of the fields ${Object.keys(RANGES).join(', ')}`, key);
    if (value === undefined) continue;
    if (typeof value !== 'number' || !(value >= range[0] && value <= range[1])) throw new OmniRangeError(`${path}.${key}`, range[2], value);
    out[key] = value;
  }
  return out as unknown as CropAugmentation;
}

/**
 * One sampled crop: image position of the crop's centre, its size in image pixels (along its
 * own axes), its rotation (radians, counter-clockwise in the image as displayed, i.e. the crop's
 * x axis points along (cos θ, −sin θ) in image coordinates whose y grows downwards) and mirroring.
 */
export interface CropPose {
  readonly cx: number;
  readonly cy: number;
  readonly w: number;
  readonly h: number;
  readonly angle: number;
  readonly flip: boolean;
}

/** Crop pixel space of an H × W input; continuous coordinates, pixel (u, v) centred at (u + 0.5, v + 0.5). */
export interface CropSize {
  readonly height: number;
  readonly width: number;
}

/** Crop position (continuous) → image position (continuous), as x = a·u + b·v + c, y = d·u + e·v + f. */
export interface Affine {
  readonly a: number;
  readonly b: number;
  readonly c: number;
  readonly d: number;
  readonly e: number;
  readonly f: number;
}

function clippedNormal(rng: Rng, sigma: number, limit: number): number {
  return Math.max(-limit, Math.min(limit, sigma * rng.nextNormal()));
}

/**
 * Samples the crop of `box` (x1 y1 x2 y2): jittered, aspect-fixed and padded like inference's
 * crop, then scaled, rotated and flipped at random. Every random draw is made whatever the
 * settings, so changing one setting does not reshuffle the others' draws.
 */
export function sampleCropPose(box: readonly number[], input: CropSize, padding: number, aug: CropAugmentation, rng: Rng): CropPose {
  const [x1, y1, x2, y2] = box;
  const bw = x2 - x1;
  const bh = y2 - y1;
  const d = () => (2 * rng.nextFloat() - 1) * aug.jitter;
  const jittered = [x1 + d() * bw, y1 + d() * bh, x2 + d() * bw, y2 + d() * bh];
  const frame = cropFrame(jittered, input, padding);
  const scale = 1 + clippedNormal(rng, aug.scaleFactor, aug.scaleFactor);
  const rotate = rng.nextFloat() < aug.rotationProbability;
  const degrees = clippedNormal(rng, aug.rotationFactor, 2 * aug.rotationFactor);
  const flip = rng.nextFloat() < aug.flipProbability;
  return { cx: frame.cx, cy: frame.cy, w: frame.w * scale, h: frame.h * scale, angle: rotate ? (degrees * Math.PI) / 180 : 0, flip };
}

/**
 * The crop → image map of `pose`: crop position (u, v) → the crop's own axes (mirrored in u when
 * flipped), scaled to the crop's size, rotated by the pose's angle about its centre.
 */
export function cropToImage(pose: CropPose, input: CropSize): Affine {
  const sx = pose.w / input.width;
  const sy = pose.h / input.height;
  const cos = Math.cos(pose.angle);
  const sin = Math.sin(pose.angle);
  // Local offsets from the crop centre: lx = sx·(u − W/2) (negated when flipped), ly = sy·(v − H/2);
  // image = centre + (cos·lx + sin·ly, −sin·lx + cos·ly).
  const fx = pose.flip ? -sx : sx;
  const a = cos * fx;
  const b = sin * sy;
  const d = -sin * fx;
  const e = cos * sy;
  const u0 = input.width / 2;
  const v0 = input.height / 2;
  return { a, b, c: pose.cx - a * u0 - b * v0, d, e, f: pose.cy - d * u0 - e * v0 };
}

/** The inverse of an affine map (image position → crop position). */
export function invertAffine(m: Affine): Affine {
  const det = m.a * m.e - m.b * m.d;
  const a = m.e / det;
  const b = -m.b / det;
  const d = -m.d / det;
  const e = m.a / det;
  return { a, b, c: -(a * m.c + b * m.f), d, e, f: -(d * m.c + e * m.f) };
}

/**
 * Keypoints (x, y, v triples, image pixels) in the crop's pixel frame: positions mapped by the
 * inverse of {@link cropToImage}, and when the crop is mirrored, channel j takes its flip
 * partner `perm[j]`'s keypoint (the left wrist seen in a mirror is a right wrist).
 */
export function keypointsInCrop(keypoints: ArrayLike<number>, pose: CropPose, input: CropSize, perm: ArrayLike<number>): Float64Array {
  const m = invertAffine(cropToImage(pose, input));
  const k = keypoints.length / 3;
  const out = new Float64Array(3 * k);
  for (let j = 0; j < k; j++) {
    const src = pose.flip ? perm[j] : j;
    const x = keypoints[3 * src];
    const y = keypoints[3 * src + 1];
    out[3 * j] = m.a * x + m.b * y + m.c;
    out[3 * j + 1] = m.d * x + m.e * y + m.f;
    out[3 * j + 2] = keypoints[3 * src + 2];
  }
  return out;
}

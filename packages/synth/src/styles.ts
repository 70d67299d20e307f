// Style presets: the distributions a scene is drawn from. "keypoints" follows the data that
// worked in the prototype (DEMO-NOTES.md); "shifted" changes backgrounds, palettes and the
// pose distribution for the dissimilar-distribution experiment.
import { hsvToRgb, randomHsv, shade, type Rgb } from './colour.js';
import type { FigurePaints, PoseParams } from './figure.js';
import { applyTexture, fillColourField, type Canvas, type Paint, type Texture } from './raster.js';
import type { Rng } from './rng.js';

/** Every distribution a keypoint scene is drawn from. */
export interface KeypointStyle {
  readonly name: 'keypoints' | 'shifted';
  /** Probability weights of 0, 1, 2, … figures per image. */
  readonly instanceWeights: readonly number[];
  /** Figure height (head top to ankles) as a fraction of the image's shorter side: log-uniform [lo, hi]. */
  readonly figureHeight: readonly [number, number];
  /** Probability of a close-up figure (height drawn from `closeUpHeight`), truncated by the border. */
  readonly closeUpProb: number;
  readonly closeUpHeight: readonly [number, number];
  /** Probability that a figure is placed partly outside the image. */
  readonly truncationProb: number;
  /** Placement retries reject a figure whose box overlaps an earlier one by more than this IoU. */
  readonly maxOverlapIoU: number;
  readonly pose: PoseParams;
  /** Clutter shapes behind the figures: count drawn uniformly from [lo, hi]. */
  readonly clutterCount: readonly [number, number];
  /** Probability weights of 0, 1, 2, … occluders drawn over the figures. */
  readonly occluderWeights: readonly number[];
  /** Per-pixel noise standard deviation, uniform in [lo, hi] per image. */
  readonly noiseSigma: readonly [number, number];
  /** Probability of a light blur pass. */
  readonly blurProb: number;
  readonly figurePaints: (rng: Rng) => FigurePaints;
  readonly clutterColour: (rng: Rng) => Rgb;
  readonly background: (canvas: Canvas, rng: Rng) => void;
}

function paint(c: Rgb, texture?: Texture): Paint {
  return texture === undefined ? { r: c[0], g: c[1], b: c[2] } : { r: c[0], g: c[1], b: c[2], texture };
}

/** A stripe texture in a random direction, or none (probability 1 − p). */
export function maybeStripes(rng: Rng, p: number, amplitude: readonly [number, number], period: readonly [number, number]): Texture | undefined {
  if (!rng.chance(p)) return undefined;
  const a = rng.uniform(0, Math.PI);
  return { kind: 'stripes', cos: Math.cos(a), sin: Math.sin(a), period: rng.uniform(period[0], period[1]), amplitude: rng.uniform(amplitude[0], amplitude[1]) };
}

const DEFAULT_POSE: PoseParams = {
  tiltSd: 0.12,
  armAngle: [-0.3, 1.6],
  armRaiseProb: 0.25,
  elbowBend: [-1.2, 1.4],
  legAngle: [-0.05, 0.45],
  kneeBend: [-0.5, 0.5],
  headYawSd: 0.55,
  foreshortenMin: 0.7,
  aspect: [0.85, 1.2],
  thickness: [0.95, 1.4],
};

const SHIFTED_POSE: PoseParams = {
  tiltSd: 0.28,
  armAngle: [-0.6, 2.0],
  armRaiseProb: 0.45,
  elbowBend: [-1.8, 1.8],
  legAngle: [0.05, 0.8],
  kneeBend: [-0.9, 0.9],
  headYawSd: 0.8,
  foreshortenMin: 0.55,
  aspect: [0.7, 1.0],
  thickness: [0.75, 1.05],
};

/** The default style: saturated colours on smooth colour-field backgrounds (demo-sample.png). */
export const KEYPOINT_STYLE: KeypointStyle = {
  name: 'keypoints',
  instanceWeights: [0, 0.4, 0.35, 0.25],
  figureHeight: [0.45, 0.95],
  closeUpProb: 0.04,
  closeUpHeight: [1.5, 2.1],
  truncationProb: 0.12,
  maxOverlapIoU: 0.35,
  pose: DEFAULT_POSE,
  clutterCount: [3, 8],
  occluderWeights: [0.5, 0.35, 0.15],
  noiseSigma: [3, 12],
  blurProb: 0.35,
  figurePaints: (rng) => {
    const skin = randomHsv(rng, [0.15, 0.6], [0.55, 1]);
    return {
      torso: paint(randomHsv(rng, [0.45, 1], [0.45, 1]), maybeStripes(rng, 0.25, [12, 35], [2.5, 7])),
      arms: paint(randomHsv(rng, [0.45, 1], [0.45, 1]), maybeStripes(rng, 0.2, [12, 30], [2.5, 6])),
      legs: paint(randomHsv(rng, [0.45, 1], [0.4, 1]), maybeStripes(rng, 0.2, [12, 30], [2.5, 6])),
      skin: paint(skin),
      features: paint(randomHsv(rng, [0, 0.5], [0.02, 0.22])),
      ears: paint(shade(skin, 0.78)),
    };
  },
  clutterColour: (rng) => randomHsv(rng, [0.2, 1], [0.3, 1]),
  background: (canvas, rng) => fillColourField(canvas, rng, rng.int(3, 6), (r) => randomHsv(r, [0.3, 1], [0.35, 1])),
};

/** The dissimilar style: muted palette, textured/striped or dark backgrounds, livelier and thinner poses. */
export const SHIFTED_STYLE: KeypointStyle = {
  name: 'shifted',
  instanceWeights: [0, 0.35, 0.4, 0.25],
  figureHeight: [0.42, 0.95],
  closeUpProb: 0.05,
  closeUpHeight: [1.1, 1.6],
  truncationProb: 0.3,
  maxOverlapIoU: 0.45,
  pose: SHIFTED_POSE,
  clutterCount: [4, 10],
  occluderWeights: [0.45, 0.35, 0.2],
  noiseSigma: [6, 18],
  blurProb: 0.5,
  figurePaints: (rng) => {
    const skin = randomHsv(rng, [0.05, 0.3], [0.45, 0.9], [0.02, 0.12]);
    return {
      torso: paint(randomHsv(rng, [0.05, 0.4], [0.25, 0.85]), maybeStripes(rng, 0.5, [15, 40], [2, 5])),
      arms: paint(randomHsv(rng, [0.05, 0.4], [0.25, 0.85]), maybeStripes(rng, 0.4, [15, 35], [2, 5])),
      legs: paint(randomHsv(rng, [0.05, 0.4], [0.2, 0.8]), maybeStripes(rng, 0.4, [15, 35], [2, 5])),
      skin: paint(skin),
      features: paint(randomHsv(rng, [0, 0.3], [0.0, 0.15])),
      ears: paint(shade(skin, 0.75)),
    };
  },
  clutterColour: (rng) => randomHsv(rng, [0, 0.4], [0.15, 0.9]),
  background: (canvas, rng) => {
    const hue = rng.next();
    fillColourField(canvas, rng, rng.int(2, 4), (r) => hsvToRgb(hue + r.uniform(-0.08, 0.08), r.uniform(0, 0.3), r.uniform(0.15, 0.75)));
    const kind = rng.int(0, 2);
    if (kind === 0) {
      const a = rng.uniform(0, Math.PI);
      applyTexture(canvas, { kind: 'stripes', cos: Math.cos(a), sin: Math.sin(a), period: rng.uniform(4, 14), amplitude: rng.uniform(15, 45) });
    } else if (kind === 1) {
      applyTexture(canvas, { kind: 'checker', cell: rng.uniform(4, 12), amplitude: rng.uniform(12, 35) });
    }
  },
};

/** Keypoint style presets by name. */
export const KEYPOINT_STYLES = { keypoints: KEYPOINT_STYLE, shifted: SHIFTED_STYLE } as const;

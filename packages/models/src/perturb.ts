// Strong input perturbation of a student's generated samples: the lesson of large-scale
// self-training (Noisy Student 2020; Depth Anything 2024) that a student learns more from
// pseudo-labels when its input is harder than the teacher's was. Only photometric changes
// and an erased rectangle, so every box and keypoint label stays where it is.
import type { Rng } from '@omnidistill/train';
import type { LoadedImage } from './data.js';

/** How a generated sample is perturbed before the minibatch is built from it. */
export type Perturbation = 'none' | 'strong';

export const PERTURBATIONS: readonly Perturbation[] = ['none', 'strong'];

/** The strengths of `strong` (fractions of the 0–255 range or of the image side). */
const STRONG = {
  /** Brightness: a factor in [1 − b, 1 + b]. */
  brightness: 0.4,
  /** Contrast around the image mean: a factor in [1 − c, 1 + c]. */
  contrast: 0.4,
  /** Saturation around the pixel's grey: a factor in [1 − s, 1 + s] (0 = greyscale). */
  saturation: 0.4,
  /** Per-pixel Gaussian noise, standard deviation up to this × 255. */
  noise: 0.08,
  /** Probability of erasing one rectangle (filled with the image mean). */
  eraseProbability: 0.5,
  /** Its sides: a fraction of the image side in this range. */
  eraseSide: [0.15, 0.35] as const,
};

const clampByte = (v: number) => (v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v));

/**
 * A perturbed copy of `image` (the original is shared by every minibatch and never changed):
 * colour jitter (brightness, contrast, saturation), Gaussian pixel noise and, with
 * probability ½, one erased rectangle. Deterministic in `rng`.
 */
export function perturbStrongly(image: LoadedImage, rng: Rng): LoadedImage {
  const src = image.pixels;
  const n = image.width * image.height;
  const jitter = (s: number) => 1 + (2 * rng.nextFloat() - 1) * s;
  const brightness = jitter(STRONG.brightness);
  const contrast = jitter(STRONG.contrast);
  const saturation = jitter(STRONG.saturation);
  const sigma = rng.nextFloat() * STRONG.noise * 255;
  let mean = 0;
  for (let i = 0; i < src.length; i++) mean += src[i];
  mean = (mean / Math.max(1, src.length)) * brightness;
  const out = new Uint8Array(src.length);
  for (let p = 0; p < n; p++) {
    const o = 3 * p;
    const r = src[o] * brightness;
    const g = src[o + 1] * brightness;
    const b = src[o + 2] * brightness;
    const grey = 0.299 * r + 0.587 * g + 0.114 * b;
    // Saturation around the pixel's grey, contrast around the image mean, then noise.
    const channel = (v: number) => clampByte(mean + (grey + (v - grey) * saturation - mean) * contrast + (sigma > 0 ? sigma * rng.nextNormal() : 0));
    out[o] = channel(r);
    out[o + 1] = channel(g);
    out[o + 2] = channel(b);
  }
  if (rng.nextFloat() < STRONG.eraseProbability) eraseRectangle(out, image.width, image.height, clampByte(mean), rng);
  return { ...image, pixels: out };
}

/** Fills one random rectangle (sides a fraction of the image's) with a flat grey. */
function eraseRectangle(pixels: Uint8Array, width: number, height: number, fill: number, rng: Rng): void {
  const [lo, hi] = STRONG.eraseSide;
  const w = Math.max(1, Math.round(width * (lo + rng.nextFloat() * (hi - lo))));
  const h = Math.max(1, Math.round(height * (lo + rng.nextFloat() * (hi - lo))));
  const x0 = rng.nextInt(Math.max(1, width - w + 1));
  const y0 = rng.nextInt(Math.max(1, height - h + 1));
  for (let y = y0; y < Math.min(height, y0 + h); y++) pixels.fill(fill, 3 * (y * width + x0), 3 * (y * width + Math.min(width, x0 + w)));
}

/** The perturbation of a sample by its source: only generated samples are perturbed. */
export function perturbSample(image: LoadedImage, source: 'labeled' | 'generated', perturbation: Perturbation, rng: Rng): LoadedImage {
  return perturbation === 'strong' && source === 'generated' ? perturbStrongly(image, rng) : image;
}

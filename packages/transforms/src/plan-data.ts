// Plans sized to the data: the scale list a user writes (`0.75x,1x,1.25x` relative,
// `400,600` absolute), the default plan derived from the labeled images' sizes, and the
// warning for a plan that upsamples small images far beyond what the teacher was trained on.
import { OmniRangeError, OmniTypeError, type ImageSize } from '@omnidistill/core';
import { resolveTransform } from './geometry.js';
import { PAPER_SCALES, customPlan, isOriginalSize, type TransformInput, type TransformPlan } from './plan.js';

/**
 * The image side the paper's absolute plan was designed around: COCO images are ~640 px on
 * their longer side, so shorter sides 400…1200 are ≈ 0.6×…1.9× of a typical image.
 */
export const PAPER_REFERENCE_SIDE = 640;

/** The paper's plan as relative factors (400/640 … 1200/640), rounded to 3 decimals. */
export const PAPER_RELATIVE_FACTORS: readonly number[] = Object.freeze(PAPER_SCALES.map((s) => Math.round((s / PAPER_REFERENCE_SIDE) * 1000) / 1000));

/** Above this upsampling of the median image a plan gets a warning (the issue 13 trap: 4–12× on 96 px images). */
export const UPSAMPLE_WARNING_FACTOR = 3;

/**
 * Parses a scale list as written on the command line: comma-separated items, each a
 * relative factor with an `x` suffix (`0.75x`, `1x`, `1.25x`) or an absolute shorter side in
 * pixels (`400`). Every scale is used unflipped and flipped, and the identity's flip is added:
 * the shape of the paper's plan.
 *
 * @example
 * parseScaleList('0.75x,1x,1.25x') // identity, orig-flip, x0.75 ± flip, x1.25 ± flip
 */
export function parseScaleList(text: string, path = 'scales'): TransformPlan {
  if (typeof text !== 'string' || text.trim() === '') throw new OmniTypeError(path, 'a comma-separated list like "0.75x,1x,1.25x" or "400,600"', text);
  const specs: TransformInput[] = [{ flip: true }];
  const seen = new Set<string>();
  text.split(',').forEach((raw, i) => {
    const item = raw.trim();
    const one = parseScaleItem(item, `${path}[${i}]`);
    const key = one.factor !== undefined ? `x${one.factor}` : `s${one.shortSide}`;
    if (seen.has(key)) throw new OmniRangeError(`${path}[${i}]`, 'no repeated scale', item);
    seen.add(key);
    // 1x is the original size, always in the plan (identity and its flip).
    if (one.factor !== 1) specs.push(one, { ...one, flip: true });
  });
  return customPlan(specs);
}

function parseScaleItem(item: string, path: string): TransformInput {
  const relative = /^(\d+(?:\.\d+)?|\.\d+)\s*[x×]$/i.exec(item);
  if (relative) {
    const factor = Number(relative[1]);
    if (!(factor > 0) || factor > 16) throw new OmniRangeError(path, 'a relative factor in (0, 16], e.g. 0.75x', item);
    return { factor };
  }
  if (/^\d+$/.test(item) && Number(item) >= 1) return { shortSide: Number(item) };
  throw new OmniRangeError(path, 'a relative factor such as 0.75x or an absolute shorter side in pixels such as 400', item);
}

/** The median width and height (each separately) of a set of image sizes. */
export function medianImageSize(sizes: readonly ImageSize[]): ImageSize {
  if (!Array.isArray(sizes) || sizes.length === 0) throw new OmniRangeError('sizes', 'at least one image size', sizes);
  const median = (v: number[]) => {
    const s = [...v].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 === 1 ? s[m] : Math.round((s[m - 1] + s[m]) / 2);
  };
  return { width: median(sizes.map((s) => s.width)), height: median(sizes.map((s) => s.height)) };
}

/** The default plan and why it was chosen (printed by the CLI). */
export interface DataSizedPlan {
  plan: TransformPlan;
  median: ImageSize;
  description: string;
}

/**
 * The default test-time plan for a data set: the paper's spread of scales expressed relative
 * to each image (factors 400/640 … 1200/640 ≈ 0.63×…1.88×, each ± flip, plus the flipped
 * original) — what the paper's absolute plan is on COCO-sized images — so that 96 px images are
 * not blown up 4–12× and 4000 px images are not shrunk to 400. The labeled images' median
 * size only drops factors that would leave the median image under 32 px on its shorter side.
 */
export function dataSizedPlan(sizes: readonly ImageSize[]): DataSizedPlan {
  const median = medianImageSize(sizes);
  const short = Math.min(median.width, median.height);
  const factors = PAPER_RELATIVE_FACTORS.filter((f) => f * short >= 32);
  const specs: TransformInput[] = [{ flip: true }];
  for (const factor of factors) specs.push({ factor }, { factor, flip: true });
  const plan = customPlan(specs);
  const description = `relative scales ${factors.map((f) => `${f}x`).join(',')} ± flip (the paper's 400…1200 on ${PAPER_REFERENCE_SIDE} px COCO images), median labeled image ${median.width}×${median.height}`;
  return { plan, median, description };
}

/**
 * One warning per transform of `plan` that upsamples an image of `size` (the median image)
 * more than `limit`× (default {@link UPSAMPLE_WARNING_FACTOR}): a teacher sees objects far
 * larger than anything it was trained on, and each pass costs the square of the factor.
 */
export function upsamplingWarnings(plan: TransformPlan, size: ImageSize, limit = UPSAMPLE_WARNING_FACTOR): string[] {
  const out: string[] = [];
  for (const spec of plan.transforms) {
    if (isOriginalSize(spec)) continue;
    const g = resolveTransform(spec, size);
    if (g.scale > limit) {
      out.push(
        `transform ${spec.name} upsamples the median image (${size.width}×${size.height}) ${g.scale.toFixed(1)}× to ${g.target.width}×${g.target.height}: absolute scales suit COCO-sized images; use relative scales (--scales 0.75x,1x,1.25x) or the default plan`,
      );
    }
  }
  return out;
}

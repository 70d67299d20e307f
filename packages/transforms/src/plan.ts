// Transform plans: which resized / flipped copies of an image a teacher is run on.
// A plan is data (a frozen list of specs); the geometry for a given image comes from
// `resolveTransform`, so one plan serves images of every size.
import { OmniRangeError, OmniTypeError, expectFiniteNumber, expectInteger } from '@omnidistill/core';

/**
 * One test-time transform: resize — to an absolute shorter side of `shortSide` pixels, or
 * relatively by `factor` — unless the longer side would then exceed `maxLongSide`, then
 * optionally flip horizontally. At most one of `shortSide` and `factor` is set; both null
 * means "keep the original size" (the identity when `flip` is false).
 */
export interface TransformSpec {
  /** Target shorter side in pixels (an absolute transform), or null. */
  readonly shortSide: number | null;
  /**
   * Relative scale factor (both sides × factor, whatever the image size), or null. A factor
   * of exactly 1 is stored as the original size (`null`), so `1x` and the identity coincide.
   */
  readonly factor: number | null;
  /** Cap on the longer side after resizing (ignored for the original size). */
  readonly maxLongSide: number;
  /** Horizontal flip after resizing. */
  readonly flip: boolean;
  /** Stable human-readable name, e.g. `identity`, `s800`, `s800-flip`, `x1.25`, `x0.75-flip`, `orig-flip`. */
  readonly name: string;
}

/** An ordered list of transforms; `transforms[0]` is always the identity. */
export interface TransformPlan {
  readonly transforms: readonly TransformSpec[];
}

/** Detectron's `TEST.BBOX_AUG.MAX_SIZE` / `TEST.KPS_AUG.MAX_SIZE` default. */
export const DEFAULT_MAX_LONG_SIDE = 4000;

/** The paper's scales: shorter side 400, 500, …, 1200. */
export const PAPER_SCALES: readonly number[] = Object.freeze([400, 500, 600, 700, 800, 900, 1000, 1100, 1200]);

/** The identity transform (original size, no flip). */
export const IDENTITY: TransformSpec = makeSpec(null, DEFAULT_MAX_LONG_SIDE, false);

function specName(shortSide: number | null, factor: number | null, flip: boolean): string {
  const base = shortSide !== null ? `s${shortSide}` : factor !== null ? `x${factor}` : null;
  if (base === null) return flip ? 'orig-flip' : 'identity';
  return flip ? `${base}-flip` : base;
}

function makeSpec(shortSide: number | null, maxLongSide: number, flip: boolean, factor: number | null = null): TransformSpec {
  const f = factor === 1 ? null : factor;
  return Object.freeze({ shortSide, factor: f, maxLongSide, flip, name: specName(shortSide, f, flip) });
}

/** True for a spec that keeps the original size (flipped or not). */
export function isOriginalSize(spec: TransformSpec): boolean {
  return spec.shortSide === null && spec.factor === null;
}

/** True for the spec that leaves the image untouched. */
export function isIdentity(spec: TransformSpec): boolean {
  return isOriginalSize(spec) && !spec.flip;
}

/** Options of {@link scalePlan}. */
export interface ScalePlanOptions {
  /** Target shorter sides, in pixels (positive integers, no duplicates). */
  scales: readonly number[];
  /** Longer-side cap (default 4000, Detectron's). */
  maxLongSide?: number;
  /** Also add the horizontally flipped copy of every scale (default true). */
  flip?: boolean;
}

/**
 * A plan of `scales × {unflipped, flipped}`, preceded by the identity.
 * Order: identity, then for each scale (in the given order) unflipped then flipped.
 */
export function scalePlan(options: ScalePlanOptions): TransformPlan {
  if (options === null || typeof options !== 'object') throw new OmniTypeError('options', 'an object', options);
  if (!Array.isArray(options.scales)) throw new OmniTypeError('options.scales', 'an array of positive integers', options.scales);
  const maxLongSide = options.maxLongSide ?? DEFAULT_MAX_LONG_SIDE;
  expectInteger(maxLongSide, 'options.maxLongSide', 1);
  const flip = options.flip ?? true;
  if (typeof flip !== 'boolean') throw new OmniTypeError('options.flip', 'a boolean', flip);
  const specs: TransformSpec[] = [];
  options.scales.forEach((s, i) => {
    expectInteger(s, `options.scales[${i}]`, 1);
    if (options.scales.indexOf(s) !== i) throw new OmniRangeError(`options.scales[${i}]`, 'no duplicate scales', s);
    specs.push(makeSpec(s, maxLongSide, false));
    if (flip) specs.push(makeSpec(s, maxLongSide, true));
  });
  return customPlan(specs);
}

/**
 * The paper's plan (Radosavovic et al. 2018): shorter side 400…1200 step 100, each with and
 * without a horizontal flip — 18 transforms — preceded by the identity (19 in all).
 */
export function paperPlan(options: { maxLongSide?: number } = {}): TransformPlan {
  return scalePlan({ scales: PAPER_SCALES, flip: true, maxLongSide: options.maxLongSide ?? DEFAULT_MAX_LONG_SIDE });
}

/**
 * A plan of relative scales `factors × {unflipped, flipped}`, preceded by the identity (and
 * its flip when `flip`): every image is scaled by each factor, whatever its size — the plan
 * for data whose images are not COCO-sized.
 *
 * @example
 * relativePlan({ factors: [0.75, 1.25] }) // identity, orig-flip, x0.75, x0.75-flip, x1.25, x1.25-flip
 */
export function relativePlan(options: { factors: readonly number[]; flip?: boolean; maxLongSide?: number }): TransformPlan {
  if (options === null || typeof options !== 'object') throw new OmniTypeError('options', 'an object', options);
  if (!Array.isArray(options.factors)) throw new OmniTypeError('options.factors', 'an array of positive numbers', options.factors);
  const flip = options.flip ?? true;
  const specs: TransformInput[] = flip ? [{ flip: true }] : [];
  for (const factor of options.factors) {
    specs.push({ factor, maxLongSide: options.maxLongSide });
    if (flip) specs.push({ factor, flip: true, maxLongSide: options.maxLongSide });
  }
  return customPlan(specs);
}

/** A transform as a user writes it: every field optional. */
export interface TransformInput {
  /** Target shorter side (absolute), or null/undefined. */
  shortSide?: number | null;
  /** Relative scale factor, or null/undefined. Give at most one of `shortSide` and `factor`. */
  factor?: number | null;
  maxLongSide?: number;
  flip?: boolean;
}

/**
 * A plan from an explicit list. The identity is inserted first when absent and moved first
 * when present elsewhere; duplicate transforms are an error.
 */
export function customPlan(transforms: readonly TransformInput[]): TransformPlan {
  if (!Array.isArray(transforms)) throw new OmniTypeError('transforms', 'an array of transform specs', transforms);
  const specs = transforms.map((t, i) => normaliseSpec(t, `transforms[${i}]`));
  const seen = new Map<string, number>();
  specs.forEach((s, i) => {
    const key = `${s.name}@${isOriginalSize(s) ? '-' : s.maxLongSide}`;
    const prev = seen.get(key);
    if (prev !== undefined) throw new OmniRangeError(`transforms[${i}]`, `no duplicate of transforms[${prev}] (${s.name})`, s.name);
    seen.set(key, i);
  });
  const rest = specs.filter((s) => !isIdentity(s));
  return Object.freeze({ transforms: Object.freeze([IDENTITY, ...rest]) });
}

function normaliseSpec(t: TransformInput, path: string): TransformSpec {
  if (t === null || typeof t !== 'object') throw new OmniTypeError(path, 'an object { shortSide?, factor?, maxLongSide?, flip? }', t);
  const shortSide = t.shortSide ?? null;
  if (shortSide !== null) expectInteger(shortSide, `${path}.shortSide`, 1);
  const factor = t.factor ?? null;
  if (factor !== null) {
    expectFiniteNumber(factor, `${path}.factor`);
    if (factor <= 0) throw new OmniRangeError(`${path}.factor`, 'a positive scale factor', factor);
    if (shortSide !== null) throw new OmniRangeError(`${path}`, 'either shortSide (absolute) or factor (relative), not both', `shortSide ${shortSide}, factor ${factor}`);
  }
  const maxLongSide = t.maxLongSide ?? DEFAULT_MAX_LONG_SIDE;
  expectInteger(maxLongSide, `${path}.maxLongSide`, 1);
  const flip = t.flip ?? false;
  if (typeof flip !== 'boolean') throw new OmniTypeError(`${path}.flip`, 'a boolean', flip);
  const original = shortSide === null && (factor === null || factor === 1);
  return makeSpec(shortSide, original ? DEFAULT_MAX_LONG_SIDE : maxLongSide, flip, factor);
}

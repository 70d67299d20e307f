// Transform plans: which resized / flipped copies of an image a teacher is run on.
// A plan is data (a frozen list of specs); the geometry for a given image comes from
// `resolveTransform`, so one plan serves images of every size.
import { OmniRangeError, OmniTypeError, expectInteger } from '@omnidistill/core';

/**
 * One test-time transform: resize so that the shorter side is `shortSide` pixels (unless the
 * longer side would then exceed `maxLongSide`), then optionally flip horizontally.
 * `shortSide = null` means "keep the original size" (the identity when `flip` is false).
 */
export interface TransformSpec {
  /** Target shorter side in pixels, or null for the original size. */
  readonly shortSide: number | null;
  /** Cap on the longer side after resizing (ignored when `shortSide` is null). */
  readonly maxLongSide: number;
  /** Horizontal flip after resizing. */
  readonly flip: boolean;
  /** Stable human-readable name, e.g. `identity`, `s800`, `s800-flip`, `orig-flip`. */
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

function specName(shortSide: number | null, flip: boolean): string {
  if (shortSide === null) return flip ? 'orig-flip' : 'identity';
  return flip ? `s${shortSide}-flip` : `s${shortSide}`;
}

function makeSpec(shortSide: number | null, maxLongSide: number, flip: boolean): TransformSpec {
  return Object.freeze({ shortSide, maxLongSide, flip, name: specName(shortSide, flip) });
}

/** True for the spec that leaves the image untouched. */
export function isIdentity(spec: TransformSpec): boolean {
  return spec.shortSide === null && !spec.flip;
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

/** A transform as a user writes it: every field optional. */
export interface TransformInput {
  /** Target shorter side, or null/undefined for the original size. */
  shortSide?: number | null;
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
    const key = `${s.name}@${s.shortSide === null ? '-' : s.maxLongSide}`;
    const prev = seen.get(key);
    if (prev !== undefined) throw new OmniRangeError(`transforms[${i}]`, `no duplicate of transforms[${prev}] (${s.name})`, s.name);
    seen.set(key, i);
  });
  const rest = specs.filter((s) => !isIdentity(s));
  return Object.freeze({ transforms: Object.freeze([IDENTITY, ...rest]) });
}

function normaliseSpec(t: TransformInput, path: string): TransformSpec {
  if (t === null || typeof t !== 'object') throw new OmniTypeError(path, 'an object { shortSide?, maxLongSide?, flip? }', t);
  const shortSide = t.shortSide ?? null;
  if (shortSide !== null) expectInteger(shortSide, `${path}.shortSide`, 1);
  const maxLongSide = t.maxLongSide ?? DEFAULT_MAX_LONG_SIDE;
  expectInteger(maxLongSide, `${path}.maxLongSide`, 1);
  const flip = t.flip ?? false;
  if (typeof flip !== 'boolean') throw new OmniTypeError(`${path}.flip`, 'a boolean', flip);
  return makeSpec(shortSide, shortSide === null ? DEFAULT_MAX_LONG_SIDE : maxLongSide, flip);
}

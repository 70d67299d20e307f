// Turns the public arguments into a checked, normalised job that every backend runs
// unchanged. Errors name the argument path (`options.flipPairs[3]: expected ...`).
// Heatmap *values* are checked for finiteness by the kernels while they stream the data
// (a separate JS pass would cost more than the native kernel itself); every backend reports
// the first non-finite value in the same words.
import {
  OmniRangeError,
  OmniTypeError,
  expectInteger,
  expectOneOf,
  flipPermutation,
  validateFlipPairs,
  type HeatmapBatch,
} from '@omnidistill/core';

/** Largest decoded side (ceil of a RoI's width or height), as in the native addon. */
export const MAX_ROI_SIDE = 65536;

export type EnsembleMode = 'avg' | 'max';

/** How the T transforms of each RoI are combined. */
export interface EnsembleOptions {
  /** `avg`: (weighted) mean of logits, as in the paper; `max`: element-wise maximum. */
  mode: EnsembleMode;
  /** [T]: whether transform t ran on the horizontally flipped image. */
  flipped: readonly boolean[];
  /**
   * The schema's left/right channel pairs (e.g. `COCO_PERSON.flipPairs`). Required as soon as
   * one transform is flipped: a missing flip map is an error, never a silent no-flip.
   */
  flipPairs?: readonly (readonly [number, number])[];
  /** [T]: per-transform weights for `avg` (finite, >= 0); default all 1 (numpy's mean). */
  weights?: readonly number[] | Float32Array | Float64Array;
  /** [T * N] (row t, column n): 0 leaves transform t out for RoI n (size-dependent combination). */
  mask?: Uint8Array;
}

export interface DecodeOptions {
  /** Also return each keypoint's spatial-softmax probability over its decoded map. */
  probability?: boolean;
}

/** A validated ensembling job: arrays ready for any backend. */
export interface EnsembleJob {
  heatmaps: Float32Array;
  t: number;
  n: number;
  k: number;
  m: number;
  mode: EnsembleMode;
  flipped: Uint8Array;
  perm: Int32Array;
  /** Always present (all 1 when the caller gave none), so every backend runs one code path. */
  weights: Float32Array;
  /** The caller's weights, to pass to native backends only when given. */
  callerWeights?: Float32Array;
  mask?: Uint8Array;
}

export interface DecodeJob {
  rois: Float32Array;
  probability: boolean;
}

/** Checks a heatmap batch: Float32Array data of exactly t * n * k * m * m values, all dims >= 1. */
export function checkBatch(batch: unknown, path: string, requireSingleT: boolean): HeatmapBatch {
  if (typeof batch !== 'object' || batch === null || ArrayBuffer.isView(batch)) {
    throw new OmniTypeError(path, 'a heatmap batch {data, t, n, k, m}', batch);
  }
  const b = batch as Partial<HeatmapBatch>;
  const t = expectInteger(b.t, `${path}.t`, 1);
  const n = expectInteger(b.n, `${path}.n`, 1);
  const k = expectInteger(b.k, `${path}.k`, 1);
  const m = expectInteger(b.m, `${path}.m`, 1);
  if (requireSingleT && t !== 1) throw new OmniRangeError(`${path}.t`, '1 (maps [N, K, M, M]; ensemble first)', t);
  if (!(b.data instanceof Float32Array)) throw new OmniTypeError(`${path}.data`, 'a Float32Array', b.data);
  const expected = t * n * k * m * m;
  if (b.data.length !== expected) {
    throw new OmniRangeError(`${path}.data`, `${expected} elements (t * n * k * m * m = ${t} * ${n} * ${k} * ${m} * ${m})`, b.data);
  }
  return { data: b.data, t, n, k, m };
}

function checkFlipped(value: unknown, t: number): Uint8Array {
  if (!Array.isArray(value)) throw new OmniTypeError('options.flipped', `an array of ${t} booleans`, value);
  if (value.length !== t) throw new OmniRangeError('options.flipped', `${t} entries (one per transform)`, value);
  const flipped = new Uint8Array(t);
  value.forEach((v, i) => {
    if (typeof v !== 'boolean') throw new OmniTypeError(`options.flipped[${i}]`, 'a boolean', v);
    flipped[i] = v ? 1 : 0;
  });
  return flipped;
}

function checkPerm(pairs: unknown, k: number, anyFlipped: boolean): Int32Array {
  if (pairs === undefined) {
    if (anyFlipped) throw new OmniTypeError('options.flipPairs', "the schema's flip pairs (some transforms are flipped)", pairs);
    return flipPermutation([], k);
  }
  validateFlipPairs(pairs as readonly (readonly [number, number])[], k, 'options.flipPairs');
  return flipPermutation(pairs as readonly (readonly [number, number])[], k);
}

function checkWeights(value: unknown, t: number, mode: EnsembleMode): Float32Array | undefined {
  if (value === undefined) return undefined;
  if (mode !== 'avg') throw new OmniTypeError('options.weights', 'undefined in "max" mode (weights only apply to "avg")', value);
  if (!Array.isArray(value) && !(value instanceof Float32Array) && !(value instanceof Float64Array)) {
    throw new OmniTypeError('options.weights', `an array of ${t} numbers`, value);
  }
  if (value.length !== t) throw new OmniRangeError('options.weights', `${t} entries (one per transform)`, value);
  const weights = new Float32Array(t);
  for (let i = 0; i < t; i++) {
    const w = value[i];
    if (typeof w !== 'number' || !Number.isFinite(w)) throw new OmniTypeError(`options.weights[${i}]`, 'a finite number >= 0', w);
    if (w < 0) throw new OmniRangeError(`options.weights[${i}]`, 'a finite number >= 0', w);
    weights[i] = w;
  }
  return weights;
}

function checkMask(value: unknown, t: number, n: number): Uint8Array | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof Uint8Array)) throw new OmniTypeError('options.mask', `a Uint8Array of ${t * n} entries ([T, N])`, value);
  if (value.length !== t * n) throw new OmniRangeError('options.mask', `${t * n} entries ([T, N] = [${t}, ${n}])`, value);
  return value;
}

/** Every RoI needs an included transform, and for `avg` a positive float32 weight sum. */
function checkCoverage(job: EnsembleJob): void {
  for (let n = 0; n < job.n; n++) {
    let any = false;
    let weightSum = 0;
    for (let t = 0; t < job.t; t++) {
      if (job.mask !== undefined && job.mask[t * job.n + n] === 0) continue;
      any = true;
      weightSum = Math.fround(weightSum + job.weights[t]);
    }
    if (!any) throw new OmniRangeError('options.mask', `at least one transform for RoI ${n}`, 'none');
    if (job.mode === 'avg' && !(weightSum > 0)) {
      throw new OmniRangeError('options.weights', `a positive weight sum over the transforms of RoI ${n}`, weightSum);
    }
  }
}

/** Validates ensembling arguments into a job. */
export function checkEnsemble(batch: unknown, options: unknown): EnsembleJob {
  const b = checkBatch(batch, 'heatmaps', false);
  if (typeof options !== 'object' || options === null) throw new OmniTypeError('options', 'an object', options);
  const o = options as Partial<EnsembleOptions>;
  const mode = expectOneOf(o.mode, 'options.mode', ['avg', 'max'] as const);
  const flipped = checkFlipped(o.flipped, b.t);
  const perm = checkPerm(o.flipPairs, b.k, flipped.includes(1));
  const callerWeights = checkWeights(o.weights, b.t, mode);
  const mask = checkMask(o.mask, b.t, b.n);
  const job: EnsembleJob = {
    heatmaps: b.data,
    t: b.t,
    n: b.n,
    k: b.k,
    m: b.m,
    mode,
    flipped,
    perm,
    weights: callerWeights ?? new Float32Array(b.t).fill(1),
    ...(callerWeights !== undefined ? { callerWeights } : {}),
    ...(mask !== undefined ? { mask } : {}),
  };
  checkCoverage(job);
  return job;
}

/**
 * RoIs [N, 4] as image-space (x1, y1, x2, y2): finite; zero width/height is allowed
 * (decoding uses max(w, 1), as torchvision does); inverted boxes (x2 < x1) are an error.
 * Float64 input is rounded to float32, the precision the decoding reference works in.
 */
export function checkRois(value: unknown, n: number): Float32Array {
  if (!(value instanceof Float32Array || value instanceof Float64Array)) {
    throw new OmniTypeError('rois', `a Float32Array or Float64Array of ${n * 4} values ([N, 4])`, value);
  }
  if (value.length !== n * 4) throw new OmniRangeError('rois', `${n * 4} values ([N, 4] with N = ${n})`, value);
  const rois = value instanceof Float32Array ? value : Float32Array.from(value);
  for (let i = 0; i < n; i++) {
    const x1 = rois[4 * i], y1 = rois[4 * i + 1], x2 = rois[4 * i + 2], y2 = rois[4 * i + 3];
    for (let j = 0; j < 4; j++) {
      const v = rois[4 * i + j];
      if (!Number.isFinite(v)) throw new OmniRangeError(`rois[${i}]`, 'finite [x1, y1, x2, y2]', v);
    }
    if (x2 < x1) throw new OmniRangeError(`rois[${i}]`, 'x2 >= x1 (an inverted RoI is an error)', `x1 = ${x1}, x2 = ${x2}`);
    if (y2 < y1) throw new OmniRangeError(`rois[${i}]`, 'y2 >= y1 (an inverted RoI is an error)', `y1 = ${y1}, y2 = ${y2}`);
    const w = Math.ceil(Math.max(Math.fround(x2 - x1), 1)), h = Math.ceil(Math.max(Math.fround(y2 - y1), 1));
    if (w > MAX_ROI_SIDE || h > MAX_ROI_SIDE) throw new OmniRangeError(`rois[${i}]`, `sides of at most ${MAX_ROI_SIDE} px`, `${w} x ${h}`);
  }
  return rois;
}

export function checkDecode(options: unknown, n: number, rois: unknown): DecodeJob {
  const o = (options ?? {}) as Partial<DecodeOptions>;
  if (typeof o !== 'object') throw new OmniTypeError('options', 'an object', options);
  if (o.probability !== undefined && typeof o.probability !== 'boolean') {
    throw new OmniTypeError('options.probability', 'a boolean', o.probability);
  }
  return { rois: checkRois(rois, n), probability: o.probability === true };
}

/** Optional CPU thread count for native backends. */
export function checkThreads(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const threads = expectInteger(value, 'options.threads', 1);
  if (threads > 1024) throw new OmniRangeError('options.threads', 'at most 1024', threads);
  return threads;
}

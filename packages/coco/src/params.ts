// COCOeval parameters with pycocotools' defaults, reproduced bit for bit (np.linspace
// thresholds, sigmas divided by 10) because the thresholds are compared with `<`.
import { OmniRangeError, OmniTypeError, expectFiniteNumber } from '@omnidistill/core';
import type { CocoDataset, IouType } from './types.js';

/** Everything that steers an evaluation; see {@link createParams} for the defaults. */
export interface EvalParams {
  iouType: IouType;
  /** Images evaluated (sorted, unique). Default: every ground-truth image. */
  imgIds: number[];
  /** Categories evaluated (sorted, unique). Default: every ground-truth category. */
  catIds: number[];
  /** IoU / OKS thresholds, ascending. Default 0.50:0.05:0.95. */
  iouThrs: number[];
  /** Recall thresholds, ascending. Default 0:0.01:1. */
  recThrs: number[];
  /** Detections kept per image, ascending. Default [1, 10, 100] (bbox) or [20] (keypoints). */
  maxDets: number[];
  /** Area ranges `[lo, hi]` (inclusive), with their labels. */
  areaRng: [number, number][];
  areaRngLbl: string[];
  /** Evaluate per category (true) or pool all categories (false). */
  useCats: boolean;
  /** Per-keypoint OKS sigmas (keypoints only). Default COCO person. */
  kptOksSigmas: number[];
}

/** `np.linspace(start, stop, num)` with numpy's exact arithmetic (i·step + start, last = stop). */
export function linspace(start: number, stop: number, num: number): number[] {
  const out: number[] = [];
  const step = (stop - start) / (num - 1);
  for (let i = 0; i < num; i++) out.push(i * step + start);
  if (num > 1) out[num - 1] = stop;
  return out;
}

/** COCO person OKS sigmas exactly as pycocotools computes them (`np.array([...]) / 10.0`). */
export const COCO_PERSON_OKS_SIGMAS: readonly number[] = Object.freeze(
  [0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87, 0.89, 0.89].map((s) => s / 10.0),
);

function sortedUnique(values: readonly number[]): number[] {
  return [...new Set(values)].sort((a, b) => a - b);
}

function expectAscending(values: unknown, path: string, lo: number, hi: number): number[] {
  if (!Array.isArray(values) || values.length === 0) throw new OmniTypeError(path, 'a non-empty array of numbers', values);
  values.forEach((v, i) => {
    expectFiniteNumber(v, `${path}[${i}]`);
    if (v < lo || v > hi) throw new OmniRangeError(`${path}[${i}]`, `a number in [${lo}, ${hi}]`, v);
    if (i > 0 && v <= values[i - 1]) throw new OmniRangeError(`${path}[${i}]`, `a number above ${path}[${i - 1}] = ${values[i - 1]} (ascending)`, v);
  });
  return [...values];
}

function expectIdList(values: unknown, path: string): number[] {
  if (!Array.isArray(values)) throw new OmniTypeError(path, 'an array of integer ids', values);
  values.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isInteger(v)) throw new OmniTypeError(`${path}[${i}]`, 'an integer id', v);
  });
  return sortedUnique(values);
}

/**
 * pycocotools' `Params(iouType)` for this ground truth, with any overrides applied and
 * checked. As in pycocotools, ids are sorted and de-duplicated and maxDets sorted.
 *
 * @example createParams('keypoints', gt, { kptOksSigmas: HAND_SIGMAS })
 */
export function createParams(iouType: IouType, gt: CocoDataset, overrides: Partial<Omit<EvalParams, 'iouType'>> = {}): EvalParams {
  if (iouType !== 'bbox' && iouType !== 'keypoints') throw new OmniTypeError('iouType', '"bbox" or "keypoints"', iouType);
  const bbox = iouType === 'bbox';
  const defaults: EvalParams = {
    iouType,
    imgIds: sortedUnique(gt.images.map((i) => i.id)),
    catIds: sortedUnique(gt.categories.map((c) => c.id)),
    iouThrs: linspace(0.5, 0.95, Math.round((0.95 - 0.5) / 0.05) + 1),
    recThrs: linspace(0.0, 1.0, Math.round((1.0 - 0.0) / 0.01) + 1),
    maxDets: bbox ? [1, 10, 100] : [20],
    areaRng: bbox
      ? [[0 ** 2, 1e5 ** 2], [0 ** 2, 32 ** 2], [32 ** 2, 96 ** 2], [96 ** 2, 1e5 ** 2]]
      : [[0 ** 2, 1e5 ** 2], [32 ** 2, 96 ** 2], [96 ** 2, 1e5 ** 2]],
    areaRngLbl: bbox ? ['all', 'small', 'medium', 'large'] : ['all', 'medium', 'large'],
    useCats: true,
    kptOksSigmas: [...COCO_PERSON_OKS_SIGMAS],
  };
  const p: EvalParams = { ...defaults };
  if (overrides.imgIds !== undefined) p.imgIds = expectIdList(overrides.imgIds, 'params.imgIds');
  if (overrides.catIds !== undefined) p.catIds = expectIdList(overrides.catIds, 'params.catIds');
  if (overrides.iouThrs !== undefined) p.iouThrs = expectAscending(overrides.iouThrs, 'params.iouThrs', 0, 1);
  if (overrides.recThrs !== undefined) p.recThrs = expectAscending(overrides.recThrs, 'params.recThrs', 0, 1);
  if (overrides.maxDets !== undefined) {
    const m = overrides.maxDets;
    if (!Array.isArray(m) || m.length === 0) throw new OmniTypeError('params.maxDets', 'a non-empty array of positive integers', m);
    m.forEach((v, i) => {
      if (!Number.isInteger(v) || v < 1) throw new OmniRangeError(`params.maxDets[${i}]`, 'a positive integer', v);
    });
    p.maxDets = [...m].sort((a, b) => a - b);
  }
  if (overrides.areaRng !== undefined || overrides.areaRngLbl !== undefined) {
    const rng = overrides.areaRng ?? defaults.areaRng;
    const lbl = overrides.areaRngLbl ?? defaults.areaRngLbl;
    if (!Array.isArray(rng) || rng.length === 0) throw new OmniTypeError('params.areaRng', 'a non-empty array of [lo, hi] pairs', rng);
    rng.forEach((r, i) => {
      if (!Array.isArray(r) || r.length !== 2 || !r.every((v) => typeof v === 'number' && !Number.isNaN(v)) || r[0] > r[1]) {
        throw new OmniRangeError(`params.areaRng[${i}]`, 'a pair [lo, hi] with lo <= hi', r);
      }
    });
    if (!Array.isArray(lbl) || lbl.length !== rng.length || !lbl.every((s) => typeof s === 'string')) {
      throw new OmniRangeError('params.areaRngLbl', `${rng.length} labels (one per area range)`, lbl);
    }
    p.areaRng = rng.map((r) => [r[0], r[1]]);
    p.areaRngLbl = [...lbl];
  }
  if (overrides.useCats !== undefined) {
    if (typeof overrides.useCats !== 'boolean') throw new OmniTypeError('params.useCats', 'a boolean', overrides.useCats);
    p.useCats = overrides.useCats;
  }
  if (overrides.kptOksSigmas !== undefined) {
    const s = overrides.kptOksSigmas;
    if (!Array.isArray(s) || s.length === 0) throw new OmniTypeError('params.kptOksSigmas', 'a non-empty array of positive numbers', s);
    s.forEach((v, i) => {
      expectFiniteNumber(v, `params.kptOksSigmas[${i}]`);
      if (v <= 0) throw new OmniRangeError(`params.kptOksSigmas[${i}]`, 'a positive number', v);
    });
    p.kptOksSigmas = [...s];
  }
  return p;
}

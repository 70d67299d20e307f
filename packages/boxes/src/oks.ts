// Object keypoint similarity (COCO, REFERENCE.md §5) and OKS-NMS for keypoint instances.
import {
  OmniRangeError,
  OmniTypeError,
  expectAllFinite,
  expectFloatArray,
  type BoxArray,
  type KeypointArray,
  type KeypointSchema,
} from '@omnidistill/core';
import { orderByScoreDesc } from './order.js';
import { toBoxArray, toScoreArray, type BoxesInput, type ScoresInput } from './inputs.js';
import { checkBoxes, checkOptions, checkScores, checkThreshold } from './validate.js';

const EPS = 2.220446049250313e-16; // np.spacing(1), added to the area as pycocotools does

/**
 * OKS of detection `d` against reference instance `g` (both rows of `[N, K, 3]` arrays):
 * mean over g's labeled keypoints (v > visibilityThreshold) of exp(−d² / (2 · A · (2σ)²)),
 * A = g's area. If g has no labeled keypoint, d is the distance from each detected keypoint to
 * g's box enlarged to [x − w, x + 2w] × [y − h, y + 2h] (0 inside), over all keypoints;
 * without a box for g the OKS is then 0.
 */
export function oksPair(
  dt: Float32Array | Float64Array, d: number, gt: Float32Array | Float64Array, g: number, k: number,
  area: number, box: ArrayLike<number> | null, vars: Float64Array, visibilityThreshold: number,
): number {
  const od = 3 * k * d;
  const og = 3 * k * g;
  let labeled = 0;
  for (let c = 0; c < k; c++) if (gt[og + 3 * c + 2] > visibilityThreshold) labeled++;
  const denom = area + EPS;
  if (labeled > 0) {
    let acc = 0;
    for (let c = 0; c < k; c++) {
      if (!(gt[og + 3 * c + 2] > visibilityThreshold)) continue;
      const dx = dt[od + 3 * c] - gt[og + 3 * c];
      const dy = dt[od + 3 * c + 1] - gt[og + 3 * c + 1];
      acc += Math.exp(-((dx * dx + dy * dy) / vars[c] / denom / 2));
    }
    return acc / labeled;
  }
  if (box === null) return 0;
  const w = box[2] - box[0];
  const h = box[3] - box[1];
  const x0 = box[0] - w;
  const x1 = box[0] + 2 * w;
  const y0 = box[1] - h;
  const y1 = box[1] + 2 * h;
  let acc = 0;
  for (let c = 0; c < k; c++) {
    const xd = dt[od + 3 * c];
    const yd = dt[od + 3 * c + 1];
    const dx = Math.max(0, x0 - xd) + Math.max(0, xd - x1);
    const dy = Math.max(0, y0 - yd) + Math.max(0, yd - y1);
    acc += Math.exp(-((dx * dx + dy * dy) / vars[c] / denom / 2));
  }
  return acc / k;
}

/** Keypoint instances of one image. */
export interface KeypointInstances {
  /** `[N, K, 3]` (x, y, v-or-score). */
  keypoints: KeypointArray;
  /** `[N]` instance scores (any finite numbers). */
  scores: ScoresInput;
  /** `[N, 4]` boxes: give the areas (w · h) when `areas` is absent, and the no-keypoint fallback. */
  boxes?: BoxesInput;
  /** `[N]` areas (COCO `area`); default: box areas. */
  areas?: ScoresInput;
}

export interface OksNmsOptions {
  /** Schema supplying the OKS sigmas (give this or `sigmas`). */
  schema?: KeypointSchema;
  /** Per-keypoint sigmas (K numbers). */
  sigmas?: readonly number[];
  /** Suppress an instance whose OKS with a kept instance is > this (default 0.3). */
  threshold?: number;
  /** A keypoint counts as labeled when its third value is > this (default 0, COCO's v > 0). */
  visibilityThreshold?: number;
}

function readSigmas(o: Partial<OksNmsOptions>, k: number): Float64Array {
  if (o.schema !== undefined && o.sigmas !== undefined) throw new OmniTypeError('options', 'either `schema` or `sigmas`, not both', o);
  const sigmas = o.schema !== undefined ? o.schema.sigmas : o.sigmas;
  if (sigmas === undefined) throw new OmniTypeError('options.sigmas', `the K = ${k} OKS sigmas (or options.schema)`, sigmas);
  if (!Array.isArray(sigmas) || sigmas.length !== k) {
    throw new OmniRangeError(o.schema !== undefined ? 'options.schema.sigmas' : 'options.sigmas', `${k} sigmas (one per keypoint)`, sigmas);
  }
  const vars = new Float64Array(k);
  sigmas.forEach((s, i) => {
    if (typeof s !== 'number' || !Number.isFinite(s) || s <= 0) throw new OmniRangeError(`options.sigmas[${i}]`, 'a positive number', s);
    vars[i] = (2 * s) ** 2;
  });
  return vars;
}

/**
 * OKS-NMS: instances visited by descending score (stable); an instance is dropped when its
 * OKS against an already kept instance (the kept one is the reference g) is > threshold.
 * Returns kept indices in descending score order.
 */
export function oksNms(instances: KeypointInstances, options: OksNmsOptions): Int32Array {
  if (instances === null || typeof instances !== 'object') throw new OmniTypeError('instances', 'keypoint instances { keypoints, scores, boxes?, areas? }', instances);
  const o = checkOptions(options);
  const kp = instances.keypoints;
  if (kp === null || typeof kp !== 'object') throw new OmniTypeError('instances.keypoints', 'a KeypointArray { data, n, k }', kp);
  const { n, k } = kp;
  if (!Number.isInteger(n) || n < 0) throw new OmniTypeError('instances.keypoints.n', 'an integer >= 0', n);
  if (!Number.isInteger(k) || k < 1) throw new OmniTypeError('instances.keypoints.k', 'a positive integer', k);
  expectFloatArray(kp.data, 'instances.keypoints.data', n * k * 3);
  expectAllFinite(kp.data, 'instances.keypoints.data');
  const scores = toScoreArray(instances.scores, 'instances.scores');
  checkScores(scores, 'instances.scores', n);
  const vars = readSigmas(o, k);
  const thr = checkThreshold(o.threshold ?? 0.3, 'options.threshold');
  const vis = o.visibilityThreshold ?? 0;
  if (typeof vis !== 'number' || Number.isNaN(vis)) throw new OmniTypeError('options.visibilityThreshold', 'a number', vis);
  let boxes: BoxArray | null = null;
  if (instances.boxes !== undefined) {
    boxes = toBoxArray(instances.boxes, 'instances.boxes');
    const nb = checkBoxes(boxes, 'instances.boxes');
    if (nb !== n) throw new OmniRangeError('instances.boxes', `${n} boxes (one per instance)`, instances.boxes);
  }
  let areas: ArrayLike<number>;
  if (instances.areas !== undefined) {
    areas = toScoreArray(instances.areas, 'instances.areas');
    checkScores(areas, 'instances.areas', n, [0, Infinity]);
  } else if (boxes !== null) {
    const a = new Float64Array(n);
    for (let i = 0; i < n; i++) a[i] = (boxes[4 * i + 2] - boxes[4 * i]) * (boxes[4 * i + 3] - boxes[4 * i + 1]);
    areas = a;
  } else {
    throw new OmniTypeError('instances.areas', 'instance areas (or instances.boxes to derive them)', undefined);
  }

  const order = orderByScoreDesc(scores);
  const kept: number[] = [];
  for (const d of order) {
    let suppressed = false;
    for (const g of kept) {
      const box = boxes === null ? null : boxes.subarray(4 * g, 4 * g + 4);
      if (oksPair(kp.data, d, kp.data, g, k, areas[g], box, vars, vis) > thr) {
        suppressed = true;
        break;
      }
    }
    if (!suppressed) kept.push(d);
  }
  return Int32Array.from(kept);
}

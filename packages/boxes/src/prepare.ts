// Input preparation for the ensemble_boxes family (WBF, NMW, soft-NMS): several models'
// detections in pixel coordinates plus the image size, validated, optionally repaired the way
// ensemble_boxes repairs them (swapped corners, coordinates outside the image, empty boxes),
// concatenated model by model into flat columns.
import {
  OmniRangeError,
  OmniTypeError,
  boxCount,
  expectFloatArray,
  type Detections,
  type ImageSize,
} from '@omnidistill/core';
import { isImageSize, toDetections } from './inputs.js';
import { checkImage, checkLabels, checkOptions, checkScores } from './validate.js';

/** Union of all models' boxes after preparation. */
export interface PreparedBoxes {
  n: number;
  x1: Float64Array;
  y1: Float64Array;
  x2: Float64Array;
  y2: Float64Array;
  score: Float64Array;
  label: Int32Array;
  /** Which model each box came from. */
  model: Int32Array;
  /** Index of the box in the concatenation of all models' inputs (model-major). */
  source: Int32Array;
}

export interface PrepareRules {
  /** Swap x1/x2 (y1/y2) when inverted instead of failing (ensemble_boxes warns and swaps). */
  repairSwapped: boolean;
  /** Clip coordinates to the image (ensemble_boxes clips to [0, 1]). */
  clip: boolean;
  /** Drop boxes of zero area after clipping (ensemble_boxes skips them). */
  dropEmpty: boolean;
  /** Drop boxes whose score is < this (ensemble_boxes `skip_box_thr`). */
  skipBelow: number;
  /** Fail on coordinates outside the image (when not clipping). */
  requireInside?: boolean;
}

/** Validates the list of models' detections; returns them with typed arrays (number[][] converted once). */
export function checkModels(models: unknown, path: string): Detections[] {
  if (!Array.isArray(models) || models.length === 0) {
    throw new OmniTypeError(path, 'a non-empty array of detections { boxes, scores, labels } (one per model)', models);
  }
  return models.map((m: unknown, t) => toDetections(m, `${path}[${t}]`));
}

/** Options of the fusion functions: the image size travels in them (`options.image`). */
export interface FusionOptions {
  /** The image the boxes belong to, in pixels (ensemble_boxes' normalisation). Required. */
  image: ImageSize;
}

/**
 * The options of `f(models, options)`, or of the deprecated `f(models, image, options)`,
 * as one object with `image` (its error path says which form named it).
 */
export function readFusionArgs<O extends FusionOptions>(second: unknown, third: unknown): { options: Partial<O>; image: ImageSize; imagePath: string } {
  if (isImageSize(second)) return { options: checkOptions(third as O | undefined), image: second, imagePath: 'image' };
  if (second === undefined) throw new OmniTypeError('options', 'an object { image: { width, height }, ... }', second);
  const options = checkOptions(second as O);
  return { options, image: options.image as ImageSize, imagePath: 'options.image' };
}

/** Validates per-model weights (positive finite numbers, one per model); default all 1. */
export function checkWeights(weights: unknown, count: number, path: string): Float64Array {
  if (weights === undefined) return new Float64Array(count).fill(1);
  if (!Array.isArray(weights) && !(weights instanceof Float64Array) && !(weights instanceof Float32Array)) {
    throw new OmniTypeError(path, `an array of ${count} positive weights`, weights);
  }
  const w = weights as ArrayLike<number>;
  if (w.length !== count) throw new OmniRangeError(path, `${count} weights (one per model)`, weights);
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const v = w[i];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new OmniRangeError(`${path}[${i}]`, 'a positive finite number', v);
    out[i] = v;
  }
  return out;
}

export function prepareModels(models: Detections[], image: ImageSize, path: string, rules: PrepareRules, imagePath = 'image'): PreparedBoxes {
  const { width, height } = checkImage(image, imagePath);
  let total = 0;
  models.forEach((m, t) => {
    const p = `${path}[${t}]`;
    if (m === null || typeof m !== 'object') throw new OmniTypeError(p, 'detections { boxes, scores, labels }', m);
    expectFloatArray(m.boxes, `${p}.boxes`);
    const n = boxCount(m.boxes, `${p}.boxes`);
    checkScores(m.scores, `${p}.scores`, n, [0, 1]);
    checkLabels(m.labels, `${p}.labels`, n);
    total += n;
  });
  const out: PreparedBoxes = {
    n: 0,
    x1: new Float64Array(total),
    y1: new Float64Array(total),
    x2: new Float64Array(total),
    y2: new Float64Array(total),
    score: new Float64Array(total),
    label: new Int32Array(total),
    model: new Int32Array(total),
    source: new Int32Array(total),
  };
  let k = 0;
  let src = 0;
  models.forEach((m, t) => {
    const n = m.boxes.length >> 2;
    for (let i = 0; i < n; i++, src++) {
      let x1 = m.boxes[4 * i];
      let y1 = m.boxes[4 * i + 1];
      let x2 = m.boxes[4 * i + 2];
      let y2 = m.boxes[4 * i + 3];
      const at = `${path}[${t}].boxes[${i}]`;
      if (!Number.isFinite(x1)) throw new OmniRangeError(`${at}.x1`, 'a finite number', x1);
      if (!Number.isFinite(y1)) throw new OmniRangeError(`${at}.y1`, 'a finite number', y1);
      if (!Number.isFinite(x2)) throw new OmniRangeError(`${at}.x2`, 'a finite number', x2);
      if (!Number.isFinite(y2)) throw new OmniRangeError(`${at}.y2`, 'a finite number', y2);
      if (x2 < x1) {
        if (!rules.repairSwapped) throw new OmniRangeError(`${at}.x2`, `a number >= x1 (${x1})`, x2);
        [x1, x2] = [x2, x1];
      }
      if (y2 < y1) {
        if (!rules.repairSwapped) throw new OmniRangeError(`${at}.y2`, `a number >= y1 (${y1})`, y2);
        [y1, y2] = [y2, y1];
      }
      if (rules.requireInside) {
        const names = ['x1', 'y1', 'x2', 'y2'];
        [x1, y1, x2, y2].forEach((v, c) => {
          const hi = c % 2 === 0 ? width : height;
          if (v < 0 || v > hi) throw new OmniRangeError(`${at}.${names[c]}`, `a number in [0, ${hi}] (inside the image)`, v);
        });
      }
      const s = m.scores[i];
      if (s < rules.skipBelow) continue;
      if (rules.clip) {
        x1 = clamp(x1, width);
        x2 = clamp(x2, width);
        y1 = clamp(y1, height);
        y2 = clamp(y2, height);
      }
      if (rules.dropEmpty && (x2 - x1) * (y2 - y1) === 0) continue;
      out.x1[k] = x1;
      out.y1[k] = y1;
      out.x2[k] = x2;
      out.y2[k] = y2;
      out.score[k] = s;
      out.label[k] = m.labels[i];
      out.model[k] = t;
      out.source[k] = src;
      k++;
    }
  });
  out.n = k;
  return out;
}

function clamp(v: number, hi: number): number {
  return v < 0 ? 0 : v > hi ? hi : v;
}

/** Distinct labels in order of first appearance (ensemble_boxes' dict order). */
export function labelsInOrder(labels: Int32Array, n: number): number[] {
  const seen = new Set<number>();
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    if (!seen.has(labels[i])) {
      seen.add(labels[i]);
      out.push(labels[i]);
    }
  }
  return out;
}

/** Fused output of one image: boxes `[M, 4]`, scores `[M]`, labels `[M]`. */
export interface FusedDetections {
  boxes: Float64Array;
  scores: Float64Array;
  labels: Int32Array;
}

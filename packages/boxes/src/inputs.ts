// What the public functions accept, converted once at the entry: boxes as `[N, 4]` float
// typed arrays or plain `number[][]` rows, scores as float typed arrays or `number[]`, labels
// as Int32Array or `number[]`. Inside, everything runs on typed arrays. Errors name the field
// and the type received, e.g. `boxes: expected a Float32Array, Float64Array or number[][]
// ([x1, y1, x2, y2] rows), received Int32Array of length 8`.
import { OmniRangeError, OmniTypeError, type BoxArray, type Detections, type ImageSize } from '@omnidistill/core';

/** `[N, 4]` boxes: a flat float typed array, or one `[x1, y1, x2, y2]` array per box. */
export type BoxesInput = BoxArray | readonly (readonly number[])[];
/** `[N]` scores. */
export type ScoresInput = Float32Array | Float64Array | readonly number[];
/** `[N]` integer labels. */
export type LabelsInput = Int32Array | readonly number[];

/** Boxes and scores of one set (what NMS and box voting take). */
export interface ScoredBoxesInput {
  boxes: BoxesInput;
  scores: ScoresInput;
}

/** Boxes, scores and labels of one set (one model, one transform). */
export interface DetectionsInput extends ScoredBoxesInput {
  labels: LabelsInput;
}

const BOXES_EXPECTED = 'a Float32Array, Float64Array or number[][] ([x1, y1, x2, y2] rows)';

/** Boxes as a float typed array (the typed array itself when given one: no copy). */
export function toBoxArray(value: unknown, path: string): BoxArray {
  if (value instanceof Float32Array || value instanceof Float64Array) return value;
  if (!Array.isArray(value)) throw new OmniTypeError(path, BOXES_EXPECTED, value);
  const out = new Float64Array(4 * value.length);
  value.forEach((row: unknown, i) => {
    if (!Array.isArray(row) || row.length !== 4) {
      // A flat number[] is the likeliest mistake: say so rather than "received 0 (number)".
      const hint = typeof row === 'number' ? ' (a flat number[] is ambiguous: pass rows, or a Float64Array)' : '';
      throw new OmniTypeError(`${path}[${i}]`, `an [x1, y1, x2, y2] array of 4 numbers${hint}`, row);
    }
    for (let c = 0; c < 4; c++) {
      const v: unknown = row[c];
      if (typeof v !== 'number') throw new OmniTypeError(`${path}[${i}][${c}]`, 'a number', v);
      out[4 * i + c] = v;
    }
  });
  return out;
}

/** Scores as a float typed array. */
export function toScoreArray(value: unknown, path: string): Float32Array | Float64Array {
  if (value instanceof Float32Array || value instanceof Float64Array) return value;
  if (!Array.isArray(value)) throw new OmniTypeError(path, 'a Float32Array, Float64Array or number[]', value);
  return Float64Array.from(value, (v: unknown, i) => {
    if (typeof v !== 'number') throw new OmniTypeError(`${path}[${i}]`, 'a number', v);
    return v;
  });
}

/** Labels as an Int32Array (integers only). */
export function toLabelArray(value: unknown, path: string): Int32Array {
  if (value instanceof Int32Array) return value;
  if (!Array.isArray(value)) throw new OmniTypeError(path, 'an Int32Array or number[] of integer labels', value);
  return Int32Array.from(value, (v: unknown, i) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31) {
      throw new OmniRangeError(`${path}[${i}]`, 'a 32-bit integer label', v);
    }
    return v;
  });
}

/** `{ boxes, scores }` with typed arrays (other fields dropped). */
export function toScoredBoxes(value: unknown, path: string): { boxes: BoxArray; scores: Float32Array | Float64Array } {
  if (value === null || typeof value !== 'object') throw new OmniTypeError(path, 'scored boxes { boxes, scores }', value);
  const v = value as ScoredBoxesInput;
  return { boxes: toBoxArray(v.boxes, `${path}.boxes`), scores: toScoreArray(v.scores, `${path}.scores`) };
}

/** `{ boxes, scores, labels }` with typed arrays. */
export function toDetections(value: unknown, path: string): Detections {
  if (value === null || typeof value !== 'object') throw new OmniTypeError(path, 'detections { boxes, scores, labels }', value);
  const v = value as DetectionsInput;
  return { ...toScoredBoxes(v, path), labels: toLabelArray(v.labels, `${path}.labels`) };
}

/** True for the arguments of the old `f(models, image, options)` form of the fusion functions. */
export function isImageSize(value: unknown): value is ImageSize {
  return value !== null && typeof value === 'object' && 'width' in value && 'height' in value && !('image' in value);
}

/** True when `value` is box data (old positional forms) rather than a `{ boxes, scores }` object. */
export function isBoxData(value: unknown): boolean {
  return Array.isArray(value) || value instanceof Float32Array || value instanceof Float64Array;
}

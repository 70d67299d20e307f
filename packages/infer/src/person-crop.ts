// Top-down person crops (MMPose / HRNet / SimpleBaseline style) and their test-time
// transforms: each RoI becomes an aspect-fixed, padded crop resampled to the model's input;
// a transform of the plan scales the crop (the person looks `scale`× larger) and/or mirrors
// it; outputs are un-flipped and resampled into the identity crop's frame, then averaged
// there — the crop-frame counterpart of the paper's RoI-frame heatmap averaging.
import { Tensor } from 'onnxruntime-node';
import { flipPermutation } from '@omnidistill/core';
import { resolvePlan, type TransformGeometry } from '@omnidistill/transforms';
import type { DecodedImage } from './image.js';
import type { KeypointInferenceOptions } from './keypoint-options.js';
import { InputCanvas, type AxisMap } from './sampling.js';
import type { CropOptions } from './layouts/types.js';
import type { KeypointSession } from './session.js';
import { timeStage } from './stage-clock.js';

/** A crop rectangle in image pixels: centre and size. */
export interface CropFrame {
  cx: number;
  cy: number;
  w: number;
  h: number;
}

/** The model input's size (from its fixed `[1, 3, H, W]` dims). */
export interface InputSize {
  width: number;
  height: number;
}

/**
 * The crop of `box` (`[x1, y1, x2, y2]`): the box widened or heightened to the input's aspect
 * ratio, times `padding`, divided by `scale` (a zoom-in for scale > 1), same centre.
 */
export function cropFrame(box: ArrayLike<number>, input: InputSize, padding: number, scale = 1): CropFrame {
  let w = box[2] - box[0];
  let h = box[3] - box[1];
  const aspect = input.width / input.height;
  if (w > aspect * h) h = w / aspect;
  else w = h * aspect;
  return { cx: (box[0] + box[2]) / 2, cy: (box[1] + box[3]) / 2, w: (w * padding) / scale, h: (h * padding) / scale };
}

/** Input position → image position for a crop (mirrored when `flip`). */
export function cropMap(frame: CropFrame, input: InputSize, flip: boolean): AxisMap {
  const sx = frame.w / input.width;
  const sy = frame.h / input.height;
  const y0 = frame.cy - frame.h / 2;
  return flip ? { x0: frame.cx + frame.w / 2, sx: -sx, y0, sy } : { x0: frame.cx - frame.w / 2, sx, y0, sy };
}

/** One crop of one RoI under one transform. */
export interface Crop {
  frame: CropFrame;
  flip: boolean;
}

/** The normalised `[1, 3, H, W]` input of one crop. */
export function cropInput(model: KeypointSession, image: DecodedImage, frame: CropFrame, input: InputSize, flip: boolean, options: CropOptions): Tensor {
  return cropInputs(model, image, [{ frame, flip }], input, options);
}

/** The normalised `[B, 3, H, W]` input of `crops.length` crops, one after the other. */
export function cropInputs(model: KeypointSession, image: DecodedImage, crops: readonly Crop[], input: InputSize, options: CropOptions): Tensor {
  return timeStage(model.clock, 'transform', () => {
    const size = 3 * input.width * input.height;
    const data = new Float32Array(crops.length * size);
    crops.forEach((c, i) => {
      const canvas = new InputCanvas(input.width, input.height, model.manifest.pixels, options.padValue);
      canvas.sample(image, cropMap(c.frame, input, c.flip), { left: 0, top: 0, width: input.width, height: input.height }, options.padValue);
      data.set(canvas.data, i * size);
    });
    return new Tensor('float32', data, [crops.length, 3, input.height, input.width]);
  });
}

/**
 * Crops per model call when the crop model's batch dimension is dynamic: enough to amortise
 * a call's fixed cost, small enough that a batch stays a few MB (16 × 3 × 256 × 192 floats
 * is 9 MB).
 */
export const CROP_BATCH = 16;

/** Crops per call: {@link CROP_BATCH} when the model's batch dimension is dynamic, else its fixed 1. */
export function cropBatchOf(model: KeypointSession): number {
  return model.inputs.image.dims[0] === null ? CROP_BATCH : 1;
}

/** The fixed input size of a crop model (its manifest check requires fixed H and W). */
export function cropInputSize(model: KeypointSession): InputSize {
  const dims = model.inputs.image.dims;
  return { width: dims[3]!, height: dims[2]! };
}

/**
 * Per-keypoint maps along one or two axes in a crop's frame, accumulated across transforms in
 * the identity crop's frame: `sizes` = `[w]` (a SimCC axis) or `[h, w]` (a heatmap).
 */
export class CropFrameEnsemble {
  private readonly acc: Float64Array;
  private readonly weight: Float64Array;
  private readonly cells: number;

  /**
   * @param horizontal whether the last axis runs along x (heatmaps, SimCC x) and is therefore
   *   mirrored by a flip; SimCC's y axis is not.
   */
  constructor(
    readonly k: number,
    readonly sizes: readonly number[],
    private readonly mode: 'avg' | 'max',
    private readonly horizontal = true,
  ) {
    this.cells = sizes.reduce((a, b) => a * b, 1);
    this.acc = new Float64Array(k * this.cells).fill(mode === 'max' ? -Infinity : 0);
    this.weight = new Float64Array(this.cells);
  }

  /**
   * Adds the maps `[K, ...sizes]` of one transform: un-flipped (channels through `perm`, the
   * last axis reversed when horizontal) when `perm` is given, resampled by `scale` about the centre into the
   * identity frame; positions the zoomed crop did not see get no contribution.
   */
  add(maps: Float32Array, scale: number, perm: Int32Array | null): void {
    const mirrored = perm !== null && this.horizontal;
    const taps = this.sizes.map((n, axis) => centreTaps(n, scale, mirrored && axis === this.sizes.length - 1));
    const [rows, cols] = taps.length === 2 ? taps : [null, taps[0]];
    const h = rows === null ? 1 : this.sizes[0];
    const w = this.sizes[this.sizes.length - 1];
    for (let i = 0; i < h; i++) {
      if (rows !== null && !rows.valid[i]) continue;
      for (let j = 0; j < w; j++) {
        if (!cols.valid[j]) continue;
        const cell = i * w + j;
        this.weight[cell] += 1;
        for (let c = 0; c < this.k; c++) {
          const src = (perm === null ? c : perm[c]) * this.cells;
          const at = (y: number, x: number) => maps[src + y * w + x];
          let v: number;
          if (rows === null) v = at(0, cols.lo[j]) * (1 - cols.f[j]) + at(0, cols.hi[j]) * cols.f[j];
          else {
            const top = at(rows.lo[i], cols.lo[j]) * (1 - cols.f[j]) + at(rows.lo[i], cols.hi[j]) * cols.f[j];
            const bottom = at(rows.hi[i], cols.lo[j]) * (1 - cols.f[j]) + at(rows.hi[i], cols.hi[j]) * cols.f[j];
            v = top * (1 - rows.f[i]) + bottom * rows.f[i];
          }
          const o = c * this.cells + cell;
          this.acc[o] = this.mode === 'max' ? Math.max(this.acc[o], v) : this.acc[o] + v;
        }
      }
    }
  }

  /** The combined maps `[K, ...sizes]` (mean over the transforms that saw each position). */
  result(): Float64Array {
    if (this.mode === 'max') return this.acc;
    const out = new Float64Array(this.acc.length);
    for (let c = 0; c < this.k; c++) {
      for (let cell = 0; cell < this.cells; cell++) out[c * this.cells + cell] = this.acc[c * this.cells + cell] / this.weight[cell];
    }
    return out;
  }
}

/**
 * Where each identity-frame cell centre `j + 0.5` lies in a map of the same size zoomed by
 * `scale` about the centre (mirrored when `mirror`): two taps, the weight of the second, and
 * whether that position is inside the zoomed map at all.
 */
function centreTaps(n: number, scale: number, mirror: boolean): { lo: Int32Array; hi: Int32Array; f: Float64Array; valid: Uint8Array } {
  const lo = new Int32Array(n);
  const hi = new Int32Array(n);
  const f = new Float64Array(n);
  const valid = new Uint8Array(n);
  const c = n / 2;
  for (let j = 0; j < n; j++) {
    let q = c + (j + 0.5 - c) * scale; // continuous position in the transform's own map
    if (mirror) q = n - q;
    if (q < 0 || q > n) continue;
    const p = q - 0.5;
    const i0 = Math.floor(p);
    f[j] = p - i0;
    lo[j] = Math.min(Math.max(i0, 0), n - 1);
    hi[j] = Math.min(Math.max(i0 + 1, 0), n - 1);
    valid[j] = 1;
  }
  return { lo, hi, f, valid };
}

/**
 * Runs the model on every RoI under every transform of the plan and feeds the ensembles
 * `perRoi[n]` (one per output map set). Crops go `cropBatchOf(model)` per call (many when
 * the batch dimension is dynamic); `runCrops(input, count)` returns each crop's output maps.
 * Every RoI's ensemble receives its transforms in plan order whatever the batching, and the
 * identity comes first in every plan, so each identity-frame position has a contribution.
 */
export async function ensembleCrops(
  model: KeypointSession,
  image: DecodedImage,
  rois: Float64Array,
  options: KeypointInferenceOptions,
  crop: CropOptions,
  runCrops: (input: Tensor, count: number) => Promise<Float32Array[][]>,
  ensembles: (n: number) => CropFrameEnsemble[],
): Promise<CropFrameEnsemble[][]> {
  const n = rois.length / 4;
  const input = cropInputSize(model);
  const { names, flipPairs } = model.manifest.keypoints;
  const perm = flipPermutation(flipPairs, names.length);
  const geometries: TransformGeometry[] = resolvePlan(options.plan, image);
  const out = Array.from({ length: n }, (_, r) => ensembles(r));
  // RoI-major, transform-minor: the order of the one-crop-per-call loop this replaces.
  const jobs = out.flatMap((_, r) => geometries.map((g) => ({ r, g, frame: cropFrame(rois.subarray(4 * r, 4 * r + 4), input, crop.padding, g.scale) })));
  const batch = cropBatchOf(model);
  for (let start = 0; start < jobs.length; start += batch) {
    const chunk = jobs.slice(start, start + batch);
    const maps = await runCrops(cropInputs(model, image, chunk.map((j) => ({ frame: j.frame, flip: j.g.flip })), input, crop), chunk.length);
    timeStage(model.clock, 'ensemble', () => chunk.forEach((j, i) => maps[i].forEach((m, o) => out[j.r][o].add(m, j.g.scale, j.g.flip ? perm : null))));
  }
  return out;
}

/** Identity-crop position (input pixels) → image position. */
export function cropToImage(frame: CropFrame, input: InputSize, u: number, v: number): [number, number] {
  return [frame.cx - frame.w / 2 + (u * frame.w) / input.width, frame.cy - frame.h / 2 + (v * frame.h) / input.height];
}

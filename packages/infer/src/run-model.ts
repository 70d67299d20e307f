// One forward pass of a detector or keypoint model on one transformed image: input
// preparation (resize, flip, normalise, pad), RoI batching, output checking.
import { Tensor } from 'onnxruntime-node';
import type { ImageSize } from '@omnidistill/core';
import type { TransformGeometry } from '@omnidistill/transforms';
import { inputSizeFor, resizeImage, toInputTensor, type DecodedImage } from './image.js';
import { inputBuffers } from './input-buffers.js';
import type { DetectorSession, KeypointSession, ModelSession } from './session.js';
import { timeStage } from './stage-clock.js';

/** The transformed, normalised and padded input tensor of a model for one transform (a buffer of its own). */
export function prepareInput(model: ModelSession, image: DecodedImage, geometry: TransformGeometry): Promise<Tensor> {
  return timeStage(model.clock, 'transform', () => prepareUntimed(model, image, geometry, false));
}

/**
 * `use(input)` with the input tensor of one transform (as {@link prepareInput}) in a buffer
 * reused across calls (input-buffers.ts): it is handed back when `use` settles, so `use` must
 * not keep the tensor (its model calls must have returned).
 */
export function withInput<T>(model: ModelSession, image: DecodedImage, geometry: TransformGeometry, use: (input: Tensor) => Promise<T>): Promise<T> {
  return withPooledInput(model, () => prepareUntimed(model, image, geometry, true), use);
}

/**
 * `use(input)` with the tensor `build` fills into a buffer taken from the reused input buffers
 * (input-buffers.ts; the build is timed as the transform stage): the buffer is handed back when
 * `use` settles, so `use` must not keep the tensor. For layouts whose input is not
 * {@link prepareInput}'s padded [1, 3, H, W].
 */
export async function withPooledInput<T>(model: ModelSession, build: () => Promise<Tensor>, use: (input: Tensor) => Promise<T>): Promise<T> {
  const input = await timeStage(model.clock, 'transform', build);
  try {
    return await use(input);
  } finally {
    inputBuffers.give(input.data as Float32Array);
  }
}

async function prepareUntimed(model: ModelSession, image: DecodedImage, geometry: TransformGeometry, pooled: boolean): Promise<Tensor> {
  const resized = await resizeImage(image, geometry.target, model.manifest.pixels.resizeKernel);
  const padded = inputSizeFor(geometry.target, model.inputs.image.dims, model.manifest.pixels.sizeDivisor, `${model.source}: image under ${geometry.spec.name}`);
  const out = pooled ? inputBuffers.take(3 * padded.width * padded.height) : undefined;
  const data = toInputTensor(resized, model.manifest.pixels, geometry.flip, padded, out);
  return new Tensor('float32', data, [1, 3, padded.height, padded.width]);
}

/** Raw detector output in the coordinates of the image it saw. */
export interface RawDetections {
  boxes: Float32Array;
  scores: Float32Array;
  /** COCO category ids (labels mapped through the manifest's `categoryIds`). */
  categoryIds: Int32Array;
}

function outputOf(model: ModelSession, outputs: Record<string, Tensor>, role: string, expectedDims: (number | null)[]): Tensor {
  const name = model.outputs[role].name;
  const t = outputs[name];
  if (!t) throw new Error(`${model.source}: run returned no output "${name}" (${role})`);
  const ok = t.dims.length === expectedDims.length && expectedDims.every((d, i) => d === null || t.dims[i] === d);
  if (!ok) throw new Error(`${model.source}: output "${name}" (${role}) has shape [${t.dims.join(', ')}], expected [${expectedDims.map((d) => d ?? '*').join(', ')}]`);
  return t;
}

/**
 * Runs a detector on one prepared input. Boxes are clipped to `visible` (the transformed
 * image without its padding) so padding never yields boxes outside the picture.
 */
export async function runDetector(model: DetectorSession, input: Tensor, visible: ImageSize): Promise<RawDetections> {
  const out = (await model.session.run({ [model.inputs.image.name]: input })) as Record<string, Tensor>;
  const boxesT = outputOf(model, out, 'boxes', [null, 4]);
  const d = boxesT.dims[0];
  const scoresT = outputOf(model, out, 'scores', [d]);
  const labelsT = outputOf(model, out, 'labels', [d]);
  const boxes = Float32Array.from(boxesT.data as Float32Array);
  for (let i = 0; i < d; i++) {
    boxes[4 * i] = clamp(boxes[4 * i], 0, visible.width);
    boxes[4 * i + 1] = clamp(boxes[4 * i + 1], 0, visible.height);
    boxes[4 * i + 2] = clamp(boxes[4 * i + 2], boxes[4 * i], visible.width);
    boxes[4 * i + 3] = clamp(boxes[4 * i + 3], boxes[4 * i + 1], visible.height);
  }
  const ids = model.manifest.categoryIds;
  const categoryIds = new Int32Array(d);
  const labels = labelsT.data as BigInt64Array | Int32Array | Float32Array;
  for (let i = 0; i < d; i++) {
    const label = Number(labels[i]);
    if (ids === null) categoryIds[i] = label;
    else {
      const id = ids[label];
      if (id === undefined) throw new Error(`${model.source}: label ${label} has no entry in manifest.categoryIds (length ${ids.length})`);
      categoryIds[i] = id;
    }
  }
  return { boxes, scores: Float32Array.from(scoresT.data as Float32Array), categoryIds };
}

/** Clamps to [lo, hi]; `+ 0` turns a model's -0 into 0. */
function clamp(v: number, lo: number, hi: number): number {
  return (v < lo ? lo : v > hi ? hi : v) + 0;
}

/**
 * Runs a keypoint model on one prepared input for `rois` (`[N, 4]` in that input's pixels),
 * writing `[N, K, M, M]` heatmaps into `out` at element offset `at`. RoIs go in batches of
 * the model's fixed RoI count (padded with a dummy RoI, whose heatmaps are dropped) or of
 * `batch` when the RoI dimension is dynamic.
 */
export async function runKeypointModel(
  model: KeypointSession,
  input: Tensor,
  rois: Float64Array,
  batch: number,
  out: Float32Array,
  at: number,
): Promise<void> {
  const n = rois.length / 4;
  const { names } = model.manifest.keypoints;
  const m = model.manifest.keypoints.heatmapSize!; // `rois` layout: required by the manifest
  const perRoi = names.length * m * m;
  const fixed = model.inputs.rois.dims[0];
  const step = fixed ?? Math.max(1, batch);
  for (let start = 0; start < n; start += step) {
    const count = Math.min(step, n - start);
    const rows = fixed ?? count;
    const roiData = new Float32Array(4 * rows);
    for (let i = 0; i < 4 * count; i++) roiData[i] = rois[4 * start + i];
    for (let i = count; i < rows; i++) roiData.set([0, 0, 1, 1], 4 * i); // padding RoI
    const feeds = { [model.inputs.image.name]: input, [model.inputs.rois.name]: new Tensor('float32', roiData, [rows, 4]) };
    const result = (await model.session.run(feeds)) as Record<string, Tensor>;
    const heatmaps = outputOf(model, result, 'heatmaps', [rows, names.length, m, m]);
    out.set((heatmaps.data as Float32Array).subarray(0, count * perRoi), at + start * perRoi);
  }
}

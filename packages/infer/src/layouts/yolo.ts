// The `yolo` layout: Ultralytics-style exported heads. detect: `image` [1, 3, H, W] →
// `predictions` [1, 4 + C, A] (cx, cy, w, h in input pixels + C class scores); pose:
// [1, 4 + 1 + 3K, A] (box, person score, then x, y, visibility per keypoint). With a dynamic
// batch dimension ([B, …]) the transforms of an image that share an input size go in one call. Preprocessing is
// the letterbox (aspect-keeping resize to a fixed input, centred padding of 114), postprocessing
// a score filter, class-wise NMS (@omnidistill/boxes) and the map back to the image's pixels.
import { Tensor } from 'onnxruntime-node';
import { OmniRangeError, OmniTypeError, expectFiniteNumber, expectInRange, expectInteger, type ImageSize } from '@omnidistill/core';
import { batchedNms } from '@omnidistill/boxes';
import { roundHalfEven, type TransformGeometry } from '@omnidistill/transforms';
import { resizeImage, type DecodedImage } from '../image.js';
import type { ModelManifest, ModelRole } from '../manifest.js';
import type { RawDetections } from '../run-model.js';
import { InputCanvas } from '../sampling.js';
import type { DetectorSession, KeypointSession, ModelSession } from '../session.js';
import { timeStage } from '../stage-clock.js';
import { BatchShapeError, batchItem, consecutiveBatches, releaseInput, runBatchOrEach, stackedInput, transformBatchOf } from '../transform-batch.js';
import type { LayoutAdapter, LayoutExpectations, RegressedInstances, YoloOptions } from './types.js';

const OPTION_FIELDS = ['scoreThreshold', 'nmsThreshold', 'maxDetections', 'padValue', 'stride'] as const;

function parseYoloOptions(value: unknown, _role: ModelRole, path: string): YoloOptions {
  const o = value === undefined ? {} : value;
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new OmniTypeError(path, 'an object', value);
  const rec = o as Record<string, unknown>;
  for (const key of Object.keys(rec)) {
    if (!(OPTION_FIELDS as readonly string[]).includes(key)) throw new OmniRangeError(`${path}.${key}`, `no such field (known for layout "yolo": ${OPTION_FIELDS.join(', ')})`, rec[key]);
  }
  return {
    layout: 'yolo',
    scoreThreshold: rec.scoreThreshold === undefined ? 0.001 : expectFiniteNumber(rec.scoreThreshold, `${path}.scoreThreshold`),
    nmsThreshold: rec.nmsThreshold === undefined ? 0.7 : expectInRange(rec.nmsThreshold, `${path}.nmsThreshold`, 0, 1),
    maxDetections: rec.maxDetections === undefined ? 300 : expectInteger(rec.maxDetections, `${path}.maxDetections`, 1),
    padValue: rec.padValue === undefined ? 114 : expectInRange(rec.padValue, `${path}.padValue`, 0, 255),
    stride: rec.stride === undefined ? 32 : expectInteger(rec.stride, `${path}.stride`, 1),
  };
}

function optionsOf(model: ModelSession): YoloOptions {
  const o = model.manifest.layoutOptions;
  if (o.layout !== 'yolo') throw new Error(`${model.source}: not a yolo-layout model`);
  return o;
}

/** Channels per anchor the manifest implies (null: any, a detector without categoryIds). */
function channelsOf(manifest: ModelManifest): number | null {
  if (manifest.role === 'keypoints') return 5 + 3 * manifest.keypoints.names.length;
  return manifest.categoryIds === null ? null : 4 + manifest.categoryIds.length;
}

function expectations(manifest: ModelManifest): LayoutExpectations {
  return {
    inputs: { image: { rank: 4, types: ['float32'], dims: [1, 3, null, null] } },
    outputs: { predictions: { rank: 3, types: ['float32'], dims: [1, channelsOf(manifest), null] } },
  };
}

/** Where the transformed image lands in the model input: `x_in = x · r + left`. */
export interface Letterbox {
  input: ImageSize;
  r: number;
  left: number;
  top: number;
  resized: ImageSize;
}

/**
 * Ultralytics' letterbox: a fixed input gets the image scaled by r = min(H/h, W/w) (up or
 * down), centred (left = round(dw − 0.1)); a dynamic input keeps the size, padded to a
 * multiple of `stride`. Rounding is half-to-even, as Python's `round`.
 */
export function letterbox(size: ImageSize, dims: readonly (number | null)[], stride: number): Letterbox {
  const fixedH = dims[2];
  const fixedW = dims[3];
  const r = fixedH != null && fixedW != null ? Math.min(fixedH / size.height, fixedW / size.width) : 1;
  const resized = { width: roundHalfEven(size.width * r), height: roundHalfEven(size.height * r) };
  const input = {
    width: fixedW ?? Math.ceil(resized.width / stride) * stride,
    height: fixedH ?? Math.ceil(resized.height / stride) * stride,
  };
  if (resized.width > input.width || resized.height > input.height) {
    throw new OmniRangeError('image', `a size whose letterbox fits the input ${input.width}×${input.height}`, `${size.width}×${size.height}`);
  }
  return {
    input,
    r,
    left: roundHalfEven((input.width - resized.width) / 2 - 0.1) + 0, // + 0: no -0 for no padding
    top: roundHalfEven((input.height - resized.height) / 2 - 0.1) + 0,
    resized,
  };
}

/** One transform's letterbox (where it lands in the model input); no pixels yet. */
function letterboxOf(model: ModelSession, g: TransformGeometry): Letterbox {
  return letterbox(g.target, model.inputs.image.dims, optionsOf(model).stride);
}

/** Samples the transformed image (resized by the plan) into `out`, one `[3, H, W]` letterboxed input, flipped if asked. */
function sampleLetterbox(model: ModelSession, transformed: DecodedImage, g: TransformGeometry, box: Letterbox, out: Float32Array): void {
  const canvas = new InputCanvas(box.input.width, box.input.height, model.manifest.pixels, optionsOf(model).padValue, out);
  const sx = g.target.width / box.resized.width;
  const sy = g.target.height / box.resized.height;
  const map = g.flip
    ? { x0: g.target.width + box.left * sx, sx: -sx, y0: -box.top * sy, sy }
    : { x0: -box.left * sx, sx, y0: -box.top * sy, sy };
  canvas.sample(transformed, map, { left: box.left, top: box.top, width: box.resized.width, height: box.resized.height }, 'clamp');
}

/** The `[B, 3, H, W]` input of transforms whose letterboxes share one input size. */
async function batchInput(model: ModelSession, image: DecodedImage, gs: readonly TransformGeometry[], boxes: readonly Letterbox[]): Promise<Tensor> {
  const transformed: DecodedImage[] = [];
  // One after the other: resizeImage keeps an image's latest resize, which the flipped twin reuses.
  for (const g of gs) transformed.push(await resizeImage(image, g.target, model.manifest.pixels.resizeKernel));
  const { width, height } = boxes[0].input;
  return stackedInput(gs.length, [3, height, width], (item, i) => sampleLetterbox(model, transformed[i], gs[i], boxes[i], item));
}

/** The raw head `[no, A]` of one transform's pass (a view into the batch's output). */
interface Head {
  data: Float32Array;
  no: number;
  a: number;
}

/** One transform's pass: its geometry, letterbox and head. */
interface Pass {
  g: TransformGeometry;
  box: Letterbox;
  head: Head;
}

/**
 * Runs the model under every geometry, as many per call as the model takes (a dynamic batch
 * dimension: every consecutive transform of the same input size, see transform-batch.ts; one
 * per call again if a batched run fails), and returns the passes in geometry order.
 */
async function runPasses(model: ModelSession, image: DecodedImage, geometries: readonly TransformGeometry[]): Promise<Pass[]> {
  const boxes = geometries.map((g) => letterboxOf(model, g));
  const runBatch = async (batch: readonly number[]): Promise<Pass[]> => {
    const gs = batch.map((i) => geometries[i]);
    const input = await timeStage(model.clock, 'transform', () => batchInput(model, image, gs, batch.map((i) => boxes[i])));
    let heads: Head[];
    try {
      heads = await runHeads(model, input); // views into the output, not the input
    } finally {
      releaseInput(input);
    }
    return batch.map((i, b) => ({ g: geometries[i], box: boxes[i], head: heads[b] }));
  };
  const passes: Pass[] = [];
  for (const batch of consecutiveBatches(boxes.map((b) => `${b.input.width}x${b.input.height}`), transformBatchOf(model))) {
    passes.push(...(await runBatchOrEach(model, batch, runBatch)));
  }
  return passes;
}

/** The raw heads of one run on a `[B, 3, H, W]` input (output `[B, no, A]`), checked against the manifest. */
async function runHeads(model: ModelSession, input: Tensor): Promise<Head[]> {
  const out = (await model.session.run({ [model.inputs.image.name]: input })) as Record<string, Tensor>;
  const name = model.outputs.predictions.name;
  const t = out[name];
  const b = input.dims[0];
  const want = channelsOf(model.manifest);
  if (b > 1 && t && t.dims.length === 3 && t.dims[0] !== b) {
    throw new BatchShapeError(`${model.source}: output "${name}" (predictions) has batch ${t.dims[0]} for an input batch of ${b}`);
  }
  if (!t || t.dims.length !== 3 || t.dims[0] !== b || (want !== null && t.dims[1] !== want) || t.dims[1] < 5) {
    throw new Error(`${model.source}: output "${name}" (predictions) has shape [${t?.dims.join(', ')}], expected [${b}, ${want ?? '4 + C'}, A]`);
  }
  return Array.from({ length: b }, (_, i) => ({ data: batchItem(t, i), no: t.dims[1], a: t.dims[2] }));
}

interface Candidates {
  anchors: number[];
  boxes: Float64Array;
  scores: Float64Array;
  labels: Int32Array;
}

/** Anchors whose best class score passes the threshold, boxes as x1y1x2y2 in input pixels. */
function candidates(head: Head, classes: number, threshold: number): Candidates {
  const { data, a } = head;
  const anchors: number[] = [];
  const labels: number[] = [];
  const scores: number[] = [];
  for (let i = 0; i < a; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (data[(4 + c) * a + i] > data[(4 + best) * a + i]) best = c;
    const s = data[(4 + best) * a + i];
    if (s > threshold) {
      anchors.push(i);
      labels.push(best);
      scores.push(s);
    }
  }
  const boxes = new Float64Array(4 * anchors.length);
  anchors.forEach((i, n) => {
    const [cx, cy, w, h] = [data[i], data[a + i], data[2 * a + i], data[3 * a + i]];
    boxes.set([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 4 * n);
  });
  return { anchors, boxes, scores: Float64Array.from(scores), labels: Int32Array.from(labels) };
}

/** Class-wise NMS, best first, at most maxDetections. */
function suppress(c: Candidates, o: YoloOptions): Int32Array {
  return batchedNms(c, { iouThreshold: o.nmsThreshold }).subarray(0, o.maxDetections);
}

const clamp = (v: number, hi: number) => (v < 0 ? 0 : v > hi ? hi : v) + 0;

/** The kept boxes, from letterboxed input pixels back to the transformed image's, clipped to it. */
function boxesBack(c: Candidates, kept: Int32Array, box: Letterbox, g: TransformGeometry): Float64Array {
  const out = new Float64Array(4 * kept.length);
  kept.forEach((src, i) => {
    for (let j = 0; j < 4; j++) {
      const x = j % 2 === 0;
      out[4 * i + j] = clamp((c.boxes[4 * src + j] - (x ? box.left : box.top)) / box.r, x ? g.target.width : g.target.height);
    }
  });
  return out;
}

/** Detections of one pass, boxes in its transformed image's pixels. */
function passDetections(model: DetectorSession, { g, box, head }: Pass): RawDetections {
  const o = optionsOf(model);
  const c = candidates(head, head.no - 4, o.scoreThreshold);
  const kept = suppress(c, o);
  const ids = model.manifest.categoryIds;
  return {
    boxes: Float32Array.from(boxesBack(c, kept, box, g)),
    scores: Float32Array.from(kept, (src) => c.scores[src]),
    categoryIds: Int32Array.from(kept, (src) => (ids === null ? c.labels[src] : ids[c.labels[src]])),
  };
}

async function detectYoloAll(model: DetectorSession, image: DecodedImage, geometries: readonly TransformGeometry[]): Promise<RawDetections[]> {
  return (await runPasses(model, image, geometries)).map((p) => passDetections(model, p));
}

/** Pose instances of one pass: boxes and keypoints in its transformed image's pixels. */
function passInstances(model: KeypointSession, { g, box, head }: Pass): RegressedInstances {
  const o = optionsOf(model);
  const c = candidates(head, 1, o.scoreThreshold);
  const kept = suppress(c, o);
  const k = model.manifest.keypoints.names.length;
  const { data, a } = head;
  const keypoints = new Float32Array(kept.length * k * 3);
  kept.forEach((src, i) => {
    const anchor = c.anchors[src];
    for (let j = 0; j < k; j++) {
      const at = (q: number) => data[(5 + 3 * j + q) * a + anchor];
      keypoints.set([(at(0) - box.left) / box.r, (at(1) - box.top) / box.r, at(2)], 3 * (i * k + j));
    }
  });
  return {
    boxes: boxesBack(c, kept, box, g),
    scores: Float64Array.from(kept, (src) => c.scores[src]),
    keypoints: { data: keypoints, n: kept.length, k },
    keypointScore: 'probability',
  };
}

async function runYoloPoseAll(model: KeypointSession, image: DecodedImage, geometries: readonly TransformGeometry[]): Promise<RegressedInstances[]> {
  return (await runPasses(model, image, geometries)).map((p) => passInstances(model, p));
}

export const yoloLayout: LayoutAdapter = {
  name: 'yolo',
  description:
    'Ultralytics-style raw heads: detect [1, 4 + C, A] (cx, cy, w, h + class scores), pose [1, 4 + 1 + 3K, A]; letterbox to the fixed input (aspect kept, padded with layoutOptions.padValue, default 114) or, for a dynamic input, padding to a multiple of layoutOptions.stride; score filter, class-wise NMS, boxes mapped back to image pixels. With a fixed input the letterbox rescales every transformed image to the same size: scale transforms only resample (flip still counts). Pose keypoints are regressed (ensembled by instance matching).',
  traits: { resizesInGraph: false, selfDetecting: true, cropsPerson: false },
  roles: {
    detector: { inputs: ['image'], outputs: ['predictions'] },
    keypoints: { inputs: ['image'], outputs: ['predictions'] },
  },
  needsHeatmapSize: false,
  parseOptions: parseYoloOptions,
  expectations,
  detect: async (model, image, g) => (await detectYoloAll(model, image, [g]))[0],
  detectAll: detectYoloAll,
  keypoints: { kind: 'regressed', run: async (model, image, g) => (await runYoloPoseAll(model, image, [g]))[0], runAll: runYoloPoseAll },
};


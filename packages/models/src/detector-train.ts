// Training data, training run, export and evaluation of the `detector` reference model.
import { join } from 'node:path';
import { createParams, evaluate, summarize, type CocoResult } from '@omnidistill/coco';
import { OmniRangeError, expectInteger } from '@omnidistill/core';
import {
  Rng,
  type Feeds,
} from '@omnidistill/train';
import * as ort from 'onnxruntime-node';
import { DEFAULT_PIXELS, ImageWriter, loadCocoSource, type CocoSource, type LoadedImage, type PixelNormalisation } from './data.js';
import { DETECTOR_STRIDE, DETECTOR_TENSORS, defineDetector, detectorFeatureSize, resolveDetectorConfig, type DetectorConfig } from './detector-model.js';
import { inputTensor, type EvaluateOptions, type EvaluationResult } from './evaluate.js';
import { detectorManifest, exportDynamicModel, writeModel } from './export.js';
import { engineChoiceOf, runTraining, type SharedTrainOptions } from './run-training.js';
import { inputSizeOf, type TrainedModel } from './keypoint-train.js';

/**
 * CenterNet's Gaussian radius for a box of `height` × `width` cells: the smallest of three
 * corner-displacement bounds that keep IoU ≥ `minOverlap`, each computed as CenterNet's
 * reference code does ((b + √(b² − 4ac)) / 2, not / 2a), which gives the radii its
 * training recipe was tuned with.
 */
export function gaussianRadius(height: number, width: number, minOverlap = 0.7): number {
  const root = (a: number, b: number, c: number) => (b + Math.sqrt(Math.max(b * b - 4 * a * c, 0))) / 2;
  const r1 = root(1, height + width, (width * height * (1 - minOverlap)) / (1 + minOverlap));
  const r2 = root(4, 2 * (height + width), (1 - minOverlap) * width * height);
  const r3 = root(4 * minOverlap, -2 * minOverlap * (height + width), (minOverlap - 1) * width * height);
  return Math.min(r1, r2, r3);
}

/**
 * Detector targets of one image: heat [C, h, w], regression [4, h, w], mask [h, w], for
 * feature maps `stride` input pixels per cell (the reference detector's 4 by default).
 */
export function writeDetectorTargets(
  boxes: readonly LabeledBox[],
  classes: number,
  hf: number,
  wf: number,
  heat: Float32Array,
  reg: Float32Array,
  mask: Float32Array,
  stride: number = DETECTOR_STRIDE,
): void {
  const plane = hf * wf;
  for (const { box, label } of boxes) {
    const [x1, y1, x2, y2] = box;
    const w = (x2 - x1) / stride;
    const h = (y2 - y1) / stride;
    if (!(w > 0 && h > 0) || label < 0 || label >= classes) continue;
    const fx = (x1 + x2) / 2 / stride;
    const fy = (y1 + y2) / 2 / stride;
    const ix = Math.min(Math.max(Math.floor(fx), 0), wf - 1);
    const iy = Math.min(Math.max(Math.floor(fy), 0), hf - 1);
    const r = Math.max(0, Math.floor(gaussianRadius(h, w)));
    const sigma = (2 * r + 1) / 6;
    const base = label * plane;
    for (let y = Math.max(0, iy - r); y <= Math.min(hf - 1, iy + r); y++) {
      for (let x = Math.max(0, ix - r); x <= Math.min(wf - 1, ix + r); x++) {
        const v = Math.exp(-((x - ix) ** 2 + (y - iy) ** 2) / (2 * sigma * sigma));
        const at = base + y * wf + x;
        if (v > heat[at]) heat[at] = v;
      }
    }
    heat[base + iy * wf + ix] = 1;
    const c = iy * wf + ix;
    reg[c] = w;
    reg[plane + c] = h;
    reg[2 * plane + c] = fx - ix;
    reg[3 * plane + c] = fy - iy;
    mask[c] = 1;
  }
}

/** A box x1 y1 x2 y2 (input pixels) with its label (index into the category ids). */
export interface LabeledBox {
  readonly box: readonly [number, number, number, number];
  readonly label: number;
}

/** The non-crowd boxes of `image` whose category has a label, mirrored if `flip`. */
export function labeledBoxes(image: LoadedImage, flip: boolean, labelOf: ReadonlyMap<number, number>): LabeledBox[] {
  return image.annotations
    .filter((a) => !a.iscrowd && labelOf.has(a.category_id))
    .map((a) => {
      const [x, y, w, h] = a.bbox;
      const box: [number, number, number, number] = flip ? [image.width - x - w, y, image.width - x, y + h] : [x, y, x + w, y + h];
      return { box, label: labelOf.get(a.category_id)! };
    });
}

/** What a {@link DetectorBatchBuilder} writes: input size, classes, and (for imported students) the feature grid and image input name. */
export interface DetectorBatchOptions {
  readonly height: number;
  readonly width: number;
  /** COCO category ids; label = index. */
  readonly categoryIds: readonly number[];
  readonly flipProbability?: number;
  readonly pixels?: PixelNormalisation;
  /** Input pixels per feature cell (default 4, the reference detector's). */
  readonly stride?: number;
  /** Feature grid [h, w] (default: the reference backbone's for the input size). */
  readonly featureSize?: readonly [number, number];
  /** Name of the image feed (default `image`). */
  readonly imageInput?: string;
}

/** Builds detector minibatches with random horizontal flips. */
export class DetectorBatchBuilder {
  private readonly writer: ImageWriter;
  private readonly labelOf: Map<number, number>;
  constructor(private readonly o: DetectorBatchOptions) {
    this.writer = new ImageWriter(o.pixels ?? DEFAULT_PIXELS);
    this.labelOf = new Map(o.categoryIds.map((id, i) => [id, i]));
  }

  build(images: readonly LoadedImage[], rng: Rng): Feeds {
    const { height: H, width: W } = this.o;
    const B = images.length;
    const C = this.o.categoryIds.length;
    const [hf, wf] = this.o.featureSize ?? [detectorFeatureSize(H), detectorFeatureSize(W)];
    const plane = hf * wf;
    const image = new Float32Array(B * 3 * H * W);
    const heat = new Float32Array(B * C * plane);
    const reg = new Float32Array(B * 4 * plane);
    const mask = new Float32Array(B * plane);
    images.forEach((im, b) => {
      const flip = rng.nextFloat() < (this.o.flipProbability ?? 0.5);
      this.writer.write(im, flip, image, b, H, W);
      writeDetectorTargets(
        labeledBoxes(im, flip, this.labelOf),
        C,
        hf,
        wf,
        heat.subarray(b * C * plane, (b + 1) * C * plane),
        reg.subarray(b * 4 * plane, (b + 1) * 4 * plane),
        mask.subarray(b * plane, (b + 1) * plane),
        this.o.stride,
      );
    });
    const T = DETECTOR_TENSORS;
    return {
      [this.o.imageInput ?? T.image]: { data: image, dims: [B, 3, H, W] },
      [T.heat]: { data: heat, dims: [B, C, hf, wf] },
      [T.regression]: { data: reg, dims: [B, 4, hf, wf] },
      [T.mask]: { data: mask, dims: [B, 1, hf, wf] },
    };
  }
}

/** Options of {@link trainDetector}. */
export interface TrainDetectorOptions extends SharedTrainOptions {
  readonly train: CocoSource;
  readonly generated?: CocoSource;
  readonly steps: number;
  /** Default 16. */
  readonly batch?: number;
  readonly outDir: string;
  /** Default 'detector'. */
  readonly name?: string;
  readonly model?: Partial<Omit<DetectorConfig, 'classes'>>;
  readonly inputSize?: { readonly height: number; readonly width: number };
}

/** The inference ONNX of a detector: `image` [1, 3, H, W] → `boxes` [D, 4], `scores` [D], `labels` [D], H, W, D dynamic. */
export function exportDetector(config: DetectorConfig, parameters: ReadonlyMap<string, Float32Array>): Uint8Array {
  const define = defineDetector(config, { batch: 1, height: 64, width: 64 });
  return exportDynamicModel(define, parameters, { image: [2, 3], boxes: [0], scores: [0], labels: [0] });
}

/**
 * Trains the detector on a COCO split (labels = the split's categories in id order) and
 * exports it (ONNX + manifest with `categoryIds`).
 */
export async function trainDetector(options: TrainDetectorOptions): Promise<TrainedModel> {
  const steps = expectInteger(options.steps, 'options.steps', 1);
  const batch = expectInteger(options.batch ?? 16, 'options.batch', 2);
  engineChoiceOf(options);
  const labeled = await loadCocoSource(options.train);
  const generated = options.generated ? await loadCocoSource(options.generated) : undefined;
  const categoryIds = labeled.dataset.categories.map((c) => c.id).sort((a, b) => a - b);
  const config = resolveDetectorConfig({ classes: categoryIds.length, seed: options.seed ?? 0, ...options.model });
  const size = options.inputSize ?? inputSizeOf(generated ? [labeled, generated] : [labeled]);
  const define = defineDetector(config, { batch, ...size });
  const builder = new DetectorBatchBuilder({ ...size, categoryIds });
  const run = await runTraining({ define, steps, batch, labeled, ...(generated ? { generated } : {}), makeBatch: (images, rng) => builder.build(images, rng), options });
  const parameters = run.parameters;
  const out = await writeModel(join(options.outDir, `${options.name ?? 'detector'}.onnx`), exportDetector(config, parameters), detectorManifest(categoryIds, DEFAULT_PIXELS));
  return { ...out, ...run };
}

/**
 * COCO box AP of an exported detector on a split. `categoryIds[label]` maps labels to COCO
 * ids (default: the split's category ids in ascending order, as {@link trainDetector} uses).
 */
export async function evaluateDetector(options: EvaluateOptions & { readonly categoryIds?: readonly number[] }): Promise<EvaluationResult> {
  const t0 = performance.now();
  const data = await loadCocoSource(options.split);
  const ids = options.categoryIds ?? data.dataset.categories.map((c) => c.id).sort((a, b) => a - b);
  const s = await ort.InferenceSession.create(options.onnxPath, { ...(options.threads ? { intraOpNumThreads: options.threads } : {}) });
  const writer = new ImageWriter(options.pixels ?? DEFAULT_PIXELS);
  const results: CocoResult[] = [];
  for (const image of data.images) {
    const out = await s.run({ image: inputTensor(image, writer) });
    const boxes = out.boxes.data as Float32Array;
    const scores = out.scores.data as Float32Array;
    const labels = out.labels.data as BigInt64Array;
    for (let i = 0; i < scores.length; i++) {
      const x1 = Math.max(0, Math.min(boxes[4 * i], image.width));
      const y1 = Math.max(0, Math.min(boxes[4 * i + 1], image.height));
      const x2 = Math.max(x1, Math.min(boxes[4 * i + 2], image.width));
      const y2 = Math.max(y1, Math.min(boxes[4 * i + 3], image.height));
      const id = ids[Number(labels[i])];
      if (id === undefined) throw new OmniRangeError(`label ${labels[i]}`, `a label below ${ids.length}`, Number(labels[i]));
      results.push({ image_id: image.id, category_id: id, score: scores[i], bbox: [x1, y1, x2 - x1, y2 - y1] });
    }
  }
  await s.release();
  const summary = summarize(evaluate(data.dataset, results, createParams('bbox', data.dataset)));
  return { ap: summary.stats[0], stats: summary.stats, text: summary.text, images: data.images.length, detections: results.length, seconds: (performance.now() - t0) / 1000 };
}

// Training and evaluation of the `keypoints` reference model: minibatches with flips and RoI
// jitter, the training loop of @omnidistill/train on the native (onnxruntime-node) engine,
// export to ONNX + manifest, and COCO keypoint AP of the exported model with ground-truth RoIs.
import { join } from 'node:path';
import { COCO_PERSON, OmniRangeError, expectInteger, flipPermutation, type KeypointSchema } from '@omnidistill/core';
import {
  Rng,
  type Feeds,
} from '@omnidistill/train';
import { DEFAULT_PIXELS, ImageWriter, loadCocoSource, type CocoSource, type LoadedDataset, type LoadedImage, type PixelNormalisation } from './data.js';
import { exportDynamicModel, keypointManifest, writeModel } from './export.js';
import { engineChoiceOf, runTraining, type SharedTrainOptions } from './run-training.js';
import { KEYPOINT_TENSORS, defineKeypointModel, resolveKeypointConfig, type KeypointModelConfig } from './keypoint-model.js';
import { writeKeypointTargets } from './keypoint-targets.js';

/** Augmentation and layout of keypoint minibatches. */
export interface KeypointBatchOptions {
  /** Training input size (images are zero-padded bottom/right to it). */
  readonly height: number;
  readonly width: number;
  /** RoIs per minibatch: extra instances are dropped at random, missing ones padded with weight 0. */
  readonly rois: number;
  readonly heatmapSize: number;
  readonly schema: KeypointSchema;
  /** Probability of a horizontal flip (with left/right channel swap). Default 0.5. */
  readonly flipProbability?: number;
  /** RoI jitter: each box side moves by U(−j, j) × the box size. Default 0.05. */
  readonly jitter?: number;
  /** COCO category of the instances. Default 1. */
  readonly categoryId?: number;
  readonly pixels?: PixelNormalisation;
}

/** One training instance: a box and its keypoints in the (possibly flipped) image. */
interface Instance {
  readonly image: number;
  readonly box: Float64Array;
  readonly keypoints: Float64Array;
}

/** Builds keypoint minibatches (the feeds of the training graph) from decoded images. */
export class KeypointBatchBuilder {
  private readonly writer: ImageWriter;
  private readonly perm: Int32Array;
  private readonly k: number;
  constructor(private readonly o: KeypointBatchOptions) {
    this.writer = new ImageWriter(o.pixels ?? DEFAULT_PIXELS);
    this.k = o.schema.keypoints.length;
    this.perm = flipPermutation(o.schema.flipPairs, this.k);
  }

  /** Instances of an image usable as RoIs: non-crowd, right category, a real box, at least one labeled keypoint. */
  private instancesOf(image: LoadedImage, slot: number, flip: boolean, rng: Rng): Instance[] {
    const out: Instance[] = [];
    const jitter = this.o.jitter ?? 0.05;
    const category = this.o.categoryId ?? 1;
    for (const a of image.annotations) {
      if (a.iscrowd || a.category_id !== category || !a.keypoints || a.keypoints.length !== 3 * this.k) continue;
      const [bx, by, bw, bh] = a.bbox;
      if (!(bw >= 1 && bh >= 1)) continue;
      let labeled = 0;
      for (let j = 0; j < this.k; j++) if (a.keypoints[3 * j + 2] > 0) labeled++;
      if (labeled === 0) continue;
      const d = () => (2 * rng.nextFloat() - 1) * jitter;
      let x1 = bx + d() * bw;
      let x2 = bx + bw + d() * bw;
      const y1 = by + d() * bh;
      const y2 = by + bh + d() * bh;
      const kps = Float64Array.from(a.keypoints);
      if (flip) {
        // Continuous coordinates: x' = W − x; channel j takes its mirror partner's keypoint.
        [x1, x2] = [image.width - x2, image.width - x1];
        const src = Float64Array.from(kps);
        for (let j = 0; j < this.k; j++) {
          const p = this.perm[j];
          kps[3 * j] = image.width - src[3 * p];
          kps[3 * j + 1] = src[3 * p + 1];
          kps[3 * j + 2] = src[3 * p + 2];
        }
      }
      out.push({ image: slot, box: Float64Array.of(x1, y1, x2, y2), keypoints: kps });
    }
    return out;
  }

  /** The feeds of one minibatch (`images.length` = the graph's batch size). */
  build(images: readonly LoadedImage[], rng: Rng): Feeds {
    const { height: H, width: W, rois: R, heatmapSize: M } = this.o;
    const B = images.length;
    const K = this.k;
    const image = new Float32Array(B * 3 * H * W);
    let instances: Instance[] = [];
    images.forEach((im, b) => {
      const flip = rng.nextFloat() < (this.o.flipProbability ?? 0.5);
      this.writer.write(im, flip, image, b, H, W);
      instances.push(...this.instancesOf(im, b, flip, rng));
    });
    if (instances.length > R) {
      const order = rng.permutation(instances.length);
      instances = Array.from(order.subarray(0, R), (i) => instances[i]);
    }
    const rois = new Float32Array(R * 4);
    const roiBatch = new BigInt64Array(R);
    const target = new BigInt64Array(R * K);
    const weight = new Float32Array(R * K);
    instances.forEach((inst, r) => {
      rois.set(inst.box, 4 * r);
      roiBatch[r] = BigInt(inst.image);
      writeKeypointTargets(inst.keypoints, inst.box, M, target, weight, r * K);
    });
    // Padding RoIs: a valid box on image 0, weight 0 (no loss).
    for (let r = instances.length; r < R; r++) rois.set([0, 0, 8, 8], 4 * r);
    const T = KEYPOINT_TENSORS;
    const feeds: Record<string, { data: Float32Array | BigInt64Array; dims: number[] }> = {
      [T.image]: { data: image, dims: [B, 3, H, W] },
      [T.rois]: { data: rois, dims: [R, 4] },
      [T.target]: { data: target, dims: [R, K] },
      [T.weight]: { data: weight, dims: [R, K] },
    };
    if (B > 1) feeds[T.roiBatch] = { data: roiBatch, dims: [R] };
    return feeds;
  }
}

/** Options of {@link trainKeypointModel}. */
export interface TrainKeypointOptions extends SharedTrainOptions {
  /** Human-labeled training split. */
  readonly train: CocoSource;
  /** Generated (teacher-labeled) split, mixed in by the sampler (data distillation's student). */
  readonly generated?: CocoSource;
  /** Optimizer steps. */
  readonly steps: number;
  /** Images per minibatch. Default 16. */
  readonly batch?: number;
  /** RoIs per minibatch. Default 2 × batch. */
  readonly roisPerBatch?: number;
  /** Where `keypoints.onnx` and `keypoints.json` are written. */
  readonly outDir: string;
  /** Output base name. Default 'keypoints'. */
  readonly name?: string;
  readonly model?: Partial<KeypointModelConfig>;
  /** Keypoint schema (names, flip pairs). Default COCO person. */
  readonly schema?: KeypointSchema;
  /** COCO category of the instances to train on. Default 1 (person). */
  readonly categoryId?: number;
  /** Training input size; default: the largest image of the training sources, rounded up to a multiple of 4. */
  readonly inputSize?: { readonly height: number; readonly width: number };
}

/** What a training run produced. */
export interface TrainedModel {
  readonly onnxPath: string;
  readonly manifestPath: string;
  /** Mean loss per progress report. */
  readonly history: readonly { readonly step: number; readonly loss: number }[];
  readonly parameters: ReadonlyMap<string, Float32Array>;
  /** Trainable parameter count. */
  readonly parameterCount: number;
  readonly engine: string;
  /** Wall-clock seconds of the training loop, and the part spent building minibatches. */
  readonly seconds: number;
  readonly batchSeconds: number;
  readonly stepsPerSecond: number;
  /** The step this run resumed from (`options.checkpoint`), 0 for a fresh start. */
  readonly resumedFrom: number;
}

const roundUp4 = (v: number) => Math.ceil(v / 4) * 4;

/** The training input size covering every image of the given datasets. */
export function inputSizeOf(sets: readonly LoadedDataset[]): { height: number; width: number } {
  let height = 8;
  let width = 8;
  for (const s of sets) for (const im of s.images) {
    height = Math.max(height, im.height);
    width = Math.max(width, im.width);
  }
  return { height: roundUp4(height), width: roundUp4(width) };
}

/**
 * Trains the keypoint reference model and exports it (ONNX + manifest).
 *
 * @example
 * const run = await trainKeypointModel({
 *   train: { coco: 'data/labeled/annotations.json', imageDir: 'data/labeled/images' },
 *   steps: 400, outDir: 'runs/teacher',
 * });
 * const { ap } = await evaluateKeypointModel({ onnxPath: run.onnxPath, split: val });
 */
export async function trainKeypointModel(options: TrainKeypointOptions): Promise<TrainedModel> {
  const steps = expectInteger(options.steps, 'options.steps', 1);
  const batch = expectInteger(options.batch ?? 16, 'options.batch', 2);
  const roisPerBatch = expectInteger(options.roisPerBatch ?? 2 * batch, 'options.roisPerBatch', 1);
  engineChoiceOf(options);
  const schema = options.schema ?? COCO_PERSON;
  const config = resolveKeypointConfig({ keypoints: schema.keypoints.length, seed: options.seed ?? 0, ...options.model });
  const categoryId = expectInteger(options.categoryId ?? 1, 'options.categoryId', 0);
  const labeled = await loadCocoSource(options.train);
  const generated = options.generated ? await loadCocoSource(options.generated) : undefined;
  const usable = labeled.dataset.annotations.filter((a) => a.category_id === categoryId && a.keypoints?.length === 3 * config.keypoints).length;
  if (usable === 0) {
    throw new OmniRangeError(`options.train (${options.train.coco})`, `annotations of category ${categoryId} with ${config.keypoints} keypoints`, 'none');
  }
  const size = options.inputSize ?? inputSizeOf(generated ? [labeled, generated] : [labeled]);
  const shape = { batch, height: size.height, width: size.width, rois: roisPerBatch };
  const define = defineKeypointModel(config, shape);
  const builder = new KeypointBatchBuilder({ ...size, rois: roisPerBatch, heatmapSize: config.heatmapSize, schema, categoryId });
  const run = await runTraining({ define, steps, batch, labeled, ...(generated ? { generated } : {}), makeBatch: (images, rng) => builder.build(images, rng), options });
  const parameters = run.parameters;
  const onnx = exportKeypointModel(config, parameters);
  const out = await writeModel(join(options.outDir, `${options.name ?? 'keypoints'}.onnx`), onnx, keypointManifest(schema, config.heatmapSize, DEFAULT_PIXELS, categoryId));
  return { ...out, ...run };
}

/** The inference ONNX of a keypoint model: `image` [1, 3, H, W] + `rois` [N, 4] → `heatmaps` [N, K, M, M], H, W, N dynamic. */
export function exportKeypointModel(config: KeypointModelConfig, parameters: ReadonlyMap<string, Float32Array>): Uint8Array {
  const define = defineKeypointModel(config, { batch: 1, height: 64, width: 64, rois: 2 });
  return exportDynamicModel(define, parameters, { image: [2, 3], rois: [0], heatmaps: [0] });
}

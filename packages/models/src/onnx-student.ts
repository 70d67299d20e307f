// Training a user's own ONNX keypoint model (issue 14, "bring your own student"): a top-down
// heatmap model (person crop [B, 3, H, W] → heatmaps [B, K, h, w], MMPose/HRNet/SimpleBaseline
// style) is imported with @omnidistill/artifacts, fine-tuned from its own weights (or
// re-initialised) on labeled ∪ generated crops with the shared sampler, schedule and engines,
// and written back into the user's file: same graph, inputs, outputs and names, new weights.
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { readFileSync } from 'node:fs';
import {
  HEATMAP_TARGET_INPUT,
  HEATMAP_WEIGHT_INPUT,
  SIMCC_TARGET_X_INPUT,
  SIMCC_TARGET_Y_INPUT,
  SIMCC_WEIGHT_INPUT,
  type StudentLoss,
  type Value,
  type BatchNormMode,
  type ModelDefinition,
  type ReadModel,
  decodeOnnxModel,
  feedInputs,
  instantiate,
  replaceInitializers,
  studentDefinition,
} from '@omnidistill/artifacts';
import { OmniRangeError, expectInteger, flipPermutation, type KeypointSchema } from '@omnidistill/core';
import { Rng, type Feeds } from '@omnidistill/train';
import { loadCocoSource, type CocoSource, type LoadedImage } from './data.js';
import { writeModel } from './export.js';
import { writeKeypointTargetsRect } from './keypoint-targets.js';
import { engineChoiceOf, runTraining, type SharedTrainOptions } from './run-training.js';
import { KeypointBatchBuilder, inputSizeOf, type TrainedModel } from './keypoint-train.js';
import { KEYPOINT_TENSORS } from './keypoint-model.js';
import { detectorPlan, type DetectorStudentSpec } from './onnx-detector-student.js';
import { lossOutputPlan } from './onnx-loss-output.js';
import { yoloPlan, type YoloStudentSpec } from './onnx-yolo-student.js';
import { defaultBatchNormMode } from './batch-norm-default.js';
import { cropToImage, keypointsInCrop, resolveCropAugmentation, sampleCropPose, type Affine, type CropAugmentation } from './crop-augment.js';

/** How 8-bit RGB pixels become the model's input (the manifest's `pixels`). */
export interface StudentPixels {
  readonly channelOrder: 'rgb' | 'bgr';
  /** Divisor applied first (255 → [0, 1]). */
  readonly scale: number;
  readonly mean: readonly [number, number, number];
  readonly std: readonly [number, number, number];
}

/** What the trainer needs to know about a top-down student (its manifest, reduced). */
export interface TopDownStudentSpec {
  readonly layout?: 'topdown-heatmap';
  /** Name of the crop input [1 or B, 3, H, W] (H, W fixed in the model). */
  readonly image: string;
  /** Name of the heatmap output [B, K, h, w] (logits). */
  readonly heatmaps: string;
  readonly pixels: StudentPixels;
  readonly schema: KeypointSchema;
  /** COCO category of the instances (default 1). */
  readonly categoryId?: number;
  /** Crop = the box enlarged to the input's aspect ratio, times this (MMPose's 1.25). */
  readonly padding?: number;
  /** Random crop transforms (manifest `training.augmentation`); unset fields: {@link CROP_AUGMENTATION_DEFAULTS}. */
  readonly augmentation?: Partial<CropAugmentation>;
}

/**
 * A student of the `rois` contract (the reference keypoint model's): image [1, 3, H, W] + RoIs
 * [R, 4] → heatmap logits [R, K, M, M] in each RoI's frame. One image per step (the contract has
 * no per-RoI image index), its persons' RoIs as Mask R-CNN keypoint targets.
 */
export interface RoisStudentSpec {
  readonly layout: 'rois';
  readonly image: string;
  readonly rois: string;
  readonly heatmaps: string;
  /** RGB, /255 (the reference models' convention; other pixel specs are refused). */
  readonly pixels: StudentPixels;
  readonly schema: KeypointSchema;
  readonly categoryId?: number;
}

/** A SimCC / RTMPose student: person crop → 1-D logits x [N, K, W·r] and y [N, K, H·r]. */
export interface SimccStudentSpec {
  readonly layout: 'simcc';
  readonly image: string;
  readonly x: string;
  readonly y: string;
  readonly pixels: StudentPixels;
  readonly schema: KeypointSchema;
  readonly categoryId?: number;
  readonly padding?: number;
  /** Bins per input pixel (default 2). */
  readonly splitRatio?: number;
  /** Label σ in bins (default 6, MMPose's for 192 × 256 at ratio 2). */
  readonly sigma?: number;
  /** As {@link TopDownStudentSpec.augmentation}. */
  readonly augmentation?: Partial<CropAugmentation>;
}

export type StudentSpec = TopDownStudentSpec | RoisStudentSpec | SimccStudentSpec | DetectorStudentSpec | YoloStudentSpec;

export interface TrainOnnxStudentOptions extends SharedTrainOptions {
  /** The user's model file (external-data files are read from its folder). */
  readonly modelPath: string;
  readonly spec: StudentSpec;
  readonly train: CocoSource;
  readonly generated?: CocoSource;
  readonly steps: number;
  /** Top-down: crops per minibatch (the graph's batch size), default 16. `rois`: RoIs per step, default 8. */
  readonly batch?: number;
  /** Parameter-name patterns to freeze (`*` wildcard). */
  readonly freeze?: readonly string[];
  /** Re-initialise the trainable weights instead of fine-tuning (the paper's student). */
  readonly reinit?: boolean;
  /**
   * BatchNorm in training: 'frozen' (running statistics) or 'batch' (batch statistics, running
   * statistics updated). Default: {@link defaultBatchNormMode} — batch with `reinit` or for an
   * untrained export (statistics 0 / 1), else frozen.
   */
  readonly batchNorm?: BatchNormMode;
  /**
   * Horizontal flip probability (channels swapped by the schema's flip pairs). Default 0.5; for
   * crop layouts it overrides the spec's `augmentation.flipProbability`.
   */
  readonly flipProbability?: number;
  /** Crop layouts: box jitter (each side moves by U(−j, j) × the box size), overriding the spec's `augmentation.jitter`. */
  readonly jitter?: number;
  readonly outDir: string;
  /** Output base name. Default 'student'. */
  readonly name?: string;
  /**
   * Train on the model's own loss: the scalar output of this name (a model exported with its
   * loss). Its inputs besides the image must be the layout's target tensors by name
   * (heatmap_targets/heatmap_target_weights, simcc_target_x/_y/simcc_target_weights,
   * det_heat/det_reg/det_mask), which the layout's batch builder writes.
   */
  readonly lossOutput?: string;
  /** The manifest written beside the trained model (the user's, unchanged). */
  readonly manifest: unknown;
  /**
   * Sees every minibatch in step order, as the engine gets it (tools/student/track-schedule.ts
   * records them to train the same model in PyTorch on the very same data).
   */
  readonly onBatch?: (feeds: Feeds) => void;
}

/** A decoded model with its external data read from its folder. */
export async function loadOnnxModel(path: string): Promise<{ bytes: Uint8Array; model: ReadModel; readExternal: (location: string) => Uint8Array }> {
  const bytes = new Uint8Array(await readFile(path));
  const dir = dirname(path);
  const cache = new Map<string, Uint8Array>();
  const readExternal = (location: string) => {
    let b = cache.get(location);
    if (!b) {
      b = new Uint8Array(readFileSync(join(dir, location)));
      cache.set(location, b);
    }
    return b;
  };
  return { bytes, model: decodeOnnxModel(bytes), readExternal };
}

/** The crop input's fixed [H, W] (the batch axis may be symbolic). */
export function cropSizeOf(model: ReadModel, input: string): { height: number; width: number } {
  const v = feedInputs(model.graph).find((i) => i.name === input);
  if (!v) throw new OmniRangeError('manifest inputs.image', `an input of the model (${feedInputs(model.graph).map((i) => i.name).join(', ')})`, input);
  const dims = v.type.kind === 'tensor' ? v.type.shape : null;
  if (!dims || dims.length !== 4 || typeof dims[2] !== 'number' || typeof dims[3] !== 'number' || dims[1] !== 3) {
    throw new OmniRangeError(`input "${input}"`, 'a crop input [N, 3, H, W] with a fixed H and W (export with a fixed crop size, e.g. 256×192)', JSON.stringify(dims));
  }
  return { height: dims[2], width: dims[3] };
}

/** One person instance of a sampled image: its box (x1 y1 x2 y2) and keypoints, image pixels. */
interface Instance {
  readonly image: LoadedImage;
  readonly box: readonly [number, number, number, number];
  readonly keypoints: ArrayLike<number>;
}

/** How the keypoints of a minibatch's crops become the loss's target inputs (one kind per model output). */
export interface CropTargets {
  /** Buffers for `batch` crops of `k` keypoints; `write` fills one crop's slot (keypoints in image pixels, crop box x1 y1 x2 y2). */
  start(batch: number, k: number): { write(keypoints: ArrayLike<number>, box: readonly number[], slot: number): void; feeds(): Feeds };
}

/** Heatmap logits [B, K, h, w]: the flat cell of each labeled keypoint (spatial-softmax CE). */
export function heatmapTargets(heatmapHeight: number, heatmapWidth: number): CropTargets {
  return {
    start(batch, k) {
      const target = new BigInt64Array(batch * k);
      const weight = new Float32Array(batch * k);
      return {
        write: (kps, box, slot) => writeKeypointTargetsRect(kps, box, heatmapHeight, heatmapWidth, target, weight, slot * k),
        feeds: () => ({ [HEATMAP_TARGET_INPUT]: { data: target, dims: [batch, k] }, [HEATMAP_WEIGHT_INPUT]: { data: weight, dims: [batch, k] } }),
      };
    },
  };
}

/**
 * SimCC logits x [B, K, W·r], y [B, K, H·r]: per axis a normalised Gaussian over the bins
 * centred on the keypoint's bin position (bin i covers crop pixels [i/r, (i+1)/r), as the
 * simcc layout decodes), σ = `sigma` bins; weight 1 for labeled keypoints inside the crop.
 */
export function simccTargets(input: { height: number; width: number }, splitRatio: number, sigma: number): CropTargets {
  const lx = Math.round(input.width * splitRatio);
  const ly = Math.round(input.height * splitRatio);
  const gaussian = (out: Float32Array, at: number, length: number, centre: number) => {
    let sum = 0;
    for (let i = 0; i < length; i++) sum += out[at + i] = Math.exp(-((i - centre) ** 2) / (2 * sigma * sigma));
    for (let i = 0; i < length; i++) out[at + i] /= sum;
  };
  return {
    start(batch, k) {
      const tx = new Float32Array(batch * k * lx);
      const ty = new Float32Array(batch * k * ly);
      const weight = new Float32Array(batch * k);
      return {
        write: (kps, box, slot) => {
          const [x1, y1, x2, y2] = box;
          for (let j = 0; j < k; j++) {
            const u = ((kps[3 * j] - x1) / (x2 - x1)) * input.width;
            const v = ((kps[3 * j + 1] - y1) / (y2 - y1)) * input.height;
            if (!(kps[3 * j + 2] > 0 && u >= 0 && v >= 0 && u < input.width && v < input.height)) continue;
            const row = slot * k + j;
            weight[row] = 1;
            gaussian(tx, row * lx, lx, u * splitRatio - 0.5);
            gaussian(ty, row * ly, ly, v * splitRatio - 0.5);
          }
        },
        feeds: () => ({
          [SIMCC_TARGET_X_INPUT]: { data: tx, dims: [batch, k, lx] },
          [SIMCC_TARGET_Y_INPUT]: { data: ty, dims: [batch, k, ly] },
          [SIMCC_WEIGHT_INPUT]: { data: weight, dims: [batch, k] },
        }),
      };
    },
  };
}

/**
 * Builds top-down minibatches: each instance's crop sampled by {@link sampleCropPose} (box
 * jittered, enlarged to the input's aspect ratio and by `padding`, randomly scaled, rotated and
 * mirrored), bilinearly resampled to H × W (outside the image: pixel value 0); targets written
 * by `targets` from the keypoints mapped into that crop.
 */
export class TopDownBatchBuilder {
  private readonly perm: Int32Array;
  private readonly k: number;
  constructor(
    private readonly o: {
      readonly batch: number;
      readonly height: number;
      readonly width: number;
      readonly targets: CropTargets;
      readonly spec: TopDownStudentSpec | SimccStudentSpec;
      readonly augmentation: CropAugmentation;
    },
  ) {
    this.k = o.spec.schema.keypoints.length;
    this.perm = flipPermutation(o.spec.schema.flipPairs, this.k);
  }

  private instancesOf(image: LoadedImage): Instance[] {
    const out: Instance[] = [];
    const category = this.o.spec.categoryId ?? 1;
    for (const a of image.annotations) {
      if (a.iscrowd || a.category_id !== category || !a.keypoints || a.keypoints.length !== 3 * this.k) continue;
      if (!a.keypoints.some((_, i) => i % 3 === 2 && a.keypoints![i] > 0)) continue;
      const [bx, by, bw, bh] = a.bbox;
      if (!(bw >= 1 && bh >= 1)) continue;
      out.push({ image, box: [bx, by, bx + bw, by + bh], keypoints: a.keypoints });
    }
    return out;
  }

  /** Bilinear resample of the crop `toImage` maps into slot `b` of the [B, 3, H, W] input. */
  private writeCrop(image: LoadedImage, toImage: Affine, out: Float32Array, b: number): void {
    const { height: H, width: W } = this.o;
    const { width: iw, height: ih, pixels } = image;
    const { a, b: mb, c, d, e, f } = toImage;
    const plane = H * W;
    const { scale, mean, std } = this.o.spec.pixels;
    const order = this.o.spec.pixels.channelOrder === 'bgr' ? [2, 1, 0] : [0, 1, 2];
    const px = (x: number, y: number, ch: number) => (x >= 0 && y >= 0 && x < iw && y < ih ? pixels[(y * iw + x) * 3 + ch] : 0);
    for (let v = 0; v < H; v++) {
      for (let u = 0; u < W; u++) {
        // Pixel centres: crop (u + ½, v + ½) → image position → index space (− ½).
        const x = a * (u + 0.5) + mb * (v + 0.5) + c - 0.5;
        const y = d * (u + 0.5) + e * (v + 0.5) + f - 0.5;
        const xf = Math.floor(x);
        const yf = Math.floor(y);
        const tx = x - xf;
        const ty = y - yf;
        for (let ch = 0; ch < 3; ch++) {
          const src = order[ch];
          const value =
            (1 - ty) * ((1 - tx) * px(xf, yf, src) + tx * px(xf + 1, yf, src)) + ty * ((1 - tx) * px(xf, yf + 1, src) + tx * px(xf + 1, yf + 1, src));
          out[b * 3 * plane + ch * plane + v * W + u] = (value / scale - mean[ch]) / std[ch];
        }
      }
    }
  }

  /** Feeds of one minibatch: `image` crops plus the targets' inputs. */
  build(images: readonly LoadedImage[], rng: Rng): Feeds {
    const { batch: B, height: H, width: W } = this.o;
    const size = { height: H, width: W };
    const K = this.k;
    const targets = this.o.targets.start(B, K);
    let instances = images.flatMap((im) => this.instancesOf(im));
    if (instances.length > B) instances = Array.from(rng.permutation(instances.length).subarray(0, B), (i) => instances[i]);
    const input = new Float32Array(B * 3 * H * W);
    const frame = [0, 0, W, H];
    instances.forEach((instance, b) => {
      const pose = sampleCropPose(instance.box, size, this.o.spec.padding ?? 1.25, this.o.augmentation, rng);
      this.writeCrop(instance.image, cropToImage(pose, size), input, b);
      targets.write(keypointsInCrop(instance.keypoints, pose, size, this.perm), frame, b);
    });
    // Missing crops stay zero images with weight 0 (no loss).
    return {
      [this.o.spec.image]: { data: input, dims: [B, 3, H, W] },
      ...targets.feeds(),
    };
  }
}

/**
 * Fresh weights for the trainable parameters (the paper's re-initialised student), drawn as
 * PyTorch initialises a freshly built Conv/ConvTranspose/Linear (kaiming_uniform with a = √5):
 * weights of rank ≥ 2 ~ U(−b, b) with b = 1/√fan_in (fan_in = the product of all but the first
 * axis, torch's rule for all three), a rank-1 `X.bias` beside a rank ≥ 2 `X.weight` ~ U(−b, b)
 * with that weight's fan-in; other rank-1 `…weight` (norm scales) 1, other rank-1 parameters
 * (norm shifts, biases of renamed layers) 0. Frozen parameters keep their values.
 *
 * Why torch's and not He-normal (std √(2/fan_in), √6 × larger): with AdamW the step is about
 * `lr` per weight whatever the weight's size, so larger weights learn proportionally slower
 * behind a BatchNorm. Measured on the 66 k-parameter top-down model of
 * tools/teachers/train_keypoints.py (800 × 16 crops, batch statistics, GT boxes, val): He-normal
 * 26.5 keypoint AP, torch's initialisation 38.3, the same model trained in torch 35.9.
 */
export function reinitialised(params: readonly { name: string; shape: readonly number[]; trainable: boolean; init: Float32Array }[], seed: number): Map<string, Float32Array> {
  const rng = new Rng(seed);
  const byName = new Map(params.map((p) => [p.name, p]));
  const fanIn = (p: { shape: readonly number[]; init: Float32Array }) => p.init.length / p.shape[0];
  const uniform = (n: number, bound: number) => Float32Array.from({ length: n }, () => (2 * rng.nextFloat() - 1) * bound);
  const out = new Map<string, Float32Array>();
  for (const p of params) {
    if (!p.trainable) {
      out.set(p.name, p.init);
      continue;
    }
    const layerWeight = /bias$/.test(p.name) ? byName.get(p.name.replace(/bias$/, 'weight')) : undefined;
    if (p.shape.length >= 2) out.set(p.name, uniform(p.init.length, 1 / Math.sqrt(fanIn(p))));
    else if (layerWeight && layerWeight.shape.length >= 2) out.set(p.name, uniform(p.init.length, 1 / Math.sqrt(fanIn(layerWeight))));
    else out.set(p.name, new Float32Array(p.init.length).fill(/weight$/.test(p.name) ? 1 : 0));
  }
  return out;
}

/**
 * Fine-tunes (or re-initialises and trains) a user's ONNX keypoint model — top-down crops or
 * the `rois` contract — and writes it back with the trained weights: the same graph, inputs,
 * outputs and names.
 *
 * @example
 * const run = await trainOnnxStudent({
 *   modelPath: 'hrnet-small.onnx', spec: { image: 'input', heatmaps: 'heatmaps', pixels, schema: COCO_PERSON },
 *   train: labeled, generated, steps: 2000, freeze: ['backbone.*'], outDir: 'runs/student',
 * });
 */
export async function trainOnnxStudent(options: TrainOnnxStudentOptions): Promise<TrainedModel> {
  const steps = expectInteger(options.steps, 'options.steps', 1);
  const spec = options.spec;
  const batch = expectInteger(options.batch ?? (spec.layout === 'rois' ? 8 : 16), 'options.batch', 1);
  engineChoiceOf(options);
  const { bytes, model, readExternal } = await loadOnnxModel(options.modelPath);
  const labeled = await loadCocoSource(options.train);
  const generated = options.generated ? await loadCocoSource(options.generated) : undefined;
  const sets = generated ? [labeled, generated] : [labeled];
  const layoutPlan =
    spec.layout === 'detector'
      ? detectorPlan(spec, model, sets, batch, options.flipProbability ?? 0.5)
      : spec.layout === 'yolo'
        ? yoloPlan(spec, model, sets, batch, options.flipProbability ?? 0.5)
        : spec.layout === 'rois'
          ? roisPlan(spec, inputSizeOf(sets), batch)
          : cropPlan(spec, model, batch, options);
  const withLoss = options.lossOutput !== undefined ? lossOutputPlan(layoutPlan, model, options.lossOutput, batch) : undefined;
  const plan = withLoss?.plan ?? layoutPlan;
  const importOptions = {
    inputShapes: plan.inputShapes,
    freeze: options.freeze ?? [],
    batchNorm: batchNormModeOf(options, model, readExternal),
    readExternal,
    ...(withLoss ? { outputs: withLoss.outputs } : {}),
  };
  let define: ModelDefinition = studentDefinition(model, { ...importOptions, loss: plan.loss });
  const { g, parts } = instantiate(define, 'eval', 'standard');
  const build = plan.batches(parts.outputs ?? {});
  const observe = options.onBatch;
  const makeBatch = observe
    ? (images: LoadedImage[], rng: Rng) => {
        const feeds = build(images, rng);
        observe(feeds);
        return feeds;
      }
    : build;
  if (options.reinit) define = studentDefinition(model, { ...importOptions, loss: plan.loss, initialValues: reinitialised(g.params, options.seed ?? 0) });
  const run = await runTraining({ define, steps, batch: plan.imagesPerStep, labeled, ...(generated ? { generated } : {}), makeBatch, options });
  const trained = replaceInitializers(bytes, run.parameters);
  const onnxPath = join(options.outDir, `${options.name ?? 'student'}.onnx`);
  const out = await writeModel(onnxPath, trained, options.manifest);
  return { ...out, ...run };
}

/** The asked-for BatchNorm mode, else {@link defaultBatchNormMode} (said on the log when the file's statistics are PyTorch's initial ones). */
function batchNormModeOf(options: TrainOnnxStudentOptions, model: ReadModel, readExternal: (location: string) => Uint8Array): BatchNormMode {
  if (options.batchNorm) return options.batchNorm;
  const { mode, why } = defaultBatchNormMode(model, options.reinit === true, readExternal);
  if (why && !options.reinit) (options.log ?? ((line: string) => process.stderr.write(`${line}\n`)))(`BatchNorm: batch statistics, as ${why} (--batch-norm frozen keeps them)`);
  return mode;
}

/** How a layout feeds the imported graph: static input shapes, the loss and the minibatches. */
export interface LayoutPlan {
  readonly inputShapes: Record<string, readonly number[]>;
  readonly loss: StudentLoss;
  /** Images the sampler draws per step. */
  readonly imagesPerStep: number;
  /** The minibatch builder, given the imported model's outputs (checked against the layout). */
  readonly batches: (outputs: Readonly<Record<string, Value>>) => (images: LoadedImage[], rng: Rng) => Feeds;
}

/** The imported output `name`, checked to be [N, K, …rest] logits. */
function outputOf(outputs: Readonly<Record<string, Value>>, name: string, k: number, rank: number, what: string): Value {
  const v = outputs[name];
  if (!v || v.shape.length !== rank || v.shape[1] !== k) {
    throw new OmniRangeError(`output "${name}"`, `${what} (rank ${rank}, ${k} keypoint channels)`, v ? `[${v.shape.join(', ')}]` : 'absent');
  }
  return v;
}

/** The spec's crop augmentation over the defaults, with the options' flip / jitter overrides. */
function cropAugmentationOf(spec: TopDownStudentSpec | SimccStudentSpec, options: TrainOnnxStudentOptions): CropAugmentation {
  return resolveCropAugmentation({
    ...spec.augmentation,
    ...(options.flipProbability !== undefined ? { flipProbability: options.flipProbability } : {}),
    ...(options.jitter !== undefined ? { jitter: options.jitter } : {}),
  });
}

/** Top-down crops (heatmap or SimCC outputs): `batch` crops per step from `batch` sampled images. */
function cropPlan(spec: TopDownStudentSpec | SimccStudentSpec, model: ReadModel, batch: number, options: TrainOnnxStudentOptions): LayoutPlan {
  const size = cropSizeOf(model, spec.image);
  const k = spec.schema.keypoints.length;
  const builder = (targets: CropTargets) => {
    const b = new TopDownBatchBuilder({ batch, ...size, targets, spec, augmentation: cropAugmentationOf(spec, options) });
    return (images: LoadedImage[], rng: Rng) => b.build(images, rng);
  };
  const inputShapes = { [spec.image]: [batch, 3, size.height, size.width] };
  if (spec.layout === 'simcc') {
    const ratio = spec.splitRatio ?? 2;
    return {
      inputShapes,
      loss: { kind: 'simcc', x: spec.x, y: spec.y },
      imagesPerStep: batch,
      batches: (outputs) => {
        const x = outputOf(outputs, spec.x, k, 3, 'SimCC x logits [N, K, W·splitRatio]');
        const y = outputOf(outputs, spec.y, k, 3, 'SimCC y logits [N, K, H·splitRatio]');
        if (x.shape[2] !== Math.round(size.width * ratio) || y.shape[2] !== Math.round(size.height * ratio)) {
          throw new OmniRangeError('layoutOptions.splitRatio', `the ratio of the outputs to the ${size.width}×${size.height} input`, `${ratio} (outputs ${x.shape[2]}, ${y.shape[2]} bins)`);
        }
        return builder(simccTargets(size, ratio, spec.sigma ?? 6));
      },
    };
  }
  return {
    inputShapes,
    loss: { kind: 'heatmap', output: spec.heatmaps },
    // The sampler draws `batch` images; their instances fill the crops (extra ones dropped at random).
    imagesPerStep: batch,
    batches: (outputs) => {
      const heat = outputOf(outputs, spec.heatmaps, k, 4, 'heatmap logits [N, K, h, w]');
      return builder(heatmapTargets(heat.shape[2], heat.shape[3]));
    },
  };
}

/** The reference models' pixel convention (RGB, /255, mean/std), the only one their batch builders write. */
export function rgb255Pixels(p: StudentPixels, what: string): StudentPixels {
  if (p.channelOrder !== 'rgb' || p.scale !== 255) {
    throw new OmniRangeError('manifest pixels', `channelOrder "rgb" and scale 255 for ${what}`, `${p.channelOrder}, scale ${p.scale}`);
  }
  return p;
}

/** The `rois` contract: one image per step, `rois` RoIs with Mask R-CNN targets. */
function roisPlan(spec: RoisStudentSpec, size: { height: number; width: number }, rois: number): LayoutPlan {
  const p = rgb255Pixels(spec.pixels, 'a rois-layout student');
  return {
    inputShapes: { [spec.image]: [1, 3, size.height, size.width], [spec.rois]: [rois, 4] },
    loss: { kind: 'heatmap', output: spec.heatmaps },
    imagesPerStep: 1,
    batches: (outputs) => {
      const heat = outputOf(outputs, spec.heatmaps, spec.schema.keypoints.length, 4, 'RoI heatmap logits [R, K, M, M]');
      if (heat.shape[2] !== heat.shape[3]) throw new OmniRangeError(`output "${spec.heatmaps}"`, 'square RoI heatmaps [R, K, M, M]', `[${heat.shape.join(', ')}]`);
      const builder = new KeypointBatchBuilder({ ...size, rois, heatmapSize: heat.shape[2], schema: spec.schema, categoryId: spec.categoryId ?? 1, pixels: { mean: p.mean, std: p.std } });
      const T = KEYPOINT_TENSORS;
      return (images, rng) => {
        const f = builder.build(images, rng);
        return { [spec.image]: f[T.image], [spec.rois]: f[T.rois], [HEATMAP_TARGET_INPUT]: f[T.target], [HEATMAP_WEIGHT_INPUT]: f[T.weight] };
      };
    },
  };
}

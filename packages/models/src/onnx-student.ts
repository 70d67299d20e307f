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

export type StudentSpec = TopDownStudentSpec | RoisStudentSpec;

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
  /** BatchNorm in training: 'frozen' (default; running statistics) or 'batch'. */
  readonly batchNorm?: BatchNormMode;
  /** Horizontal flip probability (channels swapped by the schema's flip pairs). Default 0.5. */
  readonly flipProbability?: number;
  /** Box jitter: each side moves by U(−j, j) × the box size. Default 0.05. */
  readonly jitter?: number;
  readonly outDir: string;
  /** Output base name. Default 'student'. */
  readonly name?: string;
  /** The manifest written beside the trained model (the user's, unchanged). */
  readonly manifest: unknown;
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

/** One person instance of a sampled image, as a crop box and its keypoints (image pixels). */
interface Crop {
  readonly image: LoadedImage;
  readonly box: readonly [number, number, number, number];
  readonly keypoints: ArrayLike<number>;
}

/**
 * Builds top-down minibatches: each instance's box, jittered, enlarged to the input's aspect
 * ratio and by `padding`, bilinearly resampled to H × W (outside the image: pixel value 0),
 * optionally mirrored; targets = the heatmap cell of each labeled keypoint in that crop.
 */
export class TopDownBatchBuilder {
  private readonly perm: Int32Array;
  private readonly k: number;
  constructor(
    private readonly o: {
      readonly batch: number;
      readonly height: number;
      readonly width: number;
      readonly heatmapHeight: number;
      readonly heatmapWidth: number;
      readonly spec: TopDownStudentSpec;
      readonly flipProbability: number;
      readonly jitter: number;
    },
  ) {
    this.k = o.spec.schema.keypoints.length;
    this.perm = flipPermutation(o.spec.schema.flipPairs, this.k);
  }

  private cropsOf(image: LoadedImage, rng: Rng): Crop[] {
    const out: Crop[] = [];
    const category = this.o.spec.categoryId ?? 1;
    const j = this.o.jitter;
    const aspect = this.o.width / this.o.height;
    const padding = this.o.spec.padding ?? 1.25;
    for (const a of image.annotations) {
      if (a.iscrowd || a.category_id !== category || !a.keypoints || a.keypoints.length !== 3 * this.k) continue;
      if (!a.keypoints.some((_, i) => i % 3 === 2 && a.keypoints![i] > 0)) continue;
      const [bx, by, bw, bh] = a.bbox;
      if (!(bw >= 1 && bh >= 1)) continue;
      const d = () => (2 * rng.nextFloat() - 1) * j;
      const x1 = bx + d() * bw;
      const x2 = bx + bw + d() * bw;
      const y1 = by + d() * bh;
      const y2 = by + bh + d() * bh;
      let w = Math.max(x2 - x1, 1);
      let h = Math.max(y2 - y1, 1);
      if (w > aspect * h) h = w / aspect;
      else w = h * aspect;
      w *= padding;
      h *= padding;
      const cx = (x1 + x2) / 2;
      const cy = (y1 + y2) / 2;
      out.push({ image, box: [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], keypoints: a.keypoints });
    }
    return out;
  }

  /** Bilinear resample of `crop.box` into slot `b` of the [B, 3, H, W] input (mirrored if `flip`). */
  private writeCrop(crop: Crop, flip: boolean, out: Float32Array, b: number): void {
    const { height: H, width: W } = this.o;
    const { width: iw, height: ih, pixels } = crop.image;
    const [x0, y0, x1, y1] = crop.box;
    const sx = (x1 - x0) / W;
    const sy = (y1 - y0) / H;
    const plane = H * W;
    const order = this.o.spec.pixels.channelOrder === 'bgr' ? [2, 1, 0] : [0, 1, 2];
    const px = (x: number, y: number, c: number) => (x >= 0 && y >= 0 && x < iw && y < ih ? pixels[(y * iw + x) * 3 + c] : 0);
    for (let v = 0; v < H; v++) {
      const y = y0 + (v + 0.5) * sy - 0.5;
      const yf = Math.floor(y);
      const ty = y - yf;
      for (let u = 0; u < W; u++) {
        const uu = flip ? W - 1 - u : u;
        const x = x0 + (uu + 0.5) * sx - 0.5;
        const xf = Math.floor(x);
        const tx = x - xf;
        for (let c = 0; c < 3; c++) {
          const src = order[c];
          const value =
            (1 - ty) * ((1 - tx) * px(xf, yf, src) + tx * px(xf + 1, yf, src)) + ty * ((1 - tx) * px(xf, yf + 1, src) + tx * px(xf + 1, yf + 1, src));
          out[b * 3 * plane + c * plane + v * W + u] = (value / this.o.spec.pixels.scale - this.o.spec.pixels.mean[c]) / this.o.spec.pixels.std[c];
        }
      }
    }
  }

  /** Feeds of one minibatch: `image` crops plus the heatmap targets and weights. */
  build(images: readonly LoadedImage[], rng: Rng): Feeds {
    const { batch: B, height: H, width: W, heatmapHeight: mh, heatmapWidth: mw } = this.o;
    const K = this.k;
    let crops = images.flatMap((im) => this.cropsOf(im, rng));
    if (crops.length > B) crops = Array.from(rng.permutation(crops.length).subarray(0, B), (i) => crops[i]);
    const input = new Float32Array(B * 3 * H * W);
    const target = new BigInt64Array(B * K);
    const weight = new Float32Array(B * K);
    crops.forEach((crop, b) => {
      const flip = rng.nextFloat() < this.o.flipProbability;
      this.writeCrop(crop, flip, input, b);
      let kps: ArrayLike<number> = crop.keypoints;
      if (flip) {
        // Mirrored inside the crop: x' = x0 + x1 − x, channel j takes its partner's keypoint.
        const [x0, , x1] = crop.box;
        kps = Array.from({ length: 3 * K }, (_, i) => {
          const src = 3 * this.perm[Math.floor(i / 3)] + (i % 3);
          return i % 3 === 0 ? x0 + x1 - crop.keypoints[src] : crop.keypoints[src];
        });
      }
      writeKeypointTargetsRect(kps, crop.box, mh, mw, target, weight, b * K);
    });
    // Missing crops stay zero images with weight 0 (no loss).
    return {
      [this.o.spec.image]: { data: input, dims: [B, 3, H, W] },
      [HEATMAP_TARGET_INPUT]: { data: target, dims: [B, K] },
      [HEATMAP_WEIGHT_INPUT]: { data: weight, dims: [B, K] },
    };
  }
}

/**
 * Fresh weights for the trainable parameters (the paper's re-initialised student): He-normal
 * for weights of rank ≥ 2 (fan-in = all but the first axis), 1 for rank-1 `…weight` (norm
 * scales), 0 for other rank-1 parameters (biases, norm shifts).
 */
export function reinitialised(params: readonly { name: string; shape: readonly number[]; trainable: boolean; init: Float32Array }[], seed: number): Map<string, Float32Array> {
  const rng = new Rng(seed);
  const out = new Map<string, Float32Array>();
  for (const p of params) {
    if (!p.trainable) {
      out.set(p.name, p.init);
      continue;
    }
    const v = new Float32Array(p.init.length);
    if (p.shape.length >= 2) {
      const std = Math.sqrt(2 / (p.init.length / p.shape[0]));
      for (let i = 0; i < v.length; i++) v[i] = std * rng.nextNormal();
    } else if (/weight$/.test(p.name)) v.fill(1);
    out.set(p.name, v);
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
  const plan = spec.layout === 'rois' ? roisPlan(spec, inputSizeOf(generated ? [labeled, generated] : [labeled]), batch) : topDownPlan(spec, model, batch, options);
  const importOptions = { inputShapes: plan.inputShapes, freeze: options.freeze ?? [], batchNorm: options.batchNorm ?? 'frozen', readExternal };
  const loss = { kind: 'heatmap' as const, output: spec.heatmaps };
  let define: ModelDefinition = studentDefinition(model, { ...importOptions, loss });
  const { g, parts } = instantiate(define, 'eval', 'standard');
  const heat = parts.outputs?.[spec.heatmaps];
  if (!heat || heat.shape.length !== 4 || heat.shape[1] !== spec.schema.keypoints.length) {
    throw new OmniRangeError(`output "${spec.heatmaps}"`, `heatmaps [N, ${spec.schema.keypoints.length}, h, w] (one channel per keypoint of ${spec.schema.name})`, heat ? `[${heat.shape.join(', ')}]` : 'absent');
  }
  if (options.reinit) define = studentDefinition(model, { ...importOptions, loss, initialValues: reinitialised(g.params, options.seed ?? 0) });
  const makeBatch = plan.batches(heat.shape[2], heat.shape[3]);
  const run = await runTraining({ define, steps, batch: plan.imagesPerStep, labeled, ...(generated ? { generated } : {}), makeBatch, options });
  const trained = replaceInitializers(bytes, run.parameters);
  const onnxPath = join(options.outDir, `${options.name ?? 'student'}.onnx`);
  const out = await writeModel(onnxPath, trained, options.manifest);
  return { ...out, ...run };
}

/** How a layout feeds the imported graph: its static input shapes and its minibatches. */
interface LayoutPlan {
  readonly inputShapes: Record<string, readonly number[]>;
  /** Images the sampler draws per step. */
  readonly imagesPerStep: number;
  readonly batches: (heatmapHeight: number, heatmapWidth: number) => (images: LoadedImage[], rng: Rng) => Feeds;
}

function topDownPlan(spec: TopDownStudentSpec, model: ReadModel, batch: number, options: TrainOnnxStudentOptions): LayoutPlan {
  const size = cropSizeOf(model, spec.image);
  return {
    inputShapes: { [spec.image]: [batch, 3, size.height, size.width] },
    // The sampler draws `batch` images; their instances fill the crops (extra ones dropped at random).
    imagesPerStep: batch,
    batches: (heatmapHeight, heatmapWidth) => {
      const builder = new TopDownBatchBuilder({ batch, ...size, heatmapHeight, heatmapWidth, spec, flipProbability: options.flipProbability ?? 0.5, jitter: options.jitter ?? 0.05 });
      return (images, rng) => builder.build(images, rng);
    },
  };
}

function roisPlan(spec: RoisStudentSpec, size: { height: number; width: number }, rois: number): LayoutPlan {
  const p = spec.pixels;
  if (p.channelOrder !== 'rgb' || p.scale !== 255) {
    throw new OmniRangeError('manifest pixels', 'channelOrder "rgb" and scale 255 for a rois-layout student', `${p.channelOrder}, scale ${p.scale}`);
  }
  return {
    inputShapes: { [spec.image]: [1, 3, size.height, size.width], [spec.rois]: [rois, 4] },
    imagesPerStep: 1,
    batches: (heatmapHeight, heatmapWidth) => {
      if (heatmapHeight !== heatmapWidth) throw new OmniRangeError(`output "${spec.heatmaps}"`, 'square RoI heatmaps [R, K, M, M]', `${heatmapHeight}×${heatmapWidth}`);
      const builder = new KeypointBatchBuilder({ ...size, rois, heatmapSize: heatmapHeight, schema: spec.schema, categoryId: spec.categoryId ?? 1, pixels: { mean: p.mean, std: p.std } });
      const T = KEYPOINT_TENSORS;
      return (images, rng) => {
        const f = builder.build(images, rng);
        return { [spec.image]: f[T.image], [spec.rois]: f[T.rois], [HEATMAP_TARGET_INPUT]: f[T.target], [HEATMAP_WEIGHT_INPUT]: f[T.weight] };
      };
    },
  };
}

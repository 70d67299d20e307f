// The `keypoints` reference model: a Mask R-CNN-like keypoint branch small enough to train on
// two CPU cores in minutes (../../shared/DEMO-NOTES.md "Model that worked"). A stride-4 conv
// backbone over the whole image, RoIAlign 14 × 14, a conv head, a conv to 4K channels and a
// ×2 pixel shuffle (DepthToSpace; ConvTranspose's backward is slow on CPU) → K × 28 × 28 logits.
import { spatialSoftmaxCrossEntropy, type GraphBuilder, type ModelDefinition, type Value } from '@omnidistill/artifacts';
import { OmniRangeError, expectInteger } from '@omnidistill/core';
import { ParamInit, convBias, convBnRelu, type ConvSpec } from './layers.js';
import { roiAlign } from './roi-align.js';

/** Architecture of the keypoint model. */
export interface KeypointModelConfig {
  /** Keypoints per instance (K). */
  readonly keypoints: number;
  /** Heatmap side M (even; RoIAlign runs at M/2). Default 28. */
  readonly heatmapSize?: number;
  /** Backbone layers (stride product must be 4). Default: 6 layers, two dilated. */
  readonly backbone?: readonly ConvSpec[];
  /** Channels of the head convs. Default 32. */
  readonly headChannels?: number;
  /** Number of 3 × 3 head convs after RoIAlign. Default 3. */
  readonly headConvs?: number;
  /** RoIAlign samples per bin along each axis. Default 2. */
  readonly samplingRatio?: number;
  /** Seed of the initial weights. Default 0. */
  readonly seed?: number;
}

/** Static shapes of one graph of the model. */
export interface KeypointGraphShape {
  /** Images per batch; 1 = inference layout (no `roi_batch` input). */
  readonly batch: number;
  readonly height: number;
  readonly width: number;
  /** RoIs per batch (training pads to this and masks the padding out of the loss). */
  readonly rois: number;
}

/** The default backbone: 6 conv + BN + ReLU layers reaching stride 4, the last two dilated. */
export const DEFAULT_KEYPOINT_BACKBONE: readonly ConvSpec[] = [
  { out: 16, stride: 2 },
  { out: 24 },
  { out: 32, stride: 2 },
  { out: 32 },
  { out: 32, dilation: 2 },
  { out: 32, dilation: 2 },
];

/** Names of the graph tensors (inputs, training targets, output). */
export const KEYPOINT_TENSORS = {
  image: 'image',
  rois: 'rois',
  roiBatch: 'roi_batch',
  target: 'kp_target',
  weight: 'kp_weight',
  heatmaps: 'heatmaps',
} as const;

/** A config with defaults filled in and checked. */
export function resolveKeypointConfig(config: KeypointModelConfig): Required<KeypointModelConfig> {
  const heatmapSize = expectInteger(config.heatmapSize ?? 28, 'config.heatmapSize', 2);
  if (heatmapSize % 2 !== 0) throw new OmniRangeError('config.heatmapSize', 'an even number (RoIAlign runs at half of it)', heatmapSize);
  const backbone = config.backbone ?? DEFAULT_KEYPOINT_BACKBONE;
  const stride = backbone.reduce((s, l) => s * (l.stride ?? 1), 1);
  if (stride !== 4) throw new OmniRangeError('config.backbone', 'layers whose strides multiply to 4', stride);
  return {
    keypoints: expectInteger(config.keypoints, 'config.keypoints', 1),
    heatmapSize,
    backbone,
    headChannels: expectInteger(config.headChannels ?? 32, 'config.headChannels', 1),
    headConvs: expectInteger(config.headConvs ?? 3, 'config.headConvs', 0),
    samplingRatio: expectInteger(config.samplingRatio ?? 2, 'config.samplingRatio', 1),
    seed: expectInteger(config.seed ?? 0, 'config.seed', 0),
  };
}

/** The stride of the backbone: RoIs in image pixels map to features by 1/4. */
export const KEYPOINT_FEATURE_STRIDE = 4;

/** Backbone + RoIAlign + head: logits [R, K, M, M]. */
function keypointForward(g: GraphBuilder, c: Required<KeypointModelConfig>, image: Value, rois: Value, roiBatch: Value | undefined): Value {
  const init = new ParamInit(c.seed);
  let x = image;
  c.backbone.forEach((spec, i) => {
    x = convBnRelu(g, init, `backbone.${i}`, x, spec);
  });
  let h = roiAlign(g, x, rois, roiBatch, {
    outputSize: c.heatmapSize / 2,
    spatialScale: 1 / KEYPOINT_FEATURE_STRIDE,
    samplingRatio: c.samplingRatio,
  });
  for (let i = 0; i < c.headConvs; i++) h = convBias(g, init, `head.${i}`, h, { out: c.headChannels, relu: true });
  // 4K channels: each keypoint's four sub-pixel phases, which a ×2 pixel shuffle (CRD) turns into its M × M map.
  return convBias(g, init, 'head.up', h, { out: 4 * c.keypoints, relu: false, std: 0.01 });
}

/**
 * Flat cell index in the un-shuffled layout of a keypoint's logits (phase-major: phase·h² +
 * y·h + x, h = M/2), for each flat cell Y·M + X of its M × M heatmap (CRD: Y = 2y + i,
 * X = 2x + j, phase = 2i + j).
 */
export function unshuffledCellIndex(heatmapSize: number): BigInt64Array {
  const m = heatmapSize;
  const h = m / 2;
  const table = new BigInt64Array(m * m);
  for (let Y = 0; Y < m; Y++) {
    for (let X = 0; X < m; X++) table[Y * m + X] = BigInt((2 * (Y & 1) + (X & 1)) * h * h + (Y >> 1) * h + (X >> 1));
  }
  return table;
}

/**
 * The keypoint model as a {@link ModelDefinition} for one static shape. Train phase inputs:
 * `image` [B, 3, H, W], `rois` [R, 4] (image pixels), `roi_batch` int64 [R] (when B > 1),
 * `kp_target` int64 [R, K] (flat cell y·M + x) and `kp_weight` [R, K] (0 = no target, also
 * for padding RoIs); loss = spatial softmax cross-entropy. Eval phase: `heatmaps` [R, K, M, M].
 *
 * @example
 * const define = defineKeypointModel({ keypoints: 17 }, { batch: 16, height: 96, width: 96, rois: 40 });
 */
export function defineKeypointModel(config: KeypointModelConfig, shape: KeypointGraphShape): ModelDefinition {
  const c = resolveKeypointConfig(config);
  const B = expectInteger(shape.batch, 'shape.batch', 1);
  const H = expectInteger(shape.height, 'shape.height', 8);
  const W = expectInteger(shape.width, 'shape.width', 8);
  const R = expectInteger(shape.rois, 'shape.rois', 1);
  const T = KEYPOINT_TENSORS;
  return (g) => {
    const image = g.input(T.image, 'float32', [B, 3, H, W]);
    const rois = g.input(T.rois, 'float32', [R, 4]);
    const roiBatch = B > 1 ? g.input(T.roiBatch, 'int64', [R]) : undefined;
    const phases = keypointForward(g, c, image, rois, roiBatch); // [R, 4K, M/2, M/2]
    if (g.phase === 'eval') return { outputs: { [T.heatmaps]: g.depthToSpace(phases, 2, 'CRD') } };
    const target = g.input(T.target, 'int64', [R, c.keypoints]);
    const weight = g.input(T.weight, 'float32', [R, c.keypoints]);
    // The spatial softmax does not care where a cell sits, so training skips the pixel
    // shuffle (and its backward) and instead maps each target cell to its un-shuffled index:
    // the same loss, ~2 ms less per step on the reference model (ORT profile).
    const h = c.heatmapSize / 2;
    const logits = g.reshape(phases, [R, c.keypoints, 4 * h, h]);
    const unshuffled = g.gather(g.constant(unshuffledCellIndex(c.heatmapSize), [c.heatmapSize ** 2], 'int64'), target, 0);
    return { loss: spatialSoftmaxCrossEntropy(g, logits, unshuffled, weight) };
  };
}

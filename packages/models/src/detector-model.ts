// The `detector` reference model: a small CenterNet-style single-stage detector. The stride-4
// backbone of the keypoint model, then two heads: per-class centre heatmaps (penalty-reduced
// focal loss on Gaussian-splatted targets) and a 4-channel regression (box size in feature
// cells and the sub-cell centre offset; L1 at the centres). The inference graph decodes in
// ONNX: 3 × 3 max-pool peak extraction, TopK, gathers → boxes, scores, labels.
import { CENTERNET_TARGETS, centerNetLoss, type GraphBuilder, type ModelDefinition, type ModelParts, type Value } from '@omnidistill/artifacts';
import { OmniRangeError, expectInteger } from '@omnidistill/core';
import { ParamInit, convBias, convBnRelu, dimOf, reshapeKeep, type ConvSpec } from './layers.js';
import { DEFAULT_KEYPOINT_BACKBONE } from './keypoint-model.js';

/** Architecture of the detector. */
export interface DetectorConfig {
  /** Number of classes (labels 0..C−1). */
  readonly classes: number;
  /** Backbone layers (strides multiplying to 4). Default: the keypoint model's backbone. */
  readonly backbone?: readonly ConvSpec[];
  /** Channels of each head's 3 × 3 conv. Default 32. */
  readonly headChannels?: number;
  /** Most detections the inference graph returns. Default 100. */
  readonly maxDetections?: number;
  /** Weight of the size L1 loss (CenterNet's 0.1). */
  readonly sizeWeight?: number;
  readonly seed?: number;
}

/** Static shapes of one detector graph. */
export interface DetectorGraphShape {
  readonly batch: number;
  readonly height: number;
  readonly width: number;
}

/** Names of the detector's graph tensors. */
export const DETECTOR_TENSORS = {
  image: 'image',
  heat: CENTERNET_TARGETS.heat,
  regression: CENTERNET_TARGETS.regression,
  mask: CENTERNET_TARGETS.mask,
  boxes: 'boxes',
  scores: 'scores',
  labels: 'labels',
  heatLogits: 'heat_logits',
  regressionOut: 'regression',
} as const;

/** Backbone stride of the detector. */
export const DETECTOR_STRIDE = 4;

/** Feature-map side for an input side (two stride-2, pad-1, 3 × 3 convs). */
export function detectorFeatureSize(side: number): number {
  const down = (s: number) => Math.floor((s - 1) / 2) + 1;
  return down(down(side));
}

export function resolveDetectorConfig(c: DetectorConfig): Required<DetectorConfig> {
  const backbone = c.backbone ?? DEFAULT_KEYPOINT_BACKBONE;
  const stride = backbone.reduce((s, l) => s * (l.stride ?? 1), 1);
  if (stride !== DETECTOR_STRIDE) throw new OmniRangeError('config.backbone', 'layers whose strides multiply to 4', stride);
  return {
    classes: expectInteger(c.classes, 'config.classes', 1),
    backbone,
    headChannels: expectInteger(c.headChannels ?? 32, 'config.headChannels', 1),
    maxDetections: expectInteger(c.maxDetections ?? 100, 'config.maxDetections', 1),
    sizeWeight: c.sizeWeight ?? 0.1,
    seed: expectInteger(c.seed ?? 0, 'config.seed', 0),
  };
}

/** In-graph decoding of one image's maps into at most `maxDetections` boxes. */
function decode(g: GraphBuilder, heatLogits: Value, reg: Value, maxDetections: number): { boxes: Value; scores: Value; labels: Value } {
  const [, C, Hf, Wf] = heatLogits.shape;
  const total = C * Hf * Wf;
  const D = Math.min(maxDetections, total);
  const heat = g.sigmoid(heatLogits);
  const hmax = g.maxPool(heat, { kernel: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1] });
  const peaks = g.mul(heat, g.cast(g.equal(hmax, heat), 'float32'));
  const flat = reshapeKeep(g, peaks, [1, -1], [1, total]);
  const k = g.node('Min', [dimOf(g, flat, 1), g.int64s([maxDetections])], [{ dtype: 'int64', shape: [1] }])[0];
  const [values, indices] = g.node('TopK', [flat, k], [{ dtype: 'float32', shape: [1, D] }, { dtype: 'int64', shape: [1, D] }], {
    axis: { type: 'int', value: 1 },
  });
  const idx = reshapeKeep(g, indices, [-1], [D]);
  const plane = g.node('Mul', [dimOf(g, heat, 2), dimOf(g, heat, 3)], [{ dtype: 'int64', shape: [1] }])[0];
  const int = (op: string, a: Value, b: Value) => g.node(op, [a, b], [{ dtype: 'int64', shape: [D] }])[0];
  const label = int('Div', idx, plane);
  const pix = int('Mod', idx, plane);
  const width = dimOf(g, heat, 3);
  const cy = g.cast(int('Div', pix, width), 'float32');
  const cx = g.cast(int('Mod', pix, width), 'float32');
  const regFlat = reshapeKeep(g, reg, [4, -1], [4, Hf * Wf]);
  const at = g.gather(regFlat, pix, 1); // [4, D]: w, h (cells), offset x, offset y
  const row = (i: number) => reshapeKeep(g, g.slice(at, [i], [i + 1], [0]), [-1], [D]);
  const s = DETECTOR_STRIDE;
  const centreX = g.mul(g.add(cx, row(2)), s);
  const centreY = g.mul(g.add(cy, row(3)), s);
  const halfW = g.mul(g.relu(row(0)), s / 2);
  const halfH = g.mul(g.relu(row(1)), s / 2);
  const col = (v: Value) => reshapeKeep(g, v, [-1, 1], [D, 1]);
  const boxes = g.concat([col(g.sub(centreX, halfW)), col(g.sub(centreY, halfH)), col(g.add(centreX, halfW)), col(g.add(centreY, halfH))], 1);
  return { boxes, scores: reshapeKeep(g, values, [-1], [D]), labels: label };
}

/**
 * The detector as a {@link ModelDefinition}. Train phase inputs: `image` [B, 3, H, W],
 * `det_heat` [B, C, h, w] (Gaussian centre targets, 1 at centres), `det_reg` [B, 4, h, w]
 * (size in cells, centre offset) and `det_mask` [B, 1, h, w] (1 at centres). Eval phase with
 * B = 1: `boxes` [D, 4] (x1, y1, x2, y2 input pixels), `scores` [D], `labels` int64 [D];
 * with B > 1: the raw `heat_logits` and `regression` maps.
 */
export function defineDetector(config: DetectorConfig, shape: DetectorGraphShape): ModelDefinition {
  const c = resolveDetectorConfig(config);
  const B = expectInteger(shape.batch, 'shape.batch', 1);
  const H = expectInteger(shape.height, 'shape.height', 8);
  const W = expectInteger(shape.width, 'shape.width', 8);
  const T = DETECTOR_TENSORS;
  return (g): ModelParts => {
    const init = new ParamInit(c.seed);
    const image = g.input(T.image, 'float32', [B, 3, H, W]);
    let x = image;
    c.backbone.forEach((spec, i) => {
      x = convBnRelu(g, init, `backbone.${i}`, x, spec);
    });
    const hh = convBias(g, init, 'heat.0', x, { out: c.headChannels, relu: true });
    // Prior 0.1 on every centre (CenterNet/RetinaNet bias init) keeps the first focal-loss steps sane.
    const heatLogits = convBias(g, init, 'heat.out', hh, { out: c.classes, kernel: 1, relu: false, std: 0.01, biasInit: -Math.log(9) });
    const rh = convBias(g, init, 'reg.0', x, { out: c.headChannels, relu: true });
    const reg = convBias(g, init, 'reg.out', rh, { out: 4, kernel: 1, relu: false, std: 0.01 });
    if (g.phase === 'eval') {
      if (B > 1) return { outputs: { [T.heatLogits]: heatLogits, [T.regressionOut]: reg } };
      const d = decode(g, heatLogits, reg, c.maxDetections);
      return { outputs: { [T.boxes]: d.boxes, [T.scores]: d.scores, [T.labels]: d.labels } };
    }
    // The same loss (and target inputs det_heat/det_reg/det_mask) as imported detector students.
    const loss = centerNetLoss(g, heatLogits, reg, { sizeWeight: c.sizeWeight });
    return { loss };
  };
}

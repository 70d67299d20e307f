// A user's ONNX model as a ModelDefinition: the imported graph plus a loss, so that the
// existing machinery (gradient graphs, ORT artifacts, the standard-op training step) trains
// it like a built-in model.

import { OmniRangeError } from '@omnidistill/core';
import type { ModelDefinition } from './gradient-graph.js';
import type { GraphBuilder, Value } from './graph.js';
import { softLabelCrossEntropy, spatialSoftmaxCrossEntropy } from './losses.js';
import type { ReadModel } from './onnx-read.js';
import { type ImportOptions, importOnnxGraph } from './onnx-import.js';
import { fmtShape, numel, shapeEquals } from './shapes.js';
import { CENTERNET_TARGETS, centerNetLoss } from './centernet-loss.js';
import { YOLO_TARGETS, yoloLoss, type YoloLossOptions } from './yolo-loss.js';

/** Names of the target inputs a heatmap loss adds to the training graph. */
export const HEATMAP_TARGET_INPUT = 'heatmap_targets';
export const HEATMAP_WEIGHT_INPUT = 'heatmap_target_weights';
/** Target inputs of the SimCC loss: soft labels per axis and a weight per keypoint. */
export const SIMCC_TARGET_X_INPUT = 'simcc_target_x';
export const SIMCC_TARGET_Y_INPUT = 'simcc_target_y';
export const SIMCC_WEIGHT_INPUT = 'simcc_target_weights';

/** How the training loss is formed from the model's outputs. */
export type StudentLoss =
  /** The model computes its own scalar loss in output `output` (exported with its loss). */
  | { readonly kind: 'output'; readonly output: string }
  /**
   * Spatial-softmax cross-entropy on the target cell of heatmap logits [N, K, H, W]
   * (Mask R-CNN's keypoint loss; RoI keypoint heads and top-down heatmap models): adds
   * inputs `heatmap_targets` int64 [N, K] (flat cell y·W + x) and `heatmap_target_weights` float [N, K].
   */
  | { readonly kind: 'heatmap'; readonly output: string }
  /**
   * SimCC (RTMPose): 1-D logits `x` [N, K, Wx] and `y` [N, K, Wy]; soft-label cross-entropy
   * per axis, summed; adds inputs `simcc_target_x`, `simcc_target_y` (normalised labels) and
   * `simcc_target_weights` [N, K].
   */
  | { readonly kind: 'simcc'; readonly x: string; readonly y: string }
  /**
   * CenterNet-style detector heads (the reference detector's loss, {@link centerNetLoss}):
   * `heatmap` per-class centre logits [N, C, h, w] (before the sigmoid), and either `size`
   * [N, 2, h, w] (box width, height in feature cells) with `offset` [N, 2, h, w] (sub-cell
   * centre offset x, y), or one `regression` [N, 4, h, w] (w, h, dx, dy). The heads may be
   * intermediate tensors: only what they depend on is imported (the decode subgraph is pruned).
   * Adds the target inputs of {@link CENTERNET_TARGETS}.
   */
  | { readonly kind: 'centernet'; readonly heads: CenterNetHeads; readonly sizeWeight?: number }
  /**
   * Ultralytics-style raw heads `predictions` [N, 4 + C, A] (cx, cy, w, h in input pixels, C class
   * scores) over the anchor grid of `strides` ({@link yoloLoss}): BCE on the scores, L1 + GIoU on
   * the boxes of the foreground anchors. May be an intermediate tensor. Adds the target inputs of
   * {@link YOLO_TARGETS}.
   */
  | ({ readonly kind: 'yolo'; readonly predictions: string } & YoloLossOptions)
  /** Σ over the named outputs of output · weight (fixed weights): gradient checks. */
  | { readonly kind: 'weighted-sum'; readonly weights: Readonly<Record<string, Float32Array>> };

/** Tensor names of a CenterNet-style detector's raw heads. */
export type CenterNetHeads =
  | { readonly heatmap: string; readonly size: string; readonly offset: string; readonly regression?: undefined }
  | { readonly heatmap: string; readonly regression: string; readonly size?: undefined; readonly offset?: undefined };

/** The tensors a loss reads, when they are not simply the graph outputs (detector heads). */
export function lossTensors(loss: StudentLoss): readonly string[] | undefined {
  if (loss.kind === 'yolo') return [loss.predictions];
  if (loss.kind !== 'centernet') return undefined;
  const h = loss.heads;
  return h.regression !== undefined ? [h.heatmap, h.regression] : [h.heatmap, h.size, h.offset];
}

/** The target inputs a loss adds to the training graph (none for 'output' and 'weighted-sum'). */
export function lossTargetInputs(loss: StudentLoss): readonly string[] {
  switch (loss.kind) {
    case 'heatmap':
      return [HEATMAP_TARGET_INPUT, HEATMAP_WEIGHT_INPUT];
    case 'simcc':
      return [SIMCC_TARGET_X_INPUT, SIMCC_TARGET_Y_INPUT, SIMCC_WEIGHT_INPUT];
    case 'centernet':
      return Object.values(CENTERNET_TARGETS);
    case 'yolo':
      return Object.values(YOLO_TARGETS);
    default:
      return [];
  }
}

/** The CenterNet heads as (logits [N, C, h, w], regression [N, 4, h, w]), shapes checked against each other. */
export function centerNetHeads(g: GraphBuilder, outputs: Readonly<Record<string, Value>>, heads: CenterNetHeads): { heat: Value; regression: Value } {
  const heat = outputNamed(outputs, heads.heatmap, 'heads.heatmap');
  if (heat.shape.length !== 4) throw new OmniRangeError(`heads.heatmap "${heads.heatmap}"`, 'centre logits [N, C, h, w]', fmtShape(heat.shape));
  const [n, , h, w] = heat.shape;
  const expect = (name: string, what: string, channels: number): Value => {
    const v = outputNamed(outputs, name, `heads.${what}`);
    if (!shapeEquals(v.shape, [n, channels, h, w])) throw new OmniRangeError(`heads.${what} "${name}"`, `${fmtShape([n, channels, h, w])} (the heatmap's N, h, w)`, fmtShape(v.shape));
    return v;
  };
  if (heads.regression !== undefined) return { heat, regression: expect(heads.regression, 'regression', 4) };
  return { heat, regression: g.concat([expect(heads.size, 'size', 2), expect(heads.offset, 'offset', 2)], 1) };
}

export interface StudentOptions extends ImportOptions {
  readonly loss: StudentLoss;
}

function outputNamed(outputs: Readonly<Record<string, Value>>, name: string, what: string): Value {
  const v = outputs[name];
  if (!v) throw new OmniRangeError(what, `one of the model's outputs (${Object.keys(outputs).join(', ')})`, name);
  return v;
}

function studentLoss(g: GraphBuilder, outputs: Readonly<Record<string, Value>>, loss: StudentLoss): Value {
  switch (loss.kind) {
    case 'output': {
      const v = outputNamed(outputs, loss.output, 'loss.output');
      if (numel(v.shape) !== 1 || v.dtype !== 'float32') throw new OmniRangeError(`loss output "${loss.output}"`, 'a float scalar', `${v.dtype} [${v.shape.join(', ')}]`);
      return v.shape.length === 0 ? v : g.reshape(v, []);
    }
    case 'heatmap': {
      const logits = outputNamed(outputs, loss.output, 'loss.output');
      if (logits.shape.length !== 4) throw new OmniRangeError(`heatmap output "${loss.output}"`, 'logits [N, K, H, W]', `[${logits.shape.join(', ')}]`);
      const [n, k] = logits.shape;
      const target = g.input(HEATMAP_TARGET_INPUT, 'int64', [n, k]);
      const weight = g.input(HEATMAP_WEIGHT_INPUT, 'float32', [n, k]);
      return spatialSoftmaxCrossEntropy(g, logits, target, weight);
    }
    case 'simcc': {
      const x = outputNamed(outputs, loss.x, 'loss.x');
      const y = outputNamed(outputs, loss.y, 'loss.y');
      for (const [name, v] of [[loss.x, x], [loss.y, y]] as const) {
        if (v.shape.length !== 3) throw new OmniRangeError(`SimCC output "${name}"`, 'logits [N, K, L]', `[${v.shape.join(', ')}]`);
      }
      const tx = g.input(SIMCC_TARGET_X_INPUT, 'float32', x.shape);
      const ty = g.input(SIMCC_TARGET_Y_INPUT, 'float32', y.shape);
      const w = g.input(SIMCC_WEIGHT_INPUT, 'float32', x.shape.slice(0, 2));
      return g.add(softLabelCrossEntropy(g, x, tx, w), softLabelCrossEntropy(g, y, ty, w));
    }
    case 'centernet': {
      const { heat, regression } = centerNetHeads(g, outputs, loss.heads);
      return centerNetLoss(g, heat, regression, { sizeWeight: loss.sizeWeight });
    }
    case 'yolo':
      return yoloLoss(g, outputNamed(outputs, loss.predictions, 'loss.predictions'), loss);
    case 'weighted-sum': {
      let total: Value | undefined;
      for (const [name, w] of Object.entries(loss.weights)) {
        const v = outputNamed(outputs, name, 'loss.weights');
        if (w.length !== numel(v.shape)) throw new OmniRangeError(`loss.weights.${name}.length`, `${numel(v.shape)}`, w.length);
        const term = g.reduceSum(g.mul(v, g.floats(w, v.shape)), v.shape.map((_, i) => i));
        total = total ? g.add(total, term) : term;
      }
      if (!total) throw new OmniRangeError('loss.weights', 'at least one output', 0);
      return total;
    }
  }
}

/**
 * The imported model as a definition: eval phase = the model's outputs under their
 * original names (a detector's heads with loss 'centernet' or 'yolo'); train phase adds the loss. Parameters are the model's float initializers
 * under their original names.
 *
 * @example
 * const define = studentDefinition(decodeOnnxModel(bytes), { inputShapes: { input: [16, 3, 64, 48] }, loss: { kind: 'heatmap', output: 'heatmaps' }, freeze: ['backbone.*'] });
 * const step = buildTrainingStep(define, { optimizer, schedule });
 */
export function studentDefinition(model: ReadModel, options: StudentOptions): ModelDefinition {
  return (g) => {
    const { outputs } = importOnnxGraph(g, model, { ...options, outputs: options.outputs ?? lossTensors(options.loss) });
    if (g.phase === 'eval') return { outputs };
    // A model exported with its loss has it among its outputs: the train graph keeps the rest.
    const loss = studentLoss(g, outputs, options.loss);
    const rest = options.loss.kind === 'output' ? Object.fromEntries(Object.entries(outputs).filter(([k]) => k !== (options.loss as { output: string }).output)) : outputs;
    return { loss, outputs: rest };
  };
}

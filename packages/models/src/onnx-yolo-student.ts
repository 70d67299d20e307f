// A user's Ultralytics-style (YOLOv8-type, anchor-free) detector as a student (issue 14): the
// raw predictions [N, 4 + C, A] (boxes decoded in the graph to cx, cy, w, h input pixels, class
// scores) train with artifacts' yoloLoss. Foreground anchors are assigned statically, from the
// ground truth alone, by centre sampling (FCOS / YOLOX's centre prior):
//   an anchor point is a candidate for a box when it lies inside the box and within
//   `centerRadius` strides of the box centre on both axes; an anchor that is a candidate for
//   several boxes takes the smallest (FCOS's rule); a box no anchor fell to (smaller than its
//   stride) takes the anchor whose finest-level cell holds its centre.
// Why not the task-aligned assigner Ultralytics trains with: TAL picks each box's top-k anchors
// by a score of the current predictions, so it needs TopK and the predictions inside the
// training step, and the targets change with the weights. The static assignment is written with
// the minibatch like CenterNet's targets, keeps the loss one differentiable function of the
// heads (gradient-checked against torch), and is what FCOS and YOLOX's candidate stage use.
import { type ReadModel, type Value, type YoloScores, yoloAnchorGrid, type YoloAnchorGrid, YOLO_TARGETS } from '@omnidistill/artifacts';
import { OmniRangeError } from '@omnidistill/core';
import type { Feeds, Rng } from '@omnidistill/train';
import { ImageWriter, type LoadedDataset, type LoadedImage } from './data.js';
import { labeledBoxes, type LabeledBox } from './detector-train.js';
import { fixedInputSize } from './onnx-detector-student.js';
import { inputSizeOf } from './keypoint-train.js';
import { rgb255Pixels, type LayoutPlan, type StudentPixels } from './onnx-student.js';

/** A YOLO-style detector student (the manifest's role "detector" with training.loss "yolo"). */
export interface YoloStudentSpec {
  readonly layout: 'yolo';
  readonly image: string;
  /** The raw predictions [N, 4 + C, A] (the yolo layout's `outputs.predictions`, or an intermediate tensor). */
  readonly predictions: string;
  /** RGB, /255 (the batch builder's convention). */
  readonly pixels: StudentPixels;
  /** COCO category id of each class channel. */
  readonly categoryIds: readonly number[];
  /** Input pixels per cell of each level, in the order the anchors are concatenated (e.g. [8, 16, 32]). */
  readonly strides: readonly number[];
  /** Class channels hold probabilities (default; a Sigmoid in the graph) or logits. */
  readonly scores?: YoloScores;
  readonly l1Weight?: number;
  readonly iouWeight?: number;
  /** Centre-sampling radius in strides (default 2.5, YOLOX's). */
  readonly centerRadius?: number;
}

/** Per-image target planes: classes [C, A], boxes [4, A] (cx, cy, w, h), foreground [A]. */
export interface YoloTargetPlanes {
  readonly classes: Float32Array;
  readonly boxes: Float32Array;
  readonly foreground: Float32Array;
}

/**
 * Centre-sampling assignment of one image's boxes (x1 y1 x2 y2, input pixels) to the anchor
 * grid, written into zeroed target planes (see the file comment for the rule). Returns the
 * number of foreground anchors.
 */
export function writeYoloTargets(boxes: readonly LabeledBox[], classCount: number, grid: YoloAnchorGrid, out: YoloTargetPlanes, centerRadius = 2.5): number {
  const a = grid.count;
  const valid = boxes.filter(({ box: [x1, y1, x2, y2], label }) => x2 > x1 && y2 > y1 && label >= 0 && label < classCount);
  const areaOf = (b: LabeledBox) => (b.box[2] - b.box[0]) * (b.box[3] - b.box[1]);
  const owner = new Int32Array(a).fill(-1);
  const claims = new Int32Array(valid.length);
  for (let i = 0; i < a; i++) {
    const x = grid.x[i];
    const y = grid.y[i];
    const reach = centerRadius * grid.stride[i];
    for (let k = 0; k < valid.length; k++) {
      const [x1, y1, x2, y2] = valid[k].box;
      const inside = x > x1 && x < x2 && y > y1 && y < y2;
      const near = Math.abs(x - (x1 + x2) / 2) < reach && Math.abs(y - (y1 + y2) / 2) < reach;
      if (inside && near && (owner[i] < 0 || areaOf(valid[k]) < areaOf(valid[owner[i]]))) owner[i] = k;
    }
    if (owner[i] >= 0) claims[owner[i]]++;
  }
  valid.forEach((b, k) => {
    if (claims[k] > 0) return;
    const i = finestCellOf(grid, (b.box[0] + b.box[2]) / 2, (b.box[1] + b.box[3]) / 2);
    if (owner[i] < 0 || areaOf(b) < areaOf(valid[owner[i]])) owner[i] = k;
  });
  let foreground = 0;
  for (let i = 0; i < a; i++) {
    if (owner[i] < 0) continue;
    const { box, label } = valid[owner[i]];
    out.classes[label * a + i] = 1;
    out.boxes[i] = (box[0] + box[2]) / 2;
    out.boxes[a + i] = (box[1] + box[3]) / 2;
    out.boxes[2 * a + i] = box[2] - box[0];
    out.boxes[3 * a + i] = box[3] - box[1];
    out.foreground[i] = 1;
    foreground++;
  }
  return foreground;
}

/** The anchor of the finest level whose cell holds (x, y), clamped to the grid. */
function finestCellOf(grid: YoloAnchorGrid, x: number, y: number): number {
  let finest = 0;
  for (let i = 1; i < grid.count; i++) if (grid.stride[i] < grid.stride[finest]) finest = i;
  const s = grid.stride[finest];
  // The level's anchors are contiguous and row-major from its first one.
  let start = finest;
  while (start > 0 && grid.stride[start - 1] === s) start--;
  let end = start;
  while (end < grid.count && grid.stride[end] === s) end++;
  const columns = Math.round((grid.x[end - 1] - grid.x[start]) / s) + 1;
  const rows = (end - start) / columns;
  const col = Math.min(Math.max(Math.floor(x / s), 0), columns - 1);
  const row = Math.min(Math.max(Math.floor(y / s), 0), rows - 1);
  return start + row * columns + col;
}

/** Whole images with random horizontal flips, YOLO targets by centre sampling. */
export class YoloBatchBuilder {
  private readonly writer: ImageWriter;
  private readonly labelOf: Map<number, number>;
  private readonly grid: YoloAnchorGrid;
  constructor(
    private readonly o: {
      readonly height: number;
      readonly width: number;
      readonly spec: YoloStudentSpec;
      readonly flipProbability: number;
    },
  ) {
    this.writer = new ImageWriter(o.spec.pixels);
    this.labelOf = new Map(o.spec.categoryIds.map((id, i) => [id, i]));
    this.grid = yoloAnchorGrid(o.height, o.width, o.spec.strides);
  }

  build(images: readonly LoadedImage[], rng: Rng): Feeds {
    const { height: H, width: W, spec } = this.o;
    const B = images.length;
    const C = spec.categoryIds.length;
    const A = this.grid.count;
    const image = new Float32Array(B * 3 * H * W);
    const classes = new Float32Array(B * C * A);
    const boxes = new Float32Array(B * 4 * A);
    const foreground = new Float32Array(B * A);
    images.forEach((im, b) => {
      const flip = rng.nextFloat() < this.o.flipProbability;
      this.writer.write(im, flip, image, b, H, W);
      writeYoloTargets(labeledBoxes(im, flip, this.labelOf), C, this.grid, {
        classes: classes.subarray(b * C * A, (b + 1) * C * A),
        boxes: boxes.subarray(b * 4 * A, (b + 1) * 4 * A),
        foreground: foreground.subarray(b * A, (b + 1) * A),
      }, spec.centerRadius);
    });
    const T = YOLO_TARGETS;
    return {
      [spec.image]: { data: image, dims: [B, 3, H, W] },
      [T.classes]: { data: classes, dims: [B, C, A] },
      [T.boxes]: { data: boxes, dims: [B, 4, A] },
      [T.foreground]: { data: foreground, dims: [B, 1, A] },
    };
  }
}

/**
 * Whole images, `batch` per step, at the model's fixed input size or else the largest image of
 * the data rounded up to the coarsest stride; targets by centre sampling over the anchor grid.
 */
export function yoloPlan(spec: YoloStudentSpec, model: ReadModel, sets: readonly LoadedDataset[], batch: number, flipProbability: number): LayoutPlan {
  const pixels = rgb255Pixels(spec.pixels, 'a yolo detector student');
  const coarsest = Math.max(...spec.strides);
  const data = inputSizeOf(sets);
  const size = fixedInputSize(model, spec.image) ?? { height: Math.ceil(data.height / coarsest) * coarsest, width: Math.ceil(data.width / coarsest) * coarsest };
  return {
    inputShapes: { [spec.image]: [batch, 3, size.height, size.width] },
    loss: {
      kind: 'yolo',
      predictions: spec.predictions,
      strides: spec.strides,
      inputSize: [size.height, size.width],
      ...(spec.scores !== undefined ? { scores: spec.scores } : {}),
      ...(spec.l1Weight !== undefined ? { l1Weight: spec.l1Weight } : {}),
      ...(spec.iouWeight !== undefined ? { iouWeight: spec.iouWeight } : {}),
    },
    imagesPerStep: batch,
    batches: (outputs: Readonly<Record<string, Value>>) => {
      const p = outputs[spec.predictions];
      const c = p.shape[1] - 4; // rank and the anchor count are checked by the loss
      if (c !== spec.categoryIds.length) {
        throw new OmniRangeError('manifest categoryIds', `${c} category ids, one per class channel of "${spec.predictions}" [${p.shape.join(', ')}] (4 box channels first)`, `${spec.categoryIds.length}`);
      }
      const builder = new YoloBatchBuilder({ ...size, spec: { ...spec, pixels }, flipProbability });
      return (images, rng) => builder.build(images, rng);
    },
  };
}

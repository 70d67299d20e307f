// A user's CenterNet-style detector as a student (issue 14): the training graph stops at the
// raw heads the manifest names (centre heatmap logits, size, offset), the in-graph decoding
// (TopK, …) is pruned, and the reference detector's CenterNet loss and target building train it.
// The exported file is the user's own, decode included, with the trained weights.
import type { CenterNetHeads, ReadModel, Value } from '@omnidistill/artifacts';
import { feedInputs } from '@omnidistill/artifacts';
import { OmniRangeError } from '@omnidistill/core';
import type { LoadedDataset } from './data.js';
import { DetectorBatchBuilder } from './detector-train.js';
import { inputSizeOf } from './keypoint-train.js';
import { rgb255Pixels, type LayoutPlan, type StudentPixels } from './onnx-student.js';

/**
 * A detector student: `image` [1 or B, 3, H, W] → (in the graph) boxes, scores, labels, with
 * the raw CenterNet heads named in `heads` (the manifest's `training.heads`).
 */
export interface DetectorStudentSpec {
  readonly layout: 'detector';
  readonly image: string;
  readonly heads: CenterNetHeads;
  /** RGB, /255 (other pixel specs are refused: the reference detector's batch builder writes these). */
  readonly pixels: StudentPixels;
  /** COCO category id of each label (index = heatmap channel). */
  readonly categoryIds: readonly number[];
  /** Weight of the size L1 term (default 0.1, CenterNet's). */
  readonly sizeWeight?: number;
}

/** The image input's fixed [H, W], or null where the export left them dynamic. */
export function fixedInputSize(model: ReadModel, input: string): { height: number; width: number } | null {
  const v = feedInputs(model.graph).find((i) => i.name === input);
  if (!v) throw new OmniRangeError('manifest inputs.image', `an input of the model (${feedInputs(model.graph).map((i) => i.name).join(', ')})`, input);
  const dims = v.type.kind === 'tensor' ? v.type.shape : null;
  if (!dims || dims.length !== 4 || dims[1] !== 3) throw new OmniRangeError(`input "${input}"`, 'an image input [N, 3, H, W]', JSON.stringify(dims));
  const [, , h, w] = dims;
  return typeof h === 'number' && h > 0 && typeof w === 'number' && w > 0 ? { height: h, width: w } : null;
}

/** Input pixels per feature cell, checked to be the same integer on both axes (h = ceil(H / stride)). */
function strideOf(size: { height: number; width: number }, hf: number, wf: number, heatmap: string): number {
  const stride = Math.round(size.width / wf);
  const fits = (side: number, cells: number) => stride >= 1 && Math.ceil(side / stride) === cells;
  if (!fits(size.height, hf) || !fits(size.width, wf)) {
    throw new OmniRangeError(`heads.heatmap "${heatmap}"`, `a feature grid one integer stride below the ${size.width}×${size.height} input`, `${wf}×${hf}`);
  }
  return stride;
}

/**
 * Whole images, `batch` per step, at the model's fixed input size or else the largest image of
 * the data (rounded up to 4); CenterNet targets written at the heads' stride.
 */
export function detectorPlan(spec: DetectorStudentSpec, model: ReadModel, sets: readonly LoadedDataset[], batch: number, flipProbability: number): LayoutPlan {
  const p = rgb255Pixels(spec.pixels, 'a detector student');
  const size = fixedInputSize(model, spec.image) ?? inputSizeOf(sets);
  return {
    inputShapes: { [spec.image]: [batch, 3, size.height, size.width] },
    loss: { kind: 'centernet', heads: spec.heads, ...(spec.sizeWeight !== undefined ? { sizeWeight: spec.sizeWeight } : {}) },
    imagesPerStep: batch,
    batches: (outputs: Readonly<Record<string, Value>>) => {
      const heat = outputs[spec.heads.heatmap];
      const [, c, hf, wf] = heat.shape; // rank and the other heads are checked by the loss
      if (c !== spec.categoryIds.length) {
        throw new OmniRangeError('manifest categoryIds', `${c} category ids, one per channel of heads.heatmap "${spec.heads.heatmap}" [${heat.shape.join(', ')}]`, `${spec.categoryIds.length}`);
      }
      const stride = strideOf(size, hf, wf, spec.heads.heatmap);
      const builder = new DetectorBatchBuilder({ ...size, categoryIds: spec.categoryIds, flipProbability, pixels: p, stride, featureSize: [hf, wf], imageInput: spec.image });
      return (images, rng) => builder.build(images, rng);
    },
  };
}

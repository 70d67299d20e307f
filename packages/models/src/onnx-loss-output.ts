// `--loss-output NAME`: a student exported with its own loss (its inputs include the targets).
// The layout's batch builder still makes the minibatches, so the model's inputs besides the
// image must be the layout's target tensors, under the names and types the built-in loss uses
// (heatmap_targets int64 [N, K] + heatmap_target_weights [N, K]; simcc_target_x/_y +
// simcc_target_weights; det_heat/det_reg/det_mask); the model's loss replaces the built-in one.
import { feedInputs, lossTargetInputs, lossTensors, type ReadModel } from '@omnidistill/artifacts';
import { OmniRangeError } from '@omnidistill/core';
import type { Feeds } from '@omnidistill/train';
import type { LayoutPlan } from './onnx-student.js';

/** A plan whose loss is the model's output `lossOutput`, plus the tensors to import up to. */
export function lossOutputPlan(plan: LayoutPlan, model: ReadModel, lossOutput: string, rows: number): { plan: LayoutPlan; outputs: readonly string[] } {
  const targets = lossTargetInputs(plan.loss);
  const inputShapes: Record<string, readonly number[]> = { ...plan.inputShapes };
  for (const v of feedInputs(model.graph)) {
    if (inputShapes[v.name]) continue;
    if (!targets.includes(v.name)) {
      throw new OmniRangeError(`input "${v.name}"`, `with --loss-output, inputs besides the image are the layout's targets, named ${targets.join(', ') || '(this layout has none)'} (rename it in the export: torch.onnx input_names)`, v.name);
    }
    // Targets have one row per crop / RoI / image: a symbolic first axis takes that count.
    const dims = v.type.kind === 'tensor' ? v.type.shape : null;
    if (!dims || dims.slice(1).some((d) => !(typeof d === 'number' && d > 0))) {
      throw new OmniRangeError(`input "${v.name}"`, 'a target input whose dims after the first are fixed', JSON.stringify(dims));
    }
    inputShapes[v.name] = [rows, ...(dims.slice(1) as number[])];
  }
  const graphOutputs = model.graph.outputs.map((o) => o.name);
  if (!graphOutputs.includes(lossOutput)) throw new OmniRangeError('--loss-output', `an output of the model (${graphOutputs.join(', ')})`, lossOutput);
  // Detector heads may be intermediate tensors; keypoint layouts read the graph outputs.
  const outputs = [...new Set([...(lossTensors(plan.loss) ?? graphOutputs), lossOutput])];
  const fed = new Set(Object.keys(inputShapes));
  return {
    outputs,
    plan: {
      ...plan,
      inputShapes,
      loss: { kind: 'output', output: lossOutput },
      batches: (out) => {
        const make = plan.batches(out);
        // The builder writes every target of the layout; the model takes those it declares.
        return (images, rng) => Object.fromEntries(Object.entries(make(images, rng)).filter(([k]) => fed.has(k))) as Feeds;
      },
    },
  };
}

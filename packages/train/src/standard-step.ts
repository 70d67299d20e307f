// INTERIM ADAPTER (to be replaced by @omnidistill/artifacts' standard-op training step when it
// lands): builds the whole training step of a model definition in standard ONNX ops — forward,
// the artifacts' standard-lowering backward, the learning-rate schedule from `step`, and the
// optimizer update (SGD with optional momentum/weight decay as torch.optim.SGD, or AdamW with
// torch semantics as ORT's AdamWOptimizer adam_mode 0) — in the native engine's contract. The
// schedule is the artifacts' own (emitScheduleFactor), so both engines follow the same one.

import {
  buildGradientGraph,
  emitScheduleFactor,
  resolveOptimizer,
  resolveSchedule,
  type LearningRateSchedule,
  type ModelDefinition,
  type OptimizerConfig,
  type Value,
} from '@omnidistill/artifacts';
import { OmniRangeError } from '@omnidistill/core';
import type { ParameterSpec } from './engine.js';
import { evalModelWithParameterInputs } from './export.js';
import type { NativeStateSlot, NativeStepArtifacts } from './native-engine.js';

/**
 * Builds the standard-op training step of `define` for the native engine. The step input is the
 * 1-based index of the update (ORT's convention); the schedule uses the 0-based step.
 */
export function buildStandardTrainingStep(define: ModelDefinition, optimizer: OptimizerConfig, schedule: LearningRateSchedule): NativeStepArtifacts {
  const o = resolveOptimizer(optimizer);
  resolveSchedule(schedule);
  const gg = buildGradientGraph(define, 'standard');
  const { g } = gg;
  g.output(gg.loss, 'loss');
  const step = g.input('step', 'int64', [1]);
  const t = g.cast(step, 'float32');
  const lr = g.mul(emitScheduleFactor(g, step, schedule), o.learningRate);
  const state: NativeStateSlot[] = [];
  const bc1 = o.type === 'adamw' ? g.sub(g.floats([1]), g.pow(g.floats([o.beta1]), t)) : undefined;
  const bc2 = o.type === 'adamw' ? g.sqrt(g.sub(g.floats([1]), g.pow(g.floats([o.beta2]), t))) : undefined;
  for (const { param, grad } of gg.grads) {
    const p = param.value;
    const name = param.name;
    let next: Value;
    if (o.type === 'sgd') {
      // torch.optim.SGD: d = g + wd·p; buf = μ·buf + d (buf starts at 0, so the first buf is d); p -= lr·buf.
      const d = o.weightDecay > 0 ? g.add(grad, g.mul(p, o.weightDecay)) : grad;
      if (o.momentum > 0) {
        const buf = g.input(`${name}.m`, 'float32', p.shape);
        const buf2 = g.add(g.mul(buf, o.momentum), d);
        g.output(buf2, `${name}.m.next`);
        state.push({ input: `${name}.m`, output: `${name}.m.next`, parameter: name, role: 'm' });
        next = g.sub(p, g.mul(buf2, lr));
      } else {
        next = g.sub(p, g.mul(d, lr));
      }
    } else {
      const m = g.input(`${name}.m`, 'float32', p.shape);
      const v = g.input(`${name}.v`, 'float32', p.shape);
      const m2 = g.add(g.mul(m, o.beta1), g.mul(grad, 1 - o.beta1));
      const v2 = g.add(g.mul(v, o.beta2), g.mul(g.mul(grad, grad), 1 - o.beta2));
      // torch AdamW: decay first, then p -= (lr / bc1) · m / (sqrt(v) / sqrt(bc2) + eps).
      const decayed = g.sub(p, g.mul(p, g.mul(lr, o.weightDecay)));
      const denom = g.add(g.div(g.sqrt(v2), bc2!), o.epsilon);
      next = g.sub(decayed, g.mul(g.div(m2, denom), g.div(lr, bc1!)));
      g.output(m2, `${name}.m.next`);
      g.output(v2, `${name}.v.next`);
      state.push({ input: `${name}.m`, output: `${name}.m.next`, parameter: name, role: 'm' });
      state.push({ input: `${name}.v`, output: `${name}.v.next`, parameter: name, role: 'v' });
    }
    g.output(next, `${name}.next`);
    state.push({ input: name, output: `${name}.next`, parameter: name, role: 'param' });
  }
  // BatchNorm running statistics are frozen parameters that the forward pass updates.
  const updatedStats = new Map<string, Value>();
  for (const s of g.bnStats) {
    updatedStats.set(s.mean.name, s.newMean);
    updatedStats.set(s.variance.name, s.newVariance);
  }
  for (const param of gg.params) {
    if (param.trainable) continue;
    const updated = updatedStats.get(param.name);
    if (updated) g.output(updated, `${param.name}.next`);
    state.push({ input: param.name, ...(updated ? { output: `${param.name}.next` } : {}), parameter: param.name, role: 'param' });
  }
  const userInputs: Record<string, readonly number[]> = {};
  for (const v of g.inputs) {
    if (v.name === 'step' || state.some((s) => s.input === v.name)) continue;
    userInputs[v.name] = v.shape;
  }
  const ev = evalModelWithParameterInputs(define);
  const parameters: ParameterSpec[] = gg.params.map((p) => ({ name: p.name, shape: p.shape, trainable: p.trainable }));
  if (parameters.length === 0) throw new OmniRangeError('define', 'a model with parameters', 0);
  return {
    stepModel: g.toModelBytes({ paramsAs: 'inputs' }),
    evalModel: ev.bytes,
    parameters,
    userInputs,
    stepInput: 'step',
    stepDtype: 'int64',
    lossOutput: 'loss',
    state,
    evalUserInputs: ev.userInputs,
  };
}

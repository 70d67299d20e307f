// Test fixture: a linear regression y = x·W + b with MSE loss whose training step is written
// by hand in standard ONNX ops (gradient and optimizer update included), plus a plain-TS
// reference of the same step. It exercises the native engine, the loop, checkpoints and export
// independently of the autodiff in @omnidistill/artifacts.

import { GraphBuilder, type Value } from '@omnidistill/artifacts';
import type { NativeStepArtifacts } from '@omnidistill/train';

export interface LinearSpec {
  readonly batch: number;
  readonly inDim: number;
  readonly outDim: number;
  readonly optimizer: { kind: 'sgd'; lr: number } | { kind: 'adamw'; lr: number; beta1: number; beta2: number; eps: number; weightDecay: number };
}

export function linearInit(spec: LinearSpec, seed = 1): Map<string, Float32Array> {
  let s = seed >>> 0;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5) * 0.2;
  return new Map([
    ['W', Float32Array.from({ length: spec.inDim * spec.outDim }, rnd)],
    ['b', Float32Array.from({ length: spec.outDim }, rnd)],
  ]);
}

function forward(g: GraphBuilder, x: Value, w: Value, b: Value): Value {
  return g.add(g.matMul(x, w), b);
}

/** The eval graph: user input x, then W and b as inputs (ORT's eval-artifact layout). */
export function linearEvalModel(spec: LinearSpec): Uint8Array {
  const g = new GraphBuilder({ name: 'linear_eval' });
  const x = g.input('x', 'float32', [spec.batch, spec.inDim]);
  const init = linearInit(spec);
  const w = g.param('W', [spec.inDim, spec.outDim], init.get('W')!);
  const b = g.param('b', [spec.outDim], init.get('b')!);
  g.output(forward(g, x, w, b), 'pred');
  return g.toModelBytes({ paramsAs: 'inputs' });
}

/** The whole training step in standard ops, in the native engine's contract. */
export function linearNativeArtifacts(spec: LinearSpec): NativeStepArtifacts {
  const g = new GraphBuilder({ name: 'linear_step' });
  const { batch, inDim, outDim } = spec;
  const x = g.input('x', 'float32', [batch, inDim]);
  const y = g.input('y', 'float32', [batch, outDim]);
  const step = g.input('step', 'int64', [1]);
  const w = g.input('W', 'float32', [inDim, outDim]);
  const b = g.input('b', 'float32', [outDim]);
  const pred = forward(g, x, w, b);
  const diff = g.sub(pred, y);
  const loss = g.reduceMean(g.mul(diff, diff), [0, 1]);
  g.output(loss, 'loss');
  const dPred = g.mul(diff, 2 / (batch * outDim));
  const grads = [g.matMul(g.transpose(x, [1, 0]), dPred), g.reduceSum(dPred, [0])];
  const params = [w, b];
  const names = ['W', 'b'];
  const state: NativeStepArtifacts['state'][number][] = [];
  const o = spec.optimizer;
  if (o.kind === 'sgd') {
    params.forEach((p, i) => {
      g.output(g.sub(p, g.mul(grads[i], o.lr)), `${names[i]}.updated`);
      state.push({ input: names[i], output: `${names[i]}.updated`, parameter: names[i], role: 'param' });
    });
  } else {
    const t = g.node('Cast', [step], [{ dtype: 'float32', shape: [1] }], { to: { type: 'int', value: 1 } })[0];
    const bc1 = g.sub(g.floats([1]), g.pow(g.floats([o.beta1]), t));
    const bc2 = g.sub(g.floats([1]), g.pow(g.floats([o.beta2]), t));
    params.forEach((p, i) => {
      const m = g.input(`${names[i]}.m`, 'float32', p.shape);
      const v = g.input(`${names[i]}.v`, 'float32', p.shape);
      const gr = grads[i];
      const m2 = g.add(g.mul(m, o.beta1), g.mul(gr, 1 - o.beta1));
      const v2 = g.add(g.mul(v, o.beta2), g.mul(g.mul(gr, gr), 1 - o.beta2));
      const decayed = g.mul(p, 1 - o.lr * o.weightDecay);
      const denom = g.add(g.sqrt(g.div(v2, bc2)), o.eps);
      const upd = g.sub(decayed, g.mul(g.div(g.div(m2, bc1), denom), o.lr));
      g.output(upd, `${names[i]}.updated`);
      g.output(m2, `${names[i]}.m.updated`);
      g.output(v2, `${names[i]}.v.updated`);
      state.push({ input: names[i], output: `${names[i]}.updated`, parameter: names[i], role: 'param' });
      state.push({ input: `${names[i]}.m`, output: `${names[i]}.m.updated`, parameter: names[i], role: 'm' });
      state.push({ input: `${names[i]}.v`, output: `${names[i]}.v.updated`, parameter: names[i], role: 'v' });
    });
  }
  return {
    stepModel: g.toModelBytes(),
    evalModel: linearEvalModel(spec),
    parameters: [
      { name: 'W', shape: [inDim, outDim], trainable: true },
      { name: 'b', shape: [outDim], trainable: true },
    ],
    userInputs: { x: [batch, inDim], y: [batch, outDim] },
    stepInput: 'step',
    stepDtype: 'int64',
    lossOutput: 'loss',
    state,
    evalUserInputs: ['x'],
  };
}

/** Plain-TS reference of one step (float64 arithmetic): returns the loss before the update. */
export function linearReferenceStep(
  spec: LinearSpec,
  params: Map<string, Float64Array>,
  moments: Map<string, Float64Array[]>,
  t: number,
  x: Float32Array,
  y: Float32Array,
): number {
  const { batch, inDim, outDim } = spec;
  const W = params.get('W')!, b = params.get('b')!;
  const dW = new Float64Array(W.length), db = new Float64Array(b.length);
  let loss = 0;
  for (let i = 0; i < batch; i++) {
    for (let o = 0; o < outDim; o++) {
      let p = b[o];
      for (let d = 0; d < inDim; d++) p += x[i * inDim + d] * W[d * outDim + o];
      const diff = p - y[i * outDim + o];
      loss += diff * diff;
      const gp = (2 * diff) / (batch * outDim);
      db[o] += gp;
      for (let d = 0; d < inDim; d++) dW[d * outDim + o] += x[i * inDim + d] * gp;
    }
  }
  const opt = spec.optimizer;
  const grads = new Map([['W', dW], ['b', db]]);
  for (const [name, p] of params) {
    const gr = grads.get(name)!;
    if (opt.kind === 'sgd') {
      for (let k = 0; k < p.length; k++) p[k] -= opt.lr * gr[k];
    } else {
      const [m, v] = moments.get(name)!;
      const bc1 = 1 - opt.beta1 ** t, bc2 = 1 - opt.beta2 ** t;
      for (let k = 0; k < p.length; k++) {
        m[k] = opt.beta1 * m[k] + (1 - opt.beta1) * gr[k];
        v[k] = opt.beta2 * v[k] + (1 - opt.beta2) * gr[k] * gr[k];
        p[k] = p[k] * (1 - opt.lr * opt.weightDecay) - (opt.lr * (m[k] / bc1)) / (Math.sqrt(v[k] / bc2) + opt.eps);
      }
    }
  }
  return loss / (batch * outDim);
}

/** A deterministic toy data set: y = x·W* + b* + small noise. */
export function linearData(spec: LinearSpec, count: number, seed = 7): { xs: Float32Array[]; ys: Float32Array[] } {
  let s = seed >>> 0;
  const rnd = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32 - 0.5;
  const wTrue = Float64Array.from({ length: spec.inDim * spec.outDim }, () => rnd() * 2);
  const xs: Float32Array[] = [], ys: Float32Array[] = [];
  for (let n = 0; n < count; n++) {
    const x = Float32Array.from({ length: spec.inDim }, rnd);
    const y = new Float32Array(spec.outDim);
    for (let o = 0; o < spec.outDim; o++) {
      let v = 0.3;
      for (let d = 0; d < spec.inDim; d++) v += x[d] * wTrue[d * spec.outDim + o];
      y[o] = v + rnd() * 0.01;
    }
    xs.push(x);
    ys.push(y);
  }
  return { xs, ys };
}

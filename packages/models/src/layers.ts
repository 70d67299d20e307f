// Building blocks shared by the reference models: seeded parameter initialisation, conv
// layers with BatchNorm, and reshapes that keep dynamic dimensions dynamic in the exported
// inference graph (the builder's own reshape bakes the static shape it knows).
import type { GraphBuilder, Value } from '@omnidistill/artifacts';
import { Rng } from '@omnidistill/train';

/** Seeded initial values: every parameter draws from its own stream (seed, name), so adding a layer never changes the others. */
export class ParamInit {
  constructor(private readonly seed: number) {}

  private rngFor(name: string): Rng {
    let h = 2166136261;
    for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619) >>> 0;
    return new Rng([this.seed, h]);
  }

  /** Kaiming-normal (fan-in, ReLU gain) for a conv weight [O, I, kh, kw]. */
  he(name: string, shape: readonly number[], gain = Math.SQRT2): Float32Array {
    const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
    const std = gain / Math.sqrt(fanIn);
    const rng = this.rngFor(name);
    const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < out.length; i++) out[i] = rng.nextNormal() * std;
    return out;
  }

  /** Normal with a given standard deviation. */
  normal(name: string, shape: readonly number[], std: number): Float32Array {
    const rng = this.rngFor(name);
    const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < out.length; i++) out[i] = rng.nextNormal() * std;
    return out;
  }
}

/** A filled Float32Array. */
export function filled(n: number, value: number): Float32Array {
  return new Float32Array(n).fill(value);
}

/** Options of one conv layer. */
export interface ConvSpec {
  readonly out: number;
  readonly kernel?: number;
  readonly stride?: number;
  readonly dilation?: number;
}

/** conv (no bias) → BatchNorm → ReLU; 'same' padding for odd kernels. */
export function convBnRelu(g: GraphBuilder, init: ParamInit, name: string, x: Value, spec: ConvSpec): Value {
  const k = spec.kernel ?? 3;
  const d = spec.dilation ?? 1;
  const s = spec.stride ?? 1;
  const cin = x.shape[1];
  const p = (d * (k - 1)) >> 1;
  const w = g.param(`${name}.w`, [spec.out, cin, k, k], init.he(`${name}.w`, [spec.out, cin, k, k]));
  const y = g.conv(x, w, undefined, { strides: [s, s], pads: [p, p, p, p], dilations: [d, d] });
  const c = spec.out;
  const gamma = g.param(`${name}.bn.scale`, [c], filled(c, 1));
  const beta = g.param(`${name}.bn.bias`, [c], filled(c, 0));
  const mean = g.param(`${name}.bn.mean`, [c], filled(c, 0), { trainable: false });
  const variance = g.param(`${name}.bn.var`, [c], filled(c, 1), { trainable: false });
  return g.relu(g.batchNorm(y, gamma, beta, mean, variance, { momentum: 0.9 }));
}

/** conv with bias, 'same' padding, optional ReLU. */
export function convBias(g: GraphBuilder, init: ParamInit, name: string, x: Value, spec: ConvSpec & { relu: boolean; biasInit?: number; std?: number }): Value {
  const k = spec.kernel ?? 3;
  const d = spec.dilation ?? 1;
  const p = (d * (k - 1)) >> 1;
  const shape = [spec.out, x.shape[1], k, k];
  const wInit = spec.std !== undefined ? init.normal(`${name}.w`, shape, spec.std) : init.he(`${name}.w`, shape, spec.relu ? Math.SQRT2 : 1);
  const w = g.param(`${name}.w`, shape, wInit);
  const b = g.param(`${name}.b`, [spec.out], filled(spec.out, spec.biasInit ?? 0));
  const y = g.conv(x, w, b, { pads: [p, p, p, p], dilations: [d, d] });
  return spec.relu ? g.relu(y) : y;
}

/**
 * ONNX Reshape whose target may hold 0 (copy that input dimension) and -1, written as is so
 * that dynamic dimensions stay dynamic in the exported graph. `nominal` is the shape in this
 * (static) build; autodiff treats the node like any Reshape.
 */
export function reshapeKeep(g: GraphBuilder, x: Value, target: readonly number[], nominal: readonly number[]): Value {
  return g.node('Reshape', [x, g.int64s(target)], [{ dtype: x.dtype, shape: nominal }])[0];
}

/** `Shape(x)[axis]` as an int64 [1] tensor, computed at run time. */
export function dimOf(g: GraphBuilder, x: Value, axis: number): Value {
  const [shape] = g.node('Shape', [x], [{ dtype: 'int64', shape: [x.shape.length] }]);
  return g.node('Slice', [shape, g.int64s([axis]), g.int64s([axis + 1]), g.int64s([0])], [{ dtype: 'int64', shape: [1] }])[0];
}

/** float32 [n] holding 0, 1, …, n−1 where n = `Shape(x)[axis]` at run time (the static build records this build's size). */
export function rangeOf(g: GraphBuilder, x: Value, axis: number): Value {
  const n = dimOf(g, x, axis);
  const scalarN = g.node('Squeeze', [n, g.int64s([0])], [{ dtype: 'int64', shape: [] }])[0];
  const zero = g.constant(BigInt64Array.of(0n), [], 'int64');
  const one = g.constant(BigInt64Array.of(1n), [], 'int64');
  const r = g.node('Range', [zero, scalarN, one], [{ dtype: 'int64', shape: [x.shape[axis]] }])[0];
  return g.cast(r, 'float32');
}

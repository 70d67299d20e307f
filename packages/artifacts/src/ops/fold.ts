// Import-time arithmetic on small known tensors (the shape computations exporters emit:
// Shape → Gather → Unsqueeze → Concat → Reshape), so that the imported graph has static shapes.

import type { DType } from '../onnx.js';
import { broadcastShapes, numel } from '../shapes.js';
import type { Folded } from './types.js';

/** A folded tensor of `dtype` from plain numbers. */
export function folded(dtype: DType, dims: readonly number[], values: ArrayLike<number>): Folded {
  const data =
    dtype === 'float32'
      ? Float32Array.from(values)
      : dtype === 'int64'
        ? BigInt64Array.from(Array.from(values), (v) => BigInt(Math.trunc(v)))
        : dtype === 'int32'
          ? Int32Array.from(values)
          : Uint8Array.from(values);
  return { dtype, dims: [...dims], data };
}

/** The values of a folded tensor as numbers. */
export function numbers(f: Folded): number[] {
  return Array.from(f.data as ArrayLike<number | bigint>, Number);
}

/** Element-wise `fn` over broadcast operands (numpy rules); result dtype `dtype`. */
export function foldElementwise(dtype: DType, operands: readonly Folded[], fn: (...v: number[]) => number): Folded {
  const shape = broadcastShapes('folded elementwise', ...operands.map((o) => o.dims));
  const vals = operands.map(numbers);
  const out = new Array<number>(numel(shape));
  const idx = new Array<number>(shape.length).fill(0);
  for (let k = 0; k < out.length; k++) {
    let rem = k;
    for (let d = shape.length - 1; d >= 0; d--) {
      idx[d] = rem % shape[d];
      rem = Math.floor(rem / shape[d]);
    }
    const args = operands.map((o, j) => {
      const lead = shape.length - o.dims.length;
      let flat = 0;
      for (let d = 0; d < o.dims.length; d++) flat = flat * o.dims[d] + (o.dims[d] === 1 ? 0 : idx[lead + d]);
      return vals[j][flat];
    });
    out[k] = fn(...args);
  }
  return folded(dtype, shape, out);
}

/** Reinterprets a folded tensor with new dims (same element count). */
export function refold(f: Folded, dims: readonly number[]): Folded {
  return { dtype: f.dtype, dims: [...dims], data: f.data };
}

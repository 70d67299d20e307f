// Static shape inference helpers shared by the builder's op methods. Every value in a
// graph we build has a fully known shape; these functions compute output shapes and throw
// precise errors when the inputs do not fit.

import { OmniRangeError } from '@omnidistill/core';

export type Shape = readonly number[];

export function numel(shape: Shape): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function shapeEquals(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function fmtShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

/** Numpy-style broadcast of several shapes. */
export function broadcastShapes(path: string, ...shapes: Shape[]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    let d = 1;
    for (const s of shapes) {
      const k = s.length - rank + i;
      const v = k >= 0 ? s[k] : 1;
      if (v === 1) continue;
      if (d !== 1 && d !== v) {
        throw new OmniRangeError(path, 'broadcastable shapes', shapes.map(fmtShape).join(' vs '));
      }
      d = v;
    }
    out.push(d);
  }
  return out;
}

/** Normalises a possibly negative axis for a tensor of `rank`. */
export function normAxis(axis: number, rank: number, path: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) {
    throw new OmniRangeError(path, `an axis in [${-rank}, ${rank - 1}]`, axis);
  }
  return a;
}

/** Output length of a conv/pool window along one axis (floor mode). */
export function convOutDim(inDim: number, kernel: number, stride: number, padBegin: number, padEnd: number, dilation: number): number {
  return Math.floor((inDim + padBegin + padEnd - dilation * (kernel - 1) - 1) / stride) + 1;
}

/** Output length of a transposed conv along one axis. */
export function convTransposeOutDim(
  inDim: number,
  kernel: number,
  stride: number,
  padBegin: number,
  padEnd: number,
  dilation: number,
  outputPadding: number,
): number {
  return stride * (inDim - 1) + outputPadding + dilation * (kernel - 1) + 1 - padBegin - padEnd;
}

/** Resolved [start, end, step] of an ONNX Slice along one axis (ONNX clamping rules). */
export function resolveSlice(dim: number, start: number, end: number, step: number): { start: number; end: number; step: number; length: number } {
  const clampStart = (v: number): number => {
    const x = v < 0 ? v + dim : v;
    return step > 0 ? Math.min(Math.max(x, 0), dim) : Math.min(Math.max(x, 0), dim - 1);
  };
  const clampEnd = (v: number): number => {
    const x = v < 0 ? v + dim : v;
    return step > 0 ? Math.min(Math.max(x, 0), dim) : Math.min(Math.max(x, -1), dim - 1);
  };
  const s = clampStart(start);
  const e = clampEnd(end);
  const length = step > 0 ? Math.max(0, Math.ceil((e - s) / step)) : Math.max(0, Math.ceil((s - e) / -step));
  return { start: s, end: e, step, length };
}

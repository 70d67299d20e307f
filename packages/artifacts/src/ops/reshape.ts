// Reshape (0 = copy, -1 = infer), Flatten, Squeeze and Unsqueeze (axes as inputs since opset 13).

import { numel } from '../shapes.js';
import { refold } from './fold.js';
import { type OpContext, type OpImporter, type OpOutput, op } from './types.js';

/** The input's dims whether it is folded or a graph value. */
function dimsOf(c: OpContext): readonly number[] {
  const f = c.folded(0);
  return f && c.allFolded() ? f.dims : c.value(0).shape;
}

/** `input 0` reshaped to `dims`: folded stays folded. */
function reshapeTo(c: OpContext, dims: readonly number[]): OpOutput {
  const f = c.folded(0);
  if (f && c.allFolded()) return refold(f, dims);
  const x = c.value(0);
  return dims.length === x.shape.length && dims.every((d, i) => d === x.shape[i]) ? x : c.g.reshape(x, dims);
}

export const reshape: OpImporter = op('Reshape', (c) => {
  const dims = dimsOf(c);
  const spec = c.ints(1, 'shape');
  const allowZero = c.attrInt('allowzero', 0) === 1;
  const target = spec.map((d, i) => (d === 0 && !allowZero ? dims[i] : d));
  const known = target.filter((d) => d !== -1);
  const resolved = target.map((d) => (d === -1 ? numel(dims) / numel(known) : d));
  if (numel(resolved) !== numel(dims) || !resolved.every(Number.isInteger)) c.fail('shape', `a shape with ${numel(dims)} elements`, spec);
  return [reshapeTo(c, resolved)];
});

export const flatten: OpImporter = op('Flatten', (c) => {
  const dims = dimsOf(c);
  const axis = c.attrInt('axis', 1);
  const a = axis < 0 ? axis + dims.length : axis;
  return [reshapeTo(c, [numel(dims.slice(0, a)), numel(dims.slice(a))])];
});

function axesOf(c: OpContext, rank: number): number[] | undefined {
  const axes = c.has(1) ? c.ints(1, 'axes') : c.node.attributes.axes?.type === 'ints' ? c.attrInts('axes') : undefined;
  return axes?.map((a) => (a < 0 ? a + rank : a));
}

export const squeeze: OpImporter = op('Squeeze', (c) => {
  const dims = dimsOf(c);
  const axes = axesOf(c, dims.length) ?? dims.flatMap((d, i) => (d === 1 ? [i] : []));
  for (const a of axes) if (dims[a] !== 1) c.fail(`axis ${a}`, 'a dimension of size 1', dims[a]);
  return [reshapeTo(c, dims.filter((_, i) => !axes.includes(i)))];
});

export const unsqueeze: OpImporter = op('Unsqueeze', (c) => {
  const dims = dimsOf(c);
  const rank = dims.length + (c.has(1) ? c.ints(1, 'axes').length : c.attrInts('axes').length);
  const axes = axesOf(c, rank) ?? [];
  const out: number[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) out.push(axes.includes(i) ? 1 : dims[k++]);
  return [reshapeTo(c, out)];
});

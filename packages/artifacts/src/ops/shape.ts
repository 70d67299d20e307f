// Shape, Constant, ConstantOfShape, Cast and Range: the sources of the shape arithmetic that
// exporters emit. All fold at import time when their inputs are known (Shape always is:
// every imported value has a static shape).

import type { DType } from '../onnx.js';
import { tensorData } from '../onnx-tensor.js';
import { numel } from '../shapes.js';
import { folded, numbers } from './fold.js';
import { type OpImporter, op } from './types.js';

export const shape: OpImporter = op('Shape', (c) => {
  const f = c.folded(0);
  const dims = f && c.allFolded() ? f.dims : c.value(0).shape;
  const r = dims.length;
  const norm = (a: number) => Math.min(Math.max(a < 0 ? a + r : a, 0), r);
  const start = norm(c.attrInt('start', 0));
  const end = norm(c.attrInt('end', r));
  const picked = dims.slice(start, end);
  return [folded('int64', [picked.length], picked)];
});

export const constant: OpImporter = op('Constant', (c) => {
  const a = Object.entries(c.node.attributes)[0];
  if (!a) return c.fail('attributes', 'one value attribute', 'none');
  const [name, v] = a;
  if (v.type === 'tensor') return [tensorData(v.value)];
  if (name === 'value_float' && v.type === 'float') return [folded('float32', [], [v.value])];
  if (name === 'value_floats' && v.type === 'floats') return [folded('float32', [v.value.length], v.value)];
  if (name === 'value_int' && v.type === 'int') return [folded('int64', [], [v.value])];
  if (name === 'value_ints' && v.type === 'ints') return [folded('int64', [v.value.length], v.value)];
  return c.fail(`attribute ${name}`, 'value, value_float(s) or value_int(s)', v.type);
});

export const constantOfShape: OpImporter = op('ConstantOfShape', (c) => {
  const dims = c.ints(0, 'shape');
  const a = c.node.attributes.value;
  const fill = a?.type === 'tensor' ? tensorData(a.value) : folded('float32', [1], [0]);
  return [folded(fill.dtype, dims, new Array<number>(numel(dims)).fill(numbers(fill)[0]))];
});

const CAST_TO: Readonly<Record<number, DType>> = { 1: 'float32', 2: 'uint8', 6: 'int32', 7: 'int64', 9: 'bool', 11: 'float32' };

export const cast: OpImporter = op('Cast', (c) => {
  const to = CAST_TO[c.attrInt('to', 1)];
  if (!to) return c.fail('to', 'float, double, uint8, int32, int64 or bool', c.attrInt('to', 0));
  const f = c.folded(0);
  if (f && c.allFolded()) {
    const v = numbers(f).map((x) => (to === 'bool' ? (x ? 1 : 0) : to === 'float32' ? x : Math.trunc(x)));
    return [folded(to, f.dims, v)];
  }
  const x = c.value(0);
  return [x.dtype === to ? x : c.g.cast(x, to)];
});

export const range: OpImporter = op('Range', (c) => {
  const [start, limit, delta] = [0, 1, 2].map((i) => c.floats(i, ['start', 'limit', 'delta'][i])[0]);
  const n = Math.max(Math.ceil((limit - start) / delta), 0);
  const dtype = c.folded(0)!.dtype;
  return [folded(dtype, [n], Array.from({ length: n }, (_, i) => start + i * delta))];
});

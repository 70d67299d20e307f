// Concat (folded for shape vectors) and Split (into Slices; split sizes as input since
// opset 13, num_outputs since opset 18).

import type { Value } from '../graph.js';
import { normAxis } from '../shapes.js';
import { folded, numbers } from './fold.js';
import { type Folded, type OpImporter, op } from './types.js';

export const concat: OpImporter = op('Concat', (c) => {
  const n = c.node.inputs.length;
  if (c.allFolded()) {
    const parts = c.node.inputs.map((_: string, i: number) => c.folded(i)!);
    if (parts.every((p: Folded) => p.dims.length <= 1)) {
      const values = parts.flatMap(numbers);
      return [folded(parts[0].dtype, [values.length], values)];
    }
  }
  const xs: Value[] = [];
  for (let i = 0; i < n; i++) if (c.has(i)) xs.push(c.value(i));
  const axis = normAxis(c.attrInt('axis', 0), xs[0].shape.length, 'Concat axis');
  return [c.g.concat(xs.filter((x) => x.shape[axis] > 0), axis)];
});

export const split: OpImporter = op('Split', (c) => {
  const x = c.value(0);
  const axis = normAxis(c.attrInt('axis', 0), x.shape.length, 'Split axis');
  const outputs = c.node.outputs.length;
  let sizes: number[];
  if (c.has(1)) sizes = c.ints(1, 'split');
  else if (c.node.attributes.split?.type === 'ints') sizes = c.attrInts('split');
  else {
    const chunk = Math.ceil(x.shape[axis] / outputs);
    sizes = Array.from({ length: outputs }, (_, i) => Math.min(chunk, x.shape[axis] - i * chunk));
  }
  if (sizes.reduce((a, b) => a + b, 0) !== x.shape[axis]) c.fail('split', `sizes summing to ${x.shape[axis]}`, sizes);
  let start = 0;
  return sizes.map((s) => {
    const part = c.g.slice(x, [start], [start + s], [axis]);
    start += s;
    return part;
  });
});

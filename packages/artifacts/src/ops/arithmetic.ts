// Add/Sub/Mul/Div/Pow with numpy broadcasting (gradients sum back over broadcast axes), folded
// when both operands are known at import time; comparisons and Where for shape arithmetic.

import type { GraphBuilder, Value } from '../graph.js';
import { broadcastShapes } from '../shapes.js';
import { foldElementwise } from './fold.js';
import { type OpImporter, op } from './types.js';

function binary(opType: string, emit: (g: GraphBuilder, a: Value, b: Value) => Value, fn: (a: number, b: number, integer: boolean) => number): OpImporter {
  return op(opType, (c) => {
    const a = c.folded(0);
    const b = c.folded(1);
    if (a && b && c.allFolded()) return [foldElementwise(a.dtype, [a, b], (x, y) => fn(x, y, a.dtype !== 'float32'))];
    return [emit(c.g, c.value(0), c.value(1))];
  });
}

export const add = binary('Add', (g, a, b) => g.add(a, b), (a, b) => a + b);
export const sub = binary('Sub', (g, a, b) => g.sub(a, b), (a, b) => a - b);
export const mul = binary('Mul', (g, a, b) => g.mul(a, b), (a, b) => a * b);
// ONNX integer division truncates toward zero.
export const div = binary('Div', (g, a, b) => g.div(a, b), (a, b, integer) => (integer ? Math.trunc(a / b) : a / b));
export const pow = binary('Pow', (g, a, b) => g.pow(a, b), (a, b) => a ** b);

function compare(opType: string, emit: (g: GraphBuilder, a: Value, b: Value) => Value, fn: (a: number, b: number) => boolean): OpImporter {
  return op(opType, (c) => {
    const a = c.folded(0);
    const b = c.folded(1);
    if (a && b && c.allFolded()) return [foldElementwise('bool', [a, b], (x, y) => (fn(x, y) ? 1 : 0))];
    return [emit(c.g, c.value(0), c.value(1))];
  });
}
export const equal = compare('Equal', (g, a, b) => g.equal(a, b), (a, b) => a === b);
export const less = compare('Less', (g, a, b) => g.less(a, b), (a, b) => a < b);
export const greater = compare('Greater', (g, a, b) => g.greater(a, b), (a, b) => a > b);

export const where: OpImporter = op('Where', (c) => {
  const [cond, a, b] = [c.folded(0), c.folded(1), c.folded(2)];
  if (cond && a && b && c.allFolded()) return [foldElementwise(a.dtype, [cond, a, b], (k, x, y) => (k ? x : y))];
  return [c.g.where(c.value(0), c.value(1), c.value(2))];
});

/** Max / Min over any number of inputs (pairwise, broadcasting; gradient to the chosen input). */
function extremum(opType: string, emit: (g: GraphBuilder, a: Value, b: Value) => Value, fn: (a: number, b: number) => number): OpImporter {
  return op(opType, (c) => {
    const n = c.node.inputs.length;
    if (c.allFolded()) {
      const parts = c.node.inputs.map((_: string, i: number) => c.folded(i)!);
      return [parts.slice(1).reduce((acc, p) => foldElementwise(acc.dtype, [acc, p], fn), parts[0])];
    }
    let y = c.value(0);
    for (let i = 1; i < n; i++) y = emit(c.g, y, c.value(i));
    return [y];
  });
}
export const max = extremum('Max', (g, a, b) => g.max(a, b), Math.max);
export const min = extremum('Min', (g, a, b) => g.min(a, b), Math.min);

function logical(opType: 'And' | 'Or', fn: (a: boolean, b: boolean) => boolean): OpImporter {
  return op(opType, (c) => {
    const [a, b] = [c.folded(0), c.folded(1)];
    if (a && b && c.allFolded()) return [foldElementwise('bool', [a, b], (x, y) => (fn(x !== 0, y !== 0) ? 1 : 0))];
    const [x, y] = [c.value(0), c.value(1)];
    return c.g.node(opType, [x, y], [{ dtype: 'bool', shape: broadcastShapes(opType, x.shape, y.shape) }]);
  });
}
export const and = logical('And', (a, b) => a && b);
export const or = logical('Or', (a, b) => a || b);
export const not: OpImporter = op('Not', (c) => {
  const f = c.folded(0);
  if (f && c.allFolded()) return [foldElementwise('bool', [f], (v) => (v ? 0 : 1))];
  return [c.g.not(c.value(0))];
});

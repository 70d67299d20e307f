// Add/Sub/Mul/Div/Pow with numpy broadcasting (gradients sum back over broadcast axes), folded
// when both operands are known at import time; comparisons and Where for shape arithmetic.

import type { GraphBuilder, Value } from '../graph.js';
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

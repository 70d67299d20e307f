// Element-wise one-input ops that map onto a builder op of the same name (gradients in autodiff.ts).

import type { GraphBuilder, Value } from '../graph.js';
import { foldElementwise } from './fold.js';
import { type OpImporter, op } from './types.js';

function unary(opType: string, emit: (g: GraphBuilder, x: Value) => Value, fold?: (v: number) => number): OpImporter {
  return op(opType, (c) => {
    const f = c.folded(0);
    if (fold && f && c.allFolded()) return [foldElementwise(f.dtype, [f], fold)];
    return [emit(c.g, c.value(0))];
  });
}

export const relu = unary('Relu', (g, x) => g.relu(x));
export const sigmoid = unary('Sigmoid', (g, x) => g.sigmoid(x));
export const tanh = unary('Tanh', (g, x) => g.tanh(x));
export const exp = unary('Exp', (g, x) => g.exp(x));
export const log = unary('Log', (g, x) => g.log(x));
export const sqrt = unary('Sqrt', (g, x) => g.sqrt(x), Math.sqrt);
export const neg = unary('Neg', (g, x) => g.neg(x), (v) => -v);
export const abs = unary('Abs', (g, x) => g.abs(x), Math.abs);
export const reciprocal = unary('Reciprocal', (g, x) => g.reciprocal(x));
/** Erf (GELU's exact form in torch exports); its gradient rule is in autodiff.ts. */
export const erf = unary('Erf', (g, x) => g.node('Erf', [x], [{ dtype: 'float32', shape: x.shape }])[0]);

/** Identity and inference-mode Dropout pass their input through (no node). */
function passThrough(opType: string): OpImporter {
  return op(opType, (c) => {
    const f = c.folded(0);
    return [f && c.allFolded() ? f : c.value(0)];
  });
}
export const identity = passThrough('Identity');
/** Dropout is imported in inference form (torch exports it so in eval mode); training-time dropout is not applied. */
export const dropout = passThrough('Dropout');

/** Floor / Ceil only appear in shape arithmetic (folded); they carry no gradient. */
function foldOnly(opType: string, fn: (v: number) => number): OpImporter {
  return op(opType, (c) => {
    const f = c.folded(0);
    if (!f || !c.allFolded()) return c.fail('input 0', 'a value known at import time (this op has no gradient)', 'a computed tensor');
    return [foldElementwise(f.dtype, [f], fn)];
  });
}
export const floor = foldOnly('Floor', Math.floor);
export const ceil = foldOnly('Ceil', Math.ceil);

// Gemm (torch.nn.Linear's export) and MatMul.

import { type OpImporter, op } from './types.js';

export const gemm: OpImporter = op('Gemm', (c) => {
  const { g } = c;
  let a = c.value(0);
  let b = c.value(1, 'weight');
  if (c.attrInt('transA', 0)) a = g.transpose(a, [1, 0]);
  if (c.attrInt('transB', 0)) b = g.transpose(b, [1, 0]);
  let y = g.matMul(a, b);
  const alpha = c.attrFloat('alpha', 1);
  if (alpha !== 1) y = g.mul(y, alpha);
  if (c.has(2)) {
    const beta = c.attrFloat('beta', 1);
    const bias = c.value(2, 'weight');
    y = g.add(y, beta === 1 ? bias : g.mul(bias, beta));
  }
  return [y];
});

export const matMul: OpImporter = op('MatMul', (c) => {
  const a = c.value(0, 'weight');
  const b = c.value(1, 'weight');
  if (a.shape.length < 2 || b.shape.length < 2) c.fail('operands', 'rank ≥ 2 (1-D MatMul is not supported)', `${a.shape.length}-D × ${b.shape.length}-D`);
  return [c.g.matMul(a, b)];
});

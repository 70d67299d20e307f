// BatchNormalization. Default ('frozen'): the running statistics are used in training too
// (Detectron's FrozenBN; the usual choice for fine-tuning with small batches), written as a
// per-channel affine map so γ and β stay trainable. 'batch': batch statistics in training
// with running-statistics updates (torch train mode), via the builder's batchNorm.

import { type OpImporter, op } from './types.js';

export const batchNormalization: OpImporter = op('BatchNormalization', (c) => {
  const { g } = c;
  const x = c.value(0);
  const [scale, bias] = [1, 2].map((i) => c.value(i, 'weight'));
  const [mean, variance] = [3, 4].map((i) => c.value(i, 'statistic'));
  const epsilon = c.attrFloat('epsilon', 1e-5);
  if (c.batchNorm === 'batch') {
    const y = g.batchNorm(x, scale, bias, mean, variance, { epsilon, momentum: c.attrFloat('momentum', 0.9) });
    return [y, mean, variance];
  }
  const ch = x.shape[1];
  const bshape = [ch, ...x.shape.slice(2).map(() => 1)];
  const a = g.div(scale, g.sqrt(g.add(variance, epsilon))); // [C]
  const shift = g.sub(bias, g.mul(mean, a));
  const y = g.add(g.mul(x, g.reshape(a, bshape)), g.reshape(shift, bshape));
  // training_mode exports also list the running statistics as outputs: unchanged here.
  return [y, mean, variance];
});

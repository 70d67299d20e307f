// Activations that are compositions of differentiable builder ops: LeakyRelu, HardSigmoid,
// HardSwish (MobileNetV3), Clip (ReLU6), and Softmax / LogSoftmax.

import type { GraphBuilder, Value } from '../graph.js';
import { type OpImporter, op } from './types.js';

export const leakyRelu: OpImporter = op('LeakyRelu', (c) => {
  const x = c.value(0);
  const alpha = c.attrFloat('alpha', 0.01);
  return [c.g.where(c.g.greater(x, 0), x, c.g.mul(x, alpha))];
});

/** max(0, min(1, α·x + β)). */
function hardSigmoidOf(g: GraphBuilder, x: Value, alpha: number, beta: number): Value {
  return g.max(g.min(g.add(g.mul(x, alpha), beta), 1), 0);
}

export const hardSigmoid: OpImporter = op('HardSigmoid', (c) => [hardSigmoidOf(c.g, c.value(0), c.attrFloat('alpha', 0.2), c.attrFloat('beta', 0.5))]);

export const hardSwish: OpImporter = op('HardSwish', (c) => {
  const x = c.value(0);
  return [c.g.mul(x, hardSigmoidOf(c.g, x, 1 / 6, 0.5))];
});

export const clip: OpImporter = op('Clip', (c) => {
  let y = c.value(0);
  if (c.has(1)) y = c.g.max(y, c.floats(1, 'min')[0]);
  if (c.has(2)) y = c.g.min(y, c.floats(2, 'max')[0]);
  return [y];
});

export const softmax: OpImporter = op('Softmax', (c) => [c.g.softmax(c.value(0), c.attrInt('axis', -1))], 13);
export const logSoftmax: OpImporter = op('LogSoftmax', (c) => [c.g.logSoftmax(c.value(0), c.attrInt('axis', -1))], 13);

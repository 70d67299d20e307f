// The table of importable ONNX ops: one entry per op type, each implemented in its own small
// module. Adding an op = one importer + one line here (and a gradient rule in autodiff.ts if
// it emits a builder op that has none).

import * as activations from './activations.js';
import * as arithmetic from './arithmetic.js';
import { batchNormalization } from './batch-norm.js';
import { layerNormalization } from './layer-norm.js';
import { concat, split } from './concat.js';
import { conv, convTranspose } from './conv.js';
import { gemm, matMul } from './gemm.js';
import * as layout from './layout.js';
import { averagePool, globalAveragePool, maxPool } from './pool.js';
import { flatten, reshape, squeeze, unsqueeze } from './reshape.js';
import { resize } from './resize.js';
import { roiAlign } from './roi-align.js';
import * as shape from './shape.js';
import { gather, slice } from './slice.js';
import type { OpImporter } from './types.js';
import * as unary from './unary.js';

const IMPORTERS: readonly OpImporter[] = [
  conv,
  convTranspose,
  batchNormalization,
  layerNormalization,
  unary.relu,
  activations.leakyRelu,
  unary.sigmoid,
  activations.hardSigmoid,
  activations.hardSwish,
  activations.clip,
  unary.tanh,
  unary.exp,
  unary.log,
  unary.sqrt,
  unary.neg,
  unary.abs,
  unary.reciprocal,
  unary.erf,
  unary.identity,
  unary.dropout,
  unary.floor,
  unary.ceil,
  arithmetic.add,
  arithmetic.sub,
  arithmetic.mul,
  arithmetic.div,
  arithmetic.pow,
  arithmetic.equal,
  arithmetic.less,
  arithmetic.greater,
  arithmetic.where,
  arithmetic.max,
  arithmetic.min,
  arithmetic.and,
  arithmetic.or,
  arithmetic.not,
  concat,
  split,
  slice,
  gather,
  reshape,
  flatten,
  squeeze,
  unsqueeze,
  layout.transpose,
  layout.expand,
  layout.pad,
  layout.reduceMean,
  layout.reduceSum,
  layout.depthToSpace,
  layout.spaceToDepth,
  gemm,
  matMul,
  maxPool,
  averagePool,
  globalAveragePool,
  resize,
  roiAlign,
  activations.softmax,
  activations.logSoftmax,
  shape.shape,
  shape.constant,
  shape.constantOfShape,
  shape.cast,
  shape.range,
];

/** Importers by op type (default ONNX domain). */
export const OP_IMPORTERS: ReadonlyMap<string, OpImporter> = new Map(IMPORTERS.map((i) => [i.opType, i]));

/** Op types the importer handles, sorted (for documentation and error messages). */
export const SUPPORTED_OPS: readonly string[] = [...OP_IMPORTERS.keys()].sort();

export type { OpImporter, OpContext, OpOutput, Folded, BatchNormMode } from './types.js';

// The contract of one ONNX-op importer: it reads a node of a user's model through an
// OpContext and re-emits it with the builder's ops (static shapes, differentiable), or folds
// it to a constant when all it computes is known at import time (shape arithmetic).

import type { GraphBuilder, Value } from '../graph.js';
import type { AnyTensorArray, DType } from '../onnx.js';
import type { ReadNode } from '../onnx-read.js';

/** A tensor known at import time (a Constant, an integer initializer or folded shape arithmetic). */
export interface Folded {
  readonly dtype: DType;
  readonly dims: readonly number[];
  readonly data: AnyTensorArray;
}

/** What an importer produces for each node output: a graph value or a folded constant. */
export type OpOutput = Value | Folded;

export function isFolded(o: OpOutput): o is Folded {
  return 'dims' in o;
}

/** What a node's input is, where that decides whether a float initializer becomes a parameter. */
export type ValueRole = 'weight' | 'statistic' | 'data';

/** How BatchNormalization is imported: running statistics kept fixed (default) or batch statistics in training. */
export type BatchNormMode = 'frozen' | 'batch';

export interface OpContext {
  readonly g: GraphBuilder;
  readonly node: ReadNode;
  /** The model's default-domain opset. */
  readonly opset: number;
  readonly batchNorm: BatchNormMode;
  /** Whether input `i` is given (optional inputs may be absent or ''). */
  has(i: number): boolean;
  /**
   * Input `i` as a graph value (constants and parameters are materialised on first use).
   * A float initializer becomes a parameter when read as `'weight'` (Conv, Gemm, MatMul,
   * BatchNorm γ/β) or, without a role, when its name is not an exporter-generated one;
   * `'statistic'`: a frozen parameter (BatchNorm running statistics); `'data'`: always a
   * constant (RoiAlign's boxes).
   */
  value(i: number, role?: ValueRole): Value;
  /** Input `i` if it is known at import time (Constant, initializer, folded), else undefined. */
  folded(i: number): Folded | undefined;
  /** Whether every given input is known at import time and none is a float initializer. */
  allFolded(): boolean;
  /** Input `i` as integers known at import time; an error naming the node otherwise. */
  ints(i: number, what: string): number[];
  /** Input `i` as floats known at import time; an error naming the node otherwise. */
  floats(i: number, what: string): number[];
  attrInt(name: string, fallback: number): number;
  attrInts(name: string, fallback?: readonly number[]): number[];
  attrFloat(name: string, fallback: number): number;
  attrString(name: string, fallback: string): string;
  /** Throws an import error naming this node: `expected`, `received`. */
  fail(what: string, expected: string, received: unknown): never;
}

/** One importable op: its ONNX type, the opsets it is written for, and the emitter. */
export interface OpImporter {
  readonly opType: string;
  /** Lowest default-domain opset whose semantics `emit` implements (inclusive). */
  readonly minOpset: number;
  /** Highest opset known to share those semantics (inclusive). */
  readonly maxOpset: number;
  readonly emit: (c: OpContext) => OpOutput[];
}

/** Convenience: an importer valid over the opsets the importer supports (13–18). */
export function op(opType: string, emit: (c: OpContext) => OpOutput[], minOpset = 1, maxOpset = 18): OpImporter {
  return { opType, minOpset, maxOpset, emit };
}

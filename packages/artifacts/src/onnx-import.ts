// Imports a user's ONNX graph (decoded by onnx-read.ts) into a GraphBuilder: graph inputs
// with static shapes, float initializers as parameters under their original names
// (trainable unless frozen by pattern), shape arithmetic folded at import time, and every
// other node re-emitted through its importer in ops/ so that autodiff can differentiate it.

import type { GraphBuilder, Value } from './graph.js';
import type { DType } from './onnx.js';
import { type ReadModel, type ReadNode, type ReadTensor, defaultOpset, feedInputs } from './onnx-read.js';

export { OnnxImportError, tensorData };
import { OP_IMPORTERS, SUPPORTED_OPS } from './ops/index.js';
import { type BatchNormMode, type Folded, type OpContext, type OpOutput, type ValueRole, isFolded } from './ops/types.js';
import { LOADED_DTYPES, OnnxImportError, tensorData } from './onnx-tensor.js';
import { fmtShape, numel } from './shapes.js';

/** Opsets of the default domain the importer is written for. */
export const IMPORT_OPSETS = { min: 13, max: 18 } as const;

export interface ImportOptions {
  /**
   * Static shape per graph input, required for inputs with symbolic dimensions
   * (e.g. `{ images: [16, 3, 256, 192] }`); inputs with fixed dims may be omitted. The batch
   * axis may differ from a fixed one in the model; every other fixed dim must agree.
   */
  readonly inputShapes?: Readonly<Record<string, readonly number[]>>;
  /** Parameter-name patterns to freeze (`*` = any run of characters), e.g. `['backbone.*']`. */
  readonly freeze?: readonly string[];
  /** 'frozen' (default): running statistics in training too (Detectron's FrozenBN); 'batch': batch statistics in training. */
  readonly batchNorm?: BatchNormMode;
  /** Reads an external-data file named by `location`, relative to the model's folder. */
  readonly readExternal?: (location: string) => Uint8Array;
  /** Values that replace the model's own for these parameters (re-initialised or resumed weights). */
  readonly initialValues?: ReadonlyMap<string, Float32Array>;
  /**
   * Tensors to stop at instead of the graph outputs: graph outputs or intermediate node outputs
   * (a detector's raw heads before its in-graph decoding). Only the nodes they depend on are
   * imported, so a decode subgraph (TopK, NMS, …) that has no importer is pruned, not refused.
   */
  readonly outputs?: readonly string[];
}

export interface ImportedGraph {
  /** Graph inputs by original name (static shapes). */
  readonly inputs: Readonly<Record<string, Value>>;
  /** The graph outputs (or `options.outputs`) by original name (not yet declared as builder outputs). */
  readonly outputs: Readonly<Record<string, Value>>;
}

/**
 * Names exporters give to constants they fold into initializers (torch's `onnx::Mul_12`, our
 * builder's `const_7`, bare numbers): literals, not parameters, unless a node reads them as weights.
 */
const GENERATED_NAME = /^(onnx::|const_|_v_|\d+$)/;

/** Whether the float initializer `name`, read in `role`, is a parameter (else a constant). */
function isParameter(name: string, role: ValueRole | undefined): boolean {
  if (role === 'data') return false;
  if (role === 'weight' || role === 'statistic') return true;
  return !GENERATED_NAME.test(name);
}

/** A glob (`*` wildcard) as a whole-name regular expression. */
export function namePattern(glob: string): RegExp {
  return new RegExp(`^${glob.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
}

/** The static shape of each graph input: the model's own dims, with symbolic ones from `inputShapes`. */
export function resolveInputShapes(model: ReadModel, given: Readonly<Record<string, readonly number[]>> = {}): Record<string, { dtype: DType; shape: number[] }> {
  const out: Record<string, { dtype: DType; shape: number[] }> = {};
  const inputs = feedInputs(model.graph);
  for (const name of Object.keys(given)) {
    if (!inputs.some((i) => i.name === name)) throw new OnnxImportError(`inputShapes.${name}: the model has no input "${name}" (inputs: ${inputs.map((i) => i.name).join(', ')})`);
  }
  for (const v of inputs) {
    if (v.type.kind !== 'tensor' || v.type.shape === null) throw new OnnxImportError(`input "${v.name}": a tensor input with a known rank is needed`);
    const dtype = LOADED_DTYPES[v.type.dtype];
    if (!dtype) throw new OnnxImportError(`input "${v.name}": element type ${v.type.dtype} is not supported`);
    const declared = v.type.shape;
    const shape = given[v.name] ? [...given[v.name]] : declared.map((d) => (typeof d === 'number' && d > 0 ? d : -1));
    // The batch axis (0) may be resized even where the export fixed it (torch.onnx fixes it to
    // the example's batch unless dynamic_axes says otherwise); other fixed dims must agree.
    if (shape.length !== declared.length || shape.some((d, i) => !Number.isInteger(d) || d < 1 || (i > 0 && typeof declared[i] === 'number' && (declared[i] as number) > 0 && declared[i] !== d))) {
      throw new OnnxImportError(
        `input "${v.name}": dims [${declared.map((d) => d ?? '?').join(', ')}] need a static shape of the same rank that agrees with the fixed dims (given: ${given[v.name] ? fmtShape(given[v.name]) : 'none'}); pass inputShapes.${v.name}, e.g. [${declared.map((d) => (typeof d === 'number' && d > 0 ? d : 8)).join(', ')}]`,
      );
    }
    out[v.name] = { dtype, shape };
  }
  return out;
}

/** Op types with weights, whose outputs are candidate head tensors in an error message. */
const LAYER_OPS = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul']);

/**
 * The nodes that the tensors `targets` depend on, in graph order (all nodes when `targets` is
 * undefined). A target no node, input or initializer produces is an error listing what the
 * graph offers.
 */
export function nodesFor(model: ReadModel, targets?: readonly string[]): readonly ReadNode[] {
  const graph = model.graph;
  if (!targets) return graph.nodes;
  const producer = new Map<string, number>();
  graph.nodes.forEach((n, i) => n.outputs.forEach((o) => o !== '' && producer.set(o, i)));
  const leaves = new Set([...graph.inputs.map((v) => v.name), ...graph.initializers.map((t) => t.name)]);
  for (const t of targets) {
    if (!producer.has(t) && !leaves.has(t)) {
      const named = graph.outputs.map((o) => o.name);
      // Heads are usually the outputs of the last weighted layers: name those as candidates.
      const layers = graph.nodes.filter((n) => LAYER_OPS.has(n.opType)).slice(-6).map((n) => n.outputs[0]);
      throw new OnnxImportError(`output "${t}": no tensor of that name in the model (graph outputs: ${named.join(', ')}; outputs of its last layers: ${layers.join(', ') || 'none'})`);
    }
  }
  const needed = new Set<number>();
  const stack = targets.filter((t) => producer.has(t)).map((t) => producer.get(t)!);
  while (stack.length > 0) {
    const i = stack.pop()!;
    if (needed.has(i)) continue;
    needed.add(i);
    for (const name of graph.nodes[i].inputs) {
      const j = producer.get(name);
      if (j !== undefined && !needed.has(j)) stack.push(j);
    }
  }
  return graph.nodes.filter((_, i) => needed.has(i));
}

/**
 * Checks that every node (of those `outputs` depend on, when given) has an importer for the
 * model's opset; returns the opset.
 */
export function checkImportable(model: ReadModel, outputs?: readonly string[]): number {
  const opset = defaultOpset(model);
  if (opset < IMPORT_OPSETS.min || opset > IMPORT_OPSETS.max) {
    throw new OnnxImportError(`model opset ${opset}: the importer supports default-domain opsets ${IMPORT_OPSETS.min}–${IMPORT_OPSETS.max}; re-export with torch.onnx.export(..., opset_version=17)`);
  }
  for (const n of nodesFor(model, outputs)) importerFor(n, opset);
  return opset;
}

/**
 * A BatchNorm running statistic must be a tensor of its own: torch.onnx merges equal-valued
 * initializers, so an untrained export (running mean 0 = bias 0, running variance 1 = weight 1)
 * can feed one tensor to a statistic and a trained parameter (or to two BatchNorms), which
 * training would tie together (and batch statistics would update twice).
 */
function checkUntiedStatistics(nodes: readonly ReadNode[], initializers: ReadonlySet<string>): void {
  const uses = new Map<string, number>();
  for (const n of nodes) for (const name of n.inputs) uses.set(name, (uses.get(name) ?? 0) + 1);
  for (const n of nodes) {
    if (n.opType !== 'BatchNormalization') continue;
    for (const name of n.inputs.slice(3, 5)) {
      if (initializers.has(name) && (uses.get(name) ?? 0) > 1) {
        throw new OnnxImportError(
          `node "${n.name}" (BatchNormalization): its running statistic "${name}" is one tensor with ${(uses.get(name) ?? 0) - 1} other input(s) — torch.onnx merges equal-valued initializers, as in an untrained model's export (mean 0 = bias 0, variance 1 = weight 1); export the model after training, or after nudging the BatchNorm weights and biases (e.g. + 1e-3 · randn), so that every statistic is a tensor of its own`,
        );
      }
    }
  }
}

function importerFor(n: ReadNode, opset: number) {
  const imp = n.domain === '' ? OP_IMPORTERS.get(n.opType) : undefined;
  if (!imp || opset < imp.minOpset || opset > imp.maxOpset) {
    throw new OnnxImportError(
      `node "${n.name}" (${n.domain ? `${n.domain}::` : ''}${n.opType}, opset ${opset}): no importer for this op${imp ? ` at this opset (${imp.minOpset}–${imp.maxOpset})` : ''}; supported: ${SUPPORTED_OPS.join(', ')}`,
    );
  }
  return imp;
}

/**
 * Emits `model`'s graph into `g`. Call it inside a model definition: each phase gets the
 * same parameters in the same order (first use), named as the model's initializers.
 *
 * @example
 * const define: ModelDefinition = (g) => {
 *   const { outputs } = importOnnxGraph(g, model, { inputShapes: { input: [8, 3, 64, 64] } });
 *   return { outputs, loss: g.phase === 'train' ? myLoss(g, outputs.heatmaps) : undefined };
 * };
 */
export function importOnnxGraph(g: GraphBuilder, model: ReadModel, options: ImportOptions = {}): ImportedGraph {
  const opset = checkImportable(model, options.outputs);
  const nodes = nodesFor(model, options.outputs);
  checkUntiedStatistics(nodes, new Set(model.graph.initializers.map((t) => t.name)));
  const freeze = (options.freeze ?? []).map(namePattern);
  const batchNorm = options.batchNorm ?? 'frozen';
  const graph = model.graph;

  // The model's own names (inputs, initializers, outputs) are registered later under those
  // names; generated names must not take them first.
  g.reserveNames([...graph.initializers.map((t) => t.name), ...graph.inputs.map((v) => v.name), ...graph.outputs.map((v) => v.name), ...graph.nodes.flatMap((n) => n.outputs)]);
  const values = new Map<string, Value>();
  const folded = new Map<string, Folded>();
  const floatInits = new Map<string, ReadTensor>();
  for (const t of graph.initializers) {
    if (t.dtype === 'float32' || t.dtype === 'float64' || t.dtype === 'float16') floatInits.set(t.name, t);
    else folded.set(t.name, tensorData(t, options.readExternal));
  }
  const inputs: Record<string, Value> = {};
  for (const [name, s] of Object.entries(resolveInputShapes(model, options.inputShapes))) {
    inputs[name] = g.input(name, s.dtype, s.shape);
    values.set(name, inputs[name]);
  }

  // Float initializers become parameters on first use as data; read statically (Resize
  // scales, Clip bounds) they stay constants.
  const floatInitData = new Map<string, Folded>();
  const initData = (name: string): Folded => {
    let d = floatInitData.get(name);
    if (!d) {
      d = tensorData(floatInits.get(name)!, options.readExternal);
      floatInitData.set(name, d);
    }
    return d;
  };
  const valueOf = (name: string, where: string, role?: ValueRole): Value => {
    const v = values.get(name);
    if (v) return v;
    let made: Value;
    if (floatInits.has(name) && isParameter(name, role)) {
      const d = initData(name);
      const init = options.initialValues?.get(name) ?? (d.data as Float32Array);
      made = g.param(name, d.dims, init, { trainable: role !== 'statistic' && !freeze.some((re) => re.test(name)) });
    } else {
      const f = folded.get(name) ?? (floatInits.has(name) ? initData(name) : undefined);
      if (!f) throw new OnnxImportError(`${where}: input "${name}" is produced by no earlier node, initializer or graph input (is the graph topologically sorted?)`);
      made = f.dims.length === 0 && f.dtype === 'float32' ? g.scalar((f.data as Float32Array)[0]) : g.constant(f.data, f.dims, f.dtype);
    }
    values.set(name, made);
    return made;
  };
  const foldedOf = (name: string): Folded | undefined => folded.get(name) ?? (floatInits.has(name) ? initData(name) : undefined);

  for (const node of nodes) {
    const imp = importerFor(node, opset);
    const where = `node "${node.name}" (${node.opType}, opset ${opset})`;
    const present = (i: number) => i < node.inputs.length && node.inputs[i] !== '';
    const ctx: OpContext = {
      g,
      node,
      opset,
      batchNorm,
      has: present,
      value: (i, role) => {
        if (!present(i)) throw new OnnxImportError(`${where}: input ${i} is required`);
        return valueOf(node.inputs[i], where, role);
      },
      folded: (i) => (present(i) ? foldedOf(node.inputs[i]) : undefined),
      allFolded: () => node.inputs.every((n) => n === '' || (folded.has(n) && !floatInits.has(n))),
      ints: (i, what) => {
        const f = present(i) ? foldedOf(node.inputs[i]) : undefined;
        if (!f) throw new OnnxImportError(`${where}: ${what} (input ${i}) must be known at import time (a constant or shape arithmetic on static shapes)`);
        return Array.from(f.data as ArrayLike<number | bigint>, Number);
      },
      floats: (i, what) => {
        const f = present(i) ? foldedOf(node.inputs[i]) : undefined;
        if (!f) throw new OnnxImportError(`${where}: ${what} (input ${i}) must be known at import time`);
        return Array.from(f.data as ArrayLike<number | bigint>, Number);
      },
      attrInt: (name, fallback) => {
        const a = node.attributes[name];
        return a?.type === 'int' ? a.value : fallback;
      },
      attrInts: (name, fallback = []) => {
        const a = node.attributes[name];
        return a?.type === 'ints' ? [...a.value] : [...fallback];
      },
      attrFloat: (name, fallback) => {
        const a = node.attributes[name];
        return a?.type === 'float' ? a.value : fallback;
      },
      attrString: (name, fallback) => {
        const a = node.attributes[name];
        return a?.type === 'string' ? a.value : fallback;
      },
      fail: (what, expected, received) => {
        throw new OnnxImportError(`${where}: ${what}: expected ${expected}, received ${typeof received === 'string' ? received : JSON.stringify(received)}`);
      },
    };
    let outs: OpOutput[];
    try {
      outs = imp.emit(ctx);
    } catch (e) {
      if (e instanceof OnnxImportError) throw e;
      throw new OnnxImportError(`${where}: ${(e as Error).message}`);
    }
    node.outputs.forEach((name, k) => {
      if (name === '') return;
      const o = outs[k];
      if (!o) {
        if (k === 0) throw new OnnxImportError(`${where}: importer produced no value for output "${name}"`);
        return; // optional secondary outputs (e.g. Dropout's mask) that nothing may use
      }
      if (isFolded(o)) folded.set(name, o);
      else values.set(name, o);
    });
  }

  const outputs: Record<string, Value> = {};
  for (const name of options.outputs ?? graph.outputs.map((o) => o.name)) outputs[name] = valueOf(name, `output "${name}"`);
  return { inputs, outputs };
}

// GraphBuilder: builds an ONNX graph op by op with static shape inference. The same
// builder serves inference models, training graphs (a model definition is run once per
// phase) and the gradient/optimizer graphs that autodiff appends.

import { OmniRangeError, OmniTypeError, describeValue } from '@omnidistill/core';
import {
  type AnyTensorArray,
  type AttributeValue,
  type DType,
  type ModelDef,
  type NodeDef,
  type TensorData,
  type ValueInfo,
  encodeModel,
} from './onnx.js';
import {
  type Shape,
  broadcastShapes,
  convOutDim,
  convTransposeOutDim,
  fmtShape,
  normAxis,
  numel,
  resolveSlice,
  shapeEquals,
} from './shapes.js';

/** A tensor value in a graph: its unique name, element type and static shape. */
export interface Value {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
}

/** Which graph a model definition is being built for. */
export type Phase = 'train' | 'eval';

/**
 * How training-only constructs are lowered: 'ort' uses ONNX Runtime's com.microsoft
 * training kernels (wasm training session only); 'standard' uses standard ONNX ops only
 * (runs on any ONNX Runtime, including onnxruntime-node).
 */
export type Lowering = 'ort' | 'standard';

/** A model parameter: float32, stored in the checkpoint, fed as a graph input in training. */
export interface ParamInfo {
  readonly name: string;
  readonly shape: readonly number[];
  readonly init: Float32Array;
  /** false = frozen (e.g. BatchNorm running statistics). */
  readonly trainable: boolean;
  readonly value: Value;
}

export interface GraphBuilderOptions {
  /** Graph name written into the model. */
  readonly name?: string;
  /** Default 'eval'. */
  readonly phase?: Phase;
  /** Default 'standard'. */
  readonly lowering?: Lowering;
}

export interface ConvOptions {
  readonly strides?: readonly number[];
  /** [begin..., end...] as in ONNX (e.g. [top, left, bottom, right]). */
  readonly pads?: readonly number[];
  readonly dilations?: readonly number[];
  readonly group?: number;
}

export interface ConvTransposeOptions extends ConvOptions {
  readonly outputPadding?: readonly number[];
}

export interface PoolOptions {
  readonly kernel: readonly number[];
  readonly strides?: readonly number[];
  readonly pads?: readonly number[];
}

export interface ResizeOptions {
  /** 'nearest' = torch nearest (asymmetric, floor); 'linear' = torch bilinear, align_corners=false. */
  readonly mode: 'nearest' | 'linear';
  /** Output spatial size [H, W]. Give this or `scales`. */
  readonly sizes?: readonly number[];
  /** Spatial scale factors [sh, sw]. */
  readonly scales?: readonly number[];
}

export interface BatchNormOptions {
  readonly epsilon?: number;
  /** Running-statistics momentum in ONNX convention: running = momentum·running + (1−momentum)·batch. Default 0.9 (torch's 0.1). */
  readonly momentum?: number;
}

/** Extra state a node carries for autodiff (never serialised). */
export interface NodeMeta {
  /** Node outputs that carry no gradient at all (stop-gradient). */
  readonly noGrad?: boolean;
  /**
   * A sub-graph with a hand-written gradient: this node's output (the sub-graph's result)
   * is differentiated w.r.t. `inputs` by `grad`, and the nodes inside are not visited.
   */
  readonly composite?: {
    readonly inputs: readonly Value[];
    readonly grad: (g: GraphBuilder, dy: Value, need: readonly boolean[]) => (Value | undefined)[];
  };
}

const DEFAULT_OPSET = 17;
const DEFAULT_IR = 8;

/** Typed attribute constructors for {@link GraphBuilder.node}. */
export const attr = {
  int: (value: number): AttributeValue => ({ type: 'int', value }),
  ints: (value: readonly number[]): AttributeValue => ({ type: 'ints', value }),
  float: (value: number): AttributeValue => ({ type: 'float', value }),
  floats: (value: readonly number[]): AttributeValue => ({ type: 'floats', value }),
  string: (value: string): AttributeValue => ({ type: 'string', value }),
};

function attrInt(value: number): AttributeValue {
  return { type: 'int', value };
}
function attrInts(value: readonly number[]): AttributeValue {
  return { type: 'ints', value };
}
function attrFloat(value: number): AttributeValue {
  return { type: 'float', value };
}
function attrString(value: string): AttributeValue {
  return { type: 'string', value };
}

/** Builds one ONNX graph with static shapes. */
export class GraphBuilder {
  readonly phase: Phase;
  readonly lowering: Lowering;
  readonly graphName: string;
  /** Nodes in topological (creation) order. */
  readonly nodes: NodeDef[] = [];
  /** Autodiff metadata per node. */
  readonly nodeMeta = new Map<NodeDef, NodeMeta>();
  private readonly values = new Map<string, Value>();
  private readonly producers = new Map<string, NodeDef>();
  private readonly inputList: Value[] = [];
  private readonly trailingInputList: Value[] = [];
  private readonly sequenceNames = new Set<string>();
  private readonly outputList: Value[] = [];
  private readonly initializerList: TensorData[] = [];
  private readonly paramList: ParamInfo[] = [];
  private readonly usedDomains = new Set<string>();
  private counter = 0;

  constructor(options: GraphBuilderOptions = {}) {
    this.graphName = options.name ?? 'omnidistill';
    this.phase = options.phase ?? 'eval';
    this.lowering = options.lowering ?? 'standard';
  }

  // ---------------------------------------------------------------- bookkeeping

  private readonly reserved = new Set<string>();

  /** A fresh value name starting with `prefix`. */
  uniqueName(prefix: string): string {
    let name: string;
    do {
      name = `${prefix}_${this.counter++}`;
    } while (this.values.has(name) || this.reserved.has(name));
    return name;
  }

  /**
   * Keeps generated names clear of `names` (an imported model's own tensor names, which may
   * be registered later under exactly those names).
   */
  reserveNames(names: Iterable<string>): void {
    for (const n of names) this.reserved.add(n);
  }

  private register(name: string, dtype: DType, shape: Shape): Value {
    if (this.values.has(name)) throw new OmniRangeError('name', 'a name not used yet in this graph', name);
    for (const [i, d] of shape.entries()) {
      if (!Number.isInteger(d) || d < 0) throw new OmniRangeError(`${name}.shape[${i}]`, 'a non-negative integer', d);
    }
    const v: Value = { name, dtype, shape: [...shape] };
    this.values.set(name, v);
    return v;
  }

  /** The value called `name` (throws if absent). */
  value(name: string): Value {
    const v = this.values.get(name);
    if (!v) throw new OmniRangeError('name', 'the name of a value in this graph', name);
    return v;
  }

  hasValue(name: string): boolean {
    return this.values.has(name);
  }

  /** The node that produces `name`, if any (inputs, params and constants have none). */
  producer(name: string): NodeDef | undefined {
    return this.producers.get(name);
  }

  get inputs(): readonly Value[] {
    return this.inputList;
  }
  get outputs(): readonly Value[] {
    return this.outputList;
  }
  get trailingInputs(): readonly Value[] {
    return this.trailingInputList;
  }
  /** Marks a value produced by a node as a sequence (serialised without a shape). */
  markSequence(v: Value): void {
    this.sequenceNames.add(v.name);
  }
  get params(): readonly ParamInfo[] {
    return this.paramList;
  }
  get initializers(): readonly TensorData[] {
    return this.initializerList;
  }

  /** The data of constant `name` if it is an initializer made by this builder. */
  constantData(name: string): TensorData | undefined {
    return this.initializerList.find((t) => t.name === name);
  }

  /** Whether `name` is a graph input, parameter or constant (a leaf). */
  isLeaf(name: string): boolean {
    return !this.producers.has(name);
  }

  // ---------------------------------------------------------------- leaves

  /** Declares a graph input with a static shape. */
  input(name: string, dtype: DType, shape: readonly number[]): Value {
    const v = this.register(name, dtype, shape);
    this.inputList.push(v);
    return v;
  }

  /**
   * Declares a graph input placed after the parameters when the model is written with
   * parameters as inputs (gradient buffers, control flags of training graphs).
   */
  trailingInput(name: string, dtype: DType, shape: readonly number[]): Value {
    const v = this.register(name, dtype, shape);
    this.trailingInputList.push(v);
    return v;
  }

  /** Declares a graph input that is a sequence of `dtype` tensors (optimizer models). */
  sequenceInput(name: string, dtype: DType = 'float32'): Value {
    const v = this.input(name, dtype, []);
    this.sequenceNames.add(name);
    return v;
  }

  /**
   * Declares a float32 parameter with its initial value. Parameters become graph inputs in
   * training graphs and initializers in inference models; their declaration order is the
   * parameter order everywhere (checkpoint, optimizer, eval model).
   */
  param(name: string, shape: readonly number[], init: Float32Array, options: { trainable?: boolean } = {}): Value {
    if (!(init instanceof Float32Array)) throw new OmniTypeError(`param ${name}: init`, 'a Float32Array', init);
    if (init.length !== numel(shape)) {
      throw new OmniRangeError(`param ${name}: init.length`, `${numel(shape)} elements for shape ${fmtShape(shape)}`, init.length);
    }
    if (/_grad$/.test(name) || name.includes('_grad.accumulation')) {
      throw new OmniRangeError(`param ${name}: name`, 'a name that does not end in "_grad" (ORT treats those as gradients)', name);
    }
    const v = this.register(name, 'float32', shape);
    this.paramList.push({ name, shape: [...shape], init, trainable: options.trainable ?? true, value: v });
    return v;
  }

  /** A constant tensor stored as an initializer. */
  constant(data: AnyTensorArray, shape: readonly number[], dtype?: DType, prefix = 'const'): Value {
    const dt: DType =
      dtype ??
      (data instanceof Float32Array ? 'float32' : data instanceof BigInt64Array ? 'int64' : data instanceof Int32Array ? 'int32' : 'uint8');
    if (data.length !== numel(shape)) {
      throw new OmniRangeError(`${prefix}.length`, `${numel(shape)} elements for shape ${fmtShape(shape)}`, data.length);
    }
    const name = this.uniqueName(prefix);
    const v = this.register(name, dt, shape);
    this.initializerList.push({ name, dtype: dt, dims: [...shape], data });
    return v;
  }

  /** A float32 scalar constant (shape []). */
  scalar(x: number): Value {
    return this.constant(Float32Array.of(x), []);
  }

  /** An int64 1-D constant. */
  int64s(values: readonly number[]): Value {
    return this.constant(BigInt64Array.from(values.map((v) => BigInt(v))), [values.length], 'int64');
  }

  /** A float32 1-D constant or one of a given shape. */
  floats(values: readonly number[] | Float32Array, shape?: readonly number[]): Value {
    return this.constant(Float32Array.from(values), shape ?? [values.length]);
  }

  /** Marks `v` as a graph output, under `name` if given (an Identity node renames it). */
  output(v: Value, name?: string): Value {
    let out = v;
    if (name !== undefined && name !== v.name) out = this.op1('Identity', [v], v.dtype, v.shape, {}, '', name);
    if (this.outputList.some((o) => o.name === out.name)) throw new OmniRangeError('output', 'a value not already an output', out.name);
    this.outputList.push(out);
    return out;
  }

  // ---------------------------------------------------------------- generic node

  /**
   * Appends a node. `outputs` gives each output's type; names are generated unless given.
   * The escape hatch for ops without a dedicated method (no shape inference here: you
   * state the shapes).
   */
  node(
    opType: string,
    inputs: readonly (Value | undefined)[],
    outputs: readonly { dtype: DType; shape: readonly number[]; name?: string }[],
    attributes: Record<string, AttributeValue> = {},
    domain = '',
    meta?: NodeMeta,
  ): Value[] {
    for (const [i, v] of inputs.entries()) {
      if (v !== undefined && this.values.get(v.name) !== v) {
        throw new OmniRangeError(`${opType}.inputs[${i}]`, 'a value created by this builder', v.name);
      }
    }
    // An output named '' is an omitted optional output: not registered, not consumable.
    const outs = outputs.map((o) =>
      o.name === '' ? { name: '', dtype: o.dtype, shape: [...o.shape] } : this.register(o.name ?? this.uniqueName(opType.toLowerCase()), o.dtype, o.shape),
    );
    const node: NodeDef = {
      opType,
      domain,
      inputs: inputs.map((v) => v?.name ?? ''),
      outputs: outs.map((o) => o.name),
      attributes,
      name: this.uniqueName(`n_${opType}`),
    };
    this.nodes.push(node);
    if (meta) this.nodeMeta.set(node, meta);
    for (const o of outs) if (o.name !== '') this.producers.set(o.name, node);
    if (domain !== '') this.usedDomains.add(domain);
    return outs;
  }

  private op1(
    opType: string,
    inputs: readonly (Value | undefined)[],
    dtype: DType,
    shape: readonly number[],
    attributes: Record<string, AttributeValue> = {},
    domain = '',
    name?: string,
  ): Value {
    return this.node(opType, inputs, [{ dtype, shape, ...(name !== undefined ? { name } : {}) }], attributes, domain)[0];
  }

  private expectFloat(op: string, v: Value): void {
    if (v.dtype !== 'float32') throw new OmniTypeError(`${op}: ${v.name}`, 'a float32 tensor', v.dtype);
  }

  private expectRank(op: string, v: Value, rank: number): void {
    if (v.shape.length !== rank) throw new OmniRangeError(`${op}: ${v.name}.shape`, `rank ${rank}`, fmtShape(v.shape));
  }

  // ---------------------------------------------------------------- elementwise

  private unary(op: string, x: Value): Value {
    this.expectFloat(op, x);
    return this.op1(op, [x], x.dtype, x.shape);
  }
  relu(x: Value): Value {
    return this.unary('Relu', x);
  }
  sigmoid(x: Value): Value {
    return this.unary('Sigmoid', x);
  }
  tanh(x: Value): Value {
    return this.unary('Tanh', x);
  }
  exp(x: Value): Value {
    return this.unary('Exp', x);
  }
  log(x: Value): Value {
    return this.unary('Log', x);
  }
  neg(x: Value): Value {
    return this.unary('Neg', x);
  }
  abs(x: Value): Value {
    return this.unary('Abs', x);
  }
  sqrt(x: Value): Value {
    return this.unary('Sqrt', x);
  }
  sign(x: Value): Value {
    return this.unary('Sign', x);
  }
  reciprocal(x: Value): Value {
    return this.unary('Reciprocal', x);
  }
  identity(x: Value): Value {
    return this.op1('Identity', [x], x.dtype, x.shape);
  }
  /** Identity that blocks gradients (the value is treated as a constant by autodiff). */
  stopGradient(x: Value): Value {
    return this.node('Identity', [x], [{ dtype: x.dtype, shape: x.shape }], {}, '', { noGrad: true })[0];
  }

  private binary(op: string, a: Value, b: Value, outDtype?: DType): Value {
    if (a.dtype !== b.dtype) throw new OmniTypeError(`${op}: ${b.name}.dtype`, `${a.dtype} (same as ${a.name})`, b.dtype);
    return this.op1(op, [a, b], outDtype ?? a.dtype, broadcastShapes(`${op}(${a.name}, ${b.name})`, a.shape, b.shape));
  }
  private operand(v: Value | number, like: Value): Value {
    if (typeof v !== 'number') return v;
    return like.dtype === 'int64' ? this.constant(BigInt64Array.of(BigInt(v)), [], 'int64') : this.scalar(v);
  }
  add(a: Value, b: Value | number): Value {
    return this.binary('Add', a, this.operand(b, a));
  }
  sub(a: Value, b: Value | number): Value {
    return this.binary('Sub', a, this.operand(b, a));
  }
  mul(a: Value, b: Value | number): Value {
    return this.binary('Mul', a, this.operand(b, a));
  }
  div(a: Value, b: Value | number): Value {
    return this.binary('Div', a, this.operand(b, a));
  }
  /** Elementwise power (exponent usually a scalar constant). */
  pow(a: Value, b: Value | number): Value {
    return this.binary('Pow', a, this.operand(b, a));
  }
  max(a: Value, b: Value | number): Value {
    return this.binary('Max', a, this.operand(b, a));
  }
  min(a: Value, b: Value | number): Value {
    return this.binary('Min', a, this.operand(b, a));
  }
  greater(a: Value, b: Value | number): Value {
    return this.binary('Greater', a, this.operand(b, a), 'bool');
  }
  greaterOrEqual(a: Value, b: Value | number): Value {
    return this.binary('GreaterOrEqual', a, this.operand(b, a), 'bool');
  }
  less(a: Value, b: Value | number): Value {
    return this.binary('Less', a, this.operand(b, a), 'bool');
  }
  equal(a: Value, b: Value | number): Value {
    return this.binary('Equal', a, this.operand(b, a), 'bool');
  }
  not(a: Value): Value {
    return this.op1('Not', [a], 'bool', a.shape);
  }
  /** Where(cond, a, b) with broadcasting. */
  where(cond: Value, a: Value | number, b: Value | number): Value {
    const av = typeof a === 'number' ? (typeof b === 'number' ? this.scalar(a) : this.operand(a, b)) : a;
    const bv = this.operand(b, av);
    if (cond.dtype !== 'bool') throw new OmniTypeError(`Where: ${cond.name}.dtype`, 'bool', cond.dtype);
    return this.op1('Where', [cond, av, bv], av.dtype, broadcastShapes('Where', cond.shape, av.shape, bv.shape));
  }
  cast(x: Value, to: DType): Value {
    const code = { float32: 1, uint8: 2, int32: 6, int64: 7, bool: 9 }[to];
    return this.op1('Cast', [x], to, x.shape, { to: attrInt(code) });
  }
  matMul(a: Value, b: Value): Value {
    if (a.shape.length < 2 || b.shape.length < 2) throw new OmniRangeError('MatMul', 'operands of rank >= 2', `${fmtShape(a.shape)} x ${fmtShape(b.shape)}`);
    const [m, k] = a.shape.slice(-2);
    const [k2, n] = b.shape.slice(-2);
    if (k !== k2) throw new OmniRangeError('MatMul', 'inner dimensions that agree', `${fmtShape(a.shape)} x ${fmtShape(b.shape)}`);
    const batch = broadcastShapes('MatMul batch', a.shape.slice(0, -2), b.shape.slice(0, -2));
    return this.op1('MatMul', [a, b], 'float32', [...batch, m, n]);
  }

  // ---------------------------------------------------------------- convolution & pooling

  private spatialAttrs(op: string, rank: number, o: { strides?: readonly number[]; pads?: readonly number[]; dilations?: readonly number[] }) {
    const nsp = rank - 2;
    const strides = o.strides ?? new Array<number>(nsp).fill(1);
    const pads = o.pads ?? new Array<number>(2 * nsp).fill(0);
    const dilations = o.dilations ?? new Array<number>(nsp).fill(1);
    if (strides.length !== nsp) throw new OmniRangeError(`${op}: strides`, `${nsp} values`, describeValue(strides));
    if (pads.length !== 2 * nsp) throw new OmniRangeError(`${op}: pads`, `${2 * nsp} values (begins then ends)`, describeValue(pads));
    if (dilations.length !== nsp) throw new OmniRangeError(`${op}: dilations`, `${nsp} values`, describeValue(dilations));
    return { nsp, strides: [...strides], pads: [...pads], dilations: [...dilations] };
  }

  /** Convolution, NCHW; `w` is [O, C/group, kH, kW]. */
  conv(x: Value, w: Value, b: Value | undefined, options: ConvOptions = {}): Value {
    this.expectFloat('Conv', x);
    const group = options.group ?? 1;
    const { nsp, strides, pads, dilations } = this.spatialAttrs('Conv', x.shape.length, options);
    if (w.shape.length !== x.shape.length) throw new OmniRangeError(`Conv: ${w.name}.shape`, `rank ${x.shape.length}`, fmtShape(w.shape));
    if (x.shape[1] !== w.shape[1] * group) {
      throw new OmniRangeError(`Conv: ${w.name}.shape[1]`, `${x.shape[1] / group} (input channels / group)`, w.shape[1]);
    }
    if (b && !shapeEquals(b.shape, [w.shape[0]])) throw new OmniRangeError(`Conv: ${b.name}.shape`, fmtShape([w.shape[0]]), fmtShape(b.shape));
    const out = [x.shape[0], w.shape[0]];
    for (let i = 0; i < nsp; i++) {
      const d = convOutDim(x.shape[2 + i], w.shape[2 + i], strides[i], pads[i], pads[nsp + i], dilations[i]);
      if (d < 1) throw new OmniRangeError('Conv: output size', 'at least 1', d);
      out.push(d);
    }
    return this.op1('Conv', b ? [x, w, b] : [x, w], 'float32', out, {
      kernel_shape: attrInts(w.shape.slice(2)),
      strides: attrInts(strides),
      pads: attrInts(pads),
      dilations: attrInts(dilations),
      group: attrInt(group),
    });
  }

  /** Transposed convolution, NCHW; `w` is [C, O/group, kH, kW]. */
  convTranspose(x: Value, w: Value, b: Value | undefined, options: ConvTransposeOptions = {}): Value {
    this.expectFloat('ConvTranspose', x);
    const group = options.group ?? 1;
    const { nsp, strides, pads, dilations } = this.spatialAttrs('ConvTranspose', x.shape.length, options);
    const outputPadding = options.outputPadding ?? new Array<number>(nsp).fill(0);
    if (x.shape[1] !== w.shape[0]) throw new OmniRangeError(`ConvTranspose: ${w.name}.shape[0]`, `${x.shape[1]}`, w.shape[0]);
    const out = [x.shape[0], w.shape[1] * group];
    for (let i = 0; i < nsp; i++) {
      out.push(convTransposeOutDim(x.shape[2 + i], w.shape[2 + i], strides[i], pads[i], pads[nsp + i], dilations[i], outputPadding[i]));
    }
    return this.op1('ConvTranspose', b ? [x, w, b] : [x, w], 'float32', out, {
      kernel_shape: attrInts(w.shape.slice(2)),
      strides: attrInts(strides),
      pads: attrInts(pads),
      dilations: attrInts(dilations),
      group: attrInt(group),
      output_padding: attrInts(outputPadding),
    });
  }

  private poolShape(op: string, x: Value, o: PoolOptions) {
    const { nsp, strides, pads } = this.spatialAttrs(op, x.shape.length, { strides: o.strides ?? o.kernel, pads: o.pads });
    const out = [x.shape[0], x.shape[1]];
    for (let i = 0; i < nsp; i++) out.push(convOutDim(x.shape[2 + i], o.kernel[i], strides[i], pads[i], pads[nsp + i], 1));
    return { out, attrs: { kernel_shape: attrInts(o.kernel), strides: attrInts(strides), pads: attrInts(pads) } };
  }

  /** Max pooling (floor mode). In training graphs the flat argmax indices are kept for the gradient. */
  maxPool(x: Value, options: PoolOptions): Value {
    this.expectFloat('MaxPool', x);
    const { out, attrs } = this.poolShape('MaxPool', x, options);
    const outputs: { dtype: DType; shape: number[] }[] = [{ dtype: 'float32', shape: out }];
    if (this.phase === 'train') outputs.push({ dtype: 'int64', shape: out });
    return this.node('MaxPool', [x], outputs, attrs)[0];
  }

  /** Average pooling (floor mode, padding excluded from the count). */
  averagePool(x: Value, options: PoolOptions): Value {
    this.expectFloat('AveragePool', x);
    const { out, attrs } = this.poolShape('AveragePool', x, options);
    return this.op1('AveragePool', [x], 'float32', out, attrs);
  }

  /** Resize of the spatial (last two) axes, matching torch's F.interpolate. */
  resize(x: Value, options: ResizeOptions): Value {
    this.expectFloat('Resize', x);
    this.expectRank('Resize', x, 4);
    const [n, c, h, w] = x.shape;
    let sizes: number[];
    if (options.sizes) {
      sizes = [...options.sizes];
    } else if (options.scales) {
      sizes = [Math.floor(h * options.scales[0]), Math.floor(w * options.scales[1])];
    } else {
      throw new OmniTypeError('Resize: options', 'sizes or scales', options);
    }
    const sizesV = this.int64s([n, c, sizes[0], sizes[1]]);
    const attrs: Record<string, AttributeValue> =
      options.mode === 'nearest'
        ? { mode: attrString('nearest'), coordinate_transformation_mode: attrString('asymmetric'), nearest_mode: attrString('floor') }
        : { mode: attrString('linear'), coordinate_transformation_mode: attrString('half_pixel') };
    return this.op1('Resize', [x, undefined, undefined, sizesV], 'float32', [n, c, sizes[0], sizes[1]], attrs);
  }

  /**
   * Batch normalisation over axis 1. Eval phase: running statistics. Train phase: batch
   * statistics (torch semantics), lowered to ORT's BatchNormInternal ('ort') or to
   * standard ops ('standard'), with updated running statistics available via
   * {@link GraphBuilder.batchNormStats}.
   */
  batchNorm(x: Value, scale: Value, bias: Value, mean: Value, variance: Value, options: BatchNormOptions = {}): Value {
    this.expectFloat('BatchNormalization', x);
    const c = x.shape[1];
    for (const p of [scale, bias, mean, variance]) {
      if (!shapeEquals(p.shape, [c])) throw new OmniRangeError(`BatchNormalization: ${p.name}.shape`, fmtShape([c]), fmtShape(p.shape));
    }
    const epsilon = options.epsilon ?? 1e-5;
    const momentum = options.momentum ?? 0.9;
    if (this.phase === 'eval') {
      return this.op1('BatchNormalization', [x, scale, bias, mean, variance], 'float32', x.shape, { epsilon: attrFloat(epsilon) });
    }
    if (this.lowering === 'ort') {
      const [y, runMean, runVar] = this.node(
        'BatchNormInternal',
        [x, scale, bias, mean, variance],
        [
          { dtype: 'float32', shape: x.shape },
          { dtype: 'float32', shape: [c] },
          { dtype: 'float32', shape: [c] },
          { dtype: 'float32', shape: [c] },
          { dtype: 'float32', shape: [c] },
        ],
        { epsilon: attrFloat(epsilon), momentum: attrFloat(momentum), training_mode: attrInt(1) },
        'com.microsoft',
      );
      this.bnStats.push({ mean, variance, newMean: runMean, newVariance: runVar });
      return y;
    }
    // Standard lowering: y = (x − μ)·a + β, a = γ/√(σ²+ε), with the closed-form gradient
    //   dx = a·dy − (a/M)·Σdy − (a/M)·x̂·Σ(dy·x̂),  x̂ = (x − μ)/√(σ²+ε),  dγ = Σ dy·x̂,  dβ = Σ dy
    // (far fewer full-size ops than differentiating the decomposition). The per-channel
    // affine maps are depthwise 1×1 convs: one pass instead of a Mul and an Add, and ORT
    // fuses a following Relu into the conv (reference keypoint model: ~4 full-size passes
    // fewer per BatchNorm + ReLU layer, forward and backward together).
    const axes = [0, ...x.shape.slice(2).map((_, i) => i + 2)];
    const bshape = [1, c, ...x.shape.slice(2).map(() => 1)];
    const count = numel(x.shape) / c;
    const mu = this.reduceMean(x, axes, true);
    const centred = this.sub(x, mu);
    const varB = this.reduceMean(this.mul(centred, centred), axes, true);
    const inv = this.reciprocal(this.sqrt(this.add(varB, epsilon)));
    const a = this.mul(scale, this.reshape(inv, [c]));
    const y = this.channelAffine(centred, a, bias);
    this.nodeMeta.set(this.producer(y.name)!, {
      composite: {
        inputs: [x, scale, bias],
        grad: (g, dy, need) => {
          const sumDy = g.reduceSum(dy, axes, true);
          const sumDyCentred = g.reduceSum(g.mul(dy, centred), axes, true);
          const sumDyX = g.mul(sumDyCentred, inv); // Σ dy·x̂
          let dx: Value | undefined;
          if (need[0]) {
            const aB = g.reshape(a, bshape);
            // (a/M)·x̂·Σ(dy·x̂) = centred · (a·inv²·Σ(dy·centred)/M)
            const perCentred = g.mul(g.mul(aB, g.mul(inv, inv)), g.mul(sumDyCentred, -1 / count));
            const shift = g.mul(a, g.mul(g.reshape(sumDy, [c]), -1 / count));
            dx = g.add(g.channelAffine(dy, a, shift), g.mul(centred, perCentred));
          }
          return [dx, need[1] ? g.reshape(sumDyX, [c]) : undefined, need[2] ? g.reshape(sumDy, [c]) : undefined];
        },
      },
    });
    // Running statistics (torch: unbiased variance), outputs of the step graph only.
    const muFlat = this.stopGradient(this.reshape(mu, [c]));
    const varUnbiased = this.stopGradient(this.mul(this.reshape(varB, [c]), count / Math.max(count - 1, 1)));
    const newMean = this.add(this.mul(mean, momentum), this.mul(muFlat, 1 - momentum));
    const newVariance = this.add(this.mul(variance, momentum), this.mul(varUnbiased, 1 - momentum));
    this.bnStats.push({ mean, variance, newMean, newVariance });
    return y;
  }

  /**
   * x·a + b per channel (axis 1), `a` and `b` of shape [C]: a depthwise 1×1 convolution
   * when x has spatial axes (one pass; ORT fuses a following Relu), else Mul + Add.
   */
  private channelAffine(x: Value, a: Value, b: Value): Value {
    const c = x.shape[1];
    const spatial = x.shape.slice(2);
    if (spatial.length === 0) return this.add(this.mul(x, a), b);
    return this.conv(x, this.reshape(a, [c, 1, ...spatial.map(() => 1)]), b, { group: c });
  }

  /** Running-statistics updates produced by batchNorm in train phase, in call order. */
  readonly bnStats: { mean: Value; variance: Value; newMean: Value; newVariance: Value }[] = [];

  // ---------------------------------------------------------------- shape ops

  /** Reshape to a static shape (one -1 allowed). */
  reshape(x: Value, shape: readonly number[]): Value {
    const known = shape.filter((d) => d !== -1);
    const total = numel(x.shape);
    const resolved = shape.map((d) => (d === -1 ? total / numel(known) : d));
    if (shape.filter((d) => d === -1).length > 1 || numel(resolved) !== total || !resolved.every(Number.isInteger)) {
      throw new OmniRangeError(`Reshape: shape for ${x.name} ${fmtShape(x.shape)}`, `a shape with ${total} elements`, fmtShape(shape));
    }
    return this.op1('Reshape', [x, this.int64s(resolved)], x.dtype, resolved);
  }

  transpose(x: Value, perm: readonly number[]): Value {
    if (perm.length !== x.shape.length || [...perm].sort().some((p, i) => p !== i)) {
      throw new OmniRangeError(`Transpose: perm for ${x.name}`, `a permutation of 0..${x.shape.length - 1}`, fmtShape(perm));
    }
    return this.op1('Transpose', [x], x.dtype, perm.map((p) => x.shape[p]), { perm: attrInts(perm) });
  }

  concat(xs: readonly Value[], axis: number): Value {
    if (xs.length === 0) throw new OmniRangeError('Concat: inputs', 'at least one value', 0);
    const a = normAxis(axis, xs[0].shape.length, 'Concat: axis');
    const out = [...xs[0].shape];
    out[a] = 0;
    for (const x of xs) {
      if (x.shape.length !== out.length || x.shape.some((d, i) => i !== a && d !== out[i])) {
        throw new OmniRangeError(`Concat: ${x.name}.shape`, `shape matching ${fmtShape(xs[0].shape)} except axis ${a}`, fmtShape(x.shape));
      }
      out[a] += x.shape[a];
    }
    return this.op1('Concat', xs, xs[0].dtype, out, { axis: attrInt(a) });
  }

  /** ONNX Slice with constant starts/ends/axes/steps. */
  slice(x: Value, starts: readonly number[], ends: readonly number[], axes?: readonly number[], steps?: readonly number[]): Value {
    const ax = (axes ?? starts.map((_, i) => i)).map((a) => normAxis(a, x.shape.length, 'Slice: axes'));
    const st = steps ?? starts.map(() => 1);
    const out = [...x.shape];
    ax.forEach((a, i) => {
      if (st[i] === 0) throw new OmniRangeError('Slice: steps', 'non-zero steps', 0);
      out[a] = resolveSlice(x.shape[a], starts[i], ends[i], st[i]).length;
    });
    return this.op1('Slice', [x, this.int64s(starts), this.int64s(ends), this.int64s(ax), this.int64s(st)], x.dtype, out);
  }

  /** ONNX Gather: out shape = x[:axis] + indices.shape + x[axis+1:]. */
  gather(x: Value, indices: Value, axis = 0): Value {
    const a = normAxis(axis, x.shape.length, 'Gather: axis');
    if (indices.dtype !== 'int64' && indices.dtype !== 'int32') throw new OmniTypeError('Gather: indices.dtype', 'int64 or int32', indices.dtype);
    return this.op1('Gather', [x, indices], x.dtype, [...x.shape.slice(0, a), ...indices.shape, ...x.shape.slice(a + 1)], { axis: attrInt(a) });
  }

  /** ONNX GatherElements: out shape = indices.shape. */
  gatherElements(x: Value, indices: Value, axis: number): Value {
    const a = normAxis(axis, x.shape.length, 'GatherElements: axis');
    if (indices.shape.length !== x.shape.length) {
      throw new OmniRangeError('GatherElements: indices.shape', `rank ${x.shape.length}`, fmtShape(indices.shape));
    }
    return this.op1('GatherElements', [x, indices], x.dtype, indices.shape, { axis: attrInt(a) });
  }

  /** ScatterElements into `data` (reduction 'none' or 'add'). */
  scatterElements(data: Value, indices: Value, updates: Value, axis: number, reduction: 'none' | 'add' = 'none'): Value {
    const a = normAxis(axis, data.shape.length, 'ScatterElements: axis');
    return this.op1('ScatterElements', [data, indices, updates], data.dtype, data.shape, {
      axis: attrInt(a),
      reduction: attrString(reduction),
    });
  }

  expand(x: Value, shape: readonly number[]): Value {
    const out = broadcastShapes(`Expand(${x.name})`, x.shape, shape);
    return this.op1('Expand', [x, this.int64s(shape)], x.dtype, out);
  }

  /** Constant-mode zero padding; `pads` = [begins..., ends...] over all axes. */
  pad(x: Value, pads: readonly number[]): Value {
    const r = x.shape.length;
    if (pads.length !== 2 * r) throw new OmniRangeError('Pad: pads', `${2 * r} values`, describeValue(pads));
    const out = x.shape.map((d, i) => d + pads[i] + pads[r + i]);
    return this.op1('Pad', [x, this.int64s(pads)], x.dtype, out, { mode: attrString('constant') });
  }

  /** A float32 tensor of zeros of `shape`, made at run time (no large initializer). */
  zeros(shape: readonly number[], dtype: DType = 'float32'): Value {
    const value: TensorData =
      dtype === 'float32'
        ? { name: 'value', dtype, dims: [1], data: new Float32Array(1) }
        : { name: 'value', dtype: 'int64', dims: [1], data: new BigInt64Array(1) };
    return this.op1('ConstantOfShape', [this.int64s(shape)], dtype, shape, { value: { type: 'tensor', value } });
  }

  private reduceShape(op: string, x: Value, axes: readonly number[], keepdims: boolean): { axes: number[]; out: number[] } {
    const ax = [...new Set(axes.map((a) => normAxis(a, x.shape.length, `${op}: axes`)))].sort((p, q) => p - q);
    const out: number[] = [];
    x.shape.forEach((d, i) => {
      if (!ax.includes(i)) out.push(d);
      else if (keepdims) out.push(1);
    });
    return { axes: ax, out };
  }

  reduceSum(x: Value, axes: readonly number[], keepdims = false): Value {
    const { axes: ax, out } = this.reduceShape('ReduceSum', x, axes, keepdims);
    return this.op1('ReduceSum', [x, this.int64s(ax)], x.dtype, out, { keepdims: attrInt(keepdims ? 1 : 0) });
  }

  reduceMean(x: Value, axes: readonly number[], keepdims = false): Value {
    const { axes: ax, out } = this.reduceShape('ReduceMean', x, axes, keepdims);
    return this.op1('ReduceMean', [x], x.dtype, out, { axes: attrInts(ax), keepdims: attrInt(keepdims ? 1 : 0) });
  }

  /** ReduceMax (not differentiable here: use it for constants such as stabilisers). */
  reduceMax(x: Value, axes: readonly number[], keepdims = false): Value {
    const { axes: ax, out } = this.reduceShape('ReduceMax', x, axes, keepdims);
    return this.op1('ReduceMax', [x], x.dtype, out, { axes: attrInts(ax), keepdims: attrInt(keepdims ? 1 : 0) });
  }

  /** Pixel shuffle. mode 'CRD' = torch.nn.PixelShuffle; 'DCR' = ONNX default. */
  depthToSpace(x: Value, blocksize: number, mode: 'CRD' | 'DCR' = 'CRD'): Value {
    this.expectRank('DepthToSpace', x, 4);
    const [n, c, h, w] = x.shape;
    if (c % (blocksize * blocksize) !== 0) throw new OmniRangeError('DepthToSpace: channels', `a multiple of ${blocksize * blocksize}`, c);
    return this.op1('DepthToSpace', [x], x.dtype, [n, c / (blocksize * blocksize), h * blocksize, w * blocksize], {
      blocksize: attrInt(blocksize),
      mode: attrString(mode),
    });
  }

  spaceToDepth(x: Value, blocksize: number): Value {
    this.expectRank('SpaceToDepth', x, 4);
    const [n, c, h, w] = x.shape;
    if (h % blocksize !== 0 || w % blocksize !== 0) throw new OmniRangeError('SpaceToDepth: spatial size', `multiples of ${blocksize}`, fmtShape(x.shape));
    return this.op1('SpaceToDepth', [x], x.dtype, [n, c * blocksize * blocksize, h / blocksize, w / blocksize], { blocksize: attrInt(blocksize) });
  }

  softmax(x: Value, axis = -1): Value {
    return this.op1('Softmax', [x], x.dtype, x.shape, { axis: attrInt(normAxis(axis, x.shape.length, 'Softmax: axis')) });
  }

  logSoftmax(x: Value, axis = -1): Value {
    return this.op1('LogSoftmax', [x], x.dtype, x.shape, { axis: attrInt(normAxis(axis, x.shape.length, 'LogSoftmax: axis')) });
  }

  // ---------------------------------------------------------------- serialisation

  /**
   * The graph as a model description. Parameters become initializers (inference model)
   * or graph inputs placed after the user inputs ('inputs', as training graphs need).
   */
  toModel(options: { paramsAs?: 'initializers' | 'inputs'; opset?: number; irVersion?: number; extraInputs?: readonly ValueInfo[] } = {}): ModelDef {
    const paramsAs = options.paramsAs ?? 'initializers';
    const tensorInfo = (v: Value): ValueInfo =>
      this.sequenceNames.has(v.name)
        ? { name: v.name, type: { kind: 'sequence', dtype: v.dtype } }
        : { name: v.name, type: { kind: 'tensor', dtype: v.dtype, shape: v.shape } };
    const inputs = [...this.inputList.map(tensorInfo)];
    const initializers = [...this.initializerList];
    if (paramsAs === 'inputs') inputs.push(...this.paramList.map((p) => tensorInfo(p.value)));
    else for (const p of this.paramList) initializers.push({ name: p.name, dtype: 'float32', dims: p.shape, data: p.init });
    inputs.push(...this.trailingInputList.map(tensorInfo));
    inputs.push(...(options.extraInputs ?? []));
    const io = new Set([...inputs.map((i) => i.name), ...this.outputList.map((o) => o.name), ...initializers.map((i) => i.name)]);
    const valueInfo: ValueInfo[] = [];
    for (const n of this.nodes) for (const o of n.outputs) if (o !== '' && !io.has(o) && !this.sequenceNames.has(o)) valueInfo.push(tensorInfo(this.value(o)));
    const opsets = [{ domain: '', version: options.opset ?? DEFAULT_OPSET }];
    for (const domain of [...this.usedDomains].sort()) opsets.push({ domain, version: 1 });
    return {
      graphName: this.graphName,
      nodes: this.nodes,
      inputs,
      outputs: this.outputList.map(tensorInfo),
      initializers,
      valueInfo,
      opsets,
      irVersion: options.irVersion ?? DEFAULT_IR,
      producerName: 'omnidistill',
    };
  }

  /** Serialised ONNX bytes (parameters as initializers unless told otherwise). */
  toModelBytes(options: { paramsAs?: 'initializers' | 'inputs' } = {}): Uint8Array {
    return encodeModel(this.toModel(options));
  }
}

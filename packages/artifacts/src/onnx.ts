// Plain data types for an ONNX model and their protobuf encoding (onnx.proto field
// numbers). Everything the builder and the artifact writers produce goes through here.

import { ProtoWriter } from './proto.js';

/** Element types we emit. */
export type DType = 'float32' | 'int64' | 'int32' | 'bool' | 'uint8';

/** ONNX TensorProto.DataType codes. */
export const DTYPE_CODE: Record<DType, number> = {
  float32: 1,
  uint8: 2,
  int32: 6,
  int64: 7,
  bool: 9,
};

/** Typed array backing each element type. */
export type TypedArrayFor<D extends DType> = D extends 'float32'
  ? Float32Array
  : D extends 'int64'
    ? BigInt64Array
    : D extends 'int32'
      ? Int32Array
      : Uint8Array;

export type AnyTensorArray = Float32Array | BigInt64Array | Int32Array | Uint8Array;

/** A constant tensor (initializer or attribute value). */
export interface TensorData {
  readonly name: string;
  readonly dtype: DType;
  readonly dims: readonly number[];
  readonly data: AnyTensorArray;
}

export type AttributeValue =
  | { readonly type: 'int'; readonly value: number }
  | { readonly type: 'ints'; readonly value: readonly number[] }
  | { readonly type: 'float'; readonly value: number }
  | { readonly type: 'floats'; readonly value: readonly number[] }
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'tensor'; readonly value: TensorData };

export interface NodeDef {
  readonly opType: string;
  /** '' for the default ONNX domain, 'com.microsoft' for ORT contrib/training ops. */
  readonly domain: string;
  /** '' marks an omitted optional input. */
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes: Readonly<Record<string, AttributeValue>>;
  readonly name: string;
}

/**
 * A tensor type ([] = scalar). The builder's shapes are fully static; a hand-made model may
 * mark dynamic axes with -1 (serialised as symbolic dimensions `<name>_dim<axis>`).
 */
export interface TensorType {
  readonly kind: 'tensor';
  readonly dtype: DType;
  readonly shape: readonly number[];
}

/** A sequence of float tensors (optimizer-model inputs); element shape left unknown. */
export interface SequenceType {
  readonly kind: 'sequence';
  readonly dtype: DType;
}

export interface ValueInfo {
  readonly name: string;
  readonly type: TensorType | SequenceType;
}

export interface OpsetImport {
  readonly domain: string;
  readonly version: number;
}

export interface ModelDef {
  readonly graphName: string;
  readonly nodes: readonly NodeDef[];
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  readonly initializers: readonly TensorData[];
  readonly valueInfo: readonly ValueInfo[];
  readonly opsets: readonly OpsetImport[];
  readonly irVersion: number;
  readonly producerName: string;
}

const ATTR_TYPE = { float: 1, int: 2, string: 3, tensor: 4, floats: 6, ints: 7 } as const;

/** Little-endian raw bytes of a typed array (respects byteOffset). */
export function rawBytes(data: AnyTensorArray): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function encodeTensor(t: TensorData): ProtoWriter {
  const w = new ProtoWriter();
  w.packedInts(1, t.dims);
  w.int(2, DTYPE_CODE[t.dtype]);
  w.string(8, t.name);
  w.bytes(9, rawBytes(t.data));
  return w;
}

function encodeType(type: TensorType | SequenceType, valueName: string): ProtoWriter {
  const tensorType = new ProtoWriter();
  tensorType.int(1, DTYPE_CODE[type.dtype]);
  if (type.kind === 'tensor') {
    const shape = new ProtoWriter();
    // A negative dimension marks a dynamic axis: written as a named symbolic dimension.
    type.shape.forEach((d, i) => shape.message(1, d >= 0 ? new ProtoWriter().int(1, d) : new ProtoWriter().string(2, `${valueName}_dim${i}`)));
    tensorType.message(2, shape);
    return new ProtoWriter().message(1, tensorType);
  }
  const elem = new ProtoWriter().message(1, tensorType);
  return new ProtoWriter().message(4, new ProtoWriter().message(1, elem));
}

function encodeValueInfo(v: ValueInfo): ProtoWriter {
  return new ProtoWriter().string(1, v.name).message(2, encodeType(v.type, v.name));
}

function encodeAttribute(name: string, a: AttributeValue): ProtoWriter {
  const w = new ProtoWriter().string(1, name);
  switch (a.type) {
    case 'float':
      w.float(2, a.value);
      break;
    case 'int':
      w.int(3, a.value);
      break;
    case 'string':
      w.string(4, a.value);
      break;
    case 'tensor':
      w.message(5, encodeTensor(a.value));
      break;
    case 'floats':
      w.packedFloats(7, a.value);
      break;
    case 'ints':
      w.packedInts(8, a.value);
      break;
  }
  w.int(20, ATTR_TYPE[a.type]);
  return w;
}

function encodeNode(n: NodeDef): ProtoWriter {
  const w = new ProtoWriter();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name);
  w.string(4, n.opType);
  for (const [k, a] of Object.entries(n.attributes)) w.message(5, encodeAttribute(k, a));
  if (n.domain !== '') w.string(7, n.domain);
  return w;
}

/** Serialises a model to ONNX ModelProto bytes. */
export function encodeModel(m: ModelDef): Uint8Array {
  const graph = new ProtoWriter();
  for (const n of m.nodes) graph.message(1, encodeNode(n));
  graph.string(2, m.graphName);
  for (const t of m.initializers) graph.message(5, encodeTensor(t));
  for (const v of m.inputs) graph.message(11, encodeValueInfo(v));
  for (const v of m.outputs) graph.message(12, encodeValueInfo(v));
  for (const v of m.valueInfo) graph.message(13, encodeValueInfo(v));

  const model = new ProtoWriter();
  model.int(1, m.irVersion);
  model.string(2, m.producerName);
  model.message(7, graph);
  for (const o of m.opsets) {
    const op = new ProtoWriter();
    if (o.domain !== '') op.string(1, o.domain);
    op.int(2, o.version);
    model.message(8, op);
  }
  return model.finish();
}

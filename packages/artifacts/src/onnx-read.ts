// A reader for ONNX ModelProto bytes (the inverse of onnx.ts's writer, for models that
// exporters such as torch.onnx produce): opsets, graph inputs/outputs with their symbolic
// dimensions, nodes with decoded attributes (subgraphs included) and initializers whose
// data stays a view into the file until asked for. No schema compiler, no dependency.

/** Element types by ONNX TensorProto.DataType code (names follow onnxruntime's). */
export const ONNX_DTYPE_NAMES: Readonly<Record<number, string>> = Object.freeze({
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  12: 'uint32',
  13: 'uint64',
  16: 'bfloat16',
});

/** A dimension: a fixed size, a symbolic name (`'batch'`), or null when the exporter left it unnamed. */
export type ReadDim = number | string | null;

/** The declared type of a graph input/output/value_info. */
export type ReadType =
  | { kind: 'tensor'; dtype: string; /** null: rank unknown */ shape: ReadDim[] | null }
  | { kind: 'sequence' | 'map' | 'optional' | 'unknown' };

export interface ReadValueInfo {
  name: string;
  type: ReadType;
}

/** An initializer or a tensor attribute; `raw` is a view into the model bytes (no copy). */
export interface ReadTensor {
  name: string;
  dtype: string;
  dims: number[];
  /** Little-endian raw_data, or null when the values are in a typed field or stored externally. */
  raw: Uint8Array | null;
  floatData: number[];
  int32Data: number[];
  int64Data: bigint[];
  doubleData: number[];
  /** True when the data lives in an external file (data_location = EXTERNAL). */
  external: boolean;
  /** external_data entries (location, offset, length) of an external tensor. */
  externalData: Record<string, string>;
}

export type ReadAttribute =
  | { type: 'float'; value: number }
  | { type: 'int'; value: number }
  | { type: 'string'; value: string }
  | { type: 'tensor'; value: ReadTensor }
  | { type: 'graph'; value: ReadGraph }
  | { type: 'floats'; value: number[] }
  | { type: 'ints'; value: number[] }
  | { type: 'strings'; value: string[] }
  | { type: 'graphs'; value: ReadGraph[] }
  | { type: 'other'; code: number };

export interface ReadNode {
  opType: string;
  /** '' for the default ONNX domain. */
  domain: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attributes: Record<string, ReadAttribute>;
}

export interface ReadGraph {
  name: string;
  nodes: ReadNode[];
  inputs: ReadValueInfo[];
  outputs: ReadValueInfo[];
  initializers: ReadTensor[];
  valueInfo: ReadValueInfo[];
}

export interface ReadModel {
  irVersion: number;
  producerName: string;
  producerVersion: string;
  /** Opset per domain ('' = the default ONNX domain, 'ai.onnx' is normalised to ''). */
  opsets: { domain: string; version: number }[];
  graph: ReadGraph;
  metadata: Record<string, string>;
}

/** Thrown for bytes that are not a well-formed ModelProto; the message names the byte offset. */
export class OnnxReadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OnnxReadError';
  }
}

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_FIXED32 = 5;

const textDecoder = new TextDecoder();

/** Sequential reader of one protobuf message's fields (exported for onnx-reweight.ts, not part of the package API). */
export class ProtoReader {
  pos: number;
  constructor(
    readonly bytes: Uint8Array,
    start = 0,
    readonly end = bytes.length,
  ) {
    this.pos = start;
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  /** An unsigned varint as a bigint (exact for all 64 bits). */
  varintBig(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.end) throw new OnnxReadError(`truncated varint at byte ${this.pos}`);
      const b = this.bytes[this.pos++];
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 63n) throw new OnnxReadError(`varint longer than 10 bytes at byte ${this.pos}`);
    }
  }

  /** A varint read as a signed 64-bit value, returned as a number (int64 fields, ints attributes). */
  int(): number {
    // Fast path: small non-negative values (tags, lengths, dims) fit in one to four bytes.
    const b0 = this.bytes[this.pos];
    if (this.pos < this.end && b0 < 0x80) {
      this.pos++;
      return b0;
    }
    return Number(BigInt.asIntN(64, this.varintBig()));
  }

  int64(): bigint {
    return BigInt.asIntN(64, this.varintBig());
  }

  /** The next field's number and wire type, or null at the end of the message. */
  tag(): { field: number; wire: number } | null {
    if (this.done()) return null;
    const t = this.int();
    return { field: Math.floor(t / 8), wire: t & 7 };
  }

  /** The bounds of a length-delimited field's payload (a sub-reader's range). */
  lengthDelimited(): [number, number] {
    const len = this.int();
    const start = this.pos;
    if (len < 0 || start + len > this.end) throw new OnnxReadError(`length-delimited field of ${len} bytes overruns its message at byte ${start}`);
    this.pos += len;
    return [start, start + len];
  }

  sub(): ProtoReader {
    const [s, e] = this.lengthDelimited();
    return new ProtoReader(this.bytes, s, e);
  }

  bytesView(): Uint8Array {
    const [s, e] = this.lengthDelimited();
    return this.bytes.subarray(s, e);
  }

  string(): string {
    return textDecoder.decode(this.bytesView());
  }

  float(): number {
    if (this.pos + 4 > this.end) throw new OnnxReadError(`truncated float at byte ${this.pos}`);
    const v = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.pos, 4).getFloat32(0, true);
    this.pos += 4;
    return v;
  }

  double(): number {
    if (this.pos + 8 > this.end) throw new OnnxReadError(`truncated double at byte ${this.pos}`);
    const v = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.pos, 8).getFloat64(0, true);
    this.pos += 8;
    return v;
  }

  skip(wire: number): void {
    if (wire === WIRE_VARINT) this.varintBig();
    else if (wire === WIRE_FIXED64) this.pos += 8;
    else if (wire === WIRE_LENGTH_DELIMITED) this.lengthDelimited();
    else if (wire === WIRE_FIXED32) this.pos += 4;
    else throw new OnnxReadError(`unsupported wire type ${wire} at byte ${this.pos}`);
    if (this.pos > this.end) throw new OnnxReadError(`field overruns its message at byte ${this.pos}`);
  }

  /** Repeated scalars, packed or not: calls `one` once per element. */
  repeated(wire: number, scalarWire: number, one: (r: ProtoReader) => void): void {
    if (wire === WIRE_LENGTH_DELIMITED && scalarWire !== WIRE_LENGTH_DELIMITED) {
      const r = this.sub();
      while (!r.done()) one(r);
    } else one(this);
  }
}

function decodeTensor(r: ProtoReader): ReadTensor {
  const t: ReadTensor = { name: '', dtype: 'undefined', dims: [], raw: null, floatData: [], int32Data: [], int64Data: [], doubleData: [], external: false, externalData: {} };
  for (let tag = r.tag(); tag !== null; tag = r.tag()) {
    const { field, wire } = tag;
    if (field === 1) r.repeated(wire, WIRE_VARINT, (x) => t.dims.push(x.int()));
    else if (field === 2) t.dtype = ONNX_DTYPE_NAMES[r.int()] ?? 'undefined';
    else if (field === 4) r.repeated(wire, WIRE_FIXED32, (x) => t.floatData.push(x.float()));
    else if (field === 5) r.repeated(wire, WIRE_VARINT, (x) => t.int32Data.push(x.int()));
    else if (field === 7) r.repeated(wire, WIRE_VARINT, (x) => t.int64Data.push(x.int64()));
    else if (field === 8) t.name = r.string();
    else if (field === 9) t.raw = r.bytesView();
    else if (field === 10) r.repeated(wire, WIRE_FIXED64, (x) => t.doubleData.push(x.double()));
    else if (field === 13) {
      const [k, v] = decodeStringPair(r.sub());
      t.externalData[k] = v;
    } else if (field === 14) t.external = r.int() === 1;
    else r.skip(wire);
  }
  return t;
}

function decodeShape(r: ProtoReader): ReadDim[] {
  const dims: ReadDim[] = [];
  for (let tag = r.tag(); tag !== null; tag = r.tag()) {
    if (tag.field !== 1) {
      r.skip(tag.wire);
      continue;
    }
    const d = r.sub();
    let dim: ReadDim = null;
    for (let dt = d.tag(); dt !== null; dt = d.tag()) {
      if (dt.field === 1) dim = d.int();
      else if (dt.field === 2) dim = d.string();
      else d.skip(dt.wire);
    }
    dims.push(dim);
  }
  return dims;
}

function decodeType(r: ProtoReader): ReadType {
  let type: ReadType = { kind: 'unknown' };
  for (let tag = r.tag(); tag !== null; tag = r.tag()) {
    if (tag.field === 1) {
      const tt = r.sub();
      let dtype = 'undefined';
      let shape: ReadDim[] | null = null;
      for (let t = tt.tag(); t !== null; t = tt.tag()) {
        if (t.field === 1) dtype = ONNX_DTYPE_NAMES[tt.int()] ?? 'undefined';
        else if (t.field === 2) shape = decodeShape(tt.sub());
        else tt.skip(t.wire);
      }
      type = { kind: 'tensor', dtype, shape };
    } else if (tag.field === 4 || tag.field === 5 || tag.field === 9) {
      r.skip(tag.wire);
      type = { kind: tag.field === 4 ? 'sequence' : tag.field === 5 ? 'map' : 'optional' };
    } else r.skip(tag.wire);
  }
  return type;
}

function decodeValueInfo(r: ProtoReader): ReadValueInfo {
  let name = '';
  let type: ReadType = { kind: 'unknown' };
  for (let tag = r.tag(); tag !== null; tag = r.tag()) {
    if (tag.field === 1) name = r.string();
    else if (tag.field === 2) type = decodeType(r.sub());
    else r.skip(tag.wire);
  }
  return { name, type };
}

function decodeAttribute(r: ProtoReader): [string, ReadAttribute] {
  let name = '';
  let code = 0;
  const v: { f?: number; i?: number; s?: Uint8Array; t?: ReadTensor; g?: ReadGraph; floats: number[]; ints: number[]; strings: string[]; graphs: ReadGraph[] } = {
    floats: [],
    ints: [],
    strings: [],
    graphs: [],
  };
  for (let tag = r.tag(); tag !== null; tag = r.tag()) {
    const { field, wire } = tag;
    if (field === 1) name = r.string();
    else if (field === 2) v.f = r.float();
    else if (field === 3) v.i = r.int();
    else if (field === 4) v.s = r.bytesView();
    else if (field === 5) v.t = decodeTensor(r.sub());
    else if (field === 6) v.g = decodeGraph(r.sub());
    else if (field === 7) r.repeated(wire, WIRE_FIXED32, (x) => v.floats.push(x.float()));
    else if (field === 8) r.repeated(wire, WIRE_VARINT, (x) => v.ints.push(x.int()));
    else if (field === 9) v.strings.push(r.string());
    else if (field === 11) v.graphs.push(decodeGraph(r.sub()));
    else if (field === 20) code = r.int();
    else r.skip(wire);
  }
  return [name, attributeOf(code, v)];
}

function attributeOf(
  code: number,
  v: { f?: number; i?: number; s?: Uint8Array; t?: ReadTensor; g?: ReadGraph; floats: number[]; ints: number[]; strings: string[]; graphs: ReadGraph[] },
): ReadAttribute {
  switch (code) {
    case 1:
      return { type: 'float', value: v.f ?? 0 };
    case 2:
      return { type: 'int', value: v.i ?? 0 };
    case 3:
      return { type: 'string', value: v.s ? textDecoder.decode(v.s) : '' };
    case 4:
      if (v.t) return { type: 'tensor', value: v.t };
      break;
    case 5:
      if (v.g) return { type: 'graph', value: v.g };
      break;
    case 6:
      return { type: 'floats', value: v.floats };
    case 7:
      return { type: 'ints', value: v.ints };
    case 8:
      return { type: 'strings', value: v.strings };
    case 10:
      return { type: 'graphs', value: v.graphs };
  }
  return { type: 'other', code };
}

function decodeNode(r: ProtoReader): ReadNode {
  const node: ReadNode = { opType: '', domain: '', name: '', inputs: [], outputs: [], attributes: {} };
  for (let tag = r.tag(); tag !== null; tag = r.tag()) {
    const { field, wire } = tag;
    if (field === 1) node.inputs.push(r.string());
    else if (field === 2) node.outputs.push(r.string());
    else if (field === 3) node.name = r.string();
    else if (field === 4) node.opType = r.string();
    else if (field === 5) {
      const [name, a] = decodeAttribute(r.sub());
      node.attributes[name] = a;
    } else if (field === 7) node.domain = normaliseDomain(r.string());
    else r.skip(wire);
  }
  return node;
}

function decodeGraph(r: ProtoReader): ReadGraph {
  const g: ReadGraph = { name: '', nodes: [], inputs: [], outputs: [], initializers: [], valueInfo: [] };
  for (let tag = r.tag(); tag !== null; tag = r.tag()) {
    const { field, wire } = tag;
    if (field === 1) g.nodes.push(decodeNode(r.sub()));
    else if (field === 2) g.name = r.string();
    else if (field === 5) g.initializers.push(decodeTensor(r.sub()));
    else if (field === 11) g.inputs.push(decodeValueInfo(r.sub()));
    else if (field === 12) g.outputs.push(decodeValueInfo(r.sub()));
    else if (field === 13) g.valueInfo.push(decodeValueInfo(r.sub()));
    else r.skip(wire);
  }
  return g;
}

function normaliseDomain(domain: string): string {
  return domain === 'ai.onnx' ? '' : domain;
}

/**
 * Decodes ONNX ModelProto bytes. Initializer data is not copied (`ReadTensor.raw` views
 * `bytes`), so reading a large model's structure is cheap.
 *
 * @example
 * const model = decodeOnnxModel(await readFile('model.onnx'));
 * model.opsets.find((o) => o.domain === '')?.version; // e.g. 17
 */
export function decodeOnnxModel(bytes: Uint8Array): ReadModel {
  const r = new ProtoReader(bytes);
  const model: ReadModel = { irVersion: 0, producerName: '', producerVersion: '', opsets: [], graph: emptyGraph(), metadata: {} };
  let sawGraph = false;
  for (let tag = r.tag(); tag !== null; tag = r.tag()) {
    const { field, wire } = tag;
    if (field === 1 && wire === WIRE_VARINT) model.irVersion = r.int();
    else if (field === 2 && wire === WIRE_LENGTH_DELIMITED) model.producerName = r.string();
    else if (field === 3 && wire === WIRE_LENGTH_DELIMITED) model.producerVersion = r.string();
    else if (field === 7 && wire === WIRE_LENGTH_DELIMITED) {
      model.graph = decodeGraph(r.sub());
      sawGraph = true;
    } else if (field === 8 && wire === WIRE_LENGTH_DELIMITED) model.opsets.push(decodeOpset(r.sub()));
    else if (field === 14 && wire === WIRE_LENGTH_DELIMITED) {
      const [k, v] = decodeStringPair(r.sub());
      model.metadata[k] = v;
    } else r.skip(wire);
  }
  if (!sawGraph) throw new OnnxReadError('no graph (ModelProto field 7): not an ONNX model');
  return model;
}

function emptyGraph(): ReadGraph {
  return { name: '', nodes: [], inputs: [], outputs: [], initializers: [], valueInfo: [] };
}

function decodeOpset(r: ProtoReader): { domain: string; version: number } {
  let domain = '';
  let version = 0;
  for (let tag = r.tag(); tag !== null; tag = r.tag()) {
    if (tag.field === 1) domain = normaliseDomain(r.string());
    else if (tag.field === 2) version = r.int();
    else r.skip(tag.wire);
  }
  return { domain, version };
}

function decodeStringPair(r: ProtoReader): [string, string] {
  let key = '';
  let value = '';
  for (let tag = r.tag(); tag !== null; tag = r.tag()) {
    if (tag.field === 1) key = r.string();
    else if (tag.field === 2) value = r.string();
    else r.skip(tag.wire);
  }
  return [key, value];
}

/** The default-domain opset of a model (0 when it imports none). */
export function defaultOpset(model: ReadModel): number {
  return model.opsets.find((o) => o.domain === '')?.version ?? 0;
}

/** The graph inputs that are real inputs (older exporters also list initializers as inputs). */
export function feedInputs(graph: ReadGraph): ReadValueInfo[] {
  const init = new Set(graph.initializers.map((t) => t.name));
  return graph.inputs.filter((v) => !init.has(v.name));
}

/** Every node of the graph and of its subgraphs (If/Loop/Scan bodies), depth first. */
export function allNodes(graph: ReadGraph): ReadNode[] {
  const out: ReadNode[] = [];
  const visit = (g: ReadGraph) => {
    for (const n of g.nodes) {
      out.push(n);
      for (const a of Object.values(n.attributes)) {
        if (a.type === 'graph') visit(a.value);
        else if (a.type === 'graphs') a.value.forEach(visit);
      }
    }
  };
  visit(graph);
  return out;
}

/**
 * The values of a numeric tensor as a Float64Array (float32/64, int8…int64, uint8…, bool;
 * raw or typed storage). Throws for external data, strings and half floats.
 */
export function tensorValues(t: ReadTensor): Float64Array {
  if (t.external) throw new OnnxReadError(`tensor "${t.name}" keeps its data in an external file; load the model with its external data merged`);
  const count = t.dims.reduce((a, b) => a * b, 1);
  if (t.raw === null) {
    const typed = t.floatData.length ? t.floatData : t.doubleData.length ? t.doubleData : t.int32Data.length ? t.int32Data : t.int64Data.map(Number);
    return Float64Array.from(typed);
  }
  const view = new DataView(t.raw.buffer, t.raw.byteOffset, t.raw.byteLength);
  const reader = RAW_READERS[t.dtype];
  if (reader === undefined) throw new OnnxReadError(`tensor "${t.name}": dtype ${t.dtype} values are not supported`);
  const out = new Float64Array(count);
  if (reader.bytes * count !== t.raw.byteLength) {
    throw new OnnxReadError(`tensor "${t.name}": raw_data has ${t.raw.byteLength} bytes, dims [${t.dims.join(', ')}] of ${t.dtype} need ${reader.bytes * count}`);
  }
  for (let i = 0; i < count; i++) out[i] = reader.read(view, i * reader.bytes);
  return out;
}

const RAW_READERS: Record<string, { bytes: number; read: (v: DataView, o: number) => number }> = {
  float32: { bytes: 4, read: (v, o) => v.getFloat32(o, true) },
  float64: { bytes: 8, read: (v, o) => v.getFloat64(o, true) },
  int8: { bytes: 1, read: (v, o) => v.getInt8(o) },
  uint8: { bytes: 1, read: (v, o) => v.getUint8(o) },
  bool: { bytes: 1, read: (v, o) => v.getUint8(o) },
  int16: { bytes: 2, read: (v, o) => v.getInt16(o, true) },
  uint16: { bytes: 2, read: (v, o) => v.getUint16(o, true) },
  int32: { bytes: 4, read: (v, o) => v.getInt32(o, true) },
  uint32: { bytes: 4, read: (v, o) => v.getUint32(o, true) },
  int64: { bytes: 8, read: (v, o) => Number(v.getBigInt64(o, true)) },
  uint64: { bytes: 8, read: (v, o) => Number(v.getBigUint64(o, true)) },
};

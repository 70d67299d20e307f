// ONNX Runtime training checkpoint (flatbuffer, file identifier "ODTC", version 2):
// writer and reader over the `flatbuffers` runtime, following the slot order of
// onnxruntime/core/flatbuffers/schema/ort_training_checkpoint.fbs and ort.fbs (Tensor).

import { Builder, ByteBuffer, type Offset } from 'flatbuffers';
import { OmniRangeError, OmniTypeError } from '@omnidistill/core';
import { numel, fmtShape } from './shapes.js';

/** The only checkpoint version onnxruntime-web 1.19.2 accepts. */
export const CHECKPOINT_VERSION = 2;
const FILE_IDENTIFIER = 'ODTC';
const FLOAT_TYPE = 1;

export interface CheckpointTensor {
  readonly name: string;
  readonly dims: readonly number[];
  /** Empty (length 0) in a nominal checkpoint. */
  readonly data: Float32Array;
}

export interface ParameterOptimizerState {
  readonly paramName: string;
  /** momentum0 (first moment) and, for AdamW, momentum1 (second moment). */
  readonly momentums: readonly CheckpointTensor[];
}

export interface OptimizerGroupState {
  /** ORT expects 'group0'. */
  readonly groupName: string;
  readonly step: number;
  readonly initialLearningRate: number;
  readonly states: readonly ParameterOptimizerState[];
}

export interface CheckpointState {
  readonly trainable: readonly CheckpointTensor[];
  readonly frozen: readonly CheckpointTensor[];
  /** true = tensors carry names and shapes only (parameters loaded later). */
  readonly nominal?: boolean;
  readonly optimizerGroups?: readonly OptimizerGroupState[];
  readonly properties?: {
    readonly ints?: Readonly<Record<string, number>>;
    readonly floats?: Readonly<Record<string, number>>;
    readonly strings?: Readonly<Record<string, string>>;
  };
}

// Slots (vtable field index) of each table.
const TENSOR = { name: 0, docString: 1, dims: 2, dataType: 3, rawData: 4 } as const;
const MODULE_STATE = { requiresGrad: 0, frozen: 1, isNominal: 2, hasExternalData: 3 } as const;
const PARAM_OPT_STATE = { paramName: 0, momentums: 1 } as const;
const OPT_GROUP = { groupName: 0, step: 1, initialLr: 2, states: 3 } as const;
const PROPERTY = { name: 0, value: 1 } as const;
const PROPERTY_BAG = { ints: 0, floats: 1, strings: 2 } as const;
const CHECKPOINT = { version: 0, moduleState: 1, optimizerGroups: 2, propertyBag: 3 } as const;

/**
 * Checks a checkpoint before it is written: names unique and not gradient-like, data
 * sizes match shapes, and every optimizer group holds exactly one state per trainable
 * parameter with consistent moment shapes (ORT crashes with a bare C++ exception otherwise).
 */
export function validateCheckpoint(state: CheckpointState): void {
  const seen = new Set<string>();
  const check = (t: CheckpointTensor, path: string): void => {
    if (typeof t.name !== 'string' || t.name === '') throw new OmniTypeError(`${path}.name`, 'a non-empty string', t.name);
    if (/_grad$/.test(t.name)) throw new OmniRangeError(`${path}.name`, 'a name not ending in "_grad"', t.name);
    if (!(t.data instanceof Float32Array)) throw new OmniTypeError(`${path}.data`, 'a Float32Array', t.data);
    const expected = state.nominal ? 0 : numel(t.dims);
    if (t.data.length !== expected) throw new OmniRangeError(`${path}.data.length`, `${expected} for dims ${fmtShape(t.dims)}`, t.data.length);
  };
  for (const [list, label] of [
    [state.trainable, 'trainable'],
    [state.frozen, 'frozen'],
  ] as const) {
    list.forEach((t, i) => {
      check(t, `checkpoint.${label}[${i}]`);
      if (seen.has(t.name)) throw new OmniRangeError(`checkpoint.${label}[${i}].name`, 'a unique parameter name', t.name);
      seen.add(t.name);
    });
  }
  const trainable = new Map(state.trainable.map((t) => [t.name, t]));
  (state.optimizerGroups ?? []).forEach((group, gi) => {
    const path = `checkpoint.optimizerGroups[${gi}]`;
    const covered = new Set<string>();
    let momentCount: number | undefined;
    group.states.forEach((s, si) => {
      const p = trainable.get(s.paramName);
      if (!p) throw new OmniRangeError(`${path}.states[${si}].paramName`, 'the name of a trainable parameter', s.paramName);
      if (covered.has(s.paramName)) throw new OmniRangeError(`${path}.states[${si}].paramName`, 'each parameter once', s.paramName);
      covered.add(s.paramName);
      momentCount ??= s.momentums.length;
      if (s.momentums.length !== momentCount) throw new OmniRangeError(`${path}.states[${si}].momentums.length`, `${momentCount}`, s.momentums.length);
      s.momentums.forEach((m, mi) => {
        check(m, `${path}.states[${si}].momentums[${mi}]`);
        if (m.name !== `momentum${mi}`) throw new OmniRangeError(`${path}.states[${si}].momentums[${mi}].name`, `"momentum${mi}"`, m.name);
        if (fmtShape(m.dims) !== fmtShape(p.dims)) throw new OmniRangeError(`${path}.states[${si}].momentums[${mi}].dims`, fmtShape(p.dims), fmtShape(m.dims));
      });
    });
    for (const name of trainable.keys()) {
      if (!covered.has(name)) throw new OmniRangeError(`${path}.states`, `a state for every trainable parameter (missing ${name})`, group.states.length);
    }
  });
}

function writeTensor(b: Builder, t: CheckpointTensor): Offset {
  const name = b.createString(t.name);
  const doc = b.createString('');
  b.startVector(8, t.dims.length, 8);
  for (let i = t.dims.length - 1; i >= 0; i--) b.addInt64(BigInt(t.dims[i]));
  const dims = b.endVector();
  const raw = b.createByteVector(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  b.startObject(7);
  b.addFieldOffset(TENSOR.name, name, 0);
  b.addFieldOffset(TENSOR.docString, doc, 0);
  b.addFieldOffset(TENSOR.dims, dims, 0);
  b.addFieldInt32(TENSOR.dataType, FLOAT_TYPE, 0);
  b.addFieldOffset(TENSOR.rawData, raw, 0);
  return b.endObject();
}

function offsetVector(b: Builder, offsets: readonly Offset[]): Offset {
  b.startVector(4, offsets.length, 4);
  for (let i = offsets.length - 1; i >= 0; i--) b.addOffset(offsets[i]);
  return b.endVector();
}

function writeProperties<T>(b: Builder, entries: Record<string, T>, addValue: (b: Builder, v: T) => void, prepare?: (b: Builder, v: T) => Offset): Offset {
  const offs = Object.entries(entries).map(([k, v]) => {
    const name = b.createString(k);
    const prepared = prepare ? prepare(b, v) : 0;
    b.startObject(2);
    b.addFieldOffset(PROPERTY.name, name, 0);
    if (prepare) b.addFieldOffset(PROPERTY.value, prepared, 0);
    else addValue(b, v);
    return b.endObject();
  });
  return offsetVector(b, offs);
}

/** Serialises a checkpoint (validated first). */
export function writeCheckpoint(state: CheckpointState): Uint8Array {
  validateCheckpoint(state);
  const b = new Builder(1024);
  const trainable = offsetVector(b, state.trainable.map((t) => writeTensor(b, t)));
  const frozen = offsetVector(b, state.frozen.map((t) => writeTensor(b, t)));
  b.startObject(4);
  b.addFieldOffset(MODULE_STATE.requiresGrad, trainable, 0);
  b.addFieldOffset(MODULE_STATE.frozen, frozen, 0);
  b.addFieldInt8(MODULE_STATE.isNominal, state.nominal ? 1 : 0, 0);
  b.addFieldInt8(MODULE_STATE.hasExternalData, 0, 0);
  const moduleState = b.endObject();

  let groups: Offset | undefined;
  if (state.optimizerGroups && state.optimizerGroups.length > 0) {
    groups = offsetVector(
      b,
      state.optimizerGroups.map((g) => {
        const states = offsetVector(
          b,
          g.states.map((s) => {
            const pname = b.createString(s.paramName);
            const moms = offsetVector(b, s.momentums.map((m) => writeTensor(b, m)));
            b.startObject(2);
            b.addFieldOffset(PARAM_OPT_STATE.paramName, pname, 0);
            b.addFieldOffset(PARAM_OPT_STATE.momentums, moms, 0);
            return b.endObject();
          }),
        );
        const gname = b.createString(g.groupName);
        b.startObject(4);
        b.addFieldOffset(OPT_GROUP.groupName, gname, 0);
        b.addFieldInt64(OPT_GROUP.step, BigInt(g.step), BigInt(0));
        b.addFieldFloat32(OPT_GROUP.initialLr, g.initialLearningRate, 0);
        b.addFieldOffset(OPT_GROUP.states, states, 0);
        return b.endObject();
      }),
    );
  }

  const props = state.properties ?? {};
  const ints = writeProperties(b, props.ints ?? {}, (bb, v: number) => bb.addFieldInt64(PROPERTY.value, BigInt(v), BigInt(0)));
  const floats = writeProperties(b, props.floats ?? {}, (bb, v: number) => bb.addFieldFloat32(PROPERTY.value, v, 0));
  const strings = writeProperties(b, props.strings ?? {}, () => undefined, (bb, v: string) => bb.createString(v));
  b.startObject(3);
  b.addFieldOffset(PROPERTY_BAG.ints, ints, 0);
  b.addFieldOffset(PROPERTY_BAG.floats, floats, 0);
  b.addFieldOffset(PROPERTY_BAG.strings, strings, 0);
  const bag = b.endObject();

  b.startObject(4);
  b.addFieldInt32(CHECKPOINT.version, CHECKPOINT_VERSION, 0);
  b.addFieldOffset(CHECKPOINT.moduleState, moduleState, 0);
  if (groups !== undefined) b.addFieldOffset(CHECKPOINT.optimizerGroups, groups, 0);
  b.addFieldOffset(CHECKPOINT.propertyBag, bag, 0);
  const root = b.endObject();
  b.finish(root, FILE_IDENTIFIER);
  return b.asUint8Array().slice();
}

// ------------------------------------------------------------------ reader

/** Minimal table accessor over a ByteBuffer. */
class Table {
  constructor(
    readonly bb: ByteBuffer,
    readonly pos: number,
  ) {}
  private field(slot: number): number {
    return this.bb.__offset(this.pos, 4 + 2 * slot);
  }
  has(slot: number): boolean {
    return this.field(slot) !== 0;
  }
  string(slot: number): string {
    const o = this.field(slot);
    return o ? (this.bb.__string(this.pos + o) as string) : '';
  }
  int32(slot: number, d = 0): number {
    const o = this.field(slot);
    return o ? this.bb.readInt32(this.pos + o) : d;
  }
  int64(slot: number): bigint {
    const o = this.field(slot);
    return o ? this.bb.readInt64(this.pos + o) : BigInt(0);
  }
  float32(slot: number): number {
    const o = this.field(slot);
    return o ? this.bb.readFloat32(this.pos + o) : 0;
  }
  bool(slot: number): boolean {
    const o = this.field(slot);
    return o ? this.bb.readInt8(this.pos + o) !== 0 : false;
  }
  tables(slot: number): Table[] {
    const o = this.field(slot);
    if (!o) return [];
    const start = this.bb.__vector(this.pos + o);
    const n = this.bb.__vector_len(this.pos + o);
    return Array.from({ length: n }, (_, i) => new Table(this.bb, this.bb.__indirect(start + 4 * i)));
  }
  int64s(slot: number): number[] {
    const o = this.field(slot);
    if (!o) return [];
    const start = this.bb.__vector(this.pos + o);
    const n = this.bb.__vector_len(this.pos + o);
    return Array.from({ length: n }, (_, i) => Number(this.bb.readInt64(start + 8 * i)));
  }
  bytes(slot: number): Uint8Array {
    const o = this.field(slot);
    if (!o) return new Uint8Array(0);
    const start = this.bb.__vector(this.pos + o);
    const n = this.bb.__vector_len(this.pos + o);
    return this.bb.bytes().slice(start, start + n);
  }
}

function readTensor(t: Table, path: string): CheckpointTensor {
  const type = t.int32(TENSOR.dataType);
  if (type !== FLOAT_TYPE) throw new OmniRangeError(`${path}.data_type`, '1 (float)', type);
  const raw = t.bytes(TENSOR.rawData);
  return { name: t.string(TENSOR.name), dims: t.int64s(TENSOR.dims), data: new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4) };
}

/** Parses a checkpoint written by {@link writeCheckpoint} or by ONNX Runtime. */
export function readCheckpoint(bytes: Uint8Array): CheckpointState {
  if (!(bytes instanceof Uint8Array)) throw new OmniTypeError('checkpoint', 'a Uint8Array', bytes);
  const bb = new ByteBuffer(bytes);
  if (bytes.length < 8 || !bb.__has_identifier(FILE_IDENTIFIER)) {
    throw new OmniRangeError('checkpoint', `a flatbuffer with file identifier "${FILE_IDENTIFIER}"`, `${bytes.length} bytes`);
  }
  const root = new Table(bb, bb.readInt32(bb.position()) + bb.position());
  const version = root.int32(CHECKPOINT.version);
  if (version !== CHECKPOINT_VERSION) throw new OmniRangeError('checkpoint.version', `${CHECKPOINT_VERSION}`, version);
  const module = new Table(bb, bb.__indirect(root.pos + bb.__offset(root.pos, 4 + 2 * CHECKPOINT.moduleState)));
  const trainable = module.tables(MODULE_STATE.requiresGrad).map((t, i) => readTensor(t, `checkpoint.trainable[${i}]`));
  const frozen = module.tables(MODULE_STATE.frozen).map((t, i) => readTensor(t, `checkpoint.frozen[${i}]`));
  const optimizerGroups = root.tables(CHECKPOINT.optimizerGroups).map((g) => ({
    groupName: g.string(OPT_GROUP.groupName),
    step: Number(g.int64(OPT_GROUP.step)),
    initialLearningRate: g.float32(OPT_GROUP.initialLr),
    states: g.tables(OPT_GROUP.states).map((s) => ({
      paramName: s.string(PARAM_OPT_STATE.paramName),
      momentums: s.tables(PARAM_OPT_STATE.momentums).map((m, i) => readTensor(m, `momentums[${i}]`)),
    })),
  }));
  const properties: { ints: Record<string, number>; floats: Record<string, number>; strings: Record<string, string> } = { ints: {}, floats: {}, strings: {} };
  const bagOffset = bb.__offset(root.pos, 4 + 2 * CHECKPOINT.propertyBag);
  if (bagOffset) {
    const bag = new Table(bb, bb.__indirect(root.pos + bagOffset));
    for (const p of bag.tables(PROPERTY_BAG.ints)) properties.ints[p.string(PROPERTY.name)] = Number(p.int64(PROPERTY.value));
    for (const p of bag.tables(PROPERTY_BAG.floats)) properties.floats[p.string(PROPERTY.name)] = p.float32(PROPERTY.value);
    for (const p of bag.tables(PROPERTY_BAG.strings)) properties.strings[p.string(PROPERTY.name)] = p.string(PROPERTY.value);
  }
  return { trainable, frozen, nominal: module.bool(MODULE_STATE.isNominal), optimizerGroups, properties };
}

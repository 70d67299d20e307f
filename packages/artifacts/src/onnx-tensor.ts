// ONNX tensors (initializers, Constant values) as the builder's typed arrays: raw_data or
// typed fields, external-data files, doubles/halves loaded as float32.

import type { AnyTensorArray, DType } from './onnx.js';
import type { ReadTensor } from './onnx-read.js';
import type { Folded } from './ops/types.js';
import { fmtShape, numel } from './shapes.js';

/** Thrown for a model the importer cannot take; the message names the node, op and what to do. */
export class OnnxImportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OnnxImportError';
  }
}

/** The builder dtype each ONNX element type is loaded as (doubles and halves become float32, small ints int32). */
export const LOADED_DTYPES: Readonly<Record<string, DType>> = { float32: 'float32', float64: 'float32', float16: 'float32', int64: 'int64', int32: 'int32', int16: 'int32', int8: 'int32', uint8: 'uint8', bool: 'bool' };

/** The data of an initializer or tensor attribute as one of the builder's typed arrays (copied). */
export function tensorData(t: ReadTensor, readExternal?: (location: string) => Uint8Array): Folded {
  const dtype = LOADED_DTYPES[t.dtype];
  if (!dtype) throw new OnnxImportError(`tensor "${t.name}": element type ${t.dtype} is not supported (float, double, half, int8–int64, uint8, bool are)`);
  const count = numel(t.dims);
  let raw = t.raw;
  if (t.external) raw = externalBytes(t, readExternal);
  let data: AnyTensorArray;
  if (raw !== null && t.dtype === 'float32') {
    if (raw.byteLength !== count * 4) throw new OnnxImportError(`tensor "${t.name}": ${raw.byteLength} bytes of data for dims ${fmtShape(t.dims)} (float32 needs ${count * 4})`);
    data = new Float32Array(raw.slice().buffer);
  } else if (raw !== null && t.dtype === 'int64') {
    if (raw.byteLength !== count * 8) throw new OnnxImportError(`tensor "${t.name}": ${raw.byteLength} bytes of data for dims ${fmtShape(t.dims)} (int64 needs ${count * 8})`);
    data = new BigInt64Array(raw.slice().buffer);
  } else if (raw === null && t.dtype === 'int64') {
    data = BigInt64Array.from(t.int64Data);
  } else {
    const values = rawValues(t, raw);
    data =
      dtype === 'float32' ? Float32Array.from(values) : dtype === 'int64' ? BigInt64Array.from(values, (v) => BigInt(v)) : dtype === 'int32' ? Int32Array.from(values) : Uint8Array.from(values);
  }
  if (data.length !== count) throw new OnnxImportError(`tensor "${t.name}": ${data.length} values for dims ${fmtShape(t.dims)}`);
  return { dtype, dims: [...t.dims], data };
}

function rawValues(t: ReadTensor, raw: Uint8Array | null): ArrayLike<number> {
  if (raw === null) {
    if (t.dtype === 'float16') return Float32Array.from(t.int32Data, halfToFloat);
    return t.floatData.length ? t.floatData : t.doubleData.length ? t.doubleData : t.int32Data;
  }
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const count = numel(t.dims);
  const size = { float64: 8, float16: 2, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1 }[t.dtype] ?? 1;
  if (raw.byteLength !== count * size) throw new OnnxImportError(`tensor "${t.name}": ${raw.byteLength} bytes of data for dims ${fmtShape(t.dims)} of ${t.dtype}`);
  const read: (o: number) => number =
    t.dtype === 'float64'
      ? (o) => view.getFloat64(o, true)
      : t.dtype === 'float16'
        ? (o) => halfToFloat(view.getUint16(o, true))
        : t.dtype === 'int32'
          ? (o) => view.getInt32(o, true)
          : t.dtype === 'int16'
            ? (o) => view.getInt16(o, true)
            : t.dtype === 'int8'
              ? (o) => view.getInt8(o)
              : (o) => view.getUint8(o);
  return Float64Array.from({ length: count }, (_, i) => read(i * size));
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? Number.NaN : s * Number.POSITIVE_INFINITY;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

function externalBytes(t: ReadTensor, readExternal?: (location: string) => Uint8Array): Uint8Array {
  const location = t.externalData.location;
  if (!location) throw new OnnxImportError(`tensor "${t.name}": external data without a "location" entry`);
  if (!readExternal) throw new OnnxImportError(`tensor "${t.name}" lives in the external file "${location}": load the model from its file (loadOnnxModel) so the file can be read`);
  const file = readExternal(location);
  const offset = Number(t.externalData.offset ?? 0);
  const length = t.externalData.length !== undefined ? Number(t.externalData.length) : file.byteLength - offset;
  if (offset + length > file.byteLength) throw new OnnxImportError(`tensor "${t.name}": external file "${location}" has ${file.byteLength} bytes, needs ${offset + length}`);
  return file.subarray(offset, offset + length);
}


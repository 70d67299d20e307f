// Writes new values into a model's float initializers and leaves every other byte of the
// model as it was: the trained student keeps the user's graph, names, opsets and metadata,
// so it drops back into their deployment.

import { ProtoReader } from './onnx-read.js';
import { ProtoWriter } from './proto.js';
import { OnnxImportError } from './onnx-tensor.js';
import { numel } from './shapes.js';

const MODEL_GRAPH = 7;
const GRAPH_INITIALIZER = 5;
const TENSOR_DIMS = 1;
const TENSOR_NAME = 8;

/** Copies each field of a message verbatim, or lets `replace` substitute its payload. */
function rewriteFields(bytes: Uint8Array, replace: (field: number, payload: Uint8Array) => Uint8Array | undefined): Uint8Array {
  const r = new ProtoReader(bytes);
  const chunks: Uint8Array[] = [];
  for (;;) {
    const start = r.pos;
    const tag = r.tag();
    if (tag === null) break;
    if (tag.wire === 2) {
      const payload = r.bytesView();
      const replaced = replace(tag.field, payload);
      chunks.push(replaced ? new ProtoWriter().bytes(tag.field, replaced).finish() : bytes.subarray(start, r.pos));
    } else {
      r.skip(tag.wire);
      chunks.push(bytes.subarray(start, r.pos));
    }
  }
  const out = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

function tensorNameAndDims(payload: Uint8Array): { name: string; dims: number[] } {
  const r = new ProtoReader(payload);
  let name = '';
  const dims: number[] = [];
  for (let tag = r.tag(); tag !== null; tag = r.tag()) {
    if (tag.field === TENSOR_NAME) name = r.string();
    else if (tag.field === TENSOR_DIMS) r.repeated(tag.wire, 0, (x) => dims.push(x.int()));
    else r.skip(tag.wire);
  }
  return { name, dims };
}

/**
 * `model` with the float initializers named in `values` replaced (stored inline as raw
 * float32, external data included); every other field is copied byte for byte.
 *
 * @example
 * const trained = replaceInitializers(originalBytes, new Map([['backbone.conv1.weight', w]]));
 */
export function replaceInitializers(model: Uint8Array, values: ReadonlyMap<string, Float32Array>): Uint8Array {
  const done = new Set<string>();
  const out = rewriteFields(model, (field, graph) => {
    if (field !== MODEL_GRAPH) return undefined;
    return rewriteFields(graph, (f, tensor) => {
      if (f !== GRAPH_INITIALIZER) return undefined;
      const { name, dims } = tensorNameAndDims(tensor);
      const v = values.get(name);
      if (!v) return undefined;
      if (v.length !== numel(dims)) throw new OnnxImportError(`initializer "${name}": ${v.length} new values for dims [${dims.join(', ')}]`);
      done.add(name);
      return new ProtoWriter()
        .packedInts(1, dims)
        .int(2, 1)
        .string(8, name)
        .bytes(9, new Uint8Array(v.buffer, v.byteOffset, v.byteLength))
        .finish();
    });
  });
  const missing = [...values.keys()].filter((k) => !done.has(k));
  if (missing.length > 0) throw new OnnxImportError(`replaceInitializers: the model has no initializer named ${missing.slice(0, 5).map((m) => `"${m}"`).join(', ')}`);
  return out;
}

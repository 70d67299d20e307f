// Loads the onnxruntime-web 1.19.2 training runtime in Node from the installed package (never
// from the network) and turns the wasm's bare-number C++ exceptions back into readable errors.
// See ../shared/ORT-TRAINING.md "Loading the training runtime in Node".

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as OrtWeb from 'onnxruntime-web';
import { expectInteger } from '@omnidistill/core';

/** The onnxruntime-web module surface the training engine uses. */
export type OrtWebModule = typeof OrtWeb;

/** The version this package is pinned to: the last onnxruntime-web with the training API. */
export const ORT_WEB_TRAINING_VERSION = '1.19.2';

/** A loaded wasm training runtime (one per process: the wasm module is a process-wide singleton). */
export interface WasmTrainingRuntime {
  readonly ort: OrtWebModule;
  /** Threads the wasm runs on. */
  readonly numThreads: number;
  /** onnxruntime-web version that was loaded. */
  readonly version: string;
  /** Folder of the installed package's `dist/` the runtime came from. */
  readonly distDir: string;
}

/** Options of {@link loadWasmTrainingRuntime}. */
export interface WasmRuntimeOptions {
  /**
   * Wasm threads (default 1). More than one needs browser shims (a `fetch` for `file://` URLs and
   * `globalThis.location`), which this loader installs; on 2 cores it has not been faster.
   */
  readonly numThreads?: number;
}

/** Raised when the wasm runtime fails; `message` is ORT's own text whenever it can be recovered. */
export class WasmRuntimeError extends Error {
  /** The operation that failed, e.g. `runTrainStep`. */
  readonly operation: string;
  /** The C++ exception pointer when the failure escaped as a bare number, else undefined. */
  readonly exceptionPointer: number | undefined;
  constructor(operation: string, message: string, exceptionPointer?: number, options?: { cause?: unknown }) {
    super(`${operation}: ${message}`, options);
    this.name = 'WasmRuntimeError';
    this.operation = operation;
    this.exceptionPointer = exceptionPointer;
  }
}

// The subset of the WebAssembly JS API used here (the Node typings in this workspace lack it).
interface WasmMemoryLike {
  readonly buffer: ArrayBuffer;
}
interface WasmTableLike {
  get(index: number): unknown;
}
interface WasmApi {
  instantiate: (source: unknown, imports?: unknown) => Promise<unknown>;
  Memory: abstract new (...args: never[]) => WasmMemoryLike;
  Table: abstract new (...args: never[]) => WasmTableLike;
  RuntimeError: abstract new (...args: never[]) => Error;
}
const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
type WasmImports = Record<string, Record<string, unknown>>;

/** What the loader captured of the wasm instance, to decode escaped C++ exceptions. */
interface WasmInternals {
  memory: WasmMemoryLike | undefined;
  table: WasmTableLike | undefined;
  /** Whether the stack-free workaround is installed. */
  stackFreePatched: boolean;
}

const internals: WasmInternals = { memory: undefined, table: undefined, stackFreePatched: false };
let loaded: { promise: Promise<WasmTrainingRuntime>; numThreads: number } | undefined;

/** Finds `dist/` of the installed onnxruntime-web (its `require` entry lives there). */
export function resolveOrtWebDist(): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve('onnxruntime-web'));
}

/**
 * Loads the onnxruntime-web training runtime from the installed package. Idempotent: later calls
 * return the same runtime; asking for a different thread count afterwards is an error.
 *
 * @example
 * const { ort } = await loadWasmTrainingRuntime();
 * const session = await ort.TrainingSession.create({ checkpointState, trainModel, optimizerModel });
 */
export function loadWasmTrainingRuntime(options: WasmRuntimeOptions = {}): Promise<WasmTrainingRuntime> {
  const numThreads = expectInteger(options.numThreads ?? 1, 'options.numThreads', 1);
  if (loaded) {
    if (loaded.numThreads !== numThreads) {
      return Promise.reject(
        new Error(
          `options.numThreads: the wasm training runtime is already loaded with ${loaded.numThreads} thread(s) ` +
            `in this process and cannot be reloaded with ${numThreads}`,
        ),
      );
    }
    return loaded.promise;
  }
  const promise = importRuntime(numThreads);
  loaded = { promise, numThreads };
  promise.catch(() => {
    loaded = undefined;
  });
  return promise;
}

async function importRuntime(numThreads: number): Promise<WasmTrainingRuntime> {
  const distDir = resolveOrtWebDist();
  const bundle = join(distDir, 'ort.training.wasm.min.mjs');
  const wasmFile = join(distDir, 'ort-training-wasm-simd-threaded.wasm');
  let wasmBinary: Uint8Array;
  try {
    wasmBinary = readFileSync(wasmFile);
  } catch (cause) {
    throw new Error(`cannot read the training wasm ${wasmFile}: is onnxruntime-web@${ORT_WEB_TRAINING_VERSION} installed?`, { cause });
  }
  if (numThreads > 1) installThreadShims(distDir);
  const ort = (await import(pathToFileURL(bundle).href)) as OrtWebModule;
  const version = ort.env.versions.web ?? 'unknown';
  if (version !== ORT_WEB_TRAINING_VERSION) {
    throw new Error(`onnxruntime-web ${version} is installed; the training runtime needs exactly ${ORT_WEB_TRAINING_VERSION}`);
  }
  // ORT logs a warning per optimizer step for SGDOptimizerV2's scalar flag (declared [] as the
  // runtime requires, produced as [1]); real failures still surface as errors.
  ort.env.logLevel = 'error';
  ort.env.wasm.wasmBinary = wasmBinary;
  ort.env.wasm.numThreads = numThreads;
  ort.env.wasm.wasmPaths = { mjs: pathToFileURL(join(distDir, 'ort-training-wasm-simd-threaded.mjs')).href } as never;
  const names = findExportNames(readFileSync(join(distDir, 'ort-training-wasm-simd-threaded.mjs'), 'utf8'));
  if (!names) {
    process.emitWarning('omnidistill: could not locate free/stackAlloc in the onnxruntime-web glue code; parameter read-back may corrupt the wasm heap');
  }
  captureInstanceOnce(wasmBinary.byteLength, names);
  return { ort, numThreads, version, distDir };
}

/** Minified export names of the functions the stack-free workaround wraps. */
export interface ExportNames {
  free: string;
  stackAlloc: string;
  stackRestore: string;
}

/** Finds the wasm export names behind `_free`, `stackAlloc` and `stackRestore` in the installed glue code. */
export function findExportNames(glue: string): ExportNames | undefined {
  const viaAlias = (api: string): string | undefined => {
    const alias = new RegExp(`w\\.${api}=a=>([\\w$]+)\\(a\\)`).exec(glue)?.[1];
    if (!alias) return undefined;
    const esc = alias.replace(/\$/g, '\\$');
    return new RegExp(`${esc}=a=>\\(${esc}=Z\\.([\\w$]+)\\)\\(a\\)`).exec(glue)?.[1];
  };
  const free = /w\._free=a=>\(w\._free=Z\.([\w$]+)\)\(a\)/.exec(glue)?.[1];
  const stackAlloc = viaAlias('stackAlloc');
  const stackRestore = viaAlias('stackRestore');
  return free && stackAlloc && stackRestore ? { free, stackAlloc, stackRestore } : undefined;
}

/**
 * onnxruntime-web 1.19.2's getContiguousParameters and loadParametersBuffer call `_free` on a
 * pointer they got from `stackAlloc` (the dims of a temporary tensor). That corrupts the heap
 * and crashes later (typically `memory access out of bounds` in release()). The workaround
 * remembers stack allocations made from JS and turns `free` of one of them into a no-op.
 */
export function patchStackFree(exports: Record<string, unknown>, names: ExportNames): Record<string, unknown> {
  const free = exports[names.free] as (p: number) => void;
  const stackAlloc = exports[names.stackAlloc] as (n: number) => number;
  const stackRestore = exports[names.stackRestore] as (sp: number) => void;
  const onStack = new Set<number>();
  return {
    ...exports,
    [names.stackAlloc]: (n: number) => {
      const p = stackAlloc(n);
      onStack.add(p >>> 0);
      return p;
    },
    [names.stackRestore]: (sp: number) => {
      // The stack grows down: everything allocated below the restored pointer is released.
      for (const p of onStack) if (p < sp >>> 0) onStack.delete(p);
      stackRestore(sp);
    },
    [names.free]: (p: number) => {
      if (onStack.has(p >>> 0)) return;
      free(p);
    },
  };
}

/**
 * The wasm is instantiated lazily on the first session. Wrapping `WebAssembly.instantiate` once lets
 * us keep its memory and function table (all that is needed to ask an escaped C++ exception for
 * its `what()`) and install the stack-free workaround above. The wrapper removes itself after.
 */
function captureInstanceOnce(binaryLength: number, names: ExportNames | undefined): void {
  const original = Wasm.instantiate;
  Wasm.instantiate = async (source: unknown, imports?: unknown) => {
    const result = (await original.call(Wasm, source, imports)) as { instance: { exports: Record<string, unknown> }; module: unknown };
    const isOurs = ArrayBuffer.isView(source) && source.byteLength === binaryLength;
    if (!isOurs) return result;
    Wasm.instantiate = original;
    const exports = Object.values(result.instance.exports);
    internals.table = exports.find((v): v is WasmTableLike => v instanceof Wasm.Table);
    internals.memory =
      exports.find((v): v is WasmMemoryLike => v instanceof Wasm.Memory) ?? findImportedMemory(imports as WasmImports | undefined);
    if (!names) return result;
    internals.stackFreePatched = true;
    return { module: result.module, instance: { exports: patchStackFree(result.instance.exports, names) } };
  };
}

function findImportedMemory(imports: WasmImports | undefined): WasmMemoryLike | undefined {
  for (const mod of Object.values(imports ?? {})) {
    for (const v of Object.values(mod)) if (v instanceof Wasm.Memory) return v;
  }
  return undefined;
}

/** The threaded bundle believes it runs in a browser: it re-imports itself and fetches by URL. */
function installThreadShims(distDir: string): void {
  const g = globalThis as { location?: unknown; fetch: typeof fetch };
  // file: URLs have the opaque origin "null"; matching it keeps the bundle from re-importing itself via a blob: URL.
  g.location ??= { href: pathToFileURL(distDir + '/').href, origin: 'null' };
  const originalFetch = g.fetch;
  g.fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (url.startsWith('file://')) {
      const bytes = readFileSync(new URL(url));
      return new Response(bytes, { headers: { 'content-type': url.endsWith('.mjs') ? 'text/javascript' : 'application/wasm' } });
    }
    return originalFetch(input, init);
  }) as typeof fetch;
}

/** Whether the workaround for onnxruntime-web 1.19.2 freeing stack memory (see patchStackFree) is installed. */
export function stackFreeWorkaroundInstalled(): boolean {
  return internals.stackFreePatched;
}

/** Whether the loader holds the wasm memory and function table needed to decode escaped exceptions. */
export function canDecodeWasmExceptions(): boolean {
  return internals.memory !== undefined && internals.table !== undefined;
}

function readCString(memory: WasmMemoryLike, ptr: number, max = 4096): string | undefined {
  const heap = new Uint8Array(memory.buffer);
  if (ptr <= 0 || ptr >= heap.length) return undefined;
  let end = ptr;
  while (end < heap.length && end - ptr < max && heap[end] !== 0) end++;
  return new TextDecoder().decode(heap.slice(ptr, end));
}

/**
 * Turns an escaped C++ exception (a bare number: the exception object's address) into its message:
 * reads the type name from the exception header Emscripten keeps 24 bytes before the object and,
 * for exceptions derived from std::exception, calls the virtual `what()` through the function table.
 * Returns undefined when the pointer cannot be decoded.
 */
export function describeWasmException(pointer: number): { type: string | undefined; what: string | undefined } | undefined {
  const { memory, table } = internals;
  if (!memory || !table || !Number.isInteger(pointer) || pointer < 24) return undefined;
  try {
    const u32 = new Uint32Array(memory.buffer);
    const typeInfo = u32[(pointer - 24 + 4) >>> 2];
    const type = typeInfo ? readCString(memory, u32[(typeInfo + 4) >>> 2], 256) : undefined;
    let what: string | undefined;
    // Only classes are worth asking; what() is the third slot of std::exception's vtable
    // (after the two destructors) in the Itanium C++ ABI that Emscripten uses.
    if (type && /^(N|St|\d)/.test(type)) {
      const vtable = u32[pointer >>> 2];
      const fn = table.get(u32[(vtable + 8) >>> 2]) as ((p: number) => number) | null;
      if (typeof fn === 'function') what = readCString(memory, fn(pointer) >>> 0);
    }
    return { type: type ? demangleSimple(type) : undefined, what };
  } catch {
    return undefined;
  }
}

/** Readable form of simple Itanium names such as `N11onnxruntime22OnnxRuntimeExceptionE`. */
function demangleSimple(name: string): string {
  const body = name.startsWith('N') && name.endsWith('E') ? name.slice(1, -1) : name.startsWith('St') ? `3std${name.slice(2)}` : name;
  const parts: string[] = [];
  let i = 0;
  while (i < body.length) {
    const m = /^(\d+)/.exec(body.slice(i));
    if (!m) return name;
    const len = Number(m[1]);
    i += m[1].length;
    parts.push(body.slice(i, i + len));
    i += len;
  }
  return parts.join('::');
}

/**
 * Converts anything the wasm runtime threw into a {@link WasmRuntimeError} naming the operation.
 * Bare numbers are decoded with {@link describeWasmException}; Errors keep ORT's message.
 */
export function toWasmRuntimeError(operation: string, thrown: unknown): WasmRuntimeError {
  if (thrown instanceof WasmRuntimeError) return thrown;
  if (typeof thrown === 'number') {
    const decoded = describeWasmException(thrown);
    const detail = decoded?.what
      ? `${conciseOrtMessage(decoded.what)}${decoded.type ? ` (${decoded.type})` : ''}`
      : `an uncaught C++ exception${decoded?.type ? ` of type ${decoded.type}` : ''} at 0x${thrown.toString(16)} (message unavailable)`;
    return new WasmRuntimeError(
      operation,
      `ONNX Runtime (wasm) threw ${detail}; the runtime may be left in an inconsistent state — create a new session`,
      thrown,
    );
  }
  if (thrown instanceof Error) {
    const abort = thrown instanceof Wasm.RuntimeError ? ' (the wasm aborted; create a new session)' : '';
    return new WasmRuntimeError(operation, `${thrown.message}${abort}`, undefined, { cause: thrown });
  }
  return new WasmRuntimeError(operation, `ONNX Runtime (wasm) threw a non-error value: ${String(thrown)}`);
}

/**
 * ORT's enforce messages read `file:line Signature(...) condition was false. Message`: put the
 * message first and keep the location after it.
 */
function conciseOrtMessage(what: string): string {
  const text = what.trim();
  const cut = text.lastIndexOf(' was false. ');
  const location = /^(\S+:\d+) /.exec(text)?.[1];
  const status = /\[ONNXRuntimeError\] : \d+ : \w+ : (.+)$/s.exec(text);
  if (status && location) return `${status[1].trim()} (at ${location.replace(/^.*\/(orttraining|onnxruntime)\//, '$1/')})`;
  if (cut < 0 || !location) return text;
  return `${text.slice(cut + ' was false. '.length).trim()} (ORT check failed at ${location.replace(/^.*\/(orttraining|onnxruntime)\//, '$1/')})`;
}

/** Runs `fn`, rethrowing any failure as a readable {@link WasmRuntimeError}. */
export async function callWasm<T>(operation: string, fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (thrown) {
    throw toWasmRuntimeError(operation, thrown);
  }
}

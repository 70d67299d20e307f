// Loads the onnxruntime-web 1.19.2 training runtime in Node (single thread, wasm from the
// installed package, never from the network), as ORT-TRAINING.md describes.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const DIST = new URL('../node_modules/onnxruntime-web/dist/', import.meta.url);

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type OrtWeb = any;
let cached: Promise<OrtWeb> | undefined;

export function loadOrtTraining(): Promise<OrtWeb> {
  cached ??= (async () => {
    const ort = await import(fileURLToPath(new URL('ort.training.wasm.min.mjs', DIST)));
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.wasmBinary = readFileSync(new URL('ort-training-wasm-simd-threaded.wasm', DIST));
    return ort;
  })();
  return cached;
}

/** Turns a bare-number wasm exception into something readable for test failures. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function withReadableErrors(what: string, f: () => Promise<any>): Promise<any> {
  try {
    return await f();
  } catch (e) {
    if (typeof e === 'number') throw new Error(`${what}: wasm exception pointer ${e}`);
    throw e;
  }
}

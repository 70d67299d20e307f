// Unit test of the workaround for onnxruntime-web 1.19.2 freeing stack memory (internal module:
// the bug reproduces only now and then in a real session, so the wrapper is tested directly).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findExportNames, patchStackFree, resolveOrtWebDist } from '../src/ort-web.js';

describe('stack-free workaround', () => {
  it('finds the free/stackAlloc/stackRestore exports in the installed glue code', () => {
    const glue = readFileSync(join(resolveOrtWebDist(), 'ort-training-wasm-simd-threaded.mjs'), 'utf8');
    const names = findExportNames(glue)!;
    expect(names).toBeDefined();
    expect(new Set([names.free, names.stackAlloc, names.stackRestore]).size).toBe(3);
  });

  it('turns free() of a JS stack allocation into a no-op and passes heap pointers through', () => {
    const freed: number[] = [];
    let sp = 1000;
    const exports = {
      f: (p: number) => void freed.push(p),
      sa: (n: number) => (sp -= n),
      sr: (p: number) => void (sp = p),
      other: 42,
    };
    const patched = patchStackFree(exports, { free: 'f', stackAlloc: 'sa', stackRestore: 'sr' }) as typeof exports;
    expect(patched.other).toBe(42);
    const saved = sp;
    const dims = patched.sa(4); // what getContiguousParameters does…
    patched.f(5000); // a heap pointer is freed
    patched.f(dims); // …and then frees the stack pointer: ignored
    expect(freed).toEqual([5000]);
    patched.sr(saved);
    patched.f(dims); // after the restore the address is no longer a live stack allocation
    expect(freed).toEqual([5000, dims]);
  });
});

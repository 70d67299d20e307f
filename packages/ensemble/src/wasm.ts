// The `wasm` backend: the hot loops of the `ts` backend (combining the T maps, the pruned
// bicubic argmax) as a WebAssembly SIMD kernel (assembly/kernel.ts, compiled by AssemblyScript
// into wasm/kernel.wasm, which ships with the package), for machines where the native addon
// cannot load. Needs no addon: the module is read and instantiated on first use. Where this
// runtime cannot instantiate it (no WebAssembly, no SIMD), `wasmStatus()` says why and backend
// selection passes over `wasm` to `ts` with that reason. Results equal the reference bit for
// bit (the kernel does the same float32 operations in the same order); the rare maps the
// kernel leaves to the caller (an overflowed average, |logit| > 1e30) and probabilities take
// the reference path, as in the `ts` backend.
import { readFileSync } from 'node:fs';
import { decodesByReference, tapsFor, type Taps } from './fast.js';
import { assertFiniteHeatmaps, decodeMap, referenceDecode, referenceEnsembleAndDecode, roiCells, writeKeypoint, type DecodedKeypoints } from './reference.js';
import type { DecodeJob, EnsembleJob } from './validate.js';

const f = Math.fround;

// The few WebAssembly JS API members used here (this project's TypeScript libs carry no DOM types).
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: object };
};

/** What the kernel module exports (assembly/kernel.ts). */
interface KernelExports {
  memory: WasmMemory;
  heapBase(): number;
  scratchBytes(m: number, W: number, H: number): number;
  setRoi(m: number, W: number, H: number, taps: number, posMin: number, posMax: number, negMin: number, negMax: number, absMax: number, scratch: number): void;
  ensembleKeypoint(table: number, count: number, avg: number, weightSum: number, out: number, decode: number, result: number): number;
}

// What ensembleKeypoint returns (kernel.ts).
const DONE = 0;
const NONFINITE = 1;
const PAGE = 65536;

/** The kernel instantiated, or the reason it cannot be here. */
export type WasmStatus = { usable: true; kernel: WasmKernel } | { usable: false; reason: string };

/** Byte regions of one call, 16-byte aligned, from the module's heap base. */
interface Layout {
  table: number;
  result: number;
  taps: number;
  out: number;
  scratch: number;
  maps: number;
}

const align = (n: number): number => (n + 15) & ~15;

/** Where one call's inputs come from and what it produces. */
interface Pass {
  data: Float32Array;
  t: number;
  n: number;
  k: number;
  m: number;
  avg: boolean;
  flipped: Uint8Array;
  perm: Int32Array;
  weights: Float32Array;
  mask?: Uint8Array;
  /** Decode into these [N, K, 3] keypoints with these RoIs, or write the combined maps to `combined`. */
  rois?: Float32Array;
  keypoints?: Float32Array;
  combined?: Float32Array;
  /** Called when an averaged value is not finite: throws the reference's error when an input is. */
  onNonFinite: () => void;
}

/** The instantiated kernel and views of its memory (renewed whenever the memory grows). */
export class WasmKernel {
  private readonly x: KernelExports;
  private f32!: Float32Array;
  private i32!: Int32Array;
  private u32!: Uint32Array;

  constructor(exports: KernelExports) {
    this.x = exports;
    this.views();
  }

  private views(): void {
    const buffer = this.x.memory.buffer;
    this.f32 = new Float32Array(buffer);
    this.i32 = new Int32Array(buffer);
    this.u32 = new Uint32Array(buffer);
  }

  private layout(p: Pass, maxW: number, maxH: number): Layout {
    const mm = p.m * p.m;
    const table = align(this.x.heapBase());
    const result = align(table + 12 * p.t);
    const taps = align(result + 8);
    const out = align(taps + 32 * (maxW + maxH));
    const scratch = align(out + 4 * mm * (p.combined !== undefined ? p.k : 1));
    const maps = align(scratch + this.x.scratchBytes(p.m, maxW, maxH));
    const end = maps + 4 * p.t * mm;
    const have = this.x.memory.buffer.byteLength;
    if (end > have) {
      this.x.memory.grow(Math.ceil((end - have) / PAGE));
      this.views();
    }
    return { table, result, taps, out, scratch, maps };
  }

  /**
   * Every (RoI, keypoint) of the pass through ensembleKeypoint. Per keypoint its T maps (channel
   * perm[k] of a flipped transform) are copied side by side into the module's memory (about
   * T x 12.5 KB, which stay in L2 while they are combined; copying a RoI's T x K maps at once
   * measured about 6 % slower).
   */
  run(p: Pass): void {
    const mm = p.m * p.m;
    let maxW = 1, maxH = 1;
    if (p.rois !== undefined) {
      for (let n = 0; n < p.n; n++) {
        const [W, H] = roiCells(p.rois, n);
        maxW = Math.max(maxW, W);
        maxH = Math.max(maxH, H);
      }
    }
    const L = this.layout(p, maxW, maxH);
    const decode = p.rois !== undefined;
    const included: number[] = [];
    for (let n = 0; n < p.n; n++) {
      // The RoI's transforms in order: their flips and weights in the table.
      included.length = 0;
      let weightSum = 0;
      for (let t = 0; t < p.t; t++) {
        if (p.mask !== undefined && p.mask[t * p.n + n] === 0) continue;
        const e = (L.table >> 2) + 3 * included.length;
        this.u32[e + 1] = p.flipped[t];
        this.f32[e + 2] = p.weights[t];
        weightSum = f(weightSum + p.weights[t]);
        included.push(t);
      }
      let W = 1, H = 1, tp: Taps | undefined;
      if (decode) {
        [W, H] = roiCells(p.rois!, n);
        tp = tapsFor(p.m, W, H);
        const base = L.taps >> 2;
        this.i32.set(tp.xIndex, base);
        this.f32.set(tp.xWeight, base + 4 * W);
        this.i32.set(tp.yIndex, base + 8 * W);
        this.f32.set(tp.yWeight, base + 8 * W + 4 * H);
      }
      this.x.setRoi(p.m, W, H, L.taps, tp?.posMin ?? 0, tp?.posMax ?? 0, tp?.negMin ?? 0, tp?.negMax ?? 0, tp?.absMax ?? 0, L.scratch);
      for (let k = 0; k < p.k; k++) {
        for (let i = 0; i < included.length; i++) {
          const t = included[i];
          const channel = p.flipped[t] === 1 ? p.perm[k] : k;
          const from = ((t * p.n + n) * p.k + channel) * mm, at = L.maps + 4 * i * mm;
          this.f32.set(p.data.subarray(from, from + mm), at >> 2);
          this.u32[(L.table >> 2) + 3 * i] = at;
        }
        const out = L.out + (p.combined !== undefined ? 4 * k * mm : 0);
        const status = this.x.ensembleKeypoint(L.table, included.length, p.avg ? 1 : 0, weightSum, out, decode ? 1 : 0, L.result);
        if (status === NONFINITE) p.onNonFinite(); // an overflow alone passes: the infinities are decoded below
        if (!decode) continue;
        const item = n * p.k + k;
        if (status === DONE) writeKeypoint(p.keypoints!, item, p.rois!, n, W, H, this.i32[L.result >> 2], this.f32[(L.result >> 2) + 1]);
        // An overflowed average or |logit| > 1e30: the reference decodes the map, as on the ts backend.
        else decodeMap(this.f32.slice(out >> 2, (out >> 2) + mm), 0, p.m, p.rois!, n, p.keypoints!, undefined, item);
      }
      if (p.combined !== undefined) p.combined.set(this.f32.subarray(L.out >> 2, (L.out >> 2) + p.k * mm), n * p.k * mm);
    }
  }
}

/** The compiled kernel shipped with the package (same relative path from src/ and dist/). */
export const KERNEL_WASM_URL = new URL('../wasm/kernel.wasm', import.meta.url);

/** Instantiates the kernel from `bytes` (default: the package's wasm/kernel.wasm), or says why it cannot. */
export function instantiateKernel(bytes?: Uint8Array): WasmStatus {
  if (typeof WebAssembly !== 'object') return { usable: false, reason: 'this runtime has no WebAssembly' };
  try {
    bytes ??= readFileSync(KERNEL_WASM_URL);
  } catch (e) {
    return { usable: false, reason: `cannot read ${KERNEL_WASM_URL.pathname}: ${e instanceof Error ? e.message : String(e)}` };
  }
  try {
    const module = new WebAssembly.Module(bytes);
    const instance = new WebAssembly.Instance(module, {});
    return { usable: true, kernel: new WasmKernel(instance.exports as unknown as KernelExports) };
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    return { usable: false, reason: `cannot instantiate the WebAssembly SIMD kernel (a runtime without wasm SIMD?): ${message}` };
  }
}

let status: WasmStatus | undefined;

/** The kernel of this process (instantiated once), or why there is none. */
export function wasmStatus(): WasmStatus {
  return (status ??= instantiateKernel());
}

function kernel(): WasmKernel {
  const s = wasmStatus();
  if (!s.usable) throw new Error(`wasm kernel unavailable: ${s.reason}`);
  return s.kernel;
}

function passOf(job: EnsembleJob): Omit<Pass, 'onNonFinite'> {
  const { heatmaps: data, t, n, k, m, flipped, perm, weights, mask } = job;
  return { data, t, n, k, m, avg: job.mode === 'avg', flipped, perm, weights, ...(mask !== undefined ? { mask } : {}) };
}

/** `wasm` backend of `ensembleHeatmaps`: equal to referenceEnsemble. */
export function wasmEnsemble(job: EnsembleJob): Float32Array {
  if (job.mode === 'max') assertFiniteHeatmaps(job);
  const combined = new Float32Array(job.n * job.k * job.m * job.m);
  kernel().run({ ...passOf(job), combined, onNonFinite: () => assertFiniteHeatmaps(job) });
  return combined;
}

/** `wasm` backend of `decodeHeatmaps`: equal to referenceDecode. */
export function wasmDecode(maps: Float32Array, n: number, k: number, m: number, job: DecodeJob): DecodedKeypoints {
  if (decodesByReference(maps, job)) return referenceDecode(maps, n, k, m, job);
  const keypoints = new Float32Array(n * k * 3);
  // Decoding alone is a "combination" of one unflipped transform with weight 1: v * 1 / 1 = v exactly.
  kernel().run({
    data: maps, t: 1, n, k, m, avg: true, flipped: new Uint8Array(1), perm: new Int32Array(k), weights: Float32Array.of(1),
    rois: job.rois, keypoints, onNonFinite: () => undefined,
  });
  return { keypoints };
}

/** `wasm` backend of `ensembleAndDecode`: equal to referenceEnsembleAndDecode. */
export function wasmEnsembleAndDecode(job: EnsembleJob, decode: DecodeJob): DecodedKeypoints {
  if (decode.probability) return referenceEnsembleAndDecode(job, decode);
  if (job.mode === 'max') assertFiniteHeatmaps(job);
  const keypoints = new Float32Array(job.n * job.k * 3);
  kernel().run({ ...passOf(job), rois: decode.rois, keypoints, onNonFinite: () => assertFiniteHeatmaps(job) });
  return { keypoints };
}

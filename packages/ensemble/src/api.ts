// The public kernels: validate once in TypeScript, pick the backend, run, report which ran.
// Every call returns a Promise; native backends compute off the event loop.
import { OmniRangeError, OmniTypeError, type HeatmapBatch, type KeypointArray } from '@omnidistill/core';
import type { NativeEnsembleOptions, NativeTiming } from '@omnidistill/native';
import { nativeBinding, selectBackend, type Backend, type BackendRequest, type BackendSelection } from './backends.js';
import { fastDecode, fastEnsemble, fastEnsembleAndDecode } from './fast.js';
import { wasmDecode, wasmEnsemble, wasmEnsembleAndDecode } from './wasm.js';
import {
  checkBatch,
  checkDecode,
  checkEnsemble,
  checkThreads,
  type DecodeOptions,
  type EnsembleJob,
  type EnsembleOptions,
} from './validate.js';

/** Where to run: a backend by name, or `auto` (cuda -> cpu -> wasm -> ts). */
export interface RunOptions {
  backend?: BackendRequest;
  /** Worker threads for the cpu backend (default: all hardware threads). */
  threads?: number;
}

interface Ran {
  /** The backend that ran. */
  backend: Backend;
  /** The request, the choice and, for `auto`, each skipped backend with its reason. */
  selection: BackendSelection;
  /** Native backends: time in the kernel and in the whole native job (cuda: with copies). */
  timing?: NativeTiming;
}

export interface EnsembleResult extends Ran {
  /** The combined maps [N, K, M, M] (t = 1). */
  heatmaps: HeatmapBatch;
}

export interface DecodeResult extends Ran {
  /** [N, K, 3]: x, y in image pixels and the logit at the maximum. */
  keypoints: KeypointArray;
  /** [N, K] spatial-softmax probabilities, when `probability: true`. */
  probability?: Float32Array;
}

/** The backends that run in this thread, without the addon: their three kernels. */
const IN_PROCESS = {
  ts: { ensemble: fastEnsemble, decode: fastDecode, ensembleAndDecode: fastEnsembleAndDecode },
  wasm: { ensemble: wasmEnsemble, decode: wasmDecode, ensembleAndDecode: wasmEnsembleAndDecode },
} as const;

function nativeEnsembleOptions(job: EnsembleJob, backend: 'cpu' | 'cuda', threads: number | undefined): NativeEnsembleOptions {
  return {
    backend,
    mode: job.mode,
    flipped: job.flipped,
    perm: job.perm,
    ...(job.callerWeights !== undefined ? { weights: job.callerWeights } : {}),
    ...(job.mask !== undefined ? { mask: job.mask } : {}),
    ...(threads !== undefined ? { threads } : {}),
  };
}

/** An optional caller-owned output for the combined maps: N*K*M*M floats, apart from the input. */
function checkOutput(value: unknown, job: EnsembleJob): Float32Array | undefined {
  if (value === undefined) return undefined;
  const length = job.n * job.k * job.m * job.m;
  if (!(value instanceof Float32Array)) throw new OmniTypeError('options.output', `a Float32Array of ${length} elements`, value);
  if (value.length !== length) throw new OmniRangeError('options.output', `${length} elements ([N, K, M, M])`, value);
  const a = job.heatmaps, b = value;
  const overlap =
    a.buffer === b.buffer && b.byteOffset < a.byteOffset + a.byteLength && a.byteOffset < b.byteOffset + b.byteLength;
  if (overlap) throw new OmniRangeError('options.output', 'a buffer that does not overlap heatmaps.data', value);
  return value;
}

function timingOf(r: NativeTiming): NativeTiming {
  return { kernelMs: r.kernelMs, totalMs: r.totalMs };
}

/**
 * Combines heatmaps [T, N, K, M, M] across transforms into [N, K, M, M], written into
 * `options.output` when given (reuse it across calls to skip allocation).
 *
 * @example
 * const { heatmaps, backend } = await ensembleHeatmaps(
 *   { data, t: 18, n: 100, k: 17, m: 56 },
 *   { mode: 'avg', flipped: plan.map((p) => p.flip), flipPairs: COCO_PERSON.flipPairs },
 * );
 */
export async function ensembleHeatmaps(
  heatmaps: HeatmapBatch,
  options: EnsembleOptions & RunOptions & { output?: Float32Array },
): Promise<EnsembleResult> {
  const job = checkEnsemble(heatmaps, options);
  const threads = checkThreads(options.threads);
  const output = checkOutput(options.output, job);
  const selection = selectBackend(options.backend);
  const shape = { t: job.t, n: job.n, k: job.k, m: job.m };
  const out = (data: Float32Array): HeatmapBatch => ({ data, t: 1, n: job.n, k: job.k, m: job.m });
  if (selection.backend === 'ts' || selection.backend === 'wasm') {
    const result = IN_PROCESS[selection.backend].ensemble(job);
    if (output !== undefined) output.set(result);
    return { heatmaps: out(output ?? result), backend: selection.backend, selection };
  }
  const r = await nativeBinding().ensembleHeatmaps(job.heatmaps, shape, {
    ...nativeEnsembleOptions(job, selection.backend, threads),
    ...(output !== undefined ? { output } : {}),
  });
  return { heatmaps: out(r.output), backend: selection.backend, selection, timing: timingOf(r) };
}

/**
 * Decodes maps [N, K, M, M] (t = 1) with their image-space RoIs [N, 4] into keypoints
 * [N, K, 3] (REFERENCE.md §2: bicubic to ceil(h) x ceil(w), first maximum, +0.5 mapping).
 */
export async function decodeHeatmaps(
  maps: HeatmapBatch,
  rois: Float32Array | Float64Array,
  options: DecodeOptions & RunOptions = {},
): Promise<DecodeResult> {
  const b = checkBatch(maps, 'maps', true);
  const decode = checkDecode(options, b.n, rois);
  const threads = checkThreads(options.threads);
  const selection = selectBackend(options.backend);
  const keypointsOf = (data: Float32Array): KeypointArray => ({ data, n: b.n, k: b.k });
  if (selection.backend === 'ts' || selection.backend === 'wasm') {
    const r = IN_PROCESS[selection.backend].decode(b.data, b.n, b.k, b.m, decode);
    return { keypoints: keypointsOf(r.keypoints), ...(r.probability ? { probability: r.probability } : {}), backend: selection.backend, selection };
  }
  const r = await nativeBinding().decodeHeatmaps(b.data, { n: b.n, k: b.k, m: b.m }, decode.rois, {
    backend: selection.backend,
    probability: decode.probability,
    ...(threads !== undefined ? { threads } : {}),
  });
  return {
    keypoints: keypointsOf(r.keypoints),
    ...(r.probability ? { probability: r.probability } : {}),
    backend: selection.backend,
    selection,
    timing: timingOf(r),
  };
}

/**
 * Ensembles and decodes in one pass without materialising the combined maps: each
 * (RoI, keypoint) map is combined into a small scratch buffer and decoded at once.
 * Same result as `decodeHeatmaps(await ensembleHeatmaps(...))`, bit for bit.
 */
export async function ensembleAndDecode(
  heatmaps: HeatmapBatch,
  rois: Float32Array | Float64Array,
  options: EnsembleOptions & DecodeOptions & RunOptions,
): Promise<DecodeResult> {
  const job = checkEnsemble(heatmaps, options);
  const decode = checkDecode(options, job.n, rois);
  const threads = checkThreads(options.threads);
  const selection = selectBackend(options.backend);
  const keypointsOf = (data: Float32Array): KeypointArray => ({ data, n: job.n, k: job.k });
  if (selection.backend === 'ts' || selection.backend === 'wasm') {
    const r = IN_PROCESS[selection.backend].ensembleAndDecode(job, decode);
    return { keypoints: keypointsOf(r.keypoints), ...(r.probability ? { probability: r.probability } : {}), backend: selection.backend, selection };
  }
  const r = await nativeBinding().ensembleAndDecode(job.heatmaps, { t: job.t, n: job.n, k: job.k, m: job.m }, decode.rois, {
    ...nativeEnsembleOptions(job, selection.backend, threads),
    probability: decode.probability,
  });
  return {
    keypoints: keypointsOf(r.keypoints),
    ...(r.probability ? { probability: r.probability } : {}),
    backend: selection.backend,
    selection,
    timing: timingOf(r),
  };
}

// Loader and typed wrappers for the native addon (`build/Release/omnidistill_native.node`).
// The raw binding takes flat typed arrays + shapes; the friendly, validated API with backend
// selection lives in @omnidistill/ensemble.
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { platformKey, prebuiltPackageName, resolvePrebuilt } from './platform.js';

export { linuxLibc, platformKey, prebuiltPackageName, PREBUILT_PACKAGE_PREFIX } from './platform.js';

/** Backends the addon implements (the TypeScript reference lives in @omnidistill/ensemble). */
export type NativeBackend = 'cpu' | 'cuda';

/** Heatmap batch shape: [T, N, K, M, M]. */
export interface NativeShape {
  t: number;
  n: number;
  k: number;
  m: number;
}

/** Options every kernel call takes. */
export interface NativeCommonOptions {
  backend: NativeBackend;
  /** CPU worker threads (default: the number of hardware threads). */
  threads?: number;
}

/** Ensembling, already reduced to arrays: the caller turns flip pairs into a permutation. */
export interface NativeEnsembleOptions extends NativeCommonOptions {
  mode: 'avg' | 'max';
  /** [T]: 1 when transform t's heatmaps are horizontally flipped. */
  flipped: Uint8Array;
  /** [K]: an involution; channel c of an un-flipped map comes from channel perm[c]. */
  perm: Int32Array;
  /** [T]: per-transform weights (avg only), finite and >= 0. */
  weights?: Float32Array;
  /** [T * N]: 0 leaves transform t out for RoI n. */
  mask?: Uint8Array;
}

export interface NativeDecodeOptions extends NativeCommonOptions {
  /** Also return the spatial-softmax probability of each keypoint. */
  probability?: boolean;
}

/** Time spent in the native call: compute alone, and the whole job (CUDA: with copies). */
export interface NativeTiming {
  kernelMs: number;
  totalMs: number;
}

export interface NativeKeypoints extends NativeTiming {
  /** [N, K, 3]: x, y, logit. */
  keypoints: Float32Array;
  /** [N, K] when requested. */
  probability?: Float32Array;
}

/** Whether a backend was compiled in and whether it can run on this machine (and why not). */
export interface NativeBackendInfo {
  compiled: boolean;
  usable: boolean;
  reason?: string;
  device?: string;
  threads?: number;
  runtimeVersion?: number;
  driverVersion?: number;
}

export interface NativeBuildInfo {
  compiler: string;
  flags: string;
  cuda: boolean;
  debug: boolean;
}

/**
 * A COCO results file scanned into columns, one entry per record in file order (the numbers
 * are JSON.parse's doubles): @omnidistill/coco's `CocoResultsColumns`, which documents each.
 */
export type NativeCocoResultsColumns = Record<'imageId' | 'categoryId' | 'score' | 'bbox' | 'keypoints', Float64Array> & {
  hasBox: Uint8Array;
  kpStart: Int32Array;
  kpCount: Int32Array;
};

/**
 * A COCO dataset file scanned into columns (numbers are JSON.parse's doubles):
 * @omnidistill/coco's `CocoDatasetColumns`, which documents each.
 */
export type NativeCocoDatasetColumns = Record<
  'imageId' | 'width' | 'height' | 'annId' | 'annImageId' | 'annCategoryId' | 'area' | 'bbox' | 'numKeypoints' | 'keypoints',
  Float64Array
> & {
  imageWhole: Uint8Array;
  imageText: string;
  iscrowd: Uint8Array;
  kpStart: Int32Array;
  kpCount: Int32Array;
  restJson: string;
};

/**
 * The columns, cells and output arrays of @omnidistill/coco's COCOeval matching step (its
 * `CellMatch`, repeated here because the addon does not depend on that package).
 */
export interface NativeCocoCellMatch {
  keypoints: boolean;
  gtId: Float64Array;
  gtArea: Float64Array;
  gtCrowd: Uint8Array;
  gtIgnore: Uint8Array;
  gtBox: Float64Array;
  gtKp: Float64Array;
  gtKpOff: Int32Array;
  dtScore: Float64Array;
  dtArea: Float64Array;
  dtBox: Float64Array;
  dtKp: Float64Array;
  dtKpOff: Int32Array;
  gOrder: Int32Array;
  dOrder: Int32Array;
  cells: Int32Array;
  vars: Float64Array;
  farPerArea: number;
  thr: Float64Array;
  areaLo: Float64Array;
  areaHi: Float64Array;
  maxDetLast: number;
  detOf: Int32Array;
  rank: Int32Array;
  outcome: Uint8Array;
  npig: Float64Array;
}

/** @omnidistill/coco's `Accumulation` (the accumulate step's input and output arrays), repeated here likewise. */
export interface NativeCocoAccumulation {
  numThresholds: number;
  maxDets: Float64Array;
  recThrs: Float64Array;
  kStart: Int32Array;
  detOf: Int32Array;
  rank: Int32Array;
  outcome: Uint8Array;
  npig: Float64Array;
  score: Float64Array;
  precision: Float64Array;
  recall: Float64Array;
  scores: Float64Array;
}

/** The addon's exports. Every kernel returns a Promise; the work runs off the event loop. */
export interface NativeBinding {
  backends(): { cpu: NativeBackendInfo; cuda: NativeBackendInfo };
  buildInfo(): NativeBuildInfo;
  /** `options.output` (N*K*M*M floats, not overlapping `heatmaps`) is written in place when given. */
  ensembleHeatmaps(
    heatmaps: Float32Array,
    shape: NativeShape,
    options: NativeEnsembleOptions & { output?: Float32Array },
  ): Promise<{ output: Float32Array } & NativeTiming>;
  decodeHeatmaps(maps: Float32Array, shape: Omit<NativeShape, 't'>, rois: Float32Array, options: NativeDecodeOptions): Promise<NativeKeypoints>;
  ensembleAndDecode(
    heatmaps: Float32Array,
    shape: NativeShape,
    rois: Float32Array,
    options: NativeEnsembleOptions & { probability?: boolean },
  ): Promise<NativeKeypoints>;
  /** STREAM triad a[i] = b[i] + s * c[i] (all the same length); for bandwidth measurements. */
  triad(a: Float32Array, b: Float32Array, c: Float32Array, s: number, options: NativeCommonOptions): Promise<{ a: Float32Array } & NativeTiming>;
  /**
   * Sum of `a`, read once on the cpu thread pool (`sum[0]`): the read-only bandwidth, the floor
   * of any kernel that reads its input once. Absent from addons built before it existed.
   */
  readSum?(a: Float32Array, options: { threads?: number }): Promise<{ sum: Float64Array } & NativeTiming>;
  /**
   * Scans a COCO results file (a JSON array of {image_id, category_id, score, bbox,
   * keypoints}), given as its bytes or its path (then read on the pool thread as well; a file
   * that cannot be read resolves null), into columns on the thread pool. Resolves null when the text is not
   * that common, valid shape (a syntax error, a missing or repeated field, a non-integer id,
   * an escaped key, a number outside double range, ...): the caller then parses it in
   * JavaScript, whose errors name the record. `skipBoxedKeypoints` leaves out the keypoints
   * of records that have a box. Absent from addons built before it existed.
   */
  parseCocoResults?(source: Uint8Array | string, options: { skipBoxedKeypoints: boolean }): Promise<NativeCocoResultsColumns | null>;
  /**
   * Scans a COCO ground-truth file ({images, annotations, categories, ...}), given as its bytes
   * or its path, into columns on the thread pool, checking what validation checks of images
   * and annotations. Resolves null when the file cannot be read or is not a valid file of the
   * common shape (then the caller parses it in JavaScript, whose errors name the record).
   * `skipKeypoints` leaves out annotation keypoints. Annotation fields other than id, image_id,
   * category_id, bbox, area, iscrowd, keypoints and num_keypoints are left out. Absent from
   * addons built before it existed.
   */
  parseCocoDataset?(source: Uint8Array | string, options: { skipKeypoints: boolean }): Promise<NativeCocoDatasetColumns | null>;
  /**
   * The matching step of @omnidistill/coco's evaluate() (its match-cells.ts, the reference):
   * fills `match.detOf`, `rank` and `outcome`, adds to `npig` and sorts each cell's range of
   * `dOrder`. Synchronous, like evaluate(): it replaces the same work on this thread. Every
   * length and index is checked first (TypeError / RangeError naming the field). Absent from
   * addons built before it existed.
   */
  matchCocoCells?(match: NativeCocoCellMatch): void;
  /**
   * The accumulate step of @omnidistill/coco's evaluate() (its accumulate.ts, the reference):
   * fills `acc.precision`, `recall` and `scores` from the matching step's outcomes.
   * Synchronous, checked and absent from older addons as matchCocoCells.
   */
  accumulateCoco?(acc: NativeCocoAccumulation): void;
}

/** Environment variable naming the exact .node file to load (then nothing else is tried). */
export const NATIVE_PATH_ENV = 'OMNIDISTILL_NATIVE_PATH';

/** Set to 1 when installing to build from source even where a prebuilt binary fits (scripts/install.mjs). */
export const BUILD_FROM_SOURCE_ENV = 'OMNIDISTILL_NATIVE_BUILD_FROM_SOURCE';

const ADDON_FILE = 'omnidistill_native.node';
const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const requireNative = createRequire(import.meta.url);

/** Where a candidate binary comes from (the loader's messages and `nativeStatus()` say which was used). */
export type NativeOrigin = 'env' | 'local build' | 'prebuilt';

/** One place the loader looks; `error` is set when the candidate could not even be located. */
export interface NativeCandidate {
  origin: NativeOrigin;
  path: string;
  /** The platform package, for `prebuilt` candidates. */
  package?: string;
  error?: string;
}

/** The addon as loaded: the binding, the file, and where it came from. */
export interface NativeLoaded {
  binding: NativeBinding;
  path: string;
  origin: NativeOrigin;
  package?: string;
}

/**
 * Where the loader looks, in order: the env override alone when set; else a local build
 * (build/Release then build/Debug: a checkout's `pnpm build`, or a from-source build made at
 * install time) before the prebuilt binary of this platform's package.
 */
export function nativeCandidates(env: NodeJS.ProcessEnv = process.env): NativeCandidate[] {
  return [...candidatesInOrder(env)];
}

/**
 * The candidates one at a time: the prebuilt one is resolved only when asked for, since naming
 * it means finding this machine's C library (a process report, ~10 ms of every command's start).
 */
function* candidatesInOrder(env: NodeJS.ProcessEnv): Generator<NativeCandidate> {
  const override = env[NATIVE_PATH_ENV];
  if (override !== undefined && override !== '') {
    yield { origin: 'env', path: resolve(override) };
    return;
  }
  yield { origin: 'local build', path: join(packageRoot, 'build', 'Release', ADDON_FILE) };
  yield { origin: 'local build', path: join(packageRoot, 'build', 'Debug', ADDON_FILE) };
  const prebuilt = resolvePrebuilt(ADDON_FILE, import.meta.url);
  yield 'path' in prebuilt
    ? { origin: 'prebuilt', path: prebuilt.path, package: prebuilt.package }
    : { origin: 'prebuilt', path: prebuilt.package, package: prebuilt.package, error: prebuilt.error };
}

/** The addon could not be loaded: lists every path tried with its error, and how to get one. */
export class NativeLoadError extends Error {
  readonly attempts: readonly { path: string; error: string }[];
  constructor(attempts: { path: string; error: string }[], fromEnv: boolean) {
    const lines = attempts.map((a) => `  - ${a.path}: ${a.error}`);
    const how = fromEnv
      ? `${NATIVE_PATH_ENV} is set, so only that file was tried; unset it to use the package's own build.`
      : `Install the prebuilt binary (${prebuiltPackageName()}, an optional dependency: do not install with --no-optional), ` +
        `or build from source: \`${BUILD_FROM_SOURCE_ENV}=1 npm rebuild @omnidistill/native\` in a project, ` +
        '`pnpm --filter @omnidistill/native build` in a clone (needs cmake >= 3.18 and a C++17 compiler; nvcc optional), ' +
        `or point ${NATIVE_PATH_ENV} at a built omnidistill_native.node.`;
    super(`the omnidistill native addon could not be loaded. Tried:\n${lines.join('\n')}\n${how}`);
    this.name = 'NativeLoadError';
    this.attempts = attempts;
  }
}

/** Loads the addon from the candidates (uncached); throws NativeLoadError listing each attempt. */
export function loadNativeFrom(env: NodeJS.ProcessEnv = process.env): NativeLoaded {
  const attempts: { path: string; error: string }[] = [];
  for (const candidate of candidatesInOrder(env)) {
    if (candidate.error !== undefined) {
      attempts.push({ path: candidate.path, error: candidate.error });
      continue;
    }
    try {
      const binding = requireNative(candidate.path) as NativeBinding;
      return { binding, path: candidate.path, origin: candidate.origin, ...(candidate.package ? { package: candidate.package } : {}) };
    } catch (err) {
      const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
      attempts.push({ path: candidate.path, error: message });
    }
  }
  const override = env[NATIVE_PATH_ENV];
  throw new NativeLoadError(attempts, override !== undefined && override !== '');
}

/** One line saying which binary was loaded and why that one, e.g. for install logs and diagnostics. */
export function describeNativeLoad(loaded: Omit<NativeLoaded, 'binding'>): string {
  switch (loaded.origin) {
    case 'env':
      return `the file ${NATIVE_PATH_ENV} names: ${loaded.path}`;
    case 'local build':
      return `a local build (built from source on this machine): ${loaded.path}`;
    case 'prebuilt':
      return `the prebuilt binary for ${platformKey()} from ${loaded.package}: ${loaded.path}`;
  }
}

let cached: NativeLoaded | { error: NativeLoadError } | undefined;

/** The addon (loaded once per process). Throws NativeLoadError when it cannot be loaded. */
export function loadNative(): NativeBinding {
  const state = nativeStatus();
  if ('error' in state) throw state.error;
  return state.binding;
}

/** The load outcome without throwing: the binding and its path, or the error saying what was tried. */
export function nativeStatus(): NativeLoaded | { error: NativeLoadError } {
  if (cached === undefined) {
    try {
      cached = loadNativeFrom();
    } catch (err) {
      cached = { error: err as NativeLoadError };
    }
  }
  return cached;
}

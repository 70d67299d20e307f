// The plain TypeScript reference of the three kernels: the oracle every backend is tested
// against. It works in float32 exactly like the native kernels and like PyTorch/torchvision:
// every arithmetic result is rounded with Math.fround (storing into a Float32Array rounds
// too), no fused multiply-add, the same operation order. Readable first, not fast.
import { OmniRangeError } from '@omnidistill/core';
import type { DecodeJob, EnsembleJob } from './validate.js';

const f = Math.fround;

/** Keypoints of N RoIs: [N, K, 3] = (x, y, logit) and optionally [N, K] probabilities. */
export interface DecodedKeypoints {
  keypoints: Float32Array;
  probability?: Float32Array;
}

function included(job: EnsembleJob, t: number, n: number): boolean {
  return job.mask === undefined || job.mask[t * job.n + n] !== 0;
}

/** Throws, naming the flat index, on the first non-finite value the kernels would read. */
export function assertFiniteHeatmaps(job: EnsembleJob): void {
  const slab = job.k * job.m * job.m;
  for (let t = 0; t < job.t; t++) {
    for (let n = 0; n < job.n; n++) {
      if (!included(job, t, n)) continue;
      const base = (t * job.n + n) * slab;
      for (let i = 0; i < slab; i++) {
        const v = job.heatmaps[base + i];
        if (!Number.isFinite(v)) throw new OmniRangeError(`heatmaps[${base + i}]`, 'a finite number', v);
      }
    }
  }
}

/**
 * Combines the T maps of RoI n, keypoint k into `out` (M * M values at `offset`): flipped
 * transforms are un-flipped (channel perm[k], x reversed); `avg` sums w_t * map_t in
 * transform order and divides by the weight sum (numpy's float32 mean when all w_t = 1).
 */
export function ensembleChannel(job: EnsembleJob, n: number, k: number, out: Float32Array, offset: number): void {
  const { m } = job;
  const mm = m * m;
  let first = true;
  let weightSum = 0;
  for (let t = 0; t < job.t; t++) {
    if (!included(job, t, n)) continue;
    const flip = job.flipped[t] === 1;
    const channel = flip ? job.perm[k] : k;
    const src = ((t * job.n + n) * job.k + channel) * mm;
    const w = job.weights[t];
    weightSum = f(weightSum + w);
    for (let y = 0; y < m; y++) {
      for (let x = 0; x < m; x++) {
        const v = job.heatmaps[src + y * m + (flip ? m - 1 - x : x)];
        const o = offset + y * m + x;
        if (job.mode === 'avg') out[o] = first ? f(w * v) : f(out[o] + f(w * v));
        else out[o] = first || v > out[o] ? v : out[o];
      }
    }
    first = false;
  }
  if (job.mode === 'avg') {
    for (let i = 0; i < mm; i++) out[offset + i] = f(out[offset + i] / weightSum);
  }
}

/** Reference of `ensembleHeatmaps`: [T, N, K, M, M] -> [N, K, M, M]. */
export function referenceEnsemble(job: EnsembleJob): Float32Array {
  assertFiniteHeatmaps(job);
  const mm = job.m * job.m;
  const out = new Float32Array(job.n * job.k * mm);
  for (let n = 0; n < job.n; n++) {
    for (let k = 0; k < job.k; k++) ensembleChannel(job, n, k, out, (n * job.k + k) * mm);
  }
  return out;
}

// --- bicubic resize (PyTorch upsample_bicubic2d, align_corners = false, A = -0.75) ---------

/** cubic_convolution1: ((A + 2) x - (A + 3)) x x + 1 for |x| <= 1. */
function cubicNear(x: number): number {
  return f(f(f(f(f(1.25 * x) - 2.25) * x) * x) + 1);
}

/** cubic_convolution2: ((A x - 5A) x + 8A) x - 4A for 1 < |x| < 2. */
function cubicFar(x: number): number {
  return f(f(f(f(f(f(-0.75 * x) + 3.75) * x) - 6) * x) + 3);
}

/**
 * Taps of every output index along one axis resized from `inSize` to `outSize` samples:
 * 4 clamped source indices and 4 weights per output. Source position
 * `scale * (i + 0.5) - 0.5` is evaluated in double and rounded to float32, as PyTorch does.
 */
export function cubicAxis(inSize: number, outSize: number): { index: Int32Array; weight: Float32Array } {
  const scale = f(inSize / outSize);
  const index = new Int32Array(outSize * 4);
  const weight = new Float32Array(outSize * 4);
  for (let i = 0; i < outSize; i++) {
    const real = f(scale * (i + 0.5) - 0.5);
    const base = Math.min(Math.floor(real), inSize - 1);
    let t = f(real - base);
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    const u = f(1 - t);
    weight[4 * i] = cubicFar(f(t + 1));
    weight[4 * i + 1] = cubicNear(t);
    weight[4 * i + 2] = cubicNear(u);
    weight[4 * i + 3] = cubicFar(f(u + 1));
    for (let j = 0; j < 4; j++) index[4 * i + j] = Math.min(Math.max(base - 1 + j, 0), inSize - 1);
  }
  return { index, weight };
}

/** ((a0 w0 + a1 w1) + a2 w2) + a3 w3, rounded to float32 after each operation. */
function combine(a0: number, a1: number, a2: number, a3: number, w: Float32Array, at: number): number {
  return f(f(f(f(a0 * w[at]) + f(a1 * w[at + 1])) + f(a2 * w[at + 2])) + f(a3 * w[at + 3]));
}

/** The W x H a RoI's map is resized to: its width and height, at least 1, rounded up. */
export function roiCells(rois: Float32Array, n: number): [number, number] {
  const x1 = rois[4 * n], y1 = rois[4 * n + 1];
  return [Math.ceil(Math.max(f(rois[4 * n + 2] - x1), 1)), Math.ceil(Math.max(f(rois[4 * n + 3] - y1), 1))];
}

/**
 * Writes keypoint `item` of RoI n from the flat `index` of the maximum of its W x H map:
 * x, y = (cell + 0.5) * w / W + x1 (float32 at each step) and the maximum's logit `best`.
 */
export function writeKeypoint(keypoints: Float32Array, item: number, rois: Float32Array, n: number, W: number, H: number, index: number, best: number): void {
  const x1 = rois[4 * n], y1 = rois[4 * n + 1];
  const w = Math.max(f(rois[4 * n + 2] - x1), 1), h = Math.max(f(rois[4 * n + 3] - y1), 1);
  const xi = index % W, yi = (index - xi) / W;
  keypoints[3 * item] = f(f(f(xi + 0.5) * f(w / W)) + x1);
  keypoints[3 * item + 1] = f(f(f(yi + 0.5) * f(h / H)) + y1);
  keypoints[3 * item + 2] = best;
}

/**
 * Decodes one M x M map at `offset` for RoI (x1, y1, x2, y2): bicubic resize to
 * ceil(h) x ceil(w) (rows along x first, then along y — PyTorch's order), first maximum,
 * (cell + 0.5) * w / W + x1. Writes x, y, logit at keypoints[3 * item], and the spatial
 * softmax probability when `probability` is given.
 */
export function decodeMap(
  map: Float32Array,
  offset: number,
  m: number,
  rois: Float32Array,
  n: number,
  keypoints: Float32Array,
  probability: Float32Array | undefined,
  item: number,
): void {
  const x1 = rois[4 * n], y1 = rois[4 * n + 1];
  const w = Math.max(f(rois[4 * n + 2] - x1), 1);
  const h = Math.max(f(rois[4 * n + 3] - y1), 1);
  const W = Math.ceil(w), H = Math.ceil(h);
  const xs = cubicAxis(m, W), ys = cubicAxis(m, H);
  const rows = new Float32Array(m * W);
  for (let r = 0; r < m; r++) {
    const src = offset + r * m;
    for (let x = 0; x < W; x++) {
      const at = 4 * x, ix = xs.index;
      rows[r * W + x] = combine(map[src + ix[at]], map[src + ix[at + 1]], map[src + ix[at + 2]], map[src + ix[at + 3]], xs.weight, at);
    }
  }
  let best = -Infinity, bestIndex = -1;
  let softMax = -Infinity, softSum = 0; // online softmax: softSum = sum of exp(v - softMax)
  for (let y = 0; y < H; y++) {
    const at = 4 * y, iy = ys.index;
    const r0 = iy[at] * W, r1 = iy[at + 1] * W, r2 = iy[at + 2] * W, r3 = iy[at + 3] * W;
    for (let x = 0; x < W; x++) {
      const v = combine(rows[r0 + x], rows[r1 + x], rows[r2 + x], rows[r3 + x], ys.weight, at);
      if (v > best || bestIndex < 0) {
        best = v;
        bestIndex = y * W + x;
      }
      if (probability !== undefined) {
        if (v > softMax) {
          softSum = softSum * Math.exp(softMax - v) + 1;
          softMax = v;
        } else {
          softSum += Math.exp(v - softMax);
        }
      }
    }
  }
  writeKeypoint(keypoints, item, rois, n, W, H, bestIndex, best);
  if (probability !== undefined) probability[item] = 1 / softSum;
}

function assertFiniteMaps(maps: Float32Array): void {
  for (let i = 0; i < maps.length; i++) {
    if (!Number.isFinite(maps[i])) throw new OmniRangeError(`maps[${i}]`, 'a finite number', maps[i]);
  }
}

/** Reference of `decodeHeatmaps`: maps [N, K, M, M] + rois [N, 4] -> keypoints [N, K, 3]. */
export function referenceDecode(maps: Float32Array, n: number, k: number, m: number, job: DecodeJob): DecodedKeypoints {
  assertFiniteMaps(maps);
  const keypoints = new Float32Array(n * k * 3);
  const probability = job.probability ? new Float32Array(n * k) : undefined;
  for (let item = 0; item < n * k; item++) {
    decodeMap(maps, item * m * m, m, job.rois, Math.floor(item / k), keypoints, probability, item);
  }
  return probability === undefined ? { keypoints } : { keypoints, probability };
}

/** Reference of the fused kernel: one RoI x keypoint map in a scratch buffer at a time. */
export function referenceEnsembleAndDecode(job: EnsembleJob, decode: DecodeJob): DecodedKeypoints {
  assertFiniteHeatmaps(job);
  const keypoints = new Float32Array(job.n * job.k * 3);
  const probability = decode.probability ? new Float32Array(job.n * job.k) : undefined;
  const scratch = new Float32Array(job.m * job.m);
  for (let n = 0; n < job.n; n++) {
    for (let k = 0; k < job.k; k++) {
      ensembleChannel(job, n, k, scratch, 0);
      decodeMap(scratch, 0, job.m, decode.rois, n, keypoints, probability, n * job.k + k);
    }
  }
  return probability === undefined ? { keypoints } : { keypoints, probability };
}

// Test helpers: fixture loading, a seeded PRNG and random kernel cases.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { COCO_PERSON } from '@omnidistill/core';

const fixtureDir = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'keypoints');

export interface KeypointFixture {
  name: string;
  t: number;
  n: number;
  k: number;
  m: number;
  flipped: boolean[];
  flipPairs: [number, number][];
  mode: 'avg' | 'max';
  heatmaps: Float32Array;
  rois: Float32Array;
  /** [N][K] = [x, y, logit]. */
  expected: number[][][];
}

/** Every shared keypoint fixture (heatmaps decoded from little-endian base64). */
export function loadKeypointFixtures(): KeypointFixture[] {
  return readdirSync(fixtureDir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => {
      const raw = JSON.parse(readFileSync(join(fixtureDir, file), 'utf8'));
      const bytes = Buffer.from(raw.heatmaps_f32_b64, 'base64');
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const heatmaps = new Float32Array(bytes.byteLength / 4);
      for (let i = 0; i < heatmaps.length; i++) heatmaps[i] = view.getFloat32(4 * i, true);
      return {
        name: file.replace(/\.json$/, ''),
        t: raw.T,
        n: raw.N,
        k: raw.K,
        m: raw.M,
        flipped: raw.flipped,
        flipPairs: raw.flipPairs,
        mode: raw.mode,
        heatmaps,
        rois: Float32Array.from(raw.rois.flat()),
        expected: raw.expected.keypoints,
      };
    });
}

/** mulberry32: small, fast, seeded. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface RandomCase {
  t: number;
  n: number;
  k: number;
  m: number;
  heatmaps: Float32Array;
  rois: Float32Array;
  mode: 'avg' | 'max';
  flipped: boolean[];
  flipPairs: readonly (readonly [number, number])[];
  weights?: number[];
  mask?: Uint8Array;
}

/**
 * A random case: smooth-ish logit maps (a few Gaussian bumps plus noise), RoIs from
 * degenerate (zero width) to larger than the map, and, by seed, weights, masks and ties
 * (quantised values make equal maxima common, exercising first-maximum-wins).
 */
export function randomCase(seed: number, options: { n?: number } = {}): RandomCase {
  const r = rng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  // Up to 9 transforms: the native cpu kernel sums 4 per pass, so some cases span three passes.
  // `options.n` overrides the RoI count without changing the rest of the seed's draws.
  const t = int(1, 9), drawnN = int(1, 4), m = [4, 7, 16, 23][int(0, 3)];
  const n = options.n ?? drawnN;
  const useCoco = r() < 0.5;
  const k = useCoco ? 17 : int(1, 5);
  const flipPairs = useCoco ? COCO_PERSON.flipPairs : k >= 3 ? [[0, 2] as const] : [];
  const quantise = seed % 3 === 0;
  const heatmaps = new Float32Array(t * n * k * m * m);
  for (let map = 0; map < t * n * k; map++) {
    const cx = r() * m, cy = r() * m, s = 0.5 + r() * 3, amp = 2 + r() * 6;
    for (let y = 0; y < m; y++) {
      for (let x = 0; x < m; x++) {
        const d2 = (x - cx) ** 2 + (y - cy) ** 2;
        let v = amp * Math.exp(-d2 / (2 * s * s)) - 3 + r() * 0.5;
        if (quantise) v = Math.round(v * 2) / 2;
        heatmaps[map * m * m + y * m + x] = v;
      }
    }
  }
  const rois = new Float32Array(n * 4);
  for (let i = 0; i < n; i++) {
    const x1 = r() * 500, y1 = r() * 500;
    const kind = int(0, 5);
    const w = kind === 0 ? 0 : kind === 1 ? r() * 2 : kind === 2 ? r() * m : 5 + r() * 150;
    const h = kind === 0 ? r() * 3 : 3 + r() * 150;
    rois.set([x1, y1, x1 + w, y1 + h], 4 * i);
  }
  const mode: RandomCase['mode'] = r() < 0.6 ? 'avg' : 'max';
  const flipped = Array.from({ length: t }, () => r() < 0.5);
  const c: RandomCase = { t, n, k, m, heatmaps, rois, mode, flipped, flipPairs };
  if (mode === 'avg' && r() < 0.4) c.weights = Array.from({ length: t }, (): number => (r() < 0.2 ? 0 : r() * 3));
  if (c.weights && !c.weights.some((w) => w > 0)) c.weights[0] = 1;
  if (r() < 0.4) {
    c.mask = new Uint8Array(t * n);
    for (let i = 0; i < n; i++) {
      const keep = int(0, t - 1); // at least one transform per RoI, with a positive weight
      if (c.weights) c.weights[keep] = Math.max(c.weights[keep], 0.5);
      for (let tt = 0; tt < t; tt++) c.mask[tt * n + i] = tt === keep || r() < 0.5 ? 1 : 0;
    }
  }
  return c;
}

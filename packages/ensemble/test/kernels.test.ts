// One test body, run against every backend: ts (TypeScript), wasm (WebAssembly SIMD), cpu (native), cuda (native,
// only where a device answers; otherwise skipped with the reason the addon reports).
import { describe, expect, it } from 'vitest';
import { COCO_PERSON, type HeatmapBatch } from '@omnidistill/core';
import {
  backends,
  checkDecode,
  checkEnsemble,
  decodeHeatmaps,
  ensembleAndDecode,
  ensembleHeatmaps,
  referenceDecode,
  referenceEnsemble,
  referenceEnsembleAndDecode,
  type Backend,
} from '@omnidistill/ensemble';
import { loadKeypointFixtures, randomCase, rng, type RandomCase } from './helpers.js';

const fixtures = loadKeypointFixtures();
const statuses = backends();

const batchOf = (c: { heatmaps: Float32Array; t: number; n: number; k: number; m: number }): HeatmapBatch => ({
  data: c.heatmaps,
  t: c.t,
  n: c.n,
  k: c.k,
  m: c.m,
});

const optionsOf = (c: RandomCase) => ({
  mode: c.mode,
  flipped: c.flipped,
  flipPairs: c.flipPairs,
  ...(c.weights ? { weights: c.weights } : {}),
  ...(c.mask ? { mask: c.mask } : {}),
});

/** A map batch whose only maximum is at (px, py) of channel k, for every channel/RoI. */
function peakMaps(n: number, k: number, m: number, peaks: [number, number][]): HeatmapBatch {
  const data = new Float32Array(n * k * m * m).fill(-1);
  for (let i = 0; i < n * k; i++) {
    const [px, py] = peaks[i % peaks.length];
    data[i * m * m + py * m + px] = 5;
  }
  return { data, t: 1, n, k, m };
}

function runBackendSuite(backend: Backend): void {
  const run = { backend } as const;

  describe('shared fixtures (Detectron flip + avg/max, torchvision decoding)', () => {
    it.each(fixtures.map((f) => [f.name, f] as const))('%s', async (_name, fx) => {
      const result = await ensembleAndDecode(batchOf(fx), fx.rois, { mode: fx.mode, flipped: fx.flipped, flipPairs: fx.flipPairs, ...run });
      expect(result.backend).toBe(backend);
      const kp = result.keypoints.data;
      let positionMismatches = 0;
      for (let n = 0; n < fx.n; n++) {
        for (let k = 0; k < fx.k; k++) {
          const [ex, ey, elogit] = fx.expected[n][k];
          const at = 3 * (n * fx.k + k);
          expect(Math.abs(kp[at + 2] - elogit), `logit n=${n} k=${k}`).toBeLessThanOrEqual(1e-4);
          if (kp[at] !== Math.fround(ex) || kp[at + 1] !== Math.fround(ey)) positionMismatches++;
        }
      }
      // Documented tie allowance: none is needed on these cases; every position is exact.
      expect(positionMismatches).toBe(0);
    });
  });

  describe('agreement with the TypeScript reference on random cases', () => {
    const seeds = Array.from({ length: 24 }, (_, i) => 1000 + i);
    it.each(seeds)('seed %i: fused ensemble+decode equals the reference bit for bit', async (seed) => {
      const c = randomCase(seed);
      const expected = referenceEnsembleAndDecode(checkEnsemble(batchOf(c), optionsOf(c)), checkDecode({ probability: true }, c.n, c.rois));
      const got = await ensembleAndDecode(batchOf(c), c.rois, { ...optionsOf(c), probability: true, ...run });
      expect(Array.from(got.keypoints.data)).toEqual(Array.from(expected.keypoints));
      for (let i = 0; i < c.n * c.k; i++) {
        expect(got.probability![i]).toBeGreaterThan(0);
        expect(got.probability![i]).toBeLessThanOrEqual(1);
        expect(Math.abs(got.probability![i] - expected.probability![i])).toBeLessThanOrEqual(1e-6 * expected.probability![i] + 1e-12);
      }
    });

    it.each(seeds)('seed %i: fused ensemble+decode without probability (the pruned argmax) equals the reference', async (seed) => {
      const c = randomCase(seed);
      const expected = referenceEnsembleAndDecode(checkEnsemble(batchOf(c), optionsOf(c)), checkDecode({}, c.n, c.rois));
      const got = await ensembleAndDecode(batchOf(c), c.rois, { ...optionsOf(c), ...run });
      expect(Array.from(got.keypoints.data)).toEqual(Array.from(expected.keypoints));
    });

    // Known difference: the native kernels reject an average that overflows float32; the reference
    // (and so the ts and wasm backends) carries the infinity on and decodes it.
    it('averages that overflow float32 (finite inputs): ts decodes like the reference, native backends reject them', async () => {
      const n = 2, k = 2, m = 5;
      const data = new Float32Array(2 * n * k * m * m).fill(-1);
      data[3] = 3e38; // transform 0, RoI 0, keypoint 0
      data[n * k * m * m + 3] = 3e38; // transform 1, same place: the sum overflows to Infinity
      const rois = Float32Array.from([0, 0, 9, 7, 2, 2, 14, 11]);
      const options = { mode: 'avg' as const, flipped: [false, false], flipPairs: [] as [number, number][] };
      const job = checkEnsemble({ data, t: 2, n, k, m }, options);
      if (backend === 'cpu' || backend === 'cuda') {
        await expect(ensembleAndDecode({ data, t: 2, n, k, m }, rois, { ...options, ...run })).rejects.toThrow(/a combined value overflowed float32/);
        return;
      }
      const expected = referenceEnsembleAndDecode(job, checkDecode({}, n, rois));
      const got = await ensembleAndDecode({ data, t: 2, n, k, m }, rois, { ...options, ...run });
      expect(Array.from(got.keypoints.data)).toEqual(Array.from(expected.keypoints));
      const combined = await ensembleHeatmaps({ data, t: 2, n, k, m }, { ...options, ...run });
      expect(Array.from(combined.heatmaps.data)).toEqual(Array.from(referenceEnsemble(job)));
    });

    it.each(seeds.slice(0, 12))('seed %i: ensemble then decode equals the fused kernel and the reference', async (seed) => {
      const c = randomCase(seed);
      const combined = await ensembleHeatmaps(batchOf(c), { ...optionsOf(c), ...run });
      expect(Array.from(combined.heatmaps.data)).toEqual(Array.from(referenceEnsemble(checkEnsemble(batchOf(c), optionsOf(c)))));
      expect(combined.heatmaps).toMatchObject({ t: 1, n: c.n, k: c.k, m: c.m });
      const decoded = await decodeHeatmaps(combined.heatmaps, c.rois, run);
      const fused = await ensembleAndDecode(batchOf(c), c.rois, { ...optionsOf(c), ...run });
      expect(Array.from(decoded.keypoints.data)).toEqual(Array.from(fused.keypoints.data));
      expect(decoded.probability).toBeUndefined();
    });

    // The native cpu ensemble phase hands out several RoIs per work item (read as one stream per
    // transform) once there are at least 4 items per thread; these cases have enough RoIs for
    // that on 1 and 2 threads, with masks that differ between the RoIs of an item.
    const manyRois = Array.from({ length: 10 }, (_, i) => randomCase(2000 + i, { n: 9 + ((i * 7) % 17) }));
    it('the many-RoI cases cover masks, max mode and flips', () => {
      expect(manyRois.some((c) => c.mask !== undefined)).toBe(true);
      expect(manyRois.some((c) => c.mode === 'max')).toBe(true);
      expect(manyRois.some((c) => c.flipped.includes(true) && c.flipPairs.length > 0)).toBe(true);
    });
    it.each(manyRois.flatMap((c, i) => [1, 2].map((threads) => [2000 + i, c.n, threads, c] as const)))(
      'seed %i, N = %i, %i thread(s): the ensemble phase over many RoIs equals the reference bit for bit',
      async (_seed, _n, threads, c) => {
        const combined = await ensembleHeatmaps(batchOf(c), { ...optionsOf(c), threads, ...run });
        const expected = referenceEnsemble(checkEnsemble(batchOf(c), optionsOf(c)));
        // The first differing index (Object.is: NaN equals NaN, -0 differs from 0), not a diff of thousands of values.
        expect(combined.heatmaps.data.length).toBe(expected.length);
        expect(combined.heatmaps.data.findIndex((v, i) => !Object.is(v, expected[i]))).toBe(-1);
      },
    );
  });

  // Uniform noise leaves most rows in play, so the decoders bound blocks of columns instead
  // (the pruning's worst case); odd and even transform counts cover the pairwise averaging.
  describe('noise maps (block-bounded decoding)', () => {
    it.each([
      [700, 5],
      [701, 6],
      [702, 1],
    ])('seed %i, T = %i: fused ensemble+decode equals the reference bit for bit', async (seed, t) => {
      const r = rng(seed);
      const n = 3, k = 17, m = 24;
      const data = new Float32Array(t * n * k * m * m).map(() => r() * 8 - 4);
      const rois = Float32Array.from([0, 0, 200, 150, 10, 20, 47, 300, 5, 5, 90, 31]);
      const options = { mode: 'avg' as const, flipped: Array.from({ length: t }, (_, i) => i % 2 === 1), flipPairs: COCO_PERSON.flipPairs };
      const batch = { data, t, n, k, m };
      const expected = referenceEnsembleAndDecode(checkEnsemble(batch, options), checkDecode({}, n, rois));
      const got = await ensembleAndDecode(batch, rois, { ...options, ...run });
      expect(Array.from(got.keypoints.data)).toEqual(Array.from(expected.keypoints));
    });

    // The bench's shape, T = 18 alternating flips (the ts averaging adds its last transform while
    // dividing and hands each row's range to the decode), with a mask that leaves RoI 1 an even
    // count and RoI 2 a single transform.
    it('M = 56, T = 18 with a mask: fused ensemble+decode equals the reference bit for bit', async () => {
      const r = rng(705);
      const t = 18, n = 3, k = 17, m = 56;
      const data = new Float32Array(t * n * k * m * m).map(() => r() * 8 - 4);
      const mask = new Uint8Array(t * n).fill(1);
      mask[5 * n + 1] = 0; // RoI 1: 17 transforms
      for (let tt = 1; tt < t; tt++) mask[tt * n + 2] = 0; // RoI 2: transform 0 alone
      const rois = Float32Array.from([0, 0, 215, 190, 10, 20, 47, 300, 5, 5, 90, 31]);
      const options = { mode: 'avg' as const, flipped: Array.from({ length: t }, (_, i) => i % 2 === 1), flipPairs: COCO_PERSON.flipPairs, mask };
      const batch = { data, t, n, k, m };
      const expected = referenceEnsembleAndDecode(checkEnsemble(batch, options), checkDecode({}, n, rois));
      const got = await ensembleAndDecode(batch, rois, { ...options, ...run });
      expect(Array.from(got.keypoints.data)).toEqual(Array.from(expected.keypoints));
    });

    // The bench's map size, with RoIs that shrink the map (W < M: one column per tap group),
    // upsample it about 4x, and stretch it past 16 columns per source column (a tap group wider
    // than a block of the block search).
    it.each([703, 704])('seed %i, M = 56, shrunk, 4x and 18x wide RoIs: decode equals the reference bit for bit', async (seed) => {
      const r = rng(seed);
      const n = 3, k = 4, m = 56;
      const data = new Float32Array(n * k * m * m).map(() => r() * 8 - 4);
      const rois = Float32Array.from([2, 3, 32.5, 47, 0, 0, 230, 215.25, 10, 5, 1010, 35]);
      const expected = referenceDecode(data, n, k, m, checkDecode({}, n, rois));
      const got = await decodeHeatmaps({ data, t: 1, n, k, m }, rois, run);
      expect(Array.from(got.keypoints.data)).toEqual(Array.from(expected.keypoints));
    });
  });

  describe('tie-heavy decoding (few distinct values: many equal maxima, loose row bounds)', () => {
    it.each(Array.from({ length: 16 }, (_, i) => 500 + i))('seed %i equals the reference bit for bit', async (seed) => {
      const c = randomCase(seed);
      const n = c.n, k = 3, m = 6;
      let state = seed;
      const data = new Float32Array(n * k * m * m).map(() => {
        state = (state * 1103515245 + 12345) >>> 0;
        return (state >>> 16) % 4;
      });
      const maps = { data, t: 1, n, k, m };
      const expected = referenceDecode(data, n, k, m, checkDecode({ probability: true }, n, c.rois));
      const got = await decodeHeatmaps(maps, c.rois, { probability: true, ...run });
      expect(Array.from(got.keypoints.data)).toEqual(Array.from(expected.keypoints));
      for (let i = 0; i < n * k; i++) expect(Math.abs(got.probability![i] - expected.probability![i])).toBeLessThanOrEqual(1e-6 * expected.probability![i]);
      const plain = await decodeHeatmaps(maps, c.rois, run);
      expect(Array.from(plain.keypoints.data)).toEqual(Array.from(expected.keypoints));
    });
  });

  describe('peaky maps with tied peaks (the pruned argmax path)', () => {
    /** n x k maps of m x m: a {-3, -2} background and up to three equal peaks (ties), each with a shoulder; RoIs of 5-125 px. */
    function tiedPeaks(seed: number, n: number, k: number, m: number): { data: Float32Array; rois: Float32Array } {
      const r = rng(seed);
      const data = new Float32Array(n * k * m * m);
      for (let map = 0; map < n * k; map++) {
        const base = map * m * m;
        for (let i = 0; i < m * m; i++) data[base + i] = Math.floor(r() * 2) - 3;
        for (let p = 0; p < 3; p++) {
          const px = Math.floor(r() * m), py = Math.floor(r() * m);
          for (let dy = -1; dy <= 1; dy++) {
            for (let dx = -1; dx <= 1; dx++) {
              const x = px + dx, y = py + dy;
              if (x >= 0 && x < m && y >= 0 && y < m) data[base + y * m + x] = Math.max(data[base + y * m + x], dx === 0 && dy === 0 ? 6 : 3);
            }
          }
        }
      }
      const rois = new Float32Array(n * 4);
      for (let i = 0; i < n; i++) {
        const x1 = r() * 100, y1 = r() * 100;
        rois.set([x1, y1, x1 + 5 + r() * 120, y1 + 5 + r() * 120], 4 * i);
      }
      return { data, rois };
    }

    it.each(Array.from({ length: 16 }, (_, i) => 900 + i))('seed %i equals the reference bit for bit', async (seed) => {
      const n = 3, k = 4, m = 12;
      const { data, rois } = tiedPeaks(seed, n, k, m);
      const expected = referenceDecode(data, n, k, m, checkDecode({}, n, rois));
      const got = await decodeHeatmaps({ data, t: 1, n, k, m }, rois, run);
      expect(Array.from(got.keypoints.data)).toEqual(Array.from(expected.keypoints));
    });

    // Maps averaged from two copies (the average is the map itself) and decoded in one call: on
    // ts the row bounds then start from the row ranges the averaging records. One peak per map
    // (a 5 on -1, or the tied peaks above) leaves few rows in play, so the row pruning decides.
    it.each(Array.from({ length: 16 }, (_, i) => 900 + i))('seed %i, fused from T = 2 copies: equals the reference bit for bit', async (seed) => {
      const n = 3, k = 4, m = 12;
      const { data: tied, rois } = tiedPeaks(seed, n, k, m);
      const r = rng(seed);
      const single = new Float32Array(n * k * m * m).fill(-1);
      for (let map = 0; map < n * k; map++) single[map * m * m + Math.floor(r() * m * m)] = 5;
      const options = { mode: 'avg' as const, flipped: [false, false], flipPairs: [] as [number, number][] };
      for (const maps of [single, tied]) {
        const data = new Float32Array(2 * maps.length);
        data.set(maps);
        data.set(maps, maps.length);
        const batch = { data, t: 2, n, k, m };
        const expected = referenceEnsembleAndDecode(checkEnsemble(batch, options), checkDecode({}, n, rois));
        expect(Array.from(expected.keypoints)).toEqual(Array.from(referenceDecode(maps, n, k, m, checkDecode({}, n, rois)).keypoints));
        const got = await ensembleAndDecode(batch, rois, { ...options, ...run });
        expect(Array.from(got.keypoints.data)).toEqual(Array.from(expected.keypoints));
      }
    });
  });

  describe('semantics that do not lean on the reference', () => {
    it('decodes a single peak of an M x M map in an M x M px RoI to the cell centre (bicubic is exact there)', async () => {
      const m = 8;
      const maps = peakMaps(2, 2, m, [[3, 5], [0, 7], [7, 0], [6, 6]]);
      const rois = Float32Array.of(100, 200, 108, 208, 10.5, 20.25, 18.5, 28.25);
      const r = await decodeHeatmaps(maps, rois, run);
      expect(Array.from(r.keypoints.data)).toEqual([103.5, 205.5, 5, 100.5, 207.5, 5, 18, 20.75, 5, 17, 26.75, 5]);
    });

    it('un-flips a flipped transform: a flipped copy averages (and maxes) back to the original', async () => {
      const k = 17, m = 9, n = 1;
      const original = new Float32Array(n * k * m * m).map((_, i) => Math.sin(i * 0.37) * 3 + (i % 7) * 0.1);
      const flippedCopy = new Float32Array(original.length);
      const perm = new Int32Array(k).map((_, i) => i);
      for (const [a, b] of COCO_PERSON.flipPairs) [perm[a], perm[b]] = [b, a];
      for (let ch = 0; ch < k; ch++) {
        for (let y = 0; y < m; y++) {
          for (let x = 0; x < m; x++) flippedCopy[perm[ch] * m * m + y * m + (m - 1 - x)] = original[ch * m * m + y * m + x];
        }
      }
      const data = new Float32Array(2 * original.length);
      data.set(original, 0);
      data.set(flippedCopy, original.length);
      for (const mode of ['avg', 'max'] as const) {
        const r = await ensembleHeatmaps({ data, t: 2, n, k, m }, { mode, flipped: [false, true], flipPairs: COCO_PERSON.flipPairs, ...run });
        expect(Array.from(r.heatmaps.data)).toEqual(Array.from(original));
      }
    });

    it('max mode takes the element-wise maximum; avg the numpy float32 mean', async () => {
      const data = Float32Array.of(1, -2, 3, 0.1, /* t=1 */ 2, -3, 1, 0.2, /* t=2 */ 0, 5, -1, 0.3);
      const batch = { data, t: 3, n: 1, k: 1, m: 2 };
      const max = await ensembleHeatmaps(batch, { mode: 'max', flipped: [false, false, false], ...run });
      expect(Array.from(max.heatmaps.data)).toEqual([2, 5, 3, Math.fround(0.3)]);
      const avg = await ensembleHeatmaps(batch, { mode: 'avg', flipped: [false, false, false], ...run });
      const f = Math.fround;
      expect(Array.from(avg.heatmaps.data)).toEqual([1, 0, 1, f(f(f(f(0.1) + f(0.2)) + f(0.3)) / 3)]);
    });

    it('weights: [w, 0] equals the first transform alone and [2, 2] equals the plain mean', async () => {
      const c = randomCase(11);
      const t2 = { data: c.heatmaps.subarray(0, 2 * c.n * c.k * c.m * c.m), t: 2, n: c.n, k: c.k, m: c.m };
      if (c.t < 2) t2.data = new Float32Array(2 * c.n * c.k * c.m * c.m).map((_, i) => Math.sin(i));
      const first = { ...t2, t: 1, data: t2.data.subarray(0, c.n * c.k * c.m * c.m) };
      const flips = { flipped: [false, false], flipPairs: c.flipPairs };
      const only = await ensembleHeatmaps(t2, { mode: 'avg', ...flips, weights: [1, 0], ...run });
      const alone = await ensembleHeatmaps(first, { mode: 'avg', flipped: [false], ...run });
      expect(Array.from(only.heatmaps.data)).toEqual(Array.from(alone.heatmaps.data));
      const doubled = await ensembleHeatmaps(t2, { mode: 'avg', ...flips, weights: [2, 2], ...run });
      const plain = await ensembleHeatmaps(t2, { mode: 'avg', ...flips, ...run });
      expect(Array.from(doubled.heatmaps.data)).toEqual(Array.from(plain.heatmaps.data));
    });

    it('mask: leaving transform t out of RoI n equals running without it for that RoI', async () => {
      const m = 5, k = 2, n = 2, t = 3;
      const data = new Float32Array(t * n * k * m * m).map((_, i) => Math.cos(i * 0.7) * 4);
      const mask = Uint8Array.of(1, 1, /* t=1 */ 0, 1, /* t=2 */ 1, 0);
      const r = await ensembleHeatmaps({ data, t, n, k, m }, { mode: 'avg', flipped: [false, false, false], mask, ...run });
      const slab = k * m * m;
      const pick = (tt: number, nn: number) => data.subarray((tt * n + nn) * slab, (tt * n + nn + 1) * slab);
      // RoI 0 uses transforms 0 and 2; RoI 1 uses 0 and 1.
      const roi0 = new Float32Array(2 * slab);
      roi0.set(pick(0, 0));
      roi0.set(pick(2, 0), slab);
      const roi1 = new Float32Array(2 * slab);
      roi1.set(pick(0, 1));
      roi1.set(pick(1, 1), slab);
      const e0 = await ensembleHeatmaps({ data: roi0, t: 2, n: 1, k, m }, { mode: 'avg', flipped: [false, false], ...run });
      const e1 = await ensembleHeatmaps({ data: roi1, t: 2, n: 1, k, m }, { mode: 'avg', flipped: [false, false], ...run });
      expect(Array.from(r.heatmaps.data.subarray(0, slab))).toEqual(Array.from(e0.heatmaps.data));
      expect(Array.from(r.heatmaps.data.subarray(slab))).toEqual(Array.from(e1.heatmaps.data));
    });

    it('first maximum wins on exact ties (flat order over the decoded map)', async () => {
      const m = 4;
      const data = new Float32Array(m * m).fill(0);
      data[1 * m + 2] = 3;
      data[2 * m + 1] = 3; // the same value later in flat order
      const r = await decodeHeatmaps({ data, t: 1, n: 1, k: 1, m }, Float32Array.of(0, 0, 4, 4), run);
      expect(Array.from(r.keypoints.data)).toEqual([2.5, 1.5, 3]);
    });

    it('zero-size RoIs decode over a 1 x 1 map at (x1 + 0.5, y1 + 0.5)', async () => {
      const maps = peakMaps(1, 1, 6, [[4, 1]]);
      const r = await decodeHeatmaps(maps, Float32Array.of(50, 60, 50, 60), { probability: true, ...run });
      expect(Array.from(r.keypoints.data.subarray(0, 2))).toEqual([50.5, 60.5]);
      expect(r.probability![0]).toBe(1);
    });

    it('writes into a caller-owned output when given, and refuses one overlapping the input', async () => {
      const c = randomCase(21);
      const expected = referenceEnsemble(checkEnsemble(batchOf(c), optionsOf(c)));
      const output = new Float32Array(expected.length).fill(NaN);
      const r = await ensembleHeatmaps(batchOf(c), { ...optionsOf(c), output, ...run });
      expect(r.heatmaps.data).toBe(output);
      expect(Array.from(output)).toEqual(Array.from(expected));
      const shared = new Float32Array(c.heatmaps.length + expected.length);
      shared.set(c.heatmaps);
      const overlapping = shared.subarray(c.heatmaps.length - 1, c.heatmaps.length - 1 + expected.length);
      const error = await ensembleHeatmaps({ ...batchOf(c), data: shared.subarray(0, c.heatmaps.length) }, { ...optionsOf(c), output: overlapping, ...run }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RangeError);
      expect((error as Error).message).toMatch(/^options\.output: expected a buffer that does not overlap/);
      await expect(ensembleHeatmaps(batchOf(c), { ...optionsOf(c), output: new Float32Array(3), ...run })).rejects.toThrow(/^options\.output: expected \d+ elements/);
    });

    it('accepts Float64 RoIs (rounded to float32) and views at a byteOffset', async () => {
      const base = peakMaps(1, 1, 8, [[2, 6]]);
      const padded = new Float32Array(base.data.length + 3);
      padded.set(base.data, 3);
      const view = { ...base, data: padded.subarray(3) };
      const r = await decodeHeatmaps(view, Float64Array.of(10, 20, 18, 28), run);
      expect(Array.from(r.keypoints.data)).toEqual([12.5, 26.5, 5]);
    });
  });

  describe('bad input is a TypeError/RangeError naming the argument', () => {
    const good = randomCase(3);
    const batch = batchOf(good);
    const opts = { mode: good.mode, flipped: good.flipped, flipPairs: good.flipPairs } as const;
    const cases: [string, () => Promise<unknown>, ErrorConstructor, RegExp][] = [
      ['T = 0', () => ensembleHeatmaps({ ...batch, t: 0 }, { ...opts, flipped: [], ...run }), RangeError, /^heatmaps\.t: expected a positive integer/],
      ['N = 0', () => ensembleAndDecode({ ...batch, n: 0 }, new Float32Array(0), { ...opts, ...run }), RangeError, /^heatmaps\.n: expected a positive integer/],
      ['wrong data length', () => ensembleHeatmaps({ ...batch, data: batch.data.subarray(1) }, { ...opts, ...run }), RangeError, /^heatmaps\.data: expected \d+ elements/],
      ['data not Float32Array', () => ensembleHeatmaps({ ...batch, data: Float64Array.from(batch.data) as never }, { ...opts, ...run }), TypeError, /^heatmaps\.data: expected a Float32Array/],
      ['flipped of wrong length', () => ensembleHeatmaps(batch, { ...opts, flipped: [...good.flipped, true], ...run }), RangeError, /^options\.flipped: expected \d+ entries/],
      ['flipped not boolean', () => ensembleHeatmaps(batch, { ...opts, flipped: good.flipped.map(() => 1 as never), ...run }), TypeError, /^options\.flipped\[0\]: expected a boolean/],
      ['missing flip pairs while flipped', () => ensembleHeatmaps(batch, { mode: 'avg', flipped: good.flipped.map(() => true), ...run }), TypeError, /^options\.flipPairs: expected the schema's flip pairs/],
      ['flip pair outside K', () => ensembleHeatmaps(batch, { ...opts, flipPairs: [[0, good.k]], ...run }), RangeError, /^options\.flipPairs\[0\]: expected indices in \[0, /],
      ['bad mode', () => ensembleHeatmaps(batch, { ...opts, mode: 'mean' as never, ...run }), TypeError, /^options\.mode: expected one of "avg", "max"/],
      ['weights in max mode', () => ensembleHeatmaps(batch, { ...opts, mode: 'max', weights: good.flipped.map(() => 1), ...run }), TypeError, /^options\.weights: expected undefined in "max" mode/],
      ['non-finite weight', () => ensembleHeatmaps(batch, { ...opts, mode: 'avg', weights: good.flipped.map(() => NaN), ...run }), TypeError, /^options\.weights\[0\]: expected a finite number >= 0, received NaN/],
      ['all-zero weights', () => ensembleHeatmaps(batch, { ...opts, mode: 'avg', weights: good.flipped.map(() => 0), ...run }), RangeError, /^options\.weights: expected a positive weight sum over the transforms of RoI 0/],
      ['mask of wrong length', () => ensembleHeatmaps(batch, { ...opts, mask: new Uint8Array(good.t * good.n + 1), ...run }), RangeError, /^options\.mask: expected \d+ entries/],
      ['mask leaving a RoI empty', () => ensembleHeatmaps(batch, { ...opts, mask: new Uint8Array(good.t * good.n), ...run }), RangeError, /^options\.mask: expected at least one transform for RoI 0/],
      ['rois of wrong length', () => ensembleAndDecode(batch, good.rois.subarray(1), { ...opts, ...run }), RangeError, /^rois: expected \d+ values/],
      ['rois not a typed array', () => ensembleAndDecode(batch, Array.from(good.rois) as never, { ...opts, ...run }), TypeError, /^rois: expected a Float32Array or Float64Array/],
      ['inverted RoI', () => decodeHeatmaps(peakMaps(1, 1, 4, [[0, 0]]), Float32Array.of(10, 10, 9, 20), run), RangeError, /^rois\[0\]: expected x2 >= x1/],
      ['inverted RoI in y', () => decodeHeatmaps(peakMaps(1, 1, 4, [[0, 0]]), Float32Array.of(10, 10, 19, 2), run), RangeError, /^rois\[0\]: expected y2 >= y1/],
      ['non-finite RoI', () => decodeHeatmaps(peakMaps(1, 1, 4, [[0, 0]]), Float32Array.of(10, 10, Infinity, 20), run), RangeError, /^rois\[0\]: expected finite/],
      ['huge RoI', () => decodeHeatmaps(peakMaps(1, 1, 4, [[0, 0]]), Float32Array.of(0, 0, 1e6, 20), run), RangeError, /^rois\[0\]: expected sides of at most 65536 px/],
      ['decode of a multi-transform batch', () => decodeHeatmaps(batch, good.rois, run), RangeError, /^maps\.t: expected 1/],
      ['probability not boolean', () => decodeHeatmaps(peakMaps(1, 1, 4, [[0, 0]]), Float32Array.of(0, 0, 4, 4), { probability: 'yes' as never, ...run }), TypeError, /^options\.probability: expected a boolean/],
      ['threads of zero', () => decodeHeatmaps(peakMaps(1, 1, 4, [[0, 0]]), Float32Array.of(0, 0, 4, 4), { threads: 0, ...run }), RangeError, /^options\.threads: expected a positive integer/],
    ];
    it.each(cases)('%s', async (_name, call, kind, message) => {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(kind);
      expect((error as Error).message).toMatch(message);
    });

    it('non-finite heatmap values reject with the first flat index, in the same words on every backend', async () => {
      const data = Float32Array.from(batch.data);
      const slab = good.k * good.m * good.m;
      data[slab - 1] = NaN; // belongs to (t = 0, n = 0)
      data[3] = -Infinity;
      await expect(ensembleAndDecode({ ...batch, data }, good.rois, { ...opts, ...run })).rejects.toThrow(
        /^heatmaps\[3\]: expected a finite number, received -Infinity \(number\)$/,
      );
      await expect(ensembleHeatmaps({ ...batch, data }, { ...opts, ...run })).rejects.toThrow(RangeError);
      const maps = peakMaps(1, 2, 4, [[0, 0]]);
      maps.data[20] = Infinity;
      await expect(decodeHeatmaps(maps, Float32Array.of(0, 0, 4, 4), run)).rejects.toThrow(/^maps\[20\]: expected a finite number, received Infinity \(number\)$/);
    });
  });
}

describe.each(['ts', 'wasm', 'cpu', 'cuda'] as const)('backend %s', (backend) => {
  const status = statuses.find((s) => s.backend === backend)!;
  if (!status.usable) {
    // Only cuda may be absent: the cpu backend is always built before these tests run, and
    // Node >= 20 instantiates the wasm SIMD kernel (its fallback is tested in wasm.test.ts).
    it(`cannot run here, so its suite is skipped: ${status.reason}`, () => {
      expect(backend).toBe('cuda');
      expect(status.reason).toMatch(/compiled but no device|not compiled/);
    });
    it.skip(`all kernel cases (skipped: ${status.reason})`, () => {});
    return;
  }
  runBackendSuite(backend);
});

// The streaming count matching (order-statistic radix select over a scan) against the
// sort-based reference countMatchThreshold: same choice, same curve, same JSON, on random
// scores with many ties, negative and zero scores, and the edge targets.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { arrayScan, calibrate, countMatchScan, countMatchThreshold, kthLargest } from '@omnidistill/select';
import type { RawImagePrediction } from '@omnidistill/select';
import { Scratch } from '../src/spill.js';

/** Scores drawn from a few values (ties), a wide range, or both. */
const scoresArb = fc.oneof(
  fc.array(fc.integer({ min: -6, max: 6 }).map((v) => v / 4), { maxLength: 60 }),
  fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true }), { maxLength: 60 }),
  fc.array(fc.constantFrom(0, -0, 1e-300, -1e-300, 0.5, 0.5 + Number.EPSILON, 5e-324, -5e-324), { maxLength: 60 }),
);

async function bothAgree(scores: number[], units: number, target: number, curveSamples?: number): Promise<void> {
  const options = curveSamples === undefined ? {} : { curveSamples };
  const reference = countMatchThreshold(scores, units, target, options);
  const streamed = await countMatchScan(arrayScan(scores), units, target, options);
  // calibration.json is JSON: -0 and +0 serialise alike, everything else must match exactly.
  expect(JSON.stringify(streamed)).toBe(JSON.stringify(reference));
}

describe('kthLargest', () => {
  it('finds the k-th largest with the counts above and equal, like a sort', async () => {
    await fc.assert(
      fc.asyncProperty(scoresArb.filter((s) => s.length > 0), fc.nat(), async (scores, pick) => {
        const rank = 1 + (pick % scores.length);
        const sorted = [...scores].sort((a, b) => b - a);
        const value = sorted[rank - 1];
        const r = await kthLargest(arrayScan(scores), scores.length, rank);
        expect(r.value === value).toBe(true); // -0 and +0 are one value
        expect(r.above).toBe(scores.filter((s) => s > value).length);
        expect(r.equal).toBe(scores.filter((s) => s === value).length);
      }),
      { numRuns: 400 },
    );
  });

  it('refuses a rank outside 1…count', async () => {
    await expect(kthLargest(arrayScan([1, 2]), 2, 0)).rejects.toThrow('rank: expected an integer in [1, 2], received 0');
    await expect(kthLargest(arrayScan([1, 2]), 2, 3)).rejects.toThrow(RangeError);
  });
});

describe('countMatchScan', () => {
  it('gives the reference choice and curve on random scores, units and targets', async () => {
    await fc.assert(
      fc.asyncProperty(scoresArb, fc.integer({ min: 0, max: 12 }), fc.double({ min: 0, max: 8, noNaN: true }), fc.integer({ min: 2, max: 12 }), async (scores, units, target, samples) => {
        await bothAgree(scores, units, target, samples);
      }),
      { numRuns: 600 },
    );
  });

  it('agrees at the edges: nothing asked, everything asked, exactly all, no scores, all tied', async () => {
    const scores = [0.9, 0.5, 0.5, 0.2, -0.1];
    await bothAgree(scores, 5, 0); // k = 0: keep nothing, matched
    await bothAgree(scores, 1, 5); // k = n
    await bothAgree(scores, 1, 7); // k > n: exhausted
    await bothAgree(scores, 0, 1); // no units
    await bothAgree([], 3, 1); // no scores
    await bothAgree([0.7, 0.7, 0.7], 3, 0.5); // all tied
    await bothAgree([0.7, 0.7, 0.7], 3, 0.1);
    await bothAgree([0.9, 0.9, 0.1], 3, 0.3); // top tie group overshoots
    await bothAgree([0.9, 0.5, 0.5], 1, 2); // equally close: the smaller count
    await bothAgree([0.3, 0.1, 0.2], 10, 0.1 * 3); // ideal with rounding error (0.30000000000000004 × 10)
  });

  it('agrees on large inputs with many distinct and tied scores', async () => {
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const scores = Array.from({ length: 50_000 }, (_, i) => (i % 5 === 0 ? Math.round(next() * 20) / 20 : next() * 2 - 1));
    for (const target of [0, 0.3, 1.7, 4.9, 5, 6]) await bothAgree(scores, 10_000, target);
  });

  it('refuses NaN and infinite scores with the path, like the reference', async () => {
    await expect(countMatchScan(arrayScan([0.1, Number.NaN]), 1, 1)).rejects.toThrow('scores[1]: expected a finite number, received NaN (number)');
    await expect(countMatchScan(arrayScan([Infinity]), 1, 1)).rejects.toThrow('scores[0]: expected a finite number');
    await expect(countMatchScan(arrayScan([0.1]), 1, -1)).rejects.toThrow('target: expected a number >= 0, received -1 (number)');
    await expect(countMatchScan(arrayScan([0.1]), 1.5, 1)).rejects.toThrow('units: expected an integer >= 0, received 1.5 (number)');
  });
});

describe('calibrate (scores spilled to scratch files)', () => {
  /** Random detection predictions over 3 categories, ids in increasing or shuffled order. */
  const predictionsArb = fc
    .array(
      fc.array(fc.record({ score: fc.integer({ min: 0, max: 10 }).map((v) => v / 10), categoryId: fc.integer({ min: 1, max: 3 }) }), { maxLength: 5 }),
      { maxLength: 30 },
    )
    .chain((images) => fc.tuple(fc.constant(images), fc.shuffledSubarray(images.map((_, i) => i + 1), { minLength: images.length, maxLength: images.length })));

  it('matches count matching over the same scores held in memory (detection, any id order)', async () => {
    await fc.assert(
      fc.asyncProperty(predictionsArb, fc.boolean(), async ([images, order], sorted) => {
        const ids = sorted ? [...order].sort((a, b) => a - b) : order;
        const predictions: RawImagePrediction[] = images.map((instances, i) => ({
          imageId: ids[i],
          fileName: `${ids[i]}.png`,
          width: 10,
          height: 10,
          instances: instances.map((x) => ({ bbox: [0, 0, 1, 1], ...x })),
        }));
        const perCategory = new Map([[1, 0.8], [2, 0.3]]);
        const c = await calibrate(predictions, { instancesPerImage: 1.1, perCategory }, { task: 'detection' });
        for (const t of c.instanceThresholds) {
          const scores = predictions.flatMap((p) => p.instances.filter((x) => x.categoryId === t.categoryId).map((x) => x.score));
          const { categoryId: _, ...choice } = t;
          expect(JSON.stringify(choice)).toBe(JSON.stringify(countMatchThreshold(scores, predictions.length, perCategory.get(t.categoryId!) ?? 0)));
        }
      }),
      { numRuns: 60 },
    );
  });

  it('still refuses a repeated image id when the ids come out of order', async () => {
    const p = (id: number): RawImagePrediction => ({ imageId: id, fileName: `${id}.png`, width: 1, height: 1, instances: [] });
    const options = { task: 'detection' as const };
    const targets = { instancesPerImage: 1, perCategory: new Map([[1, 1]]) };
    await expect(calibrate([p(5), p(3), p(9), p(3)], targets, options)).rejects.toThrow('predictions[3].imageId: expected an image id not used by an earlier record, received 3');
    await expect(calibrate([p(5), p(3), p(5)], targets, options)).rejects.toThrow('predictions[2].imageId');
    await expect(calibrate([p(1), p(2), p(2)], targets, options)).rejects.toThrow('predictions[2].imageId');
    await expect(calibrate([p(3), p(1), p(2)], targets, options)).resolves.toMatchObject({ images: 3 });
  });
});

describe('scratch columns', () => {
  it('read back every row in order across blocks, reusing one read block for the scans of a folder', async () => {
    const scratch = await Scratch.create();
    try {
      // 3 numbers per row, rows past one read block (131072 numbers), in two columns.
      const a = await scratch.column(3);
      const b = await scratch.column(1);
      const rows = 50_000;
      for (let r = 0; r < rows; r++) {
        for (let k = 0; k < 3; k++) a.push(r * 3 + k);
        b.push(-r);
        await a.flushIfFull();
        await b.flushIfFull();
      }
      const blocks = new Set<Float64Array>();
      let next = 0;
      await a.scanRows((block, i) => {
        blocks.add(block);
        for (let k = 0; k < 3; k++) expect(block[i + k]).toBe(next * 3 + k);
        next++;
      });
      expect(next).toBe(rows);
      let sum = 0;
      await b.scanRows((block, i) => {
        blocks.add(block);
        sum += block[i];
      });
      expect(sum).toBe(-(rows * (rows - 1)) / 2);
      await a.scanRows((block) => void blocks.add(block));
      expect(blocks.size).toBe(1);
      // Overlapping scans each get a block of their own.
      const during = new Set<Float64Array>();
      await Promise.all([a.scanRows((block) => void during.add(block)), b.scanRows((block) => void during.add(block))]);
      expect(during.size).toBe(2);
    } finally {
      await scratch.dispose();
    }
  });
});

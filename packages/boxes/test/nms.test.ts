// NMS family against the plain references, hand-checked values and input validation.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  NMS_STRATEGIES,
  batchedNms,
  batchedNmsReference,
  iouMatrix,
  nms,
  nmsReference,
  softNms,
} from '@omnidistill/boxes';

/** Random clustered boxes (many overlaps, exact score ties, some empty boxes). */
const boxesArb = fc
  .record({
    n: fc.integer({ min: 0, max: 300 }),
    seed: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 7 * 300, maxLength: 7 * 300 }),
    centres: fc.integer({ min: 1, max: 12 }),
    tieLevels: fc.integer({ min: 2, max: 1000 }),
  })
  .map(({ n, seed, centres, tieLevels }) => {
    const boxes = new Float64Array(4 * n);
    const scores = new Float64Array(n);
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const r = seed.slice(7 * i, 7 * i + 7);
      const c = Math.floor(r[0] * centres);
      const cx = 50 + ((c * 37) % 11) * 40;
      const cy = 50 + ((c * 53) % 7) * 40;
      const w = 4 + r[1] * 60 * (r[6] < 0.05 ? 0 : 1);
      const h = 4 + r[2] * 60;
      const x1 = cx + (r[3] - 0.5) * 30;
      const y1 = cy + (r[4] - 0.5) * 30;
      boxes.set([x1, y1, x1 + w, y1 + h], 4 * i);
      scores[i] = Math.floor(r[5] * tieLevels) / tieLevels; // coarse levels -> exact ties
      labels[i] = Math.floor(r[6] * 3);
    }
    return { boxes, scores, labels };
  });

describe('hard NMS against the plain reference', () => {
  it('every strategy equals the reference (both conventions, thresholds in [0, 1])', () => {
    fc.assert(
      fc.property(boxesArb, fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom('continuous' as const, 'pixelIndex' as const), ({ boxes, scores }, thr, convention) => {
        const ref = nmsReference(boxes, scores, thr, convention);
        for (const strategy of NMS_STRATEGIES) {
          expect(Array.from(nms({ boxes, scores }, { iouThreshold: thr, convention, strategy }))).toEqual(ref);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('batched NMS equals the per-class reference, and classes never suppress each other', () => {
    fc.assert(
      fc.property(boxesArb, fc.double({ min: 0, max: 1, noNaN: true }), ({ boxes, scores, labels }, thr) => {
        const ref = batchedNmsReference(boxes, scores, labels, thr);
        for (const strategy of NMS_STRATEGIES) {
          expect(Array.from(batchedNms({ boxes, scores, labels }, { iouThreshold: thr, strategy }))).toEqual(ref);
        }
      }),
      { numRuns: 60 },
    );
    const twin = new Float64Array([0, 0, 10, 10, 0, 0, 10, 10]);
    const s = new Float64Array([0.9, 0.8]);
    expect(Array.from(batchedNms({ boxes: twin, scores: s, labels: new Int32Array([1, 2]) }, { iouThreshold: 0.5 }))).toEqual([0, 1]);
    expect(Array.from(batchedNms({ boxes: twin, scores: s, labels: new Int32Array([1, 1]) }, { iouThreshold: 0.5 }))).toEqual([0]);
  });

  it('large inputs: the grid strategy equals the pairwise sweep', () => {
    const n = 3000;
    const boxes = new Float32Array(4 * n);
    const scores = new Float32Array(n);
    let state = 7;
    const rnd = () => ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648);
    for (let i = 0; i < n; i++) {
      const cx = Math.floor(rnd() * 40) * 50;
      const cy = Math.floor(rnd() * 40) * 50;
      const s = 20 + rnd() * 80;
      boxes.set([cx + rnd() * 10, cy + rnd() * 10, cx + s, cy + s], 4 * i);
      scores[i] = Math.round(rnd() * 100) / 100;
    }
    const a = nms({ boxes, scores }, { iouThreshold: 0.5, strategy: 'pairwise' });
    const b = nms({ boxes, scores }, { iouThreshold: 0.5, strategy: 'grid' });
    expect(Array.from(b)).toEqual(Array.from(a));
    expect(Array.from(a)).toEqual(nmsReference(boxes, scores, 0.5));
  });

  it('keeps score order and is stable on ties (lower index first)', () => {
    const boxes = new Float64Array([0, 0, 10, 10, 100, 100, 110, 110, 200, 200, 210, 210]);
    expect(Array.from(nms({ boxes, scores: new Float64Array([0.5, 0.5, 0.9]) }, { iouThreshold: 0.5 }))).toEqual([2, 0, 1]);
    // Identical boxes with equal scores: the first one survives.
    const same = new Float64Array([0, 0, 10, 10, 0, 0, 10, 10]);
    expect(Array.from(nms({ boxes: same, scores: new Float64Array([0.7, 0.7]) }, { iouThreshold: 0.5 }))).toEqual([0]);
  });

  it('suppresses only when IoU is strictly above the threshold', () => {
    // IoU([0,0,10,10], [5,0,15,10]) = 50 / 150 = 1/3 exactly representable? use 0.5: [0,0,10,10] vs [0,0,10,20] -> 100/200
    const boxes = new Float64Array([0, 0, 10, 10, 0, 0, 10, 20]);
    const scores = new Float64Array([0.9, 0.8]);
    expect(Array.from(nms({ boxes, scores }, { iouThreshold: 0.5 }))).toEqual([0, 1]);
    expect(Array.from(nms({ boxes, scores }, { iouThreshold: 0.49 }))).toEqual([0]);
  });
});

describe('IoU matrix', () => {
  it('continuous and +1 conventions', () => {
    const a = new Float64Array([0, 0, 10, 10]);
    const b = new Float64Array([5, 0, 15, 10, 20, 20, 30, 30]);
    expect(Array.from(iouMatrix(a, b))).toEqual([50 / 150, 0]);
    expect(Array.from(iouMatrix(a, b, { convention: 'pixelIndex' }))).toEqual([(6 * 11) / (121 + 121 - 66), 0]);
  });
  it('touching boxes overlap by one pixel column in the +1 convention only', () => {
    const a = new Float64Array([0, 0, 9, 9]);
    const b = new Float64Array([9, 0, 18, 9]);
    expect(iouMatrix(a, b)[0]).toBe(0);
    expect(iouMatrix(a, b, { convention: 'pixelIndex' })[0]).toBeCloseTo(10 / 190, 15);
  });
  it('empty boxes give 0, never NaN', () => {
    const e = new Float64Array([5, 5, 5, 5]);
    expect(Array.from(iouMatrix(e, e))).toEqual([0]);
  });
});

describe('soft-NMS decayed scores', () => {
  const image = { width: 100, height: 100 };
  const boxes = new Float64Array([0, 0, 10, 10, 0, 0, 10, 20]); // IoU 0.5
  const det = { boxes, scores: new Float64Array([0.9, 0.8]), labels: new Int32Array([0, 0]) };
  it('linear: s · (1 − IoU) above the threshold', () => {
    const out = softNms([det], { image, method: 'linear', iouThreshold: 0.3 });
    expect(Array.from(out.scores)).toEqual([0.9, 0.8 * 0.5]);
    expect(Array.from(softNms([det], { image, method: 'linear', iouThreshold: 0.3, returnedScores: 'original' }).scores)).toEqual([0.9, 0.8]);
    // Below the linear threshold nothing decays.
    expect(Array.from(softNms([det], { image, method: 'linear', iouThreshold: 0.6 }).scores)).toEqual([0.9, 0.8]);
  });
  it('gaussian: s · exp(−IoU² / σ), and a box decayed below the threshold is dropped', () => {
    const out = softNms([det], { image, method: 'gaussian', sigma: 0.5 });
    expect(out.scores[1]).toBeCloseTo(0.8 * Math.exp(-0.25 / 0.5), 15);
    const strict = softNms([det], { image, method: 'gaussian', sigma: 0.5, scoreThreshold: 0.5 });
    expect(Array.from(strict.indices)).toEqual([0]);
  });
});

describe('input validation names the field', () => {
  const boxes = new Float64Array([0, 0, 10, 10, 5, 5, 15, 15]);
  const scores = new Float64Array([0.9, 0.8]);
  it('NaN / Inf coordinates and scores', () => {
    expect(() => nms({ boxes: new Float64Array([0, 0, 10, 10, 5, NaN, 15, 15]), scores }, { iouThreshold: 0.5 })).toThrow('boxes[1].y1: expected a finite number, received NaN (number)');
    expect(() => nms({ boxes, scores: new Float64Array([0.9, Infinity]) }, { iouThreshold: 0.5 })).toThrow('scores[1]: expected a finite number, received Infinity (number)');
  });
  it('inverted corners', () => {
    expect(() => nms({ boxes: new Float64Array([10, 0, 0, 10]), scores: new Float64Array([1]) }, { iouThreshold: 0.5 })).toThrow('boxes[0].x2: expected a number >= x1 (10), received 0 (number)');
    expect(() => iouMatrix(new Float64Array([0, 10, 10, 0]), boxes)).toThrow(/a\[0\]\.y2/);
  });
  it('mismatched lengths and types', () => {
    expect(() => nms({ boxes, scores: new Float64Array([0.9]) }, { iouThreshold: 0.5 })).toThrow('scores: expected 2 elements, received Float64Array of length 1');
    expect(() => batchedNms({ boxes, scores, labels: new Int32Array(3) }, { iouThreshold: 0.5 })).toThrow(/labels: expected 2 elements/);
    expect(() => batchedNms({ boxes, scores, labels: new Uint8Array(2) as never }, { iouThreshold: 0.5 })).toThrow(
      'labels: expected an Int32Array or number[] of integer labels, received Uint8Array of length 2',
    );
    expect(() => batchedNms({ boxes, scores, labels: [0, 1.5] }, { iouThreshold: 0.5 })).toThrow('labels[1]: expected a 32-bit integer label, received 1.5 (number)');
    expect(() => nms({ boxes: new Float64Array(5), scores: new Float64Array(1) }, { iouThreshold: 0.5 })).toThrow(/multiple of 4/);
    expect(() => nms({ boxes: [0, 0, 1, 1] as never, scores }, { iouThreshold: 0.5 })).toThrow(
      'boxes[0]: expected an [x1, y1, x2, y2] array of 4 numbers (a flat number[] is ambiguous: pass rows, or a Float64Array), received 0 (number)',
    );
    expect(() => nms({ boxes: new Int32Array(8) as never, scores }, { iouThreshold: 0.5 })).toThrow(
      'boxes: expected a Float32Array, Float64Array or number[][] ([x1, y1, x2, y2] rows), received Int32Array of length 8',
    );
    expect(() => nms({ boxes: [[0, 0, 1]], scores: [1] }, { iouThreshold: 0.5 })).toThrow('boxes[0]: expected an [x1, y1, x2, y2] array of 4 numbers, received an array of length 3');
    expect(() => nms({ boxes: [[0, 0, 1, '1']] as never, scores: [1] }, { iouThreshold: 0.5 })).toThrow('boxes[0][3]: expected a number, received "1" (string)');
    expect(() => nms({ boxes, scores: 'high' as never }, { iouThreshold: 0.5 })).toThrow('scores: expected a Float32Array, Float64Array or number[], received "high" (string)');
    expect(() => nms(null as never, { iouThreshold: 0.5 })).toThrow('detections: expected scored boxes { boxes, scores }, received null');
  });
  it('thresholds out of range', () => {
    expect(() => nms({ boxes, scores }, { iouThreshold: 1.5 })).toThrow('options.iouThreshold: expected a number in [0, 1], received 1.5 (number)');
    expect(() => nms({ boxes, scores }, {} as never)).toThrow(/options\.iouThreshold: expected a finite number/);
    expect(() => nms({ boxes, scores }, { iouThreshold: 0.5, strategy: 'fast' as never })).toThrow(/options\.strategy/);
    expect(() => softNms([{ boxes, scores, labels: new Int32Array(2) }], { image: { width: 20, height: 20 }, sigma: 0 })).toThrow(/options\.sigma: expected a positive number/);
  });
});

// WBF, NMW and box voting: the upstream defects we do not inherit, the repairs we do
// inherit, and voting against the plain reference for every scoring method.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Detections } from '@omnidistill/core';
import { VOTE_SCORINGS, boxVoting, mergeDetectionsReference, nms, nonMaximumWeighted, weightedBoxesFusion } from '@omnidistill/boxes';
import { resolveTransform, IDENTITY } from '@omnidistill/transforms';

const image = { width: 100, height: 100 };
const det = (boxes: number[], scores: number[], labels?: number[]): Detections => ({
  boxes: new Float64Array(boxes),
  scores: new Float64Array(scores),
  labels: new Int32Array(labels ?? scores.map(() => 0)),
});

describe('weighted boxes fusion', () => {
  it('fuses overlapping boxes into the score-weighted mean; avg rescales by min(models, boxes) / Σw', () => {
    const a = det([10, 10, 50, 50], [0.9]);
    const b = det([12, 10, 52, 50], [0.6]);
    const out = weightedBoxesFusion([a, b], { image, iouThreshold: 0.5 });
    expect(out.scores).toHaveLength(1);
    expect(out.boxes[0]).toBeCloseTo((0.9 * 10 + 0.6 * 12) / 1.5, 12);
    expect(out.scores[0]).toBeCloseTo(((0.9 + 0.6) / 2) * 2 / 2, 12);
    const single = weightedBoxesFusion([a, det([], [])], { image });
    expect(single.scores[0]).toBeCloseTo(0.9 / 2, 12); // one of two models saw it
  });

  it('never scores above 1 (upstream can: weights [0.2, 1], two boxes of model 2 at 0.9 → 1.5)', () => {
    const light = det([70, 70, 90, 90], [0.5]);
    const heavy = det([10, 10, 50, 50, 11, 10, 51, 50], [0.9, 0.9]);
    const upstream = weightedBoxesFusion([light, heavy], { image, weights: [0.2, 1], overflow: 'upstream' });
    const bounded = weightedBoxesFusion([light, heavy], { image, weights: [0.2, 1] });
    const i = upstream.scores.findIndex((s) => s > 1);
    expect(upstream.scores[i]).toBeCloseTo(1.5, 12);
    expect(Math.max(...bounded.scores)).toBeLessThanOrEqual(1);
    expect(bounded.scores[0]).toBeCloseTo(0.9, 12); // a perfect-ish cluster keeps its mean score
    // Clusters that could not overflow are left exactly as upstream scores them.
    expect(bounded.scores[1]).toBe(upstream.scores[1]);
    const perfect = det([10, 10, 50, 50, 11, 10, 51, 50], [1, 1]);
    expect(weightedBoxesFusion([light, perfect], { image, weights: [0.2, 1] }).scores[0]).toBeCloseTo(1, 12);
  });

  it('max, box_and_model_avg and absent_model_aware_avg stay within [0, 1]', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.double({ min: 0, max: 60, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 2 })), { minLength: 1, maxLength: 30 }),
        fc.array(fc.double({ min: 0.1, max: 5, noNaN: true }), { minLength: 3, maxLength: 3 }),
        fc.constantFrom('avg' as const, 'max' as const, 'box_and_model_avg' as const, 'absent_model_aware_avg' as const),
        (rows, weights, confType) => {
          const models = [0, 1, 2].map((m) => {
            const mine = rows.filter((r) => r[2] === m);
            return det(mine.flatMap(([x]) => [x, x / 2, x + 30, x / 2 + 30]), mine.map(([, s]) => s));
          });
          const out = weightedBoxesFusion(models, { image, weights, confType, iouThreshold: 0.3 });
          for (const s of out.scores) {
            expect(s).toBeGreaterThanOrEqual(0);
            expect(s).toBeLessThanOrEqual(1 + 1e-12);
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('repairs swapped corners and clips to the image, as ensemble_boxes does', () => {
    const straight = weightedBoxesFusion([det([10, 20, 50, 60], [0.8])], { image });
    const swapped = weightedBoxesFusion([det([50, 60, 10, 20], [0.8])], { image });
    expect(Array.from(swapped.boxes)).toEqual(Array.from(straight.boxes));
    const outside = weightedBoxesFusion([det([-5, 20, 150, 60], [0.8])], { image });
    expect(Array.from(outside.boxes)).toEqual([0, 20, 100, 60]);
    // A box that is empty after clipping is skipped.
    expect(weightedBoxesFusion([det([120, 20, 150, 60], [0.8])], { image }).scores).toHaveLength(0);
  });

  it('skip threshold, labels kept apart', () => {
    const out = weightedBoxesFusion([det([10, 10, 50, 50, 10, 10, 50, 50, 60, 60, 90, 90], [0.9, 0.8, 0.05], [0, 1, 0])], { image, skipBoxThreshold: 0.1 });
    expect(Array.from(out.labels).sort()).toEqual([0, 1]);
  });

  it('rejects nonsense with the field named', () => {
    expect(() => weightedBoxesFusion([det([0, 0, NaN, 1], [0.5])], { image })).toThrow('models[0].boxes[0].x2: expected a finite number, received NaN (number)');
    expect(() => weightedBoxesFusion([det([0, 0, 1, 1], [1.5])], { image })).toThrow('models[0].scores[0]: expected a score in [0, 1], received 1.5 (number)');
    expect(() => weightedBoxesFusion([det([0, 0, 1, 1], [0.5])], { image, weights: [1, 2] })).toThrow(/options\.weights: expected 1 weights/);
    expect(() => weightedBoxesFusion([det([0, 0, 1, 1], [0.5])], { image, weights: [-1] })).toThrow(/options\.weights\[0\]: expected a positive finite number/);
    expect(() => weightedBoxesFusion([det([0, 0, 1, 1], [0.5])], { image: { width: 0, height: 10 } })).toThrow(/image\.width/);
    expect(() => weightedBoxesFusion([det([0, 0, 1, 1], [0.5])], { image, confType: 'mean' as never })).toThrow(/options\.confType/);
    expect(() => weightedBoxesFusion([], { image })).toThrow(/models: expected a non-empty array/);
  });
});

describe('non-maximum weighted', () => {
  it('never returns NaN: a cluster whose scores are all 0 keeps its leader box (upstream: 0/0)', () => {
    const out = nonMaximumWeighted([det([10, 10, 50, 50, 12, 10, 52, 50], [0, 0])], { image });
    expect(Array.from(out.boxes)).toEqual([10, 10, 50, 50]);
    expect(Array.from(out.scores)).toEqual([0]);
    // An empty leader box (IoU with itself 0 upstream) likewise.
    const empty = nonMaximumWeighted([det([10, 10, 10, 50], [0.7])], { image });
    expect(Array.from(empty.boxes)).toEqual([10, 10, 10, 50]);
  });
  it('fuses members weighted by score × IoU with the leader; the score is the leader s', () => {
    const out = nonMaximumWeighted([det([10, 10, 50, 50, 14, 10, 54, 50], [0.9, 0.6])], { image, iouThreshold: 0.5 });
    const iou = (36 * 40) / (2 * 1600 - 36 * 40);
    expect(out.boxes[0]).toBeCloseTo((0.9 * 10 + 0.6 * iou * 14) / (0.9 + 0.6 * iou), 12);
    expect(out.scores[0]).toBe(0.9);
  });
  it('weights scale scores by w / max(w); swapped corners and out-of-image boxes are errors', () => {
    const out = nonMaximumWeighted([det([10, 10, 50, 50], [0.8]), det([60, 60, 90, 90], [0.8])], { image, weights: [1, 4] });
    expect(Array.from(out.scores)).toEqual([0.8, 0.2]);
    expect(() => nonMaximumWeighted([det([50, 10, 10, 50], [0.8])], { image })).toThrow('models[0].boxes[0].x2: expected a number >= x1 (50), received 10 (number)');
    expect(() => nonMaximumWeighted([det([10, 10, 150, 50], [0.8])], { image })).toThrow('models[0].boxes[0].x2: expected a number in [0, 100] (inside the image), received 150 (number)');
  });
});

describe('box voting against the plain reference, every scoring method', () => {
  const scenarioArb = fc.record({
    rows: fc.array(fc.tuple(fc.integer({ min: 0, max: 4 }), fc.double({ min: -4, max: 4, noNaN: true }), fc.double({ min: -4, max: 4, noNaN: true }), fc.double({ min: 0.01, max: 1, noNaN: true })), { minLength: 1, maxLength: 60 }),
    beta: fc.constantFrom(0.5, 1, 2, 3),
    voteThreshold: fc.constantFrom(0, 0.5, 0.8, 0.95),
    convention: fc.constantFrom('continuous' as const, 'pixelIndex' as const),
  });
  it('equals an independent O(n²) implementation (through the merge reference with one identity transform)', () => {
    fc.assert(
      fc.property(scenarioArb, fc.constantFrom(...VOTE_SCORINGS), ({ rows, beta, voteThreshold, convention }, scoring) => {
        const boxes = rows.flatMap(([c, dx, dy]) => [20 * c + dx, 10 + dy, 20 * c + 15 + dx / 2, 30 + dy / 2]);
        const scores = rows.map((r) => r[3]);
        const all = { boxes: new Float64Array(boxes), scores: new Float64Array(scores) };
        const top = nms(all, { iouThreshold: 0.5, convention });
        const voted = boxVoting(all, { top, voteThreshold, scoring, beta, convention });
        const ref = mergeDetectionsReference(
          [{ detections: { ...all, labels: new Int32Array(scores.length) }, transform: resolveTransform(IDENTITY, { width: 200, height: 100 }) }],
          { convention, scoreThreshold: 0, nmsThreshold: 0.5, voting: { voteThreshold, scoring, beta }, topK: 1e9, clip: false },
        );
        // The reference sorts by new score; compare as rows keyed by their position.
        const ours = Array.from(top, (_, i) => ({ s: voted.scores[i], b: Array.from(voted.boxes.subarray(4 * i, 4 * i + 4)) }));
        ours.sort((a, b) => b.s - a.s);
        expect(ours.map((r) => r.s)).toHaveLength(ref.scores.length);
        ours.forEach((r, i) => {
          expect(r.s).toBeCloseTo(ref.scores[i], 10);
          expect(Number.isNaN(r.s)).toBe(false);
        });
        const sortedRef = ref.boxes.map((b, i) => ({ s: ref.scores[i], b }));
        for (const r of ours) {
          expect(sortedRef.some((q) => Math.abs(q.s - r.s) < 1e-10 && q.b.every((v, c) => Math.abs(v - r.b[c]) < 1e-9))).toBe(true);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('voters at the very edge of the pruning window still vote', () => {
    // IoU([0,0,100,100], [15,0,100,100]) = 0.85; IoU with [-24.9,0,100,100] = 100/124.9 > 0.8;
    // with [-25.1,0,100,100] just below 0.8.
    const all = {
      boxes: new Float64Array([0, 0, 100, 100, 15, 0, 100, 100, -24.9, 0, 100, 100, -25.1, 0, 100, 100, 0, 19.9, 100, 100]),
      scores: new Float64Array([0.9, 0.5, 0.4, 0.3, 0.2]),
    };
    const v = boxVoting(all, { top: new Int32Array([0]), voteThreshold: 0.8, scoring: 'quasi_sum', beta: 0 });
    expect(v.scores[0]).toBeCloseTo(0.9 + 0.5 + 0.4 + 0.2, 12);
  });

  it('scores of 0 and 1 never give NaN (temp_avg takes logs)', () => {
    const all = { boxes: new Float64Array([0, 0, 10, 10, 0, 0, 10, 10.5, 0, 0, 10, 11]), scores: new Float64Array([1, 0, 0]) };
    for (const scoring of VOTE_SCORINGS) {
      const v = boxVoting(all, { top: new Int32Array([0, 1]), scoring, voteThreshold: 0.5, beta: 2 });
      for (const x of [...v.scores, ...v.boxes]) expect(Number.isFinite(x)).toBe(true);
    }
    // All voters at score 0: the box is their plain mean.
    const zero = boxVoting({ boxes: new Float64Array([0, 0, 10, 10, 0, 0, 12, 10]), scores: new Float64Array([0, 0]) }, { top: new Int32Array([0]), voteThreshold: 0.5 });
    expect(Array.from(zero.boxes)).toEqual([0, 0, 11, 10]);
  });

  it('top given as separate boxes; a top box without voters is returned unchanged', () => {
    const all = { boxes: new Float64Array([0, 0, 10, 10, 0, 0, 10, 12]), scores: new Float64Array([0.9, 0.3]) };
    const v = boxVoting(all, { top: { boxes: new Float64Array([0, 0, 10, 11, 50, 50, 60, 60]), scores: new Float64Array([0.8, 0.4]) }, voteThreshold: 0.8, scoring: 'avg' });
    expect(v.boxes[3]).toBeCloseTo((0.9 * 10 + 0.3 * 12) / 1.2, 12);
    expect(v.scores[0]).toBeCloseTo(0.6, 12);
    expect(Array.from(v.boxes.subarray(4))).toEqual([50, 50, 60, 60]);
    expect(v.scores[1]).toBe(0.4);
  });

  it('rejects bad options and indices', () => {
    const all = { boxes: new Float64Array([0, 0, 10, 10]), scores: new Float64Array([0.9]) };
    expect(() => boxVoting(all, { top: new Int32Array([1]) })).toThrow('top[0]: expected an index into all (0..0), received 1 (number)');
    expect(() => boxVoting(all, { top: new Int32Array([0]), scoring: 'temp_avg', beta: 0 })).toThrow(/options\.beta: expected a positive number for scoring "temp_avg"/);
    expect(() => boxVoting(all, { top: new Int32Array([0]), scoring: 'ID' as never })).toThrow(/options\.scoring/);
    expect(() => boxVoting(all, { top: new Int32Array([0]), voteThreshold: -0.1 })).toThrow(/options\.voteThreshold/);
  });
});

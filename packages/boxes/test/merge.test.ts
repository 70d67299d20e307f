// The detection-distillation merge against its plain reference, plus OKS / OKS-NMS.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { COCO_PERSON, type Detections } from '@omnidistill/core';
import { VOTE_SCORINGS, mergeDetections, mergeDetectionsReference, oksNms, oksPair } from '@omnidistill/boxes';
import { forwardBoxes, paperPlan, resolvePlan, scalePlan, type PixelConvention, type TransformGeometry } from '@omnidistill/transforms';

const image = { width: 640, height: 480 };

/** Per-transform detections of the same objects, mapped into each transformed image. */
function scenario(plan: TransformGeometry[], objects: number[][], rnd: () => number, convention: PixelConvention, perTransform: number) {
  return plan.map((t) => {
    const orig: number[] = [];
    const scores: number[] = [];
    const labels: number[] = [];
    for (let i = 0; i < perTransform; i++) {
      const o = objects[Math.floor(rnd() * objects.length)];
      const j = () => (rnd() - 0.5) * 12;
      const x1 = Math.max(0, o[0] + j());
      const y1 = Math.max(0, o[1] + j());
      orig.push(x1, y1, Math.max(x1, o[2] + j()), Math.max(y1, o[3] + j()));
      scores.push(Math.round(rnd() * 1000) / 1000);
      labels.push(o[4]);
    }
    const detections: Detections = {
      boxes: Float32Array.from(forwardBoxes(new Float64Array(orig), t, { convention })),
      scores: Float32Array.from(scores),
      labels: Int32Array.from(labels),
    };
    return { detections, transform: t };
  });
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
}

describe('mergeDetections', () => {
  it('equals the plain O(n²) reference (random scenes, both conventions, every scoring, top-k)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1e9 }),
        fc.constantFrom<PixelConvention>('continuous', 'pixelIndex'),
        fc.constantFrom(...VOTE_SCORINGS),
        fc.constantFrom(5, 50, 1000),
        fc.boolean(),
        (seed, convention, scoring, topK, vote) => {
          const rnd = lcg(seed);
          const objects = Array.from({ length: 6 }, () => {
            const x = rnd() * 500;
            const y = rnd() * 350;
            return [x, y, x + 20 + rnd() * 120, y + 20 + rnd() * 120, Math.floor(rnd() * 3)];
          });
          const plan = resolvePlan(scalePlan({ scales: [240, 480, 720], flip: true }), image);
          const input = scenario(plan, objects, rnd, convention, 25);
          const opts = { convention, scoreThreshold: 0.05, nmsThreshold: 0.5, voting: vote ? { voteThreshold: 0.8, scoring, beta: 2 } : (false as const), topK, clip: true };
          const fast = mergeDetections(input, opts);
          const ref = mergeDetectionsReference(input, opts);
          expect(fast.scores.length).toBe(ref.scores.length);
          ref.scores.forEach((s, i) => {
            expect(fast.scores[i]).toBeCloseTo(s, 10);
            expect(fast.labels[i]).toBe(ref.labels[i]);
            ref.boxes[i].forEach((v, c) => expect(fast.boxes[4 * i + c]).toBeCloseTo(v, 8));
          });
        },
      ),
      { numRuns: 40 },
    );
  });

  it('a larger union (paper plan, 19 transforms × 120) also matches the reference', () => {
    const rnd = lcg(42);
    const objects = Array.from({ length: 12 }, () => {
      const x = rnd() * 500;
      const y = rnd() * 350;
      return [x, y, x + 30 + rnd() * 100, y + 30 + rnd() * 100, Math.floor(rnd() * 2)];
    });
    const input = scenario(resolvePlan(paperPlan(), image), objects, rnd, 'continuous', 120);
    const opts = { convention: 'continuous' as const, scoreThreshold: 0.05, nmsThreshold: 0.5, voting: { voteThreshold: 0.8, scoring: 'avg' as const, beta: 1 }, topK: 100, clip: true };
    const fast = mergeDetections(input, opts);
    const ref = mergeDetectionsReference(input, opts);
    expect(Array.from(fast.scores)).toHaveLength(ref.scores.length);
    ref.scores.forEach((s, i) => expect(fast.scores[i]).toBeCloseTo(s, 10));
  });

  it('maps flipped, scaled detections back to the original image', () => {
    const [, s, sf] = resolvePlan(scalePlan({ scales: [960] }), image); // scale 2
    const box = new Float64Array([100, 50, 200, 150]);
    const d = (t: TransformGeometry, score: number): { detections: Detections; transform: TransformGeometry } => ({
      transform: t,
      detections: { boxes: forwardBoxes(box, t, { convention: 'continuous' }), scores: new Float64Array([score]), labels: new Int32Array([3]) },
    });
    const out = mergeDetections([d(s, 0.9), d(sf, 0.8)], { convention: 'continuous' });
    [100, 50, 200, 150].forEach((v, c) => expect(out.boxes[c]).toBeCloseTo(v, 9));
    expect(Array.from(out.scores)).toEqual([0.9]);
    expect(Array.from(out.labels)).toEqual([3]);
    // Flipped box in the 1280-wide image: [1280 − 400, …] = [880, 100, 1080, 300].
    expect(Array.from(forwardBoxes(box, sf, { convention: 'continuous' }))).toEqual([880, 100, 1080, 300]);
  });

  it('keeps exactly top-k, drops scores at or below the threshold, clips to the image', () => {
    const [id] = resolvePlan(paperPlan(), image);
    const boxes: number[] = [];
    const scores: number[] = [];
    for (let i = 0; i < 30; i++) {
      boxes.push(i * 20, 0, i * 20 + 10, 700); // far apart; y2 beyond the image
      scores.push(i === 0 ? 0.05 : 0.5);
    }
    const detections = { boxes: new Float64Array(boxes), scores: new Float64Array(scores), labels: new Int32Array(30) };
    const out = mergeDetections([{ detections, transform: id }], { convention: 'continuous', topK: 10 });
    expect(out.scores).toHaveLength(10);
    expect(Array.from(out.boxes.subarray(0, 4))).toEqual([20, 0, 30, 480]); // box 0 (score 0.05) dropped
    const px = mergeDetections([{ detections, transform: id }], { convention: 'pixelIndex', topK: 1 });
    expect(px.boxes[3]).toBe(479);
  });

  it('rejects bad inputs with the field named', () => {
    const [id] = resolvePlan(paperPlan(), image);
    const other = resolvePlan(paperPlan(), { width: 100, height: 100 })[0];
    const ok = { boxes: new Float64Array([0, 0, 1, 1]), scores: new Float64Array([0.5]), labels: new Int32Array(1) };
    expect(() => mergeDetections([{ detections: ok, transform: id }], {} as never)).toThrow(/options\.convention: expected one of/);
    expect(() => mergeDetections([{ detections: ok, transform: id }, { detections: ok, transform: other }], { convention: 'continuous' })).toThrow(
      'perTransform[1].transform.source: expected the same original image size as perTransform[0] (640x480), received "100x100" (string)',
    );
    expect(() => mergeDetections([{ detections: { ...ok, scores: new Float64Array([2]) }, transform: id }], { convention: 'continuous' })).toThrow(
      'perTransform[0].detections.scores[0]: expected a score in [0, 1], received 2 (number)',
    );
    expect(() => mergeDetections([{ detections: { ...ok, boxes: new Float64Array([0, 0, 1, NaN]) }, transform: id }], { convention: 'continuous' })).toThrow(
      /perTransform\[0\]\.detections\.boxes\[0\]\.y2: expected a finite number/,
    );
    expect(() => mergeDetections([{ detections: ok, transform: id }], { convention: 'continuous', topK: -1 })).toThrow(/options\.topK/);
    expect(() => mergeDetections([{ detections: ok, transform: {} as never }], { convention: 'continuous' })).toThrow(/perTransform\[0\]\.transform: expected a TransformGeometry/);
    expect(() => mergeDetections([], { convention: 'continuous' })).toThrow(/perTransform: expected a non-empty array/);
  });
});

describe('OKS and OKS-NMS', () => {
  const k = 17;
  const vars = Float64Array.from(COCO_PERSON.sigmas, (s) => (2 * s) ** 2);
  const person = (dx: number, v = 2) => {
    const a = new Float64Array(3 * k);
    for (let c = 0; c < k; c++) a.set([100 + 5 * c + dx, 200 + 3 * c, v], 3 * c);
    return a;
  };

  it('OKS follows REFERENCE.md §5', () => {
    const g = person(0);
    expect(oksPair(person(0), 0, g, 0, k, 1000, null, vars, 0)).toBeCloseTo(1, 12);
    const d = person(3);
    const expected = COCO_PERSON.sigmas.reduce((acc, s) => acc + Math.exp(-9 / (2 * 1000 * (2 * s) ** 2)), 0) / k;
    expect(oksPair(d, 0, g, 0, k, 1000, null, vars, 0)).toBeCloseTo(expected, 12);
    // Only labeled keypoints of g count.
    const partial = person(0);
    for (let c = 1; c < k; c++) partial[3 * c + 2] = 0;
    expect(oksPair(d, 0, partial, 0, k, 1000, null, vars, 0)).toBeCloseTo(Math.exp(-9 / (2 * 1000 * (2 * 0.026) ** 2)), 12);
    // No labeled keypoint: distance to the enlarged box, 0 inside it.
    const none = person(0, 0);
    expect(oksPair(d, 0, none, 0, k, 1000, [0, 0, 300, 300], vars, 0)).toBeCloseTo(1, 12);
    expect(oksPair(d, 0, none, 0, k, 1000, null, vars, 0)).toBe(0);
  });

  it('suppresses duplicates of a kept person, keeps distinct people', () => {
    const data = new Float32Array(3 * 3 * k);
    data.set(person(0), 0);
    data.set(person(2), 3 * k);
    data.set(person(300), 6 * k);
    const keep = oksNms(
      { keypoints: { data, n: 3, k }, scores: new Float64Array([0.7, 0.9, 0.8]), areas: new Float64Array([5000, 5000, 5000]) },
      { schema: COCO_PERSON },
    );
    expect(Array.from(keep)).toEqual([1, 2]);
    const loose = oksNms({ keypoints: { data, n: 3, k }, scores: new Float64Array([0.7, 0.9, 0.8]), areas: new Float64Array([5000, 5000, 5000]) }, { sigmas: COCO_PERSON.sigmas, threshold: 1 });
    expect(Array.from(loose)).toEqual([1, 2, 0]);
  });

  it('needs sigmas and areas (or boxes)', () => {
    const kp = { data: new Float32Array(3 * k), n: 1, k };
    expect(() => oksNms({ keypoints: kp, scores: new Float64Array([1]), areas: new Float64Array([1]) }, {})).toThrow(/options\.sigmas: expected the K = 17 OKS sigmas/);
    expect(() => oksNms({ keypoints: kp, scores: new Float64Array([1]) }, { schema: COCO_PERSON })).toThrow(/instances\.areas/);
    expect(() => oksNms({ keypoints: kp, scores: new Float64Array([1]), areas: new Float64Array([1]) }, { sigmas: [0.1] })).toThrow(/options\.sigmas: expected 17 sigmas/);
    const areaFromBox = oksNms({ keypoints: kp, scores: new Float64Array([1]), boxes: new Float64Array([0, 0, 10, 10]) }, { schema: COCO_PERSON });
    expect(Array.from(areaFromBox)).toEqual([0]);
  });
});

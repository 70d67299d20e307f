// The public calling convention: f(detections, options); plain number[][] input equal to
// typed arrays; Detectron's `plusOne` as an alias of `pixelIndex`; ensemble_boxes' tie order
// as `sortDescending: 'numpy'`; soft-NMS `returnedScores`; the deprecated positional forms
// still giving the same results.
import { describe, expect, it } from 'vitest';
import { resolvePlan, paperPlan } from '@omnidistill/transforms';
import {
  PIXEL_CONVENTIONS,
  batchedNms,
  boxVoting,
  iouMatrix,
  mergeDetections,
  nms,
  nonMaximumWeighted,
  numpyArgsortDesc,
  oksNms,
  softNms,
  weightedBoxesFusion,
  type PixelConvention,
  type PixelConventionInput,
} from '@omnidistill/boxes';

const image = { width: 100, height: 100 };
const rows = [
  [10, 10, 50, 50],
  [12, 10, 52, 50],
  [60, 60, 90, 90],
  [10, 10, 50, 50],
];
const scores = [0.9, 0.8, 0.7, 0.8];
const labels = [0, 0, 1, 1];
const typed = { boxes: new Float64Array(rows.flat()), scores: new Float64Array(scores), labels: new Int32Array(labels) };
const plain = { boxes: rows, scores, labels };

describe('plain arrays are accepted wherever typed arrays are', () => {
  it('nms, batchedNms, iouMatrix and boxVoting give the typed-array results', () => {
    expect(nms(plain, { iouThreshold: 0.5 })).toEqual(nms(typed, { iouThreshold: 0.5 }));
    expect(Array.from(nms(plain, { iouThreshold: 0.5 }))).toEqual([0, 2]);
    expect(batchedNms(plain, { iouThreshold: 0.5 })).toEqual(batchedNms(typed, { iouThreshold: 0.5 }));
    expect(Array.from(batchedNms(plain, { iouThreshold: 0.5 }))).toEqual([0, 3, 2]);
    expect(iouMatrix(rows, rows)).toEqual(iouMatrix(typed.boxes, typed.boxes));
    expect(boxVoting(plain, { top: [0, 2], voteThreshold: 0.5 })).toEqual(boxVoting(typed, { top: new Int32Array([0, 2]), voteThreshold: 0.5 }));
  });

  it('the fusion functions and the merge give the typed-array results', () => {
    const models = [plain, { boxes: [[11, 10, 51, 50]], scores: [0.6], labels: [0] }];
    const typedModels = [typed, { boxes: new Float64Array([11, 10, 51, 50]), scores: new Float64Array([0.6]), labels: new Int32Array([0]) }];
    expect(weightedBoxesFusion(models, { image })).toEqual(weightedBoxesFusion(typedModels, { image }));
    expect(nonMaximumWeighted(models, { image })).toEqual(nonMaximumWeighted(typedModels, { image }));
    expect(softNms(models, { image })).toEqual(softNms(typedModels, { image }));
    const [identity] = resolvePlan(paperPlan(), image);
    expect(mergeDetections([{ detections: plain, transform: identity }], { convention: 'continuous' })).toEqual(
      mergeDetections([{ detections: typed, transform: identity }], { convention: 'continuous' }),
    );
  });

  it('oksNms takes plain scores, boxes and areas', () => {
    const k = 2;
    const data = new Float32Array([10, 10, 2, 20, 20, 2, 10.5, 10, 2, 20, 20.5, 2, 60, 60, 2, 70, 70, 2]);
    const sigmas = [0.5, 0.5];
    const typedInstances = { keypoints: { data, n: 3, k }, scores: new Float64Array([0.9, 0.8, 0.7]), areas: new Float64Array([400, 400, 400]) };
    const plainInstances = { keypoints: { data, n: 3, k }, scores: [0.9, 0.8, 0.7], areas: [400, 400, 400] };
    expect(oksNms(plainInstances, { sigmas })).toEqual(oksNms(typedInstances, { sigmas }));
    expect(Array.from(oksNms(plainInstances, { sigmas }))).toEqual([0, 2]);
    const withBoxes = { keypoints: { data, n: 3, k }, scores: [0.9, 0.8, 0.7], boxes: [[0, 0, 20, 20], [0, 0, 20, 20], [50, 50, 70, 70]] };
    expect(Array.from(oksNms(withBoxes, { sigmas }))).toEqual([0, 2]);
  });

  it('a typed array given for boxes is used as is (no copy), a wrong type is named', () => {
    expect(() => weightedBoxesFusion([{ ...typed, labels: new Float32Array(4) as never }], { image })).toThrow(
      'models[0].labels: expected an Int32Array or number[] of integer labels, received Float32Array of length 4',
    );
    expect(() => weightedBoxesFusion([{ ...typed, boxes: 'boxes' as never }], { image })).toThrow(
      'models[0].boxes: expected a Float32Array, Float64Array or number[][] ([x1, y1, x2, y2] rows), received "boxes" (string)',
    );
    expect(() => iouMatrix(new Uint16Array(4) as never, rows)).toThrow(/^a: expected a Float32Array, Float64Array or number\[\]\[\] .*received Uint16Array of length 4$/);
  });
});

describe('pixel conventions', () => {
  it('are exported from boxes, and plusOne (Detectron) is an alias of pixelIndex', () => {
    const names: readonly PixelConvention[] = PIXEL_CONVENTIONS;
    expect(names).toEqual(['continuous', 'pixelIndex']);
    const detectron: PixelConventionInput = 'plusOne';
    const touching = [[0, 0, 9, 9], [9, 0, 18, 9]];
    expect(iouMatrix(touching, touching, { convention: detectron })).toEqual(iouMatrix(touching, touching, { convention: 'pixelIndex' }));
    expect(iouMatrix(touching, touching, { convention: 'plusOne' })[1]).toBeCloseTo(10 / 190, 12);
    expect(iouMatrix(touching, touching, { convention: 'continuous' })[1]).toBe(0);
    const set = { boxes: touching, scores: [0.9, 0.8] };
    expect(Array.from(nms(set, { iouThreshold: 0.05, convention: 'plusOne' }))).toEqual([0]);
    expect(Array.from(nms(set, { iouThreshold: 0.05, convention: 'continuous' }))).toEqual([0, 1]);
  });

  it('an unknown name lists the accepted ones', () => {
    expect(() => iouMatrix(rows, rows, { convention: 'plus_one' as never })).toThrow(/options\.convention: expected one of .*"continuous", "pixelIndex", "plusOne"/);
    expect(() => mergeDetections([], {} as never)).toThrow(/options\.convention: expected one of/);
  });
});

describe('tie order', () => {
  // Three equal scores in one cluster: the fused box differs only through the order.
  const tied = [{ boxes: [[0, 0, 10, 10], [1, 0, 11, 10], [2, 0, 12, 10], [3, 0, 13, 10]], scores: [0.5, 0.5, 0.5, 0.5], labels: [0, 0, 0, 0] }];

  it("'numpy' is ensemble_boxes' order (NumPy's argsort()[::-1]); 'stable' (the default) keeps input order", () => {
    const numpy = weightedBoxesFusion(tied, { image, iouThreshold: 0.8, sortDescending: 'numpy' });
    expect(numpy).toEqual(weightedBoxesFusion(tied, { image, iouThreshold: 0.8, sortDescending: numpyArgsortDesc }));
    expect(weightedBoxesFusion(tied, { image, iouThreshold: 0.8 })).toEqual(weightedBoxesFusion(tied, { image, iouThreshold: 0.8, sortDescending: 'stable' }));
    expect(Array.from(numpyArgsortDesc(new Float64Array([0.5, 0.5, 0.5, 0.5])))).not.toEqual([0, 1, 2, 3]);
    expect(nonMaximumWeighted(tied, { image, sortDescending: 'numpy' })).toEqual(nonMaximumWeighted(tied, { image, sortDescending: numpyArgsortDesc }));
  });

  it('rejects other names', () => {
    expect(() => weightedBoxesFusion(tied, { image, sortDescending: 'python' as never })).toThrow(/options\.sortDescending: expected "stable", "numpy" or a function/);
  });
});

describe('soft-NMS returnedScores', () => {
  const overlapping = [{ boxes: [[10, 10, 50, 50], [14, 10, 54, 50]], scores: [0.9, 0.8], labels: [0, 0] }];

  it("'original' reports the input scores (ensemble_boxes), 'decayed' (default) the thresholded ones", () => {
    const decayed = softNms(overlapping, { image, method: 'linear', iouThreshold: 0.3 });
    const original = softNms(overlapping, { image, method: 'linear', iouThreshold: 0.3, returnedScores: 'original' });
    expect(Array.from(original.scores)).toEqual([0.9, 0.8]);
    expect(decayed.scores[1]).toBeLessThan(0.8);
  });

  it('the deprecated name still works, but not together with the new one', () => {
    const viaOld = softNms(overlapping, { image, method: 'linear', iouThreshold: 0.3, scores: 'original' });
    expect(Array.from(viaOld.scores)).toEqual([0.9, 0.8]);
    expect(() => softNms(overlapping, { image, scores: 'original', returnedScores: 'decayed' })).toThrow(/options\.scores: expected nothing when options\.returnedScores is set/);
    expect(() => softNms(overlapping, { image, returnedScores: 'raw' as never })).toThrow(/options\.returnedScores: expected one of/);
  });
});

describe('the deprecated positional forms give the same results', () => {
  it('nms, batchedNms, boxVoting, weightedBoxesFusion, nonMaximumWeighted, softNms', () => {
    const o = { iouThreshold: 0.5 };
    expect(nms(typed.boxes, typed.scores, o)).toEqual(nms(typed, o));
    expect(batchedNms(typed.boxes, typed.scores, typed.labels, o)).toEqual(batchedNms(typed, o));
    expect(boxVoting(typed, new Int32Array([0, 2]), { voteThreshold: 0.5 })).toEqual(boxVoting(typed, { top: [0, 2], voteThreshold: 0.5 }));
    expect(boxVoting(typed, [0, 2])).toEqual(boxVoting(typed, { top: [0, 2] }));
    expect(weightedBoxesFusion([typed], image, o)).toEqual(weightedBoxesFusion([typed], { image, ...o }));
    expect(nonMaximumWeighted([typed], image)).toEqual(nonMaximumWeighted([typed], { image }));
    expect(softNms([typed], image, { method: 'linear' })).toEqual(softNms([typed], { image, method: 'linear' }));
  });

  it('the fusion functions without an image say where it goes', () => {
    expect(() => weightedBoxesFusion([typed], undefined as never)).toThrow('options: expected an object { image: { width, height }, ... }, received undefined');
    expect(() => weightedBoxesFusion([typed], { iouThreshold: 0.5 } as never)).toThrow(/^options\.image: expected/);
    expect(() => boxVoting(typed, {} as never)).toThrow(/^options\.top: expected an Int32Array or number\[\] of indices into all/);
  });
});

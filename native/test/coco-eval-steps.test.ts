// matchCocoCells' and accumulateCoco's argument checks: every length and index is checked before
// the kernel reads, and a bad one is a TypeError / RangeError naming the field, never a crash.
// (Their results are compared with the TypeScript references in test/integration/coco-match.test.ts.)
import { describe, expect, it } from 'vitest';
import { loadNative } from '@omnidistill/native';
import type { NativeCocoAccumulation, NativeCocoCellMatch } from '@omnidistill/native';

const native = loadNative();

/** One image, one category, one ground truth and two detections; 3 thresholds, 1 area range, keypoints of K = 2. */
function smallMatch(keypoints: boolean): NativeCocoCellMatch {
  return {
    keypoints,
    gtId: Float64Array.of(7),
    gtArea: Float64Array.of(100),
    gtCrowd: Uint8Array.of(0),
    gtIgnore: Uint8Array.of(0),
    gtBox: Float64Array.of(0, 0, 10, 10),
    gtKp: Float64Array.of(1, 1, 2, 8, 8, 2),
    gtKpOff: Int32Array.of(0),
    dtScore: Float64Array.of(0.5, 0.9),
    dtArea: Float64Array.of(100, 64),
    dtBox: Float64Array.of(0, 0, 10, 10, 20, 20, 8, 8),
    dtKp: Float64Array.of(1, 1, 1, 8, 8, 1, 30, 30, 1, 40, 40, 1),
    dtKpOff: Int32Array.of(0, 6),
    gOrder: Int32Array.of(0),
    dOrder: Int32Array.of(0, 1),
    cells: Int32Array.of(0, 0, 1, 0, 2),
    vars: Float64Array.of(0.01, 0.01),
    farPerArea: 6.2 * 2 * 0.01,
    thr: Float64Array.of(0.5, 0.75, 0.95),
    areaLo: Float64Array.of(0),
    areaHi: Float64Array.of(1e10),
    maxDetLast: 100,
    detOf: new Int32Array(2),
    rank: new Int32Array(2),
    outcome: new Uint8Array(6),
    npig: new Float64Array(1),
  };
}

describe('matchCocoCells', () => {
  for (const keypoints of [false, true]) {
    it(`matches a small ${keypoints ? 'keypoints' : 'bbox'} cell: the exact detection is a true positive, the far one a false positive`, () => {
      const m = smallMatch(keypoints);
      native.matchCocoCells!(m);
      // score order: detection 1 (0.9, far away) first, then detection 0 (exact)
      expect(Array.from(m.dOrder)).toEqual([1, 0]);
      expect(Array.from(m.detOf)).toEqual([1, 0]);
      expect(Array.from(m.rank)).toEqual([0, 1]);
      expect(Array.from(m.outcome)).toEqual([0, 1, 0, 1, 0, 1]); // [threshold][position]: FP, TP
      expect(Array.from(m.npig)).toEqual([1]);
    });
  }

  const bad: [string, (m: NativeCocoCellMatch) => void, RegExp, ErrorConstructor][] = [
    ['a cell range past the detections', (m) => (m.cells = Int32Array.of(0, 0, 1, 0, 3)), /^match\.cells\[0\]: expected .*0 <= d0 <= d1 <= 2 \(dOrder's length\)/, RangeError],
    // The ranges index the orders, which may be shorter than the columns: a range inside the
    // columns but past the order would read outside gOrder / dOrder.
    ['a cell range past a shorter detection order', (m) => (m.dOrder = Int32Array.of(1)), /^match\.cells\[0\]: expected .*0 <= d0 <= d1 <= 1 \(dOrder's length\)/, RangeError],
    ['a cell range past an empty ground-truth order', (m) => (m.gOrder = new Int32Array(0)), /^match\.cells\[0\]: expected .*0 <= g0 <= g1 <= 0 \(gOrder's length\)/, RangeError],
    ['a cell of an unknown category', (m) => (m.cells = Int32Array.of(1, 0, 1, 0, 2)), /^match\.cells\[0\]: expected k in \[0, 1\)/, RangeError],
    ['cells not in fives', (m) => (m.cells = Int32Array.of(0, 0, 1, 0)), /^match\.cells: expected a multiple of 5/, RangeError],
    ['an order index out of range', (m) => (m.dOrder = Int32Array.of(0, 2)), /^match\.dOrder\[1\]: expected an index in \[0, 2\)/, RangeError],
    ['a keypoint offset past dtKp', (m) => (m.dtKpOff = Int32Array.of(0, 8)), /^match\.dtKpOff\[1\]: expected an offset in \[0, 6\] \(dtKp holds 12 numbers\)/, RangeError],
    ['a negative ground-truth keypoint offset', (m) => (m.gtKpOff = Int32Array.of(-1)), /^match\.gtKpOff\[0\]: expected an offset in \[0, 0\]/, RangeError],
    ['too short an output', (m) => (m.outcome = new Uint8Array(5)), /^match\.outcome: expected 6 elements/, RangeError],
    ['a column of the wrong type', (m) => ((m as unknown as Record<string, unknown>).gtArea = new Float32Array(1)), /^match\.gtArea: expected a Float64Array, received Float32Array/, TypeError],
    ['a column of the wrong length', (m) => (m.gtBox = new Float64Array(3)), /^match\.gtBox: expected 4 elements/, RangeError],
    ['no thresholds', (m) => (m.thr = new Float64Array(0)), /^match\.thr: expected 1 to 1024 thresholds/, RangeError],
  ];
  for (const [what, spoil, message, type] of bad) {
    it(`rejects ${what}`, () => {
      const m = smallMatch(true);
      spoil(m);
      expectThrow(() => native.matchCocoCells!(m), type, message);
    });
  }
});

function expectThrow(call: () => void, type: ErrorConstructor, message: RegExp): void {
  let thrown: unknown;
  try {
    call();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(type);
  expect((thrown as Error).message).toMatch(message);
}

/** The small cell above, matched (FP then TP at 3 thresholds), ready to accumulate with 3 recall thresholds and maxDets [1, 100]. */
function smallAccumulation(): NativeCocoAccumulation {
  const m = smallMatch(false);
  native.matchCocoCells!(m);
  const T = 3, R = 3, M = 2;
  return {
    numThresholds: T,
    maxDets: Float64Array.of(1, 100),
    recThrs: Float64Array.of(0, 0.5, 1),
    kStart: Int32Array.of(0, 2),
    detOf: m.detOf,
    rank: m.rank,
    outcome: m.outcome,
    npig: m.npig,
    score: m.dtScore,
    precision: new Float64Array(T * R * M).fill(-1),
    recall: new Float64Array(T * M).fill(-1),
    scores: new Float64Array(T * R * M).fill(-1),
  };
}

describe('accumulateCoco', () => {
  it('accumulates the small cell: with maxDets 1 only the false positive counts, with 100 the true positive at precision 1/2', () => {
    const acc = smallAccumulation();
    native.accumulateCoco!(acc);
    // [t][m] recall: maxDets 1 -> 0, maxDets 100 -> 1
    expect(Array.from(acc.recall)).toEqual([0, 1, 0, 1, 0, 1]);
    // [t][r][m] precision at recall thresholds 0, 0.5, 1 (the true positive comes second: 1 / (1 + 1 + eps))
    const half = 1 / (2 + 2.220446049250313e-16);
    expect(Array.from(acc.precision.subarray(0, 6))).toEqual([0, half, 0, half, 0, half]);
    // scores: at recall 0 the first counted detection's (0.9), then the true positive's (0.5); 0 where recall is not reached
    expect(Array.from(acc.scores.subarray(0, 6))).toEqual([0.9, 0.9, 0, 0.5, 0, 0.5]);
  });

  const bad: [string, (acc: NativeCocoAccumulation) => void, RegExp, ErrorConstructor][] = [
    ['a layout start past the detections', (acc) => (acc.kStart = Int32Array.of(0, 3)), /^acc\.kStart\[1\]: expected non-decreasing layout positions from 0 to at most 2/, RangeError],
    ['a detection column out of range', (acc) => (acc.detOf = Int32Array.of(0, 5)), /^acc\.detOf\[1\]: expected an index in \[0, 2\)/, RangeError],
    ['too short a precision array', (acc) => (acc.precision = new Float64Array(17)), /^acc\.precision: expected 18 elements/, RangeError],
    ['npig not categories × areas', (acc) => (acc.kStart = Int32Array.of(0, 1, 2)), /^acc\.npig: expected categories × area ranges/, RangeError],
    ['no maxDets', (acc) => (acc.maxDets = new Float64Array(0)), /^acc\.maxDets: expected 1 to 1024 values/, RangeError],
    ['outcomes of the wrong type', (acc) => ((acc as unknown as Record<string, unknown>).outcome = new Int32Array(6)), /^acc\.outcome: expected a Uint8Array, received Int32Array/, TypeError],
  ];
  for (const [what, spoil, message, type] of bad) {
    it(`rejects ${what}`, () => {
      const acc = smallAccumulation();
      spoil(acc);
      expectThrow(() => native.accumulateCoco!(acc), type, message);
    });
  }
});

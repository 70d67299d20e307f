// Parity with the public implementations users trust: every case in ../shared/fixtures/boxes
// (copied to test/fixtures) — torchvision nms/batched_nms, ensemble_boxes WBF / NMW /
// soft-NMS, Detectron box voting.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Detections } from '@omnidistill/core';
import {
  NMS_STRATEGIES,
  batchedNms,
  boxVoting,
  nms,
  nonMaximumWeighted,
  numpyArgsort,
  softNms,
  weightedBoxesFusion,
  type WbfConfidence,
} from '@omnidistill/boxes';

interface Fixture {
  kind: string;
  image: { width: number; height: number };
  input: { boxes: number[][]; scores: number[]; labels: number[] }[];
  params: Record<string, unknown>;
  expected: { keep?: number[]; boxes?: number[][]; scores?: number[]; labels?: number[] };
}

const dir = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
const fixtures = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((name) => ({ name, f: JSON.parse(readFileSync(join(dir, name), 'utf8')) as Fixture }));
const ofKind = (kind: string) => fixtures.filter(({ f }) => f.kind === kind);

function models(f: Fixture): Detections[] {
  return f.input.map((m) => ({ boxes: new Float64Array(m.boxes.flat()), scores: new Float64Array(m.scores), labels: new Int32Array(m.labels) }));
}

interface Rows {
  boxes: ArrayLike<number>;
  scores: ArrayLike<number>;
  labels?: ArrayLike<number>;
}

/**
 * Compares fused outputs: the score sequences (both sorted descending) must agree elementwise;
 * rows are then matched one to one (label, box, score within tolerance) so that rows whose
 * scores tie may come in either order — upstream orders ties with NumPy's unstable sort.
 */
function expectSameRows(got: Rows, exp: Required<Pick<Fixture['expected'], 'boxes' | 'scores'>> & { labels?: number[] }, boxTol: number, scoreTol: number, sorted = true): void {
  const n = exp.scores.length;
  expect(got.scores.length).toBe(n);
  if (sorted) for (let i = 0; i < n; i++) expect(Math.abs(got.scores[i] - exp.scores[i])).toBeLessThanOrEqual(scoreTol);
  const used = new Set<number>();
  for (let i = 0; i < n; i++) {
    let found = -1;
    for (let j = 0; j < n && found === -1; j++) {
      if (used.has(j)) continue;
      if (exp.labels && got.labels && got.labels[j] !== exp.labels[i]) continue;
      if (Math.abs(got.scores[j] - exp.scores[i]) > scoreTol) continue;
      let ok = true;
      for (let c = 0; c < 4; c++) if (Math.abs(got.boxes[4 * j + c] - exp.boxes[i][c]) > boxTol) ok = false;
      if (ok) found = j;
    }
    if (found === -1) throw new Error(`expected row ${i} (label ${exp.labels?.[i]}, score ${exp.scores[i]}, box ${exp.boxes[i].join(', ')}) has no match`);
    used.add(found);
  }
}

// ensemble_boxes computes fused boxes and scores in float32 on [0, 1] coordinates.
const f32Box = (f: Fixture) => 2e-6 * Math.max(f.image.width, f.image.height);
const F32_SCORE = 1e-7;

describe('torchvision nms / batched_nms parity', () => {
  it('has the fixtures', () => {
    expect(ofKind('nms')).toHaveLength(6);
    expect(ofKind('batched_nms')).toHaveLength(6);
  });
  for (const { name, f } of ofKind('nms')) {
    for (const strategy of NMS_STRATEGIES) {
      it(`${name} (${strategy})`, () => {
        const [m] = models(f);
        const keep = nms(m, { iouThreshold: f.params.iouThreshold as number, strategy });
        expect(Array.from(keep)).toEqual(f.expected.keep);
      });
    }
  }
  for (const { name, f } of ofKind('batched_nms')) {
    for (const strategy of NMS_STRATEGIES) {
      it(`${name} (${strategy})`, () => {
        const [m] = models(f);
        const keep = batchedNms(m, { iouThreshold: f.params.iouThreshold as number, strategy });
        expect(Array.from(keep)).toEqual(f.expected.keep);
      });
    }
  }
  it('float32 inputs give the same keep lists as float64 on these fixtures', () => {
    for (const { f } of ofKind('nms')) {
      const [m] = models(f);
      const keep = nms({ boxes: Float32Array.from(m.boxes), scores: Float32Array.from(m.scores) }, { iouThreshold: f.params.iouThreshold as number });
      expect(Array.from(keep)).toEqual(f.expected.keep);
    }
  });
});

describe('the NumPy argsort emulation used for upstream tie order', () => {
  it('reproduces NumPy argsort on recorded tie-heavy arrays (tools/boxes-fixtures/numpy_argsort_ties.py)', () => {
    const recorded = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'support', 'numpy-argsort-cases.json'), 'utf8')) as {
      cases: { values: number[]; argsort: number[] }[];
    };
    expect(recorded.cases.length).toBeGreaterThanOrEqual(8);
    for (const c of recorded.cases) expect(Array.from(numpyArgsort(c.values))).toEqual(c.argsort);
  });
  it('a custom descending sort is validated', () => {
    const m = [{ boxes: new Float64Array([0, 0, 1, 1, 0, 0, 2, 2]), scores: new Float64Array([0.5, 0.9]), labels: new Int32Array(2) }];
    expect(() => weightedBoxesFusion(m, { image: { width: 10, height: 10 }, sortDescending: () => [0, 1] })).toThrow(/options\.sortDescending\(\.\.\.\)\[1\]: expected positions in descending score order/);
    expect(() => weightedBoxesFusion(m, { image: { width: 10, height: 10 }, sortDescending: () => [1, 1] })).toThrow(/expected a permutation of the positions/);
  });
});

describe('ensemble_boxes weighted_boxes_fusion parity', () => {
  it('covers every confidence type', () => {
    expect(new Set(ofKind('wbf').map(({ f }) => f.params.confType))).toEqual(new Set(['avg', 'max', 'box_and_model_avg', 'absent_model_aware_avg']));
  });
  for (const { name, f } of ofKind('wbf')) {
    it(`${name} (${f.params.confType as string})`, () => {
      const fused = weightedBoxesFusion(models(f), {
        image: f.image,
        weights: f.params.weights as number[],
        iouThreshold: f.params.iouThreshold as number,
        skipBoxThreshold: f.params.skipBoxThreshold as number,
        confType: f.params.confType as WbfConfidence,
        sortDescending: 'numpy',
      });
      expectSameRows(fused, f.expected as never, f32Box(f), F32_SCORE);
    });
  }
  it('with our default stable tie order most fixtures are identical and all keep every score in [0, 1]', () => {
    let identical = 0;
    for (const { f } of ofKind('wbf')) {
      const p = { weights: f.params.weights as number[], iouThreshold: f.params.iouThreshold as number, skipBoxThreshold: f.params.skipBoxThreshold as number, confType: f.params.confType as WbfConfidence };
      const fused = weightedBoxesFusion(models(f), { image: f.image, ...p });
      for (const s of fused.scores) expect(s).toBeGreaterThanOrEqual(0), expect(s).toBeLessThanOrEqual(1);
      try {
        expectSameRows(fused, f.expected as never, f32Box(f), F32_SCORE);
        identical++;
      } catch {
        // differs only through the order of exactly tied scores (checked above with NumPy's order)
      }
    }
    expect(identical).toBeGreaterThanOrEqual(4);
  });
});

describe('ensemble_boxes non_maximum_weighted parity', () => {
  for (const { name, f } of ofKind('nmw')) {
    it(name, () => {
      const fused = nonMaximumWeighted(models(f), {
        image: f.image,
        iouThreshold: f.params.iouThreshold as number,
        skipBoxThreshold: f.params.skipBoxThreshold as number,
        sortDescending: 'numpy',
      });
      expectSameRows(fused, f.expected as never, f32Box(f), F32_SCORE);
    });
  }
});

describe('ensemble_boxes soft_nms parity', () => {
  for (const { name, f } of ofKind('soft_nms')) {
    const params = {
      method: f.params.method as 'linear' | 'gaussian',
      sigma: f.params.sigma as number,
      iouThreshold: f.params.iouThreshold as number,
      scoreThreshold: f.params.scoreThreshold as number,
    };
    it(`${name} (${params.method}), original scores as ensemble_boxes returns them`, () => {
      const out = softNms(models(f), { image: f.image, ...params, returnedScores: 'original' });
      // ensemble_boxes concatenates labels; we sort by score: compare as matched rows.
      expectSameRows(out, f.expected as never, 1e-9 * Math.max(f.image.width, f.image.height), 1e-12, false);
    });
    it(`${name} (${params.method}), decayed scores by default: same boxes, scores never above the originals`, () => {
      const orig = softNms(models(f), { image: f.image, ...params, returnedScores: 'original' });
      const dec = softNms(models(f), { image: f.image, ...params });
      expect(new Set(dec.indices)).toEqual(new Set(orig.indices));
      const origByIndex = new Map(Array.from(orig.indices).map((k, i) => [k, orig.scores[i]]));
      let decayedSomewhere = false;
      dec.indices.forEach((k, i) => {
        expect(dec.scores[i]).toBeGreaterThan(params.scoreThreshold);
        expect(dec.scores[i]).toBeLessThanOrEqual(origByIndex.get(k) as number);
        if (dec.scores[i] < (origByIndex.get(k) as number)) decayedSomewhere = true;
      });
      expect(decayedSomewhere).toBe(true);
      for (let i = 1; i < dec.scores.length; i++) expect(dec.scores[i]).toBeLessThanOrEqual(dec.scores[i - 1]);
    });
  }
});

describe('Detectron box_voting parity', () => {
  it('covers both pixel conventions', () => {
    expect(new Set(ofKind('box_voting').map(({ f }) => f.params.pixelConvention))).toEqual(new Set(['plusOne', 'continuous']));
  });
  for (const { name, f } of ofKind('box_voting')) {
    it(`${name} (${f.params.scoring as string}, β=${f.params.beta as number}, ${f.params.pixelConvention as string})`, () => {
      const [m] = models(f);
      // The fixtures name Detectron's convention as Detectron does: `plusOne` is accepted as is.
      const voted = boxVoting(m, {
        top: f.params.top as number[],
        voteThreshold: f.params.voteThreshold as number,
        scoring: f.params.scoring as never,
        beta: f.params.beta as number,
        convention: f.params.pixelConvention as 'plusOne' | 'continuous',
      });
      const exp = f.expected as { boxes: number[][]; scores: number[] };
      exp.boxes.forEach((b, i) => b.forEach((v, c) => expect(voted.boxes[4 * i + c]).toBeCloseTo(v, 9)));
      exp.scores.forEach((s, i) => expect(voted.scores[i]).toBeCloseTo(s, 12));
    });
  }
});

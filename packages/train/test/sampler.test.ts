import { describe, expect, it } from 'vitest';
import { MixedSourceSampler, Rng, rhoIterations, rhoMix } from '@omnidistill/train';

function countLabeled(sampler: MixedSourceSampler, n: number): number {
  let k = 0;
  for (let i = 0; i < n; i++) if (sampler.next().source === 'labeled') k++;
  return k;
}

describe('Rng', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const a = new Rng(42), b = new Rng(42), c = new Rng(43);
    const xa = Array.from({ length: 8 }, () => a.nextUint32());
    expect(Array.from({ length: 8 }, () => b.nextUint32())).toEqual(xa);
    expect(Array.from({ length: 8 }, () => c.nextUint32())).not.toEqual(xa);
  });

  it('continues exactly from a saved state', () => {
    const a = new Rng([1, 2, 3]);
    for (let i = 0; i < 100; i++) a.nextUint32();
    const b = Rng.fromState(JSON.parse(JSON.stringify(a.state())));
    expect(Array.from({ length: 50 }, () => b.nextFloat())).toEqual(Array.from({ length: 50 }, () => a.nextFloat()));
  });

  it('draws integers uniformly (chi-square, 9 dof)', () => {
    const rng = new Rng(5);
    const bins = new Array(10).fill(0);
    const n = 50_000;
    for (let i = 0; i < n; i++) bins[rng.nextInt(10)]++;
    const chi2 = bins.reduce((s, o) => s + (o - n / 10) ** 2 / (n / 10), 0);
    // 99.99th percentile of chi-square with 9 degrees of freedom is ~33.7.
    expect(chi2).toBeLessThan(33.7);
  });

  it('rejects a bad state with the field named', () => {
    expect(() => Rng.fromState([1, 2, 3] as never)).toThrow(/state: expected an array of 4 uint32 words/);
    expect(() => Rng.fromState([0, 0, 0, 0])).toThrow(/not all zero/);
    expect(() => Rng.fromState([1, -1, 0, 0])).toThrow(/state\[1\]/);
  });
});

describe('MixedSourceSampler', () => {
  // Over n independent draws the labeled count is Binomial(n, p). A 5-sigma band has a false
  // failure probability below 6e-7 for any seed, so the test checks the promise, not the seed.
  it.each([
    [0.6, 1],
    [0.6, 2],
    [2 / 3, 3],
    [0.1, 4],
  ])('draws labeled samples with probability %d (seed %d)', (p, seed) => {
    const n = 100_000;
    const sampler = new MixedSourceSampler({ labeledSize: 37, generatedSize: 91, labeledProbability: p, seed });
    const k = countLabeled(sampler, n);
    const sigma = Math.sqrt(n * p * (1 - p));
    expect(Math.abs(k - n * p)).toBeLessThan(5 * sigma);
  });

  it('chooses the source per sample, not as a fixed split per batch', () => {
    // Per-batch labeled counts must follow Binomial(16, 0.6): variance 3.84 (a fixed 10:6
    // split would give 0). The sample variance over 5000 batches has a standard error of
    // about 3.84 * sqrt(2 / 5000) ≈ 0.077 (binomial excess kurtosis changes this by < 10%);
    // the band below is ~5 standard errors.
    const sampler = new MixedSourceSampler({ labeledSize: 50, generatedSize: 50, seed: 9 });
    const counts = Array.from({ length: 5000 }, () => sampler.nextBatch(16).filter((s) => s.source === 'labeled').length);
    const mean = counts.reduce((a, b) => a + b, 0) / counts.length;
    const variance = counts.reduce((a, b) => a + (b - mean) ** 2, 0) / (counts.length - 1);
    expect(Math.abs(mean - 9.6)).toBeLessThan(5 * Math.sqrt(3.84 / 5000));
    expect(Math.abs(variance - 3.84)).toBeLessThan(0.4);
  });

  it('visits every sample of a source once per epoch', () => {
    const sampler = new MixedSourceSampler({ labeledSize: 13, generatedSize: 7, seed: 3 });
    const seen = { labeled: [] as number[], generated: [] as number[] };
    while (seen.labeled.length < 26 || seen.generated.length < 14) {
      const s = sampler.next();
      seen[s.source].push(s.index);
    }
    const epoch = (xs: number[], size: number, e: number) => xs.slice(e * size, (e + 1) * size).sort((a, b) => a - b);
    const range = (n: number) => Array.from({ length: n }, (_, i) => i);
    expect(epoch(seen.labeled, 13, 0)).toEqual(range(13));
    expect(epoch(seen.labeled, 13, 1)).toEqual(range(13));
    expect(epoch(seen.generated, 7, 0)).toEqual(range(7));
    expect(epoch(seen.generated, 7, 1)).toEqual(range(7));
    // Epochs are reshuffled, not repeated.
    expect(seen.labeled.slice(0, 13)).not.toEqual(seen.labeled.slice(13, 26));
  });

  it('resumes exactly from a saved state (JSON round trip), mid-epoch', () => {
    const opts = { labeledSize: 11, generatedSize: 5, seed: 77 };
    const straight = new MixedSourceSampler(opts);
    const first = Array.from({ length: 7 }, () => straight.nextBatch(3));
    const rest = Array.from({ length: 20 }, () => straight.nextBatch(3));

    const interrupted = new MixedSourceSampler(opts);
    expect(Array.from({ length: 7 }, () => interrupted.nextBatch(3))).toEqual(first);
    const saved = JSON.parse(JSON.stringify(interrupted.state()));
    const resumed = MixedSourceSampler.fromState(saved);
    expect(Array.from({ length: 20 }, () => resumed.nextBatch(3))).toEqual(rest);
    expect(resumed.state()).toEqual(straight.state());
  });

  it('refuses an empty generated source with a clear error', () => {
    expect(() => new MixedSourceSampler({ labeledSize: 10, generatedSize: 0, seed: 1 })).toThrow(
      /options\.generatedSize: expected a non-empty generated source.*kept no labels/,
    );
  });

  it('allows an empty generated source for supervised training (p = 1)', () => {
    const s = new MixedSourceSampler({ labeledSize: 4, generatedSize: 0, labeledProbability: 1, seed: 1 });
    expect(s.nextBatch(10).every((x) => x.source === 'labeled')).toBe(true);
  });

  it('validates its options with the field named', () => {
    expect(() => new MixedSourceSampler({ labeledSize: 4, generatedSize: 4, labeledProbability: 1.5, seed: 1 })).toThrow(
      /options\.labeledProbability: expected a number in \[0, 1\]/,
    );
    expect(() => new MixedSourceSampler({ labeledSize: -1, generatedSize: 4, seed: 1 })).toThrow(/options\.labeledSize/);
    expect(() => new MixedSourceSampler({ labeledSize: 4, generatedSize: 4, seed: 1 }).nextBatch(0)).toThrow(/batchSize/);
  });
});

describe('rho variant', () => {
  it('mixes 1:rho and scales iterations by 1 + rho', () => {
    expect(rhoMix(0.5, 1000)).toEqual({ labeledProbability: 1 / 1.5, iterations: 1500 });
    expect(rhoMix(0, 1000)).toEqual({ labeledProbability: 1, iterations: 1000 });
    expect(rhoIterations(130, 1.77)).toBe(360);
    expect(() => rhoMix(-0.1, 10)).toThrow(/rho/);
  });
});

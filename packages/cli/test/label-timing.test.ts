// LabelTimings: the predictor wrapper counts and times every call (failures included), the
// rate leaves out images resumed from an earlier run, and the summary names every stage.
import { describe, expect, it } from 'vitest';
import { LabelTimings } from '../src/pipeline/label-timing.js';
import type { DecodedImage, ImageEntry } from '@omnidistill/infer';

const image = {} as DecodedImage;
const entry: ImageEntry = { imageId: 1, fileName: 'a.png' };

describe('LabelTimings', () => {
  it('times the predictor and reports the stages', async () => {
    const t = new LabelTimings();
    let calls = 0;
    const predict = t.timed(async () => {
      calls++;
      await new Promise((r) => setTimeout(r, 5));
      if (calls === 3) throw new Error('model failed');
      return [];
    });
    t.loopStart();
    await predict(image, entry);
    await predict(image, entry);
    await expect(predict(image, entry)).rejects.toThrow('model failed');
    t.loopEnd();
    await t.selection(async () => undefined);
    const line = t.summary();
    expect(calls).toBe(3);
    expect(line).toMatch(/^time: set-up \d+\.\ds \(\d+%\) · prediction \d+\.\ds \(\d+%; 3 images, [\d.]+ img\/s, CPU [\d.]+ ms\/image; model \+ ensembling busy \d+% of it/);
    expect(line).toMatch(/ · selection \d+\.\ds \(\d+%\)$/);
  });

  it('counts overlapping predict calls once in the busy share', async () => {
    const t = new LabelTimings();
    const predict = t.timed(() => new Promise((r) => setTimeout(() => r([]), 40)));
    t.loopStart();
    await Promise.all([predict(image, entry), predict(image, entry), predict(image, entry)]);
    t.loopEnd();
    const busy = Number(/model \+ ensembling busy (\d+)% of it/.exec(t.summary())![1]);
    expect(busy).toBeLessThanOrEqual(100); // three overlapping calls: one busy span, not 300 %
    expect(busy).toBeGreaterThan(0);
  });

  it('counts only the images this process predicted in the rate', () => {
    const t = new LabelTimings();
    const progress = (done: number, elapsedMs: number) => ({ done, total: 100, skipped: 0, elapsedMs, etaMs: null });
    expect(t.rate(progress(40, 0))).toBe(0); // 40 resumed from an earlier run
    expect(t.rate(progress(60, 2000))).toBe(10);
    expect(t.progressDetail(progress(80, 2000))).toBe('20 img/s');
  });

  it('shows the stages\' busy shares of the loop in the progress line and the end summary', async () => {
    const t = new LabelTimings();
    const progress = { done: 10, total: 100, skipped: 0, elapsedMs: 1000, etaMs: 9000 };
    t.rate({ ...progress, done: 0, elapsedMs: 0 });
    expect(t.stageSummary()).toBe(''); // nothing timed yet
    t.loopStart();
    await t.clock.time('decode', () => new Promise((r) => setTimeout(r, 30)));
    t.clock.time('model', () => undefined);
    t.loopEnd();
    expect(t.progressDetail(progress)).toMatch(/^10 img\/s · decode \d+% model \d+%$/);
    expect(t.stageSummary()).toMatch(/^stages \(busy share of the prediction loop; they overlap\): decode (\d+)% model \d+%; JavaScript thread busy \d+%$/);
    const decodeShare = Number(/decode (\d+)%/.exec(t.stageSummary())![1]);
    expect(decodeShare).toBeGreaterThan(0); // the loop was mostly the 30 ms decode (not asserted: timing)
    expect(decodeShare).toBeLessThanOrEqual(100);
  });
});

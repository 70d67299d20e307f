// The written files are evaluable by our COCOeval: ground truth scored against itself gives
// AP 1, and the same keypoints with left and right swapped score far lower (on these frontal
// figures the two sides are distinct places, so a model must not confuse them).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createParams, evaluate, summarize, validateDataset, validateResults } from '@omnidistill/coco';
import { COCO_PERSON, flipPermutation } from '@omnidistill/core';
import { afterAll, describe, expect, it } from 'vitest';
import { generateSplits, type SynthCocoFile } from '../src/index.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function split(style: 'keypoints' | 'objects'): Promise<{ raw: SynthCocoFile }> {
  const out = await mkdtemp(join(tmpdir(), 'omni-synth-eval-'));
  dirs.push(out);
  const r = await generateSplits({ outDir: out, style, seed: 21, imageSize: 96, counts: { val: 40 } });
  return { raw: JSON.parse(await readFile(r.splits.val!.annotations, 'utf8')) as SynthCocoFile };
}

describe('COCO evaluation of the written files', () => {
  it('scores keypoint ground truth against itself at AP 1 and its left/right swap far lower', async () => {
    const { raw } = await split('keypoints');
    const gt = validateDataset(raw, 'val');
    const perm = flipPermutation(COCO_PERSON.flipPairs, 17);
    const asResults = (swap: boolean): unknown[] =>
      raw.annotations.map((a) => {
        const kps: number[] = [];
        for (let k = 0; k < 17; k++) {
          const src = swap ? (perm[k] as number) : k;
          kps.push(a.keypoints![3 * src]!, a.keypoints![3 * src + 1]!, 1);
        }
        return { image_id: a.image_id, category_id: 1, score: 1, keypoints: kps };
      });
    const ap = (results: unknown[]): number => {
      const res = validateResults(results, gt, 'results');
      return summarize(evaluate(gt, res, createParams('keypoints', gt))).stats[0]!;
    };
    expect(ap(asResults(false))).toBeCloseTo(1, 9);
    expect(ap(asResults(true))).toBeLessThan(0.5);
  });

  it('scores object boxes against themselves at AP 1 in every category', async () => {
    const { raw } = await split('objects');
    const gt = validateDataset(raw, 'val');
    const results = validateResults(raw.annotations.map((a) => ({ image_id: a.image_id, category_id: a.category_id, score: 1, bbox: a.bbox })), gt);
    const stats = summarize(evaluate(gt, results, createParams('bbox', gt))).stats;
    expect(stats[0]).toBeCloseTo(1, 9);
  });
});

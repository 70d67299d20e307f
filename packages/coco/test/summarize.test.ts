// summarize(): pycocotools' printed text, Python's rounding, and per-category AP.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createParams, evaluate, formatFixed3, perCategoryAP, summarize, validateDataset, validateResults } from '@omnidistill/coco';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

describe('formatFixed3', () => {
  it("rounds like Python's '{:0.3f}': exact binary ties go to even", () => {
    // j/16 values are exact in binary, so x·1000 ends in .5 exactly
    expect(formatFixed3(0.0625)).toBe('0.062');
    expect(formatFixed3(0.1875)).toBe('0.188');
    expect(formatFixed3(0.3125)).toBe('0.312');
    expect(formatFixed3(0.9375)).toBe('0.938');
    // not a tie in binary: 0.0005 is slightly above, 0.0015 slightly below the half
    expect(formatFixed3(0.1234)).toBe('0.123');
    expect(formatFixed3(-1)).toBe('-1.000');
    expect(formatFixed3(1)).toBe('1.000');
  });
});

describe('summarize', () => {
  const c = join(fixtures, 'case11_003_bbox');
  const gt = validateDataset(JSON.parse(readFileSync(join(c, 'gt.json'), 'utf8')));
  const res = validateResults(JSON.parse(readFileSync(join(c, 'dt.json'), 'utf8')), gt);
  const e = evaluate(gt, res, createParams('bbox', gt));

  it("prints pycocotools' twelve lines, padded exactly", () => {
    const { lines, text, stats } = summarize(e);
    expect(lines).toHaveLength(12);
    expect(text).toBe(`${lines.join('\n')}\n`);
    expect(lines[0]).toBe(` Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = ${formatFixed3(stats[0])}`);
    expect(lines[1]).toBe(` Average Precision  (AP) @[ IoU=0.50      | area=   all | maxDets=100 ] = ${formatFixed3(stats[1])}`);
    expect(lines[3]).toBe(` Average Precision  (AP) @[ IoU=0.50:0.95 | area= small | maxDets=100 ] = ${formatFixed3(stats[3])}`);
    expect(lines[6]).toBe(` Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ] = ${formatFixed3(stats[6])}`);
    expect(lines[10]).toBe(` Average Recall     (AR) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ] = ${formatFixed3(stats[10])}`);
  });

  it('per-category AP averages to the overall AP when every category has ground truth', () => {
    const per = perCategoryAP(e, gt);
    expect(per.map((p) => p.categoryId)).toEqual(gt.categories.map((c) => c.id).sort((a, b) => a - b));
    expect(per.every((p) => p.ap !== null && p.name !== undefined)).toBe(true);
    const mean = per.reduce((s, p) => s + p.ap!, 0) / per.length;
    expect(mean).toBeCloseTo(summarize(e).stats[0], 12);
  });

  it('the bbox summary needs three maxDets, as pycocotools reads maxDets[0..2]', () => {
    const e1 = evaluate(gt, res, createParams('bbox', gt, { maxDets: [100] }));
    expect(() => summarize(e1)).toThrow(/params\.maxDets: expected three values/);
  });
});

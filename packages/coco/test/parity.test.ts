// Parity with pycocotools: every shared fixture case (scored by pycocotools summarize())
// must match to 1e-9 on every stat, for every evaluator.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createParams, evaluate, evaluateReference, summarize, validateDataset, validateResults } from '@omnidistill/coco';
import type { CocoDataset, CocoEvalResult, CocoResult, EvalParams, IouType } from '@omnidistill/coco';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
const cases = readdirSync(fixtures).filter((c) => c.startsWith('case')).sort();

type Evaluator = (gt: CocoDataset, res: readonly CocoResult[], p: EvalParams) => CocoEvalResult;
const evaluators: [string, Evaluator][] = [
  ['reference', evaluateReference],
  ['fast', evaluate],
];

function load(c: string): { gt: CocoDataset; res: CocoResult[]; expected: Record<IouType, number[]> } {
  const read = (f: string): unknown => JSON.parse(readFileSync(join(fixtures, c, f), 'utf8'));
  const gt = validateDataset(read('gt.json'), `${c}/gt.json`);
  const res = validateResults(read('dt.json'), gt, `${c}/dt.json`);
  return { gt, res, expected: read('expected.json') as Record<IouType, number[]> };
}

describe('pycocotools parity on shared fixtures', () => {
  it('has the six shared cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(6);
  });
  for (const c of cases) {
    const { gt, res, expected } = load(c);
    for (const iouType of Object.keys(expected) as IouType[]) {
      for (const [name, evaluate] of evaluators) {
        it(`${c} ${iouType} (${name})`, () => {
          const { stats } = summarize(evaluate(gt, res, createParams(iouType, gt)));
          expect(stats).toHaveLength(expected[iouType].length);
          stats.forEach((v, i) => expect(Math.abs(v - expected[iouType][i]), `stat ${i}`).toBeLessThanOrEqual(1e-9));
        });
      }
    }
  }
});

// The ground truth as `omnidistill eval` reads it: through the native addon's dataset scanner
// (readCocoDataset with a datasetParser) it gives the records the JavaScript parsers give, and
// for every file the scanner declines, the same error text; evaluated while its annotations are
// still columns (never read as records), it scores and fails as the records do.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { annotationCount, createParams, evaluate, readCocoDataset, validateResults } from '@omnidistill/coco';
import type { CocoDataset, DatasetColumnParser, IouType } from '@omnidistill/coco';
import { loadNative } from '@omnidistill/native';
import { generateCase } from '../../coco/test/generate.js';

const native = loadNative();
const tmp = mkdtempSync(join(tmpdir(), 'omnidistill-eval-gt-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const fixtureDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'coco', 'test', 'fixtures');
const fixtures = readdirSync(fixtureDir).map((c) => join(fixtureDir, c, 'gt.json'));

/** The native scanner, recording whether it read (true) or declined (false) each file. */
function recorded(): DatasetColumnParser & { outcomes: boolean[] } {
  const outcomes: boolean[] = [];
  const parser = async (file: string, options: { skipKeypoints: boolean }) => {
    const c = await native.parseCocoDataset!(file, options);
    outcomes.push(c !== null);
    return c;
  };
  return Object.assign(parser, { outcomes });
}

/** The fields COCOeval reads (the scanner leaves segmentation and unknown annotation fields out). */
function evaluated(d: CocoDataset): unknown {
  return {
    ...d,
    annotations: d.annotations.map(({ id, image_id, category_id, bbox, area, iscrowd, keypoints, num_keypoints }) => ({
      id, image_id, category_id, bbox, area, iscrowd, num_keypoints, keypoints: keypoints && Array.from(keypoints),
    })),
  };
}

function write(name: string, text: string): string {
  const file = join(tmp, name);
  writeFileSync(file, text);
  return file;
}

describe('readCocoDataset with the native dataset scanner', () => {
  const generated = generateCase({ seed: 5, images: 40 });
  const withExtras = structuredClone(generated.gt) as unknown as { annotations: Record<string, unknown>[]; images: Record<string, unknown>[] } & Record<string, unknown>;
  withExtras.annotations.forEach((a, i) => (a.segmentation = [[i, 1, 2, 3, 4, 5]]));
  withExtras.images[0].license = 1;
  withExtras.licenses = [{ id: 1, name: 'x' }];
  const files = [...fixtures, write('generated.json', JSON.stringify(generated.gt)), write('extras.json', JSON.stringify(withExtras, null, 1))];

  it('gives the records of the JavaScript parsers, with and without keypoints', async () => {
    for (const file of files) {
      for (const skipKeypoints of [false, true]) {
        const parser = recorded();
        const got = await readCocoDataset(file, { skipKeypoints, datasetParser: parser });
        expect(parser.outcomes, file).toEqual([true]);
        expect(evaluated(got)).toEqual(evaluated(await readCocoDataset(file, { skipKeypoints })));
      }
    }
  });

  const gt = JSON.stringify(generated.gt);
  // the scanner declines all but bad categories, which it hands back as text for validation to judge
  const broken: [string, string][] = [
    ['invalid JSON', gt.slice(0, -20)],
    ['a repeated image id', gt.replace(/"id":(\d+),"width"/, (_m, id: string) => `"id":${generated.gt.images[1].id},"width"`)],
    ['a wrong keypoint count', gt.replace(/"keypoints":\[[^\]]*?,0,0,0\]/, '"keypoints":[1,2,2]')],
    ['a bad visibility flag', gt.replace(/,2,(\d)/, ',7,$1')],
    ['an annotation of an unknown image', gt.replace(/"image_id":\d+/, '"image_id":-3')],
    ['a category with a bad skeleton', gt.replace(/"skeleton":\[\[\d+,\d+\]/, '"skeleton":[[0,99]')],
    ['a string area', gt.replace(/"area":([\d.]+)/, '"area":"$1"')],
    ['an object at the top', '[]'],
  ];
  it.each(broken)('declines %s, and the error is the one of the JavaScript parsers', async (name, text) => {
    expect(text).not.toBe(gt);
    const file = write(`${name.replace(/ /g, '-')}.json`, text);
    for (const skipKeypoints of [false, true]) {
      const parser = recorded();
      const expected = await readCocoDataset(file, { skipKeypoints }).then(() => 'no error', (err: Error) => err.message);
      const got = await readCocoDataset(file, { skipKeypoints, datasetParser: parser }).then(() => 'no error', (err: Error) => err.message);
      if (!skipKeypoints) expect(expected).toMatch(/gt|problem/);
      expect(got).toBe(expected);
      // keypoint problems are no problems when keypoints are skipped: then both read the file
      if (expected !== 'no error') expect(parser.outcomes).toEqual([name.includes('category')]);
    }
  });
});

/** Whether `d.annotations` has not been read yet (still the accessor that builds the records). */
const annotationsUnread = (d: CocoDataset): boolean => Object.getOwnPropertyDescriptor(d, 'annotations')?.get !== undefined;

/** evaluate()'s arrays, or its error text. */
function scored(gt: CocoDataset, results: unknown, iouType: IouType): unknown {
  try {
    const e = evaluate(gt, validateResults(results, gt), createParams(iouType, gt));
    return { precision: Array.from(e.precision), recall: Array.from(e.recall), scores: Array.from(e.scores) };
  } catch (err) {
    return (err as Error).message;
  }
}

describe('evaluate() on a natively read ground truth whose annotations are still columns', () => {
  const cases = [1, 2, 3].map((seed) => generateCase({ seed, images: 30, categories: seed, crowdRate: 0.2, firstAnnotationId: seed === 2 ? 0 : 1 }));
  // a box-only annotation in a keypoint category: a keypoints evaluation must fail on it with the same words
  const boxOnly = structuredClone(cases[0]);
  delete (boxOnly.gt.annotations[3] as Record<string, unknown>).keypoints;
  delete (boxOnly.gt.annotations[3] as Record<string, unknown>).num_keypoints;

  it.each([...cases, boxOnly].map((c, i) => [i, c] as const))('case %i: same scores (or error) as the records, and the records are never built', async (i, c) => {
    const file = write(`lazy-${i}.json`, JSON.stringify(c.gt));
    for (const iouType of ['bbox', 'keypoints'] as const) {
      const lazy = await readCocoDataset(file, { datasetParser: recorded() });
      expect(annotationsUnread(lazy)).toBe(true);
      const records = await readCocoDataset(file);
      expect(scored(lazy, c.results, iouType)).toEqual(scored(records, c.results, iouType));
      expect(annotationCount(lazy)).toBe(records.annotations.length);
      expect(annotationsUnread(lazy)).toBe(true);
      // read once, they are the JavaScript parsers' records and stay the same array
      expect(evaluated(lazy)).toEqual(evaluated(records));
      expect(annotationsUnread(lazy)).toBe(false);
      expect(lazy.annotations).toBe(lazy.annotations);
    }
    if (c === boxOnly) expect(scored(await readCocoDataset(file, { datasetParser: recorded() }), c.results, 'keypoints')).toMatch(/^annotations\[3\]\.keypoints: expected 51 numbers/);
  });

  it('takes an assignment before the first read, and evaluates that', async () => {
    const file = write('lazy-assigned.json', JSON.stringify(cases[0].gt));
    const lazy = await readCocoDataset(file, { datasetParser: recorded() });
    lazy.annotations = [];
    expect(annotationsUnread(lazy)).toBe(false);
    expect(annotationCount(lazy)).toBe(0);
    const e = evaluate(lazy, validateResults(cases[0].results, lazy), createParams('bbox', lazy));
    // no ground truth in any area range: every recall cell stays -1, as pycocotools leaves it
    expect(Array.from(e.recall).every((v) => v === -1)).toBe(true);
  });
});

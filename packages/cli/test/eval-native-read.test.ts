// The ground truth as `omnidistill eval` reads it: through the native addon's dataset scanner
// (readCocoDataset with a datasetParser) it gives the records the JavaScript parsers give, and
// for every file the scanner declines, the same error text.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { readCocoDataset } from '@omnidistill/coco';
import type { CocoDataset, DatasetColumnParser } from '@omnidistill/coco';
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

// parseCocoDataset: the columns hold exactly JSON.parse's values (with validation's defaults:
// iscrowd 0, num_keypoints counted) for the files it accepts, and it declines (resolves null)
// every file that validation would reject or that is outside its shape, so that
// @omnidistill/coco re-reads those with the parsers whose errors name the record.
// (packages/cli/test/eval-native-read.test.ts checks the records and errors end to end.)
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadNative } from '@omnidistill/native';
import type { NativeCocoDatasetColumns } from '@omnidistill/native';

const native = loadNative();
const parse = (text: string, skipKeypoints = false): Promise<NativeCocoDatasetColumns | null> =>
  native.parseCocoDataset!(new TextEncoder().encode(text), { skipKeypoints });

/** The ground-truth fixtures scored by pycocotools (shared with the coco package's tests). */
const fixtureDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'packages', 'coco', 'test', 'fixtures');
const fixtures = readdirSync(fixtureDir).map((c) => join(fixtureDir, c, 'gt.json'));

type Json = Record<string, unknown>;

/** The columns as plain records (Object.is-comparable numbers). */
function records(c: NativeCocoDatasetColumns): Json {
  const texts = c.imageText.split('\0');
  const images = Array.from(c.imageId, (id, i) =>
    c.imageWhole[i] === 1 ? (JSON.parse(texts[i]) as Json) : { id, width: c.width[i], height: c.height[i], file_name: texts[i] },
  );
  const annotations = Array.from(c.annId, (id, i) => {
    const a: Json = {
      id,
      image_id: c.annImageId[i],
      category_id: c.annCategoryId[i],
      bbox: Array.from(c.bbox.subarray(4 * i, 4 * i + 4)),
      area: c.area[i],
      iscrowd: c.iscrowd[i],
    };
    if (c.kpCount[i] >= 0) a.keypoints = Array.from(c.keypoints.subarray(c.kpStart[i], c.kpStart[i] + c.kpCount[i]));
    if (c.numKeypoints[i] >= 0) a.num_keypoints = c.numKeypoints[i];
    return a;
  });
  return { ...(JSON.parse(c.restJson) as Json), images, annotations };
}

const EVALUATED = ['id', 'image_id', 'category_id', 'bbox', 'area', 'iscrowd', 'keypoints', 'num_keypoints'];

/** JSON.parse's dataset with validation's defaults, annotations cut to the fields the scanner keeps. */
function reference(text: string, skipKeypoints = false): Json {
  const raw = JSON.parse(text) as Json & { annotations: Json[] };
  const annotations = raw.annotations.map((a) => {
    const kept: Json = Object.fromEntries(EVALUATED.filter((k) => a[k] !== undefined && !(skipKeypoints && k === 'keypoints')).map((k) => [k, a[k]]));
    kept.iscrowd ??= 0;
    if (kept.keypoints !== undefined) kept.num_keypoints ??= (kept.keypoints as number[]).filter((v, j) => j % 3 === 2 && v > 0).length;
    return kept;
  });
  return { ...raw, annotations };
}

const person = '{"id":1,"name":"person","keypoints":["a","b"],"skeleton":[[1,2]]}';
const image = '{"id":7,"width":10,"height":20,"file_name":"a.jpg"}';
const ann = (fields: string): string => `{"id":1,"image_id":7,"category_id":1,"bbox":[1,2,3,4],"area":12${fields}}`;
const dataset = (annotation: string, images = image, categories = person): string =>
  `{"images":[${images}],"annotations":[${annotation}],"categories":[${categories}]}`;

describe('parseCocoDataset', () => {
  it('reads the pycocotools fixtures as JSON.parse does (info and categories as written)', async () => {
    expect(fixtures.length).toBeGreaterThan(0);
    for (const file of fixtures) {
      const text = readFileSync(file, 'utf8');
      for (const skip of [false, true]) {
        const got = await parse(text, skip);
        expect(got, file).not.toBeNull();
        expect(records(got!)).toEqual(reference(text, skip));
      }
    }
  });

  it('keeps image records with other fields or escaped names whole, and leaves out segmentation and unknown annotation fields', async () => {
    const images = `${image},{"id":8,"width":1,"height":1,"file_name":"b\\u00e9\\n.jpg","license":3,"coco_url":"http://x"},{"file_name":"é.jpg","height":2,"width":3,"id":9}`;
    const annotation = ann(',"segmentation":[[1,2,3,4,5,6]],"iscrowd":0,"keypoints":[1,2,2,0,0,0],"extra":{"a":[null,true,false,"\\""]}');
    const text = `{"info":{"v":1},"licenses":[{"id":3}],"images":[${images}],"annotations":[${annotation}],"categories":[${person}],"x":null}`;
    const got = await parse(text);
    expect(Array.from(got!.imageWhole)).toEqual([0, 1, 0]);
    expect(records(got!)).toEqual(reference(text));
    expect((records(got!).images as Json[])[1]).toEqual({ id: 8, width: 1, height: 1, file_name: 'bé\n.jpg', license: 3, coco_url: 'http://x' });
    expect((records(got!).annotations as Json[])[0]).toEqual({ id: 1, image_id: 7, category_id: 1, bbox: [1, 2, 3, 4], area: 12, iscrowd: 0, keypoints: [1, 2, 2, 0, 0, 0], num_keypoints: 1 });
  });

  it('reads exact doubles, -0 and exponents, and an empty dataset', async () => {
    const text = dataset(ann(',"keypoints":[1e-7,-0,2,123456789.123456789,1E2,1.0]'), image, '{"id":1,"name":"p","keypoints":["a","b"]}');
    expect(records((await parse(text))!)).toEqual(reference(text));
    const empty = ' {"images":[],"annotations":[],"categories":[]} ';
    expect(records((await parse(empty))!)).toEqual(reference(empty));
  });

  it('skipKeypoints leaves out any keypoints value and accepts num_keypoints as a count', async () => {
    const text = dataset(ann(',"keypoints":"not checked","num_keypoints":3'));
    expect(await parse(text)).toBeNull();
    const got = await parse(text, true);
    expect(got!.kpCount[0]).toBe(-1);
    expect(got!.numKeypoints[0]).toBe(3);
  });

  const declined: [string, string][] = [
    ['a syntax error', dataset(ann('')).slice(0, -1)],
    ['trailing text', `${dataset(ann(''))} x`],
    ['an array at the top', '[]'],
    ['a byte-order mark', `\ufeff${dataset(ann(''))}`],
    ['no categories', `{"images":[${image}],"annotations":[]}`],
    ['images not an array', '{"images":{},"annotations":[],"categories":[]}'],
    ['a repeated top-level member', '{"images":[],"images":[],"annotations":[],"categories":[]}'],
    ['an escaped key', dataset(ann('').replace('"area"', '"\\u0061rea"'))],
    ['an image without a file name', dataset(ann(''), '{"id":7,"width":10,"height":20}')],
    ['a zero image width', dataset(ann(''), '{"id":7,"width":0,"height":20,"file_name":"a"}')],
    ['a fractional image height', dataset(ann(''), '{"id":7,"width":1,"height":2.5,"file_name":"a"}')],
    ['a file name that is not a string', dataset(ann(''), '{"id":7,"width":1,"height":2,"file_name":3}')],
    ['a repeated image id', dataset(ann(''), `${image},${image}`)],
    ['a repeated annotation id', dataset(`${ann('')},${ann('')}`)],
    ['an unknown image', dataset(ann('').replace('"image_id":7', '"image_id":8'))],
    ['an unknown category', dataset(ann('').replace('"category_id":1', '"category_id":2'))],
    ['a repeated category id', dataset(ann(''), image, `${person},${person}`)],
    ['category keypoints that are not names', dataset(ann(''), image, '{"id":1,"name":"p","keypoints":[1,2]}')],
    ['a missing area', dataset('{"id":1,"image_id":7,"category_id":1,"bbox":[1,2,3,4]}')],
    ['a negative area', dataset(ann('').replace('"area":12', '"area":-1'))],
    ['a box of 3 numbers', dataset(ann('').replace('[1,2,3,4]', '[1,2,3]'))],
    ['a negative box height', dataset(ann('').replace('[1,2,3,4]', '[1,2,3,-4]'))],
    ['iscrowd 2', dataset(ann(',"iscrowd":2'))],
    ['iscrowd true', dataset(ann(',"iscrowd":true'))],
    ['keypoints not a multiple of 3', dataset(ann(',"keypoints":[1,2,2,3]'))],
    ['a keypoint count the category does not declare', dataset(ann(',"keypoints":[1,2,2]'))],
    ['a visibility flag of 3', dataset(ann(',"keypoints":[1,2,3,0,0,0]'))],
    ['a null keypoint', dataset(ann(',"keypoints":[1,2,2,null,0,0]'))],
    ['keypoints null', dataset(ann(',"keypoints":null'))],
    ['num_keypoints that disagrees', dataset(ann(',"keypoints":[1,2,2,0,0,0],"num_keypoints":2'))],
    ['a negative num_keypoints without keypoints', dataset(ann(',"num_keypoints":-1'))],
    ['a number beyond double range', dataset(ann('').replace('"area":12', '"area":1e400'))],
    ['a raw control character in a string', dataset(ann(''), '{"id":7,"width":10,"height":20,"file_name":"a\tb"}')],
    ['an empty annotation', dataset('{}')],
  ];
  it('accepts the valid files the declined cases are edits of', async () => {
    expect(await parse(dataset(ann('')))).not.toBeNull();
    expect(await parse(dataset(ann(',"iscrowd":1,"keypoints":[1,2,2,0,0,0],"num_keypoints":1')))).not.toBeNull();
    expect(await parse(dataset(ann(',"num_keypoints":0')))).not.toBeNull();
  });

  it.each(declined)('declines %s', async (_what, text) => {
    expect(await parse(text)).toBeNull();
  });

  it('reads a file given by path, and resolves null for one it cannot read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'omnidistill-native-coco-'));
    try {
      const text = dataset(ann(',"keypoints":[1,2,2,0,0,0]'));
      const file = join(dir, 'gt.json');
      writeFileSync(file, text);
      expect(records((await native.parseCocoDataset!(file, { skipKeypoints: false }))!)).toEqual(reference(text));
      expect(await native.parseCocoDataset!(join(dir, 'missing.json'), { skipKeypoints: false })).toBeNull();
      expect(await native.parseCocoDataset!(dir, { skipKeypoints: false })).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads a dataset of thousands of annotations (columns reserved after a sample; a 4+ MiB file by path) as JSON.parse does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'omnidistill-native-coco-'));
    try {
      const images = Array.from({ length: 500 }, (_, i) => `{"id":${i},"width":640,"height":480,"file_name":"${i}.jpg"}`).join(',');
      const coordinate = (i: number, j: number): number => ((i * 7919 + j * 104729) % 1000003) / 1733.7;
      const annotations = Array.from({ length: 6000 }, (_, i) => {
        const keypoints = Array.from({ length: 6 }, (_, j) => (j % 3 === 2 ? (i + j) % 3 : coordinate(i, j)));
        // later records run longer than the sample (more digits): the reserve must not fall short
        const area = i < 2000 ? i : coordinate(i, 99) * 1.000000001;
        return `{"id":${i + 1},"image_id":${i % 500},"category_id":1,"bbox":[${coordinate(i, 1)},2,3,4],"area":${area},"keypoints":[${keypoints.join(',')}],"pad":"${'x'.repeat(i < 2000 ? 10 : 800)}"}`;
      });
      const text = dataset(annotations.join(','), images);
      expect(text.length).toBeGreaterThan(4 << 20);
      const file = join(dir, 'gt.json');
      writeFileSync(file, text);
      expect(records((await native.parseCocoDataset!(file, { skipKeypoints: false }))!)).toEqual(reference(text));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects arguments of the wrong type instead of crashing', () => {
    expect(() => native.parseCocoDataset!(3 as unknown as Uint8Array, { skipKeypoints: false })).toThrow(/source: expected a Uint8Array or a file path/);
    expect(() => native.parseCocoDataset!(new Uint8Array(2), {} as { skipKeypoints: boolean })).toThrow(/options\.skipKeypoints: expected a boolean/);
  });
});

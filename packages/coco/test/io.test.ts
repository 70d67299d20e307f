// Reading, validating and writing COCO files: exact error places, streaming reader equal
// to a whole-file parse, atomic writes, dataset statistics.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CocoValidationError,
  TopLevelSplitter,
  datasetStatistics,
  readCocoDataset,
  readCocoResults,
  validateDataset,
  writeAtomically,
  writeCocoDataset,
  writeCocoResults,
} from '@omnidistill/coco';
import { generateCase, rng } from './generate.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
const tmp = mkdtempSync(join(tmpdir(), 'omnidistill-coco-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const KP17 = Array.from({ length: 17 }, (_, i) => `k${i}`);
function small(): Record<string, unknown> {
  return {
    images: [{ id: 1, width: 100, height: 80, file_name: 'a.jpg' }, { id: 2, width: 100, height: 80, file_name: 'b.jpg' }],
    categories: [{ id: 1, name: 'person', keypoints: KP17, skeleton: [[1, 2]] }, { id: 2, name: 'dog' }],
    annotations: [
      { id: 10, image_id: 1, category_id: 1, bbox: [1, 2, 30, 40], area: 900, iscrowd: 0, keypoints: Array.from({ length: 17 }, (_, k) => [k, k, k % 3]).flat(), segmentation: [[1, 2, 3, 4, 5, 6]] },
      { id: 11, image_id: 1, category_id: 2, bbox: [5, 5, 10, 10], area: 80, iscrowd: 0 },
      { id: 12, image_id: 1, category_id: 2, bbox: [5, 5, 10, 10], area: 80, iscrowd: 1 },
    ],
  };
}

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CocoValidationError);
    return (err as CocoValidationError).problems.map((p) => p.message);
  }
  throw new Error('expected a CocoValidationError');
}

describe('validateDataset', () => {
  it('accepts a good dataset, converts keypoints to Float64Array and fills num_keypoints', () => {
    const ds = validateDataset(small());
    const kps = ds.annotations[0].keypoints!;
    expect(kps).toBeInstanceOf(Float64Array);
    expect(kps.length).toBe(51);
    expect(ds.annotations[0].num_keypoints).toBe(11); // k % 3 > 0 for 11 of 0..16
  });

  it('names the exact place and the numbers for a wrong keypoint count', () => {
    const raw = small();
    (raw.annotations as Record<string, unknown>[])[0].keypoints = new Array(48).fill(1);
    expect(problemsOf(() => validateDataset(raw))).toEqual(['annotations[0].keypoints: expected 51 numbers (17 × 3), received 48']);
  });

  it('reports every problem, not only the first', () => {
    const raw = small();
    const imgs = raw.images as Record<string, unknown>[];
    const anns = raw.annotations as Record<string, unknown>[];
    imgs[1].id = 1; // duplicate image id
    anns[1].image_id = 77; // dangling image
    anns[1].category_id = 9; // dangling category
    anns[2].id = 10; // duplicate annotation id
    anns[2].bbox = [0, 0, -3, 4];
    anns[2].iscrowd = 2;
    anns[0].num_keypoints = 3;
    const problems = problemsOf(() => validateDataset(raw));
    expect(problems).toEqual([
      'images[1].id: expected an id not already used by images[0], received 1 (number)',
      'annotations[0].num_keypoints: expected 11 (the keypoints with v > 0), received 3 (number)',
      'annotations[1].image_id: expected the id of an entry in images, received 77 (number)',
      'annotations[1].category_id: expected the id of an entry in categories, received 9 (number)',
      'annotations[2].id: expected an id not already used by annotations[0], received 10 (number)',
      'annotations[2].bbox[2]: expected a non-negative width and height, received -3 (number)',
      'annotations[2].iscrowd: expected 0 or 1, received 2 (number)',
    ]);
  });

  it('checks visibility flags, skeleton indices and the top-level shape', () => {
    const raw = small();
    const kps = (raw.annotations as Record<string, number[]>[])[0].keypoints;
    kps[5] = 3;
    (raw.categories as Record<string, unknown>[])[0].skeleton = [[1, 18]];
    expect(problemsOf(() => validateDataset(raw))).toEqual([
      'categories[0].skeleton[0]: expected a pair of 1-based keypoint indices in [1, 17], received an array of length 2',
      'annotations[0].keypoints[5]: expected a visibility flag 0, 1 or 2, received 3 (number)',
    ]);
    expect(problemsOf(() => validateDataset([]))).toEqual(['(top level): expected an object with images, annotations and categories, received an array of length 0']);
  });
});

describe('TopLevelSplitter', () => {
  it('delivers the same values as JSON.parse whatever the chunking', () => {
    const doc = {
      info: { text: 'brackets ] } [ { and "quotes" \\ inside', n: [1, [2, 3]] },
      images: [{ id: 1, file_name: 'ü/é "x".jpg' }, { id: 2, file_name: '日本.png' }, { id: 3, file_name: 'ends with a backslash \\', note: '\\"q\\' }],
      annotations: [{ id: 1, kp: [1.5, -2e-7, 3] }, 5, 'str,]', [1, [2]], null],
      categories: [],
      extra: 'tail',
    };
    const text = Buffer.from(JSON.stringify(doc, null, 1));
    const r = rng(3);
    for (let trial = 0; trial < 20; trial++) {
      const out: Record<string, unknown> = {};
      const s = new TopLevelSplitter(new Set(['images', 'annotations', 'categories']), {
        member: (k, t) => (out[k] = JSON.parse(t)),
        element: (k, i, t) => {
          expect((out[k] as unknown[]).length).toBe(i);
          (out[k] as unknown[]).push(JSON.parse(t));
        },
      });
      for (let i = 0; i < text.length; ) {
        const n = 1 + Math.floor(r() * (trial < 10 ? 3 : 40));
        s.feed(text.subarray(i, i + n));
        i += n;
      }
      s.finish();
      expect(out).toEqual(doc);
    }
  });
  it('rejects a document that is not an object, or is cut short', () => {
    const s = new TopLevelSplitter(new Set(), { member: () => undefined, element: () => undefined });
    expect(() => s.feed(Buffer.from('[1]'))).toThrow(/expected a JSON object at byte 0/);
    const t = new TopLevelSplitter(new Set(['images']), { member: () => undefined, element: () => undefined });
    t.feed(Buffer.from('{"images": [{"id": 1}'));
    expect(() => t.finish()).toThrow(/unexpected end of JSON/);
  });
});

describe('files', () => {
  it('the streaming and the whole-text reader equal JSON.parse + validate on every fixture', async () => {
    for (const c of readdirSync(fixtures).filter((d) => d.startsWith('case'))) {
      const file = join(fixtures, c, 'gt.json');
      const whole = validateDataset(JSON.parse(readFileSync(file, 'utf8')));
      expect(await readCocoDataset(file, { wholeTextLimitBytes: 0 })).toEqual(whole);
      expect(await readCocoDataset(file)).toEqual(whole);
    }
  });

  it('results read streaming and as one text are equal', async () => {
    const c = generateCase({ seed: 5, images: 20 });
    const gt = validateDataset(c.gt);
    const file = join(tmp, 'res-generated.json');
    writeFileSync(file, JSON.stringify(c.results));
    const streamed = await readCocoResults(file, gt, { keypoints: 17 }, { wholeTextLimitBytes: 0 });
    expect(streamed.length).toBe(c.results.length);
    expect(await readCocoResults(file, gt, { keypoints: 17 })).toEqual(streamed);
  });

  it('skipKeypoints reads everything but the keypoints of boxed records, and names a broken record as before', async () => {
    const c = generateCase({ seed: 6, images: 20 });
    const gtFile = join(tmp, 'gt-skip.json'), resFile = join(tmp, 'res-skip.json');
    writeFileSync(gtFile, JSON.stringify(c.gt));
    writeFileSync(resFile, JSON.stringify(c.results));
    const full = await readCocoDataset(gtFile);
    const gt = await readCocoDataset(gtFile, { skipKeypoints: true });
    const withoutKeypoints = (a: object) => Object.fromEntries(Object.entries(a).filter(([k]) => k !== 'keypoints' && k !== 'num_keypoints'));
    expect(gt.annotations.map(withoutKeypoints)).toEqual(full.annotations.map(withoutKeypoints));
    expect(gt.annotations.every((a) => a.keypoints === undefined)).toBe(true);
    expect(gt.images).toEqual(full.images);
    expect(gt.categories).toEqual(full.categories);
    const results = await readCocoResults(resFile, gt, {}, { skipKeypoints: true });
    const fullResults = await readCocoResults(resFile, full);
    expect(results).toEqual(fullResults.map((r) => (r.bbox !== undefined ? withoutKeypoints(r) : r)));
    const broken = JSON.stringify(c.results).replace('"keypoints":[', '"keypoints":[,');
    writeFileSync(resFile, broken);
    await expect(readCocoResults(resFile, gt, {}, { skipKeypoints: true })).rejects.toThrow(/\[0\]: expected valid JSON/);
  });

  it('names the record that is not valid JSON', async () => {
    const file = join(tmp, 'broken.json');
    writeFileSync(file, '{"images": [{"id": 1, "width": 2, "height": 2, "file_name": "a"}], "annotations": [{"id": 1,, }], "categories": []}');
    // the whole-text parse fails and falls back to the streaming reader, which names the record
    await expect(readCocoDataset(file)).rejects.toThrow(/annotations\[0\]: expected valid JSON/);
    await expect(readCocoDataset(file, { wholeTextLimitBytes: 0 })).rejects.toThrow(/annotations\[0\]: expected valid JSON/);
  });

  it('write then read round-trips exactly, one record per line', async () => {
    const c = generateCase({ seed: 9, images: 30 });
    const ds = validateDataset(c.gt);
    const file = join(tmp, 'roundtrip.json');
    await writeCocoDataset(file, ds);
    const back = await readCocoDataset(file);
    expect(back).toEqual(ds);
    expect(readFileSync(file, 'utf8').split('\n').length).toBeGreaterThan(ds.annotations.length);
    const rfile = join(tmp, 'results.json');
    const res = c.results.slice(0, 50);
    await writeCocoResults(rfile, res as never);
    const backRes = await readCocoResults(rfile, ds);
    expect(backRes.map((r) => r.score)).toEqual(res.map((r) => r.score));
    expect(Array.from(backRes[0].keypoints!)).toEqual(res[0].keypoints);
  });

  it('keeps fields it does not model (segmentation, info, licenses, extra image fields)', async () => {
    const raw = { info: { year: 2017 }, licenses: [{ id: 1, name: 'x' }], ...small() };
    (raw as unknown as { images: Record<string, unknown>[] }).images[0].coco_url = 'http://example/a.jpg';
    const ds = validateDataset(raw);
    const file = join(tmp, 'extra.json');
    await writeCocoDataset(file, ds);
    const back = JSON.parse(readFileSync(file, 'utf8'));
    expect(back.info).toEqual({ year: 2017 });
    expect(back.licenses).toEqual([{ id: 1, name: 'x' }]);
    expect(back.images[0].coco_url).toBe('http://example/a.jpg');
    expect(back.annotations[0].segmentation).toEqual([[1, 2, 3, 4, 5, 6]]);
    expect(back.annotations[0].keypoints).toEqual(Array.from(ds.annotations[0].keypoints!));
  });

  it('a failed write leaves the old file untouched and no temporary file behind', async () => {
    const file = join(tmp, 'atomic.json');
    writeFileSync(file, 'old content');
    await expect(
      writeAtomically(file, async (push) => {
        await push('x'.repeat(3 << 20)); // more than one chunk reaches the temporary file
        throw new Error('crash mid-write');
      }),
    ).rejects.toThrow('crash mid-write');
    expect(readFileSync(file, 'utf8')).toBe('old content');
    expect(readdirSync(tmp).filter((f) => f.includes('atomic.json.'))).toEqual([]);
  });
});

describe('datasetStatistics', () => {
  it('counts instances per image (overall, per category) and labeled keypoints per instance', () => {
    const s = datasetStatistics(validateDataset(small()));
    // crowd left out: image 1 has 2 instances (one person, one dog), image 2 none
    expect(s.images).toBe(2);
    expect(s.instances).toBe(2);
    expect(s.instancesPerImage.histogram).toEqual([1, 0, 1]);
    expect(s.instancesPerImage.mean).toBe(1);
    expect(s.perCategory.map((c) => [c.name, c.instancesPerImage.histogram])).toEqual([['person', [1, 1]], ['dog', [1, 1]]]);
    expect(s.keypointsPerInstance.items).toBe(1);
    expect(s.keypointsPerInstance.mean).toBe(11);
    expect(datasetStatistics(validateDataset(small()), { includeCrowd: true }).instances).toBe(3);
  });
});

describe('readCocoResults', () => {
  const gt = validateDataset(small());
  it('streams a results array and validates it against the ground truth', async () => {
    const file = join(tmp, 'res-ok.json');
    writeFileSync(file, JSON.stringify([{ image_id: 1, category_id: 1, bbox: [0, 0, 5, 5], score: 0.5, keypoints: new Array(51).fill(1) }]));
    const res = await readCocoResults(file, gt, { keypoints: 17 });
    expect(res[0].keypoints).toBeInstanceOf(Float64Array);
    const empty = join(tmp, 'res-empty.json');
    writeFileSync(empty, ' [ ] ');
    expect(await readCocoResults(empty, gt)).toEqual([]);
  });
  it('rejects a non-array, a broken record, and keypoints of the wrong count, by place', async () => {
    const obj = join(tmp, 'res-obj.json');
    writeFileSync(obj, '{"annotations": []}');
    await expect(readCocoResults(obj, gt)).rejects.toThrow(/\(top level\): expected an array of results/);
    const broken = join(tmp, 'res-broken.json');
    writeFileSync(broken, '[{"image_id": 1, "category_id": 1, "bbox": [0,0,1,1], "score": 1}, {"image_id": }]');
    await expect(readCocoResults(broken, gt)).rejects.toThrow(/\[1\]: expected valid JSON/);
    const short = join(tmp, 'res-short.json');
    writeFileSync(short, JSON.stringify([{ image_id: 1, category_id: 1, score: 1, keypoints: [1, 2, 3] }]));
    await expect(readCocoResults(short, gt, { keypoints: 17 })).rejects.toThrow(/\[0\]\.keypoints: expected 51 numbers \(17 × 3\), received 3/);
  });
});

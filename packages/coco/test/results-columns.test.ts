// startReadingCocoResults with a column parser (the CLI passes the native addon's scanner; a
// JavaScript stand-in here, so the plumbing is tested without the addon): the records and
// every error are those of readCocoResults, whether the parser reads, declines or fails.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createParams, evaluate, isResultsColumns, readCocoResults, resultsFromColumns, startReadingCocoResults, validateDataset, validateResults } from '@omnidistill/coco';
import type { CocoResultsColumns, ResultsColumnParser } from '@omnidistill/coco';
import { generateCase } from './generate.js';

const tmp = mkdtempSync(join(tmpdir(), 'omnidistill-coco-columns-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Raw {
  image_id: number;
  category_id: number;
  score: number;
  bbox?: number[];
  keypoints?: number[];
}

/** Columns of a plain list of valid records (what the native scanner produces from its text). */
function columnsOf(list: Raw[], skipBoxedKeypoints = false): CocoResultsColumns {
  const n = list.length;
  const c: CocoResultsColumns = {
    imageId: new Float64Array(n),
    categoryId: new Float64Array(n),
    score: new Float64Array(n),
    bbox: new Float64Array(4 * n).fill(NaN),
    hasBox: new Uint8Array(n),
    kpStart: new Int32Array(n),
    kpCount: new Int32Array(n).fill(-1),
    keypoints: new Float64Array(list.reduce((s, r) => s + (r.keypoints?.length ?? 0), 0)),
  };
  let used = 0;
  list.forEach((r, i) => {
    c.imageId[i] = r.image_id;
    c.categoryId[i] = r.category_id;
    c.score[i] = r.score;
    if (r.bbox !== undefined && r.bbox.length === 4) {
      c.hasBox[i] = 1;
      c.bbox.set(r.bbox, 4 * i);
    }
    c.kpStart[i] = used;
    if (r.keypoints !== undefined && !(skipBoxedKeypoints && c.hasBox[i] === 1)) {
      c.keypoints.set(r.keypoints, used);
      c.kpCount[i] = r.keypoints.length;
      used += r.keypoints.length;
    }
  });
  return c;
}

type StandIn = ResultsColumnParser & { calls: number; called: Promise<void> };

/** A stand-in scanner that counts its calls; `decline` makes it resolve null, `fail` reject. */
function standIn(mode: 'read' | 'decline' | 'fail' = 'read'): StandIn {
  let called = (): void => {};
  const parser = async (file: string, options: { skipBoxedKeypoints: boolean }): Promise<CocoResultsColumns | null> => {
    parser.calls++;
    const text = readFileSync(file, 'utf8');
    called();
    if (mode === 'fail') throw new Error('scanner failed');
    if (mode === 'decline') return null;
    return columnsOf(JSON.parse(text) as Raw[], options.skipBoxedKeypoints);
  };
  parser.calls = 0;
  parser.called = new Promise<void>((resolve) => (called = resolve));
  return parser;
}

function write(name: string, value: unknown): string {
  const file = join(tmp, name);
  writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
  return file;
}

describe('startReadingCocoResults with a column parser', () => {
  const c = generateCase({ seed: 11, images: 30 });
  const gt = validateDataset(c.gt);
  const file = write('res.json', c.results);

  it('gives the records readCocoResults gives, from the early read, for keypoints and for boxes without keypoints', async () => {
    for (const [req, options] of [[{ keypoints: 17 }, {}], [{}, { skipKeypoints: true }]] as const) {
      const parser = standIn();
      const own = write('res-own.json', c.results);
      const expected = await readCocoResults(own, gt, req, options);
      const pending = startReadingCocoResults(own, { ...options, columnParser: parser });
      await parser.called;
      // the file changes after the early read: records from a re-read would be these
      writeFileSync(own, JSON.stringify(c.results.slice(0, 1)));
      const got = await pending.finish(gt, req);
      expect(parser.calls).toBe(1);
      expect(got.map((r) => ({ ...r, keypoints: r.keypoints && Array.from(r.keypoints) }))).toEqual(
        expected.map((r) => ({ ...r, keypoints: r.keypoints && Array.from(r.keypoints) })),
      );
    }
  });

  it('takes files over the whole-text limit (they would stream) up to its own limit', async () => {
    const parser = standIn();
    const expected = await readCocoResults(file, gt, { keypoints: 17 }, { wholeTextLimitBytes: 10 });
    const got = await startReadingCocoResults(file, { columnParser: parser, wholeTextLimitBytes: 10 }).finish(gt, { keypoints: 17 });
    expect(parser.calls).toBe(1);
    expect(got.map((r) => Array.from(r.keypoints!))).toEqual(expected.map((r) => Array.from(r.keypoints!)));
  });

  it('falls back to the JavaScript parsers when the parser declines or fails', async () => {
    const expected = await readCocoResults(file, gt, { keypoints: 17 });
    for (const mode of ['decline', 'fail'] as const) {
      const parser = standIn(mode);
      expect(await startReadingCocoResults(file, { columnParser: parser }).finish(gt, { keypoints: 17 })).toEqual(expected);
      expect(parser.calls).toBe(1);
    }
  });

  it('reports an image the ground truth lacks and a wrong keypoint count as readCocoResults does', async () => {
    const unknownImage = write('res-unknown.json', [{ image_id: 999, category_id: 1, score: 0.5, bbox: [0, 0, 1, 1] }]);
    await expect(startReadingCocoResults(unknownImage, { columnParser: standIn() }).finish(gt)).rejects.toThrow(
      /\[0\]\.image_id: expected the id of an image in the ground truth, received 999/,
    );
    const short = write('res-short.json', [{ image_id: gt.images[0].id, category_id: 1, score: 0.5, keypoints: [1, 2, 3] }]);
    await expect(startReadingCocoResults(short, { columnParser: standIn() }).finish(gt, { keypoints: 17 })).rejects.toThrow(
      /\[0\]\.keypoints: expected 51 numbers \(17 × 3\), received 3/,
    );
  });

  it('does not read a missing file, a FIFO or a file over the size limit early; finish() reports the first two', async () => {
    const parser = standIn();
    await expect(startReadingCocoResults(join(tmp, 'missing.json'), { columnParser: parser }).finish(gt)).rejects.toThrow(/ENOENT/);
    const fifo = join(tmp, 'fifo.json');
    execFileSync('mkfifo', [fifo]);
    await expect(startReadingCocoResults(fifo, { columnParser: parser }).finish(gt)).rejects.toThrow(/expected a regular JSON file, received a FIFO/);
    const expected = await readCocoResults(file, gt, { keypoints: 17 });
    expect(await startReadingCocoResults(file, { columnParser: parser, columnParserLimitBytes: 10 }).finish(gt, { keypoints: 17 })).toEqual(expected);
    expect(parser.calls).toBe(0);
  });
});

describe('resultsFromColumns', () => {
  const gt = validateDataset(generateCase({ seed: 3, images: 4 }).gt);
  const id = gt.images[0].id;
  it('builds records with keypoints as views and no box where there is none', () => {
    const list: Raw[] = [
      { image_id: id, category_id: 1, score: 0.5, bbox: [1, 2, 3, 4], keypoints: [1, 2, 3] },
      { image_id: id, category_id: 2, score: 0.25, keypoints: [4, 5, 6] },
    ];
    const c = columnsOf(list);
    const got = resultsFromColumns(c, gt)!;
    expect(got[0]).toEqual({ image_id: id, category_id: 1, score: 0.5, bbox: [1, 2, 3, 4], keypoints: Float64Array.of(1, 2, 3) });
    expect('bbox' in got[1]).toBe(false);
    expect(got[1].keypoints!.buffer).toBe(c.keypoints.buffer);
  });
  it('accepts boxed records whose keypoints were skipped (count -1) when no keypoints are required', () => {
    const c = columnsOf([{ image_id: id, category_id: 1, score: 1, bbox: [0, 0, 1, 1], keypoints: [1, 2, 3] }], true);
    expect(c.kpCount[0]).toBe(-1);
    expect(resultsFromColumns(c, gt)).toEqual([{ image_id: id, category_id: 1, score: 1, bbox: [0, 0, 1, 1] }]);
  });
  it('returns null for an unknown image, missing or miscounted keypoints', () => {
    expect(resultsFromColumns(columnsOf([{ image_id: -5, category_id: 1, score: 1, bbox: [0, 0, 1, 1] }]), gt)).toBeNull();
    expect(resultsFromColumns(columnsOf([{ image_id: id, category_id: 1, score: 1, bbox: [0, 0, 1, 1] }]), gt, { keypoints: 1 })).toBeNull();
    expect(resultsFromColumns(columnsOf([{ image_id: id, category_id: 1, score: 1, keypoints: [1, 2, 3, 4, 5, 6] }]), gt, { keypoints: 1 })).toBeNull();
    expect(resultsFromColumns(columnsOf([{ image_id: id, category_id: 1, score: 1, keypoints: [1, 2, 3] }]), gt, { keypoints: 1 })).not.toBeNull();
  });
});

describe('finishAny and evaluate on columns', () => {
  const c = generateCase({ seed: 17, images: 60 });
  const gt = validateDataset(c.gt);
  const file = write('res-any.json', c.results);

  it('finishAny gives the early columns when every record passes, else the records (re-read) with the same errors', async () => {
    const got = await startReadingCocoResults(file, { columnParser: standIn() }).finishAny(gt, { keypoints: 17 });
    expect(isResultsColumns(got)).toBe(true);
    const declined = await startReadingCocoResults(file, { columnParser: standIn('decline') }).finishAny(gt, { keypoints: 17 });
    expect(declined).toEqual(await readCocoResults(file, gt, { keypoints: 17 }));
    const unknownImage = write('res-any-unknown.json', [{ image_id: 999, category_id: 1, score: 0.5, bbox: [0, 0, 1, 1] }]);
    await expect(startReadingCocoResults(unknownImage, { columnParser: standIn() }).finishAny(gt)).rejects.toThrow(
      /\[0\]\.image_id: expected the id of an image in the ground truth, received 999/,
    );
  });

  it('evaluate gives bit-identical precision, recall and scores from columns and from records, boxes and keypoints', () => {
    const records = validateResults(structuredClone(c.results), gt);
    for (const iouType of ['bbox', 'keypoints'] as const) {
      const p = createParams(iouType, gt);
      const fromRecords = evaluate(gt, records, p);
      const fromColumns = evaluate(gt, columnsOf(c.results as unknown as Raw[]), p);
      expect(fromColumns.precision).toEqual(fromRecords.precision);
      expect(fromColumns.recall).toEqual(fromRecords.recall);
      expect(fromColumns.scores).toEqual(fromRecords.scores);
      expect(fromColumns.ignoredResults).toBe(fromRecords.ignoredResults);
    }
    // no boxes: box and area come from the keypoints' extent, as pycocotools derives them
    const unboxed = (c.results as unknown as Raw[]).map(({ bbox: _bbox, ...r }) => r);
    const p = createParams('bbox', gt);
    expect(evaluate(gt, columnsOf(unboxed), p).precision).toEqual(evaluate(gt, validateResults(structuredClone(unboxed), gt), p).precision);
  });

  it('evaluate throws the same errors for columns as for records', () => {
    const id = gt.images[0].id;
    const cases: [Raw[], 'bbox' | 'keypoints'][] = [
      [[{ image_id: -1, category_id: 1, score: 1, bbox: [0, 0, 1, 1] }], 'bbox'],
      [[{ image_id: id, category_id: 1, score: 1, bbox: [0, 0, 1, 1] }, { image_id: id, category_id: 1, score: 1, keypoints: [1, 2, 3] }], 'bbox'],
      [[{ image_id: id, category_id: 1, score: 1, keypoints: [1, 2, 3] }, { image_id: id, category_id: 1, score: 1, bbox: [0, 0, 1, 1] }], 'bbox'],
      [[{ image_id: id, category_id: 1, score: 1, bbox: [0, 0, 1, 1], keypoints: [1, 2, 3] }], 'keypoints'],
      [[{ image_id: id, category_id: 1, score: 1, bbox: [0, 0, 1, 1] }], 'keypoints'],
    ];
    for (const [list, iouType] of cases) {
      const p = createParams(iouType, gt);
      const records = list.map((r) => ({ ...r, ...(r.keypoints ? { keypoints: Float64Array.from(r.keypoints) } : {}) })) as Parameters<typeof evaluate>[1];
      const expected = (() => {
        try {
          evaluate(gt, records, p);
          return 'no error';
        } catch (err) {
          return (err as Error).message;
        }
      })();
      expect(expected).not.toBe('no error');
      expect(() => evaluate(gt, columnsOf(list), p)).toThrow(expected);
    }
  });
});

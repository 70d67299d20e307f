// parseCocoResults: the columns hold exactly JSON.parse's values for the shape it accepts, and
// it declines (resolves null) everything else, so that @omnidistill/coco re-reads those files
// with the parsers whose errors name the record.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadNative } from '@omnidistill/native';
import type { NativeCocoResultsColumns } from '@omnidistill/native';

const native = loadNative();
const parse = (text: string, skipBoxedKeypoints = false): Promise<NativeCocoResultsColumns | null> =>
  native.parseCocoResults!(new TextEncoder().encode(text), { skipBoxedKeypoints });

interface Plain {
  image_id: number;
  category_id: number;
  score: number;
  bbox?: number[];
  keypoints?: number[];
}

/** The columns as plain records (Object.is-comparable numbers: -0 stays -0). */
function records(c: NativeCocoResultsColumns): Plain[] {
  return Array.from(c.score, (score, i) => {
    const r: Plain = { image_id: c.imageId[i], category_id: c.categoryId[i], score };
    if (c.hasBox[i] === 1) r.bbox = Array.from(c.bbox.subarray(4 * i, 4 * i + 4));
    if (c.kpCount[i] >= 0) r.keypoints = Array.from(c.keypoints.subarray(c.kpStart[i], c.kpStart[i] + c.kpCount[i]));
    return r;
  });
}

/** JSON.parse's records with an empty box removed (as validateResults does). */
function reference(text: string): Plain[] {
  return (JSON.parse(text) as Plain[]).map((r) => {
    const { bbox, ...rest } = r;
    return bbox !== undefined && bbox.length > 0 ? { ...rest, bbox } : rest;
  });
}

/** A seeded generator of awkward but valid numbers. */
function numbers(seed: number): () => number {
  let s = seed >>> 0;
  const next = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  return () => {
    const u = next();
    if (u < 0.1) return Math.round(next() * 1000);
    if (u < 0.2) return (next() - 0.5) * 1e-7;
    if (u < 0.3) return next() * 1e21;
    if (u < 0.35) return -0;
    return next() * 1000;
  };
}

describe('parseCocoResults', () => {
  it('reads JSON.parse’s exact doubles: full-precision, exponent, -0, huge and tiny numbers, whitespace', async () => {
    const num = numbers(7);
    const list = Array.from({ length: 400 }, (_, i) => ({
      image_id: i % 37,
      category_id: 1 + (i % 3),
      score: num(),
      ...(i % 5 === 0 ? {} : { bbox: [num(), num(), Math.abs(num()), Math.abs(num())] }),
      keypoints: Array.from({ length: 51 }, num),
    }));
    // tabs, CR/LF and spaces around tokens; exponents as 1E21 as well as 1e+21
    const text = JSON.stringify(list, null, '\t')
      .replace(/,/g, ' ,\r\n ')
      .replace(/e\+(\d+)(,| )/g, (m, d: string, after: string, at: number) => (at % 2 === 0 ? `E${d}${after}` : m));
    const got = await parse(text);
    expect(got).not.toBeNull();
    expect(records(got!)).toEqual(reference(text));
    // written by hand: forms JSON.stringify never produces
    const hand = '[{"image_id":1.0,"category_id":2e0,"score":5E-1,"bbox":[0.1e1,-0,1e-5,123456789012345678901234567890],"keypoints":[]}]';
    expect(records((await parse(hand))!)).toEqual(reference(hand));
  });

  it('skips unknown fields of any JSON type and treats an empty box as none', async () => {
    const text = '[{"id":3,"segmentation":{"counts":"a\\"b\\u00e9\\n","size":[1,2]},"image_id":4,"area":null,"category_id":1,"score":0.5,"bbox":[],"keypoints":[1,2,0.5],"ok":true,"no":false,"x":[[],{}]}]';
    const got = await parse(text);
    expect(records(got!)).toEqual([{ image_id: 4, category_id: 1, score: 0.5, keypoints: [1, 2, 0.5] }]);
  });

  it('leaves out the keypoints of boxed records with skipBoxedKeypoints, and keeps those of unboxed ones', async () => {
    const text = '[{"keypoints":[1,2,3],"image_id":1,"category_id":1,"score":0.9,"bbox":[1,2,3,4]},{"image_id":1,"category_id":1,"score":0.8,"keypoints":[4,5,6]}]';
    const got = await parse(text, true);
    expect(records(got!)).toEqual([
      { image_id: 1, category_id: 1, score: 0.9, bbox: [1, 2, 3, 4] },
      { image_id: 1, category_id: 1, score: 0.8, keypoints: [4, 5, 6] },
    ]);
    expect(got!.keypoints.length).toBe(3);
  });

  it('reads an empty array', async () => {
    expect((await parse(' [ ] '))!.score.length).toBe(0);
  });

  const declined: [string, string][] = [
    ['a syntax error', '[{"image_id":1,"category_id":1,"score":0.5,"bbox":[1,2,3,4]}'],
    ['trailing text', '[{"image_id":1,"category_id":1,"score":0.5,"bbox":[1,2,3,4]}] x'],
    ['an object at the top', '{"image_id":1}'],
    ['a byte-order mark', '\ufeff[]'],
    ['a missing score', '[{"image_id":1,"category_id":1,"bbox":[1,2,3,4]}]'],
    ['neither box nor keypoints', '[{"image_id":1,"category_id":1,"score":0.5}]'],
    ['a repeated field (JSON.parse keeps the last)', '[{"image_id":1,"image_id":2,"category_id":1,"score":0.5,"bbox":[1,2,3,4]}]'],
    ['an escaped key (it could spell any field)', '[{"image\\u005fid":1,"category_id":1,"score":0.5,"bbox":[1,2,3,4]}]'],
    ['a fractional id', '[{"image_id":1.5,"category_id":1,"score":0.5,"bbox":[1,2,3,4]}]'],
    ['a string id', '[{"image_id":"1","category_id":1,"score":0.5,"bbox":[1,2,3,4]}]'],
    ['a number beyond double range', '[{"image_id":1,"category_id":1,"score":1e400,"bbox":[1,2,3,4]}]'],
    ['a number outside JSON’s grammar', '[{"image_id":01,"category_id":1,"score":0.5,"bbox":[1,2,3,4]}]'],
    ['a trailing dot', '[{"image_id":1,"category_id":1,"score":1.,"bbox":[1,2,3,4]}]'],
    ['a negative width', '[{"image_id":1,"category_id":1,"score":0.5,"bbox":[1,2,-3,4]}]'],
    ['a box of 3 numbers', '[{"image_id":1,"category_id":1,"score":0.5,"bbox":[1,2,3]}]'],
    ['a box with null', '[{"image_id":1,"category_id":1,"score":0.5,"bbox":[1,2,null,4]}]'],
    ['keypoints not in triples', '[{"image_id":1,"category_id":1,"score":0.5,"keypoints":[1,2]}]'],
    ['a raw control character in a string', '[{"image_id":1,"category_id":1,"score":0.5,"bbox":[1,2,3,4],"n":"a\tb"}]'],
    ['an invalid escape', '[{"image_id":1,"category_id":1,"score":0.5,"bbox":[1,2,3,4],"n":"\\x"}]'],
    ['a bare word', '[{"image_id":1,"category_id":1,"score":NaN,"bbox":[1,2,3,4]}]'],
    ['an empty record', '[{}]'],
  ];
  it.each(declined)('declines %s', async (_what, text) => {
    expect(await parse(text)).toBeNull();
  });

  it('reads a file given by path on the pool thread, and resolves null for one it cannot read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'omnidistill-native-coco-'));
    try {
      const text = '[{"image_id":1,"category_id":1,"score":0.5,"bbox":[1,2,3,4],"keypoints":[1,2,3]}]';
      const file = join(dir, 'res.json');
      writeFileSync(file, text);
      expect(records((await native.parseCocoResults!(file, { skipBoxedKeypoints: false }))!)).toEqual(reference(text));
      expect(await native.parseCocoResults!(join(dir, 'missing.json'), { skipBoxedKeypoints: false })).toBeNull();
      expect(await native.parseCocoResults!(dir, { skipBoxedKeypoints: false })).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads a file of several MiB by path (read whole on the pool thread) as it reads the same bytes, and an empty file as a decline', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'omnidistill-native-coco-'));
    try {
      const next = numbers(17);
      const records = Array.from({ length: 9000 }, (_, i) => ({
        image_id: i % 97,
        category_id: 1 + (i % 3),
        score: next(),
        bbox: [next(), next(), Math.abs(next()), Math.abs(next())],
        keypoints: Array.from({ length: 51 }, () => next()),
      }));
      const text = JSON.stringify(records);
      expect(text.length).toBeGreaterThan(5 << 20); // a file of several MiB, read in one buffer
      const file = join(dir, 'big.json');
      writeFileSync(file, text);
      const byPath = await native.parseCocoResults!(file, { skipBoxedKeypoints: false });
      const byBytes = await parse(text);
      expect(byPath).not.toBeNull();
      expect(byPath).toEqual(byBytes);
      const empty = join(dir, 'empty.json');
      writeFileSync(empty, '');
      expect(await native.parseCocoResults!(empty, { skipBoxedKeypoints: false })).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects arguments of the wrong type instead of crashing', () => {
    expect(() => native.parseCocoResults!(3 as unknown as Uint8Array, { skipBoxedKeypoints: false })).toThrow(/source: expected a Uint8Array or a file path/);
    expect(() => native.parseCocoResults!('', { skipBoxedKeypoints: false })).toThrow(/source: expected a Uint8Array or a file path/);
    expect(() => native.parseCocoResults!(new Uint8Array(2), {} as { skipBoxedKeypoints: boolean })).toThrow(/options\.skipBoxedKeypoints: expected a boolean/);
  });
});

// The streamed image list: the external sort against an in-memory sort, the frozen
// images.jsonl against freezeImageList (same bytes, same hash), and the runner reading it.
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IMAGE_MANIFEST, freezeImageList, freezeImageStream, readImageLines, sortImagesById } from '@omnidistill/infer';
import type { ImageEntry } from '@omnidistill/infer';

/** n entries with distinct ids in a scrambled order. */
function scrambled(n: number): ImageEntry[] {
  return Array.from({ length: n }, (_, i) => {
    const id = (i * 7919) % n; // 7919 is prime: a permutation of 0…n-1 when n is not a multiple
    return { imageId: id * 3 + 1, fileName: `img/${id}.png` };
  });
}

async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of stream) out.push(x);
  return out;
}

describe('sortImagesById', () => {
  it('sorts like an in-memory sort through runs and multi-level merges, and removes its scratch folder', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sort-'));
    const input = scrambled(1000);
    const expected = [...input].sort((a, b) => a.imageId - b.imageId);
    for (const limits of [{}, { runSize: 7 }, { runSize: 7, fanIn: 2 }, { runSize: 1, fanIn: 3 }, { runSize: 1000 }]) {
      const sorted = await collect(sortImagesById(input, dir, limits));
      expect(sorted.map(({ imageId, fileName }) => ({ imageId, fileName }))).toEqual(expected);
      expect(sorted.every((e) => input[e.position].imageId === e.imageId)).toBe(true);
    }
    expect(await readdir(dir)).toEqual([]);
  });

  it('keeps equal ids in input order and refuses limits that cannot work', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sort-'));
    const input = [{ imageId: 2, fileName: 'a' }, { imageId: 1, fileName: 'b' }, { imageId: 2, fileName: 'c' }];
    expect((await collect(sortImagesById(input, dir, { runSize: 1 }))).map((e) => e.fileName)).toEqual(['b', 'a', 'c']);
    await expect(collect(sortImagesById(input, dir, { fanIn: 1 }))).rejects.toThrow('limits.fanIn: expected an integer >= 2, received 1');
  });
});

describe('freezeImageStream', () => {
  it('writes the same images.jsonl and hash as freezeImageList, then matches it; reads it back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'freeze-'));
    const input = scrambled(20_000); // three sort runs
    const reference = freezeImageList(input);
    const first = await freezeImageStream(dir, input);
    expect(first.state).toBe('written');
    expect(first.frozen.hash).toBe(reference.hash);
    expect(first.frozen.count).toBe(20_000);
    const text = await readFile(join(dir, IMAGE_MANIFEST), 'utf8');
    expect(text.split('\n')[0]).toBe('{"id":1,"file_name":"img/0.png"}');
    expect(await collect(readImageLines(join(dir, IMAGE_MANIFEST)))).toEqual(reference.images);
    expect(await collect(first.frozen.entries())).toEqual(reference.images);
    const again = await freezeImageStream(dir, [...input].reverse());
    expect(again.state).toBe('matched');
    await expect(freezeImageStream(dir, input.slice(1))).rejects.toThrow('the frozen image list differs from this run\'s images (20000 frozen vs 19999 given)');
    expect((await readdir(dir)).sort()).toEqual([IMAGE_MANIFEST]); // no scratch or temporary left
  });

  it('names a repeated id by both input positions and writes nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'freeze-'));
    const input = [{ imageId: 9, fileName: 'a' }, { imageId: 4, fileName: 'b' }, { imageId: 9, fileName: 'c' }];
    await expect(freezeImageStream(dir, input)).rejects.toThrow('images[2].id: expected an id not already used by images[0], received 9 (number)');
    expect(await readdir(dir)).toEqual([]);
  });
});

// readCocoImages: the images of a COCO file streamed record by record, checked like
// readCocoDataset checks them, other members skipped.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCocoDataset, readCocoImages } from '@omnidistill/coco';

async function file(content: unknown): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'coco-images-'));
  const path = join(dir, 'u.json');
  await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

async function collect(path: string) {
  const out = [];
  for await (const im of readCocoImages(path)) out.push(im);
  return out;
}

describe('readCocoImages', () => {
  it('yields the same image records as readCocoDataset, in file order, across many read chunks', async () => {
    const images = Array.from({ length: 5000 }, (_, i) => ({ id: 5000 - i, file_name: `dir/img-${i}-${'é'.repeat(i % 7)}.png`, width: 1 + (i % 9), height: 2 }));
    const path = await file({ info: { a: 1 }, images, annotations: [{ id: 1, image_id: 5000, category_id: 1, bbox: [0, 0, 1, 1], area: 1, iscrowd: 0 }], categories: [{ id: 1, name: 'a' }] });
    expect(await collect(path)).toEqual((await readCocoDataset(path)).images);
  });

  it('accepts an empty images array and ignores annotations entirely', async () => {
    expect(await collect(await file({ images: [], annotations: [{ broken: true }], categories: [] }))).toEqual([]);
  });

  it('reports every bad record with its place after the stream, and a missing or non-array images', async () => {
    const path = await file({ images: [{ id: 1, file_name: 'a.png', width: 1, height: 1 }, { id: 1.5, file_name: 'b.png', width: 1, height: 1 }, { id: 3, file_name: 7, width: 0, height: 1 }, 'x'], annotations: [] });
    await expect(collect(path)).rejects.toThrow(/4 problems[\s\S]*images\[1\]\.id: expected an integer, received 1\.5[\s\S]*images\[2\]\.width[\s\S]*images\[2\]\.file_name[\s\S]*images\[3\]: expected an object/);
    await expect(collect(await file({ annotations: [] }))).rejects.toThrow('images: expected an array, received undefined');
    await expect(collect(await file({ images: { id: 1 } }))).rejects.toThrow('images: expected an array');
    await expect(collect(await file('{"images": [{"id": 1,'))).rejects.toThrow('expected a JSON object with an images array, received invalid JSON');
  });
});

import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { COCO_PERSON } from '@omnidistill/core';
import { Rng } from '@omnidistill/train';
import { describe, expect, it } from 'vitest';
import { KeypointBatchBuilder, loadCocoSource, type LoadedImage } from '@omnidistill/models';

const K = 17;
const W = 20;
const H = 16;

function person(id: number, box: [number, number, number, number], kps: number[]) {
  return { id, image_id: 1, category_id: 1, bbox: box, area: box[2] * box[3], iscrowd: 0 as const, keypoints: Float64Array.from(kps), num_keypoints: K };
}

function image(annotations: ReturnType<typeof person>[]): LoadedImage {
  const pixels = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) pixels.set([x * 10, y * 10, 255], 3 * (y * W + x));
  return { id: 1, fileName: 'x.png', width: W, height: H, pixels, annotations };
}

/** Keypoints all at (2, 3) except the left eye (index 1) at (5, 4) and the right eye (index 2) at (9, 6). */
function keypoints(): number[] {
  const k = new Array<number>(3 * K).fill(0);
  for (let j = 0; j < K; j++) k.splice(3 * j, 3, 2, 3, 2);
  k.splice(3, 3, 5, 4, 2);
  k.splice(6, 3, 9, 6, 2);
  return k;
}

describe('keypoint minibatches', () => {
  const options = { height: 16, width: 24, rois: 3, heatmapSize: 28, schema: COCO_PERSON, jitter: 0 };

  it('normalises pixels and pads to the training size; no flip keeps boxes and targets', () => {
    const b = new KeypointBatchBuilder({ ...options, flipProbability: 0 });
    const feeds = b.build([image([person(1, [0, 0, 14, 14], keypoints())]), image([])], new Rng(1));
    const img = feeds.image.data as Float32Array;
    expect(feeds.image.dims).toEqual([2, 3, 16, 24]);
    expect(img[5]).toBeCloseTo((50 / 255 - 0.5) / 0.25, 6); // R at (x 5, y 0)
    expect(img[22]).toBe(0); // padding column
    expect(Array.from(feeds.rois.data as Float32Array).slice(0, 4)).toEqual([0, 0, 14, 14]);
    const t = feeds.kp_target.data as BigInt64Array;
    expect(Number(t[1])).toBe(Math.floor((4 * 28) / 14) * 28 + Math.floor((5 * 28) / 14));
    const w = feeds.kp_weight.data as Float32Array;
    expect(w.slice(K).every((v) => v === 0)).toBe(true); // two padding RoIs
    expect(Array.from(feeds.roi_batch.data as BigInt64Array)).toEqual([0n, 0n, 0n]);
  });

  it('a flip mirrors pixels and boxes (x → W − x) and swaps left/right channels', () => {
    const b = new KeypointBatchBuilder({ ...options, flipProbability: 1 });
    const feeds = b.build([image([person(1, [0, 0, 14, 14], keypoints())]), image([])], new Rng(1));
    const img = feeds.image.data as Float32Array;
    expect(img[0]).toBeCloseTo(((10 * (W - 1)) / 255 - 0.5) / 0.25, 6); // pixel x = 0 now shows x = W − 1
    expect(Array.from(feeds.rois.data as Float32Array).slice(0, 4)).toEqual([W - 14, 0, W, 14]);
    const t = feeds.kp_target.data as BigInt64Array;
    // the new left eye is the old right eye at x = W − 9, y = 6 inside the RoI [6, 0, 20, 14]
    const cell = (x: number, y: number) => Math.floor((y * 28) / 14) * 28 + Math.floor(((x - 6) * 28) / 14);
    expect(Number(t[1])).toBe(cell(W - 9, 6));
    expect(Number(t[2])).toBe(cell(W - 5, 4));
  });

  it('keeps at most `rois` instances, chosen at random, each with its own image index', () => {
    const b = new KeypointBatchBuilder({ ...options, flipProbability: 0 });
    const many = [1, 2, 3].map((i) => person(i, [i, i, 10, 10], keypoints()));
    const feeds = b.build([image(many), image([person(9, [1, 1, 12, 12], keypoints())])], new Rng(5));
    expect(feeds.rois.dims).toEqual([3, 4]);
    const w = feeds.kp_weight.data as Float32Array;
    // 4 candidates for 3 slots: no slot is padding, every one has labeled keypoints inside
    for (let r = 0; r < 3; r++) expect(w.subarray(r * K, (r + 1) * K).some((v) => v === 1)).toBe(true);
    // each RoI's image index matches its box: the 12 × 12 box is image 1's only person
    const rois = feeds.rois.data as Float32Array;
    const index = Array.from(feeds.roi_batch.data as BigInt64Array);
    for (let r = 0; r < 3; r++) expect(index[r]).toBe(rois[4 * r + 2] - rois[4 * r] === 12 ? 1n : 0n);
  });
});

describe('loadCocoSource', () => {
  it('decodes the images of a COCO file and groups annotations by image', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'models-data-'));
    const rgb = Buffer.alloc(6 * 4 * 3, 200);
    await sharp(rgb, { raw: { width: 6, height: 4, channels: 3 } }).png().toFile(join(dir, 'a.png'));
    const coco = {
      images: [{ id: 7, width: 6, height: 4, file_name: 'a.png' }],
      annotations: [{ id: 1, image_id: 7, category_id: 1, bbox: [1, 1, 2, 2], area: 4, iscrowd: 0 }],
      categories: [{ id: 1, name: 'thing' }],
    };
    await writeFile(join(dir, 'c.json'), JSON.stringify(coco));
    const data = await loadCocoSource({ coco: join(dir, 'c.json'), imageDir: dir });
    expect(data.images[0].pixels.length).toBe(6 * 4 * 3);
    expect(data.images[0].pixels[0]).toBe(200);
    expect(data.images[0].annotations.map((a) => a.id)).toEqual([1]);
    coco.images[0].width = 7;
    await writeFile(join(dir, 'c.json'), JSON.stringify(coco));
    await expect(loadCocoSource({ coco: join(dir, 'c.json'), imageDir: dir })).rejects.toThrow(/7×4/);
  });
});

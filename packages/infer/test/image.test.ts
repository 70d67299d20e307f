import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeImage, inputSizeFor, resizeImage, toInputTensor } from '@omnidistill/infer';

let dir: string;
/** 16×8 image: left half red, right half blue. */
const halves = () => {
  const data = new Uint8Array(16 * 8 * 3);
  for (let y = 0; y < 8; y++) for (let x = 0; x < 16; x++) data[3 * (y * 16 + x) + (x < 8 ? 0 : 2)] = 255;
  return sharp(data, { raw: { width: 16, height: 8, channels: 3 } });
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'omni-image-'));
  await halves().png().toFile(join(dir, 'a.png'));
  await halves().jpeg({ quality: 95 }).toFile(join(dir, 'a.jpg'));
  await halves().webp({ lossless: true }).toFile(join(dir, 'a.webp'));
  // Stored 16×8, EXIF orientation 6: shown rotated 90° clockwise, i.e. 8 wide × 16 high with red on top.
  await halves().jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toFile(join(dir, 'rotated.jpg'));
  await halves().ensureAlpha(0.5).png().toFile(join(dir, 'alpha.png'));
  await sharp(new Uint8Array(16 * 8).fill(200), { raw: { width: 16, height: 8, channels: 1 } }).png().toFile(join(dir, 'grey.png'));
  await halves().gif().toFile(join(dir, 'a.gif'));
  await writeFile(join(dir, 'corrupt.jpg'), Buffer.from('definitely not a jpeg'));
  await writeFile(join(dir, 'empty.png'), Buffer.alloc(0));
  const jpeg = await halves().jpeg().toBuffer();
  await writeFile(join(dir, 'truncated.jpg'), jpeg.subarray(0, Math.floor(jpeg.length / 2)));
});

const pixel = (img: { data: Uint8Array; width: number }, x: number, y: number) => Array.from(img.data.subarray(3 * (y * img.width + x), 3 * (y * img.width + x) + 3));

describe('decodeImage', () => {
  it.each(['a.png', 'a.jpg', 'a.webp'])('decodes %s to upright RGB', async (name) => {
    const r = await decodeImage(join(dir, name));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect([r.image.width, r.image.height, r.image.data.length]).toEqual([16, 8, 16 * 8 * 3]);
    const [rr, , rb] = pixel(r.image, 2, 4);
    const [br, , bb] = pixel(r.image, 13, 4);
    expect(rr).toBeGreaterThan(240);
    expect(rb).toBeLessThan(15);
    expect(br).toBeLessThan(15);
    expect(bb).toBeGreaterThan(240);
  });

  it('applies the EXIF orientation', async () => {
    const meta = await sharp(join(dir, 'rotated.jpg')).metadata();
    expect(meta.orientation).toBe(6);
    const r = await decodeImage(join(dir, 'rotated.jpg'));
    if (!r.ok) throw new Error(r.failure.message);
    expect([r.image.width, r.image.height]).toEqual([8, 16]);
    expect(pixel(r.image, 4, 2)[0]).toBeGreaterThan(240); // red on top
    expect(pixel(r.image, 4, 13)[2]).toBeGreaterThan(240); // blue at the bottom
  });

  it('drops alpha and expands greyscale to three channels', async () => {
    const a = await decodeImage(join(dir, 'alpha.png'));
    const g = await decodeImage(join(dir, 'grey.png'));
    if (!a.ok || !g.ok) throw new Error('decode failed');
    expect(a.image.data.length).toBe(16 * 8 * 3);
    expect(pixel(g.image, 3, 3)).toEqual([200, 200, 200]);
  });

  it('reports missing, empty, non-image, unsupported and corrupt files by reason instead of throwing', async () => {
    expect(await decodeImage(join(dir, 'missing.png'))).toMatchObject({ ok: false, failure: { reason: 'missing', transient: true } });
    expect(await decodeImage(join(dir, 'empty.png'))).toMatchObject({ ok: false, failure: { reason: 'empty', message: 'the file is empty (0 bytes)' } });
    expect(await decodeImage(join(dir, 'a.gif'))).toMatchObject({ ok: false, failure: { reason: 'unsupported-format', message: 'format gif (supported: jpeg, png, webp)' } });
    expect(await decodeImage(join(dir, 'corrupt.jpg'))).toMatchObject({ ok: false, failure: { reason: 'not-an-image' } });
    const truncated = await decodeImage(join(dir, 'truncated.jpg'));
    const jpegBytes = (await readFile(join(dir, 'truncated.jpg'))).byteLength;
    // a fixed message (libvips words the same damage differently from run to run)
    expect(truncated).toMatchObject({ ok: false, failure: { reason: 'corrupt', message: `damaged or truncated JPEG (${jpegBytes} bytes): it does not decode` } });
    expect(truncated.ok || truncated.failure.transient).toBeFalsy();
  });

  it('skips an image over the pixel limit from its header (too-large), and decodes it under a higher limit', async () => {
    expect(await decodeImage(join(dir, 'a.png'), { maxPixels: 127 })).toMatchObject({ ok: false, failure: { reason: 'too-large', message: '16×8 = 128 pixels, more than the limit of 127 (--max-pixels)' } });
    expect(await decodeImage(join(dir, 'a.png'), { maxPixels: 128 })).toMatchObject({ ok: true });
  });
});

describe('input tensors', () => {
  const image = { width: 3, height: 2, data: Uint8Array.from([10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150, 160, 170, 180]) };
  const pixels = { channelOrder: 'rgb' as const, scale: 10, mean: [1, 0, 0] as [number, number, number], std: [1, 2, 1] as [number, number, number], resizeKernel: 'nearest' as const, sizeDivisor: 1 };

  it('normalises to CHW, flips, reorders channels and zero-pads bottom/right', () => {
    const t = toInputTensor(image, pixels, false, { width: 4, height: 3 });
    // R plane: (p/10 - 1) / 1
    expect(Array.from(t.subarray(0, 12))).toEqual([0, 3, 6, 0, 9, 12, 15, 0, 0, 0, 0, 0]);
    // G plane: (p/10) / 2
    expect(Array.from(t.subarray(12, 16))).toEqual([1, 2.5, 4, 0]);
    const flipped = toInputTensor(image, pixels, true, { width: 3, height: 2 });
    expect(Array.from(flipped.subarray(0, 6))).toEqual([6, 3, 0, 15, 12, 9]);
    const bgr = toInputTensor(image, { ...pixels, channelOrder: 'bgr', mean: [0, 0, 0], std: [1, 1, 1] }, false, { width: 3, height: 2 });
    expect(Array.from(bgr.subarray(0, 3))).toEqual([3, 6, 9]); // blue first
    // mean/std follow the input channel order: plane 0 (blue) uses std[0], plane 2 (red) std[2].
    const bgrScaled = toInputTensor(image, { ...pixels, channelOrder: 'bgr', mean: [0, 0, 1], std: [1, 2, 4] }, true, { width: 3, height: 2 });
    expect(Array.from(bgrScaled)).toEqual([
      9, 6, 3, 18, 15, 12, // blue / 10, flipped
      4, 2.5, 1, 8.5, 7, 5.5, // green / 10 / 2
      1.5, 0.75, 0, 3.75, 3, 2.25, // (red / 10 - 1) / 4
    ]);
  });

  it('writes into a given buffer, whatever it held: the same tensor as a fresh one, padding zeroed', () => {
    for (const [flip, padded] of [[false, { width: 4, height: 3 }], [true, { width: 5, height: 2 }], [false, { width: 3, height: 2 }]] as const) {
      const dirty = new Float32Array(3 * padded.width * padded.height).fill(Number.NaN);
      const out = toInputTensor(image, pixels, flip, padded, dirty);
      expect(out).toBe(dirty);
      expect(Array.from(out)).toEqual(Array.from(toInputTensor(image, pixels, flip, padded)));
    }
    expect(() => toInputTensor(image, pixels, false, { width: 4, height: 3 }, new Float32Array(35))).toThrow('out.length: expected 3 × 4 × 3 = 36 elements, received 35');
  });

  it('sizes the input: fixed dims pad up, dynamic dims round up to the divisor', () => {
    expect(inputSizeFor({ width: 50, height: 30 }, [1, 3, null, null], 32)).toEqual({ width: 64, height: 32 });
    expect(inputSizeFor({ width: 50, height: 30 }, [1, 3, 96, 128], 1)).toEqual({ width: 128, height: 96 });
    expect(() => inputSizeFor({ width: 150, height: 30 }, [1, 3, 96, 128], 1)).toThrow("image: expected an image that fits the model's fixed input 128×96, received \"150×30\"");
  });

  it('resizes exactly to the requested size', async () => {
    const r = await resizeImage(image, { width: 6, height: 4 }, 'nearest');
    expect([r.width, r.height]).toEqual([6, 4]);
    expect(pixel(r, 0, 0)).toEqual([10, 20, 30]);
    expect(pixel(r, 5, 3)).toEqual([160, 170, 180]);
    expect(await resizeImage(image, { width: 3, height: 2 }, 'linear')).toBe(image);
  });

  it('resizes an image once for a flip pair: the same size again gives the same pixels without a second resize', async () => {
    const first = await resizeImage(image, { width: 5, height: 4 }, 'linear');
    const again = await resizeImage(image, { width: 5, height: 4 }, 'linear');
    expect(again).toBe(first); // remembered, not resized again
    const fresh = await resizeImage({ ...image }, { width: 5, height: 4 }, 'linear'); // another image object: a real resize
    expect(fresh).not.toBe(first);
    expect(Array.from(fresh.data)).toEqual(Array.from(first.data));
    // Another size or kernel is a new resize (and replaces the remembered one).
    const nearest = await resizeImage(image, { width: 5, height: 4 }, 'nearest');
    expect(nearest).not.toBe(first);
    expect(await resizeImage(image, { width: 7, height: 4 }, 'nearest')).not.toBe(nearest);
  });

  it('makes the normalisation tables from the numbers, even when a manifest object is edited after use', () => {
    const spec = { ...pixels, mean: [1, 0, 0] as [number, number, number] };
    expect(toInputTensor(image, spec, false, { width: 3, height: 2 })[0]).toBe(0); // (10/10 - 1) / 1
    spec.mean[0] = 0.5;
    expect(toInputTensor(image, spec, false, { width: 3, height: 2 })[0]).toBe(0.5); // (10/10 - 0.5) / 1
  });
});

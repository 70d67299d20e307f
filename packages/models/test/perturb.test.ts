// Strong perturbation of generated samples (the `beyond` experiment): photometric changes
// and an erased rectangle on a copy of the image; labels, sizes and labeled samples untouched.
import { Rng } from '@omnidistill/train';
import { describe, expect, it } from 'vitest';
import { perturbStrongly, type LoadedImage } from '@omnidistill/models';
import { perturbSample } from '../src/perturb.js';

const W = 32;
const H = 24;

/** A gradient image with one annotation (the perturbation must carry it over unchanged). */
function image(): LoadedImage {
  const pixels = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) pixels.set([(x * 8) % 256, (y * 10) % 256, 128], 3 * (y * W + x));
  const annotation = { id: 1, image_id: 1, category_id: 1, bbox: [2, 3, 10, 12] as [number, number, number, number], area: 120, iscrowd: 0 as const };
  return { id: 1, fileName: 'g.png', width: W, height: H, pixels, annotations: [annotation] };
}

const meanAbsDiff = (a: Uint8Array, b: Uint8Array) => a.reduce((s, v, i) => s + Math.abs(v - b[i]), 0) / a.length;

describe('perturbStrongly', () => {
  it('returns a changed copy of the pixels and leaves the original and its labels alone', () => {
    const im = image();
    const before = Uint8Array.from(im.pixels);
    const out = perturbStrongly(im, new Rng(3));
    expect(im.pixels).toEqual(before);
    expect(out.pixels).not.toBe(im.pixels);
    expect(out.pixels).toHaveLength(before.length);
    expect([out.width, out.height, out.id, out.fileName]).toEqual([W, H, 1, 'g.png']);
    expect(out.annotations).toBe(im.annotations);
    // Strong: on average several grey levels per byte, over many seeds.
    const diffs = Array.from({ length: 20 }, (_, s) => meanAbsDiff(perturbStrongly(im, new Rng(s)).pixels, before));
    expect(diffs.every((d) => d > 0)).toBe(true);
    expect(diffs.reduce((a, b) => a + b, 0) / diffs.length).toBeGreaterThan(8);
  });

  it('is deterministic in the generator and differs between draws', () => {
    const im = image();
    expect(perturbStrongly(im, new Rng(7)).pixels).toEqual(perturbStrongly(im, new Rng(7)).pixels);
    const rng = new Rng(7);
    expect(perturbStrongly(im, rng).pixels).not.toEqual(perturbStrongly(im, rng).pixels);
  });

  it('erases a flat rectangle in some draws', () => {
    const im = image();
    // The gradient has no 4 equal pixels in a row; an erased rectangle (a flat grey written after the noise) has.
    const hasFlatRow = (p: Uint8Array) => {
      for (let y = 0; y < H; y++) for (let x = 0; x + 4 <= W; x++) {
        const o = 3 * (y * W + x);
        if ([1, 2, 3].every((d) => p[o + 3 * d] === p[o] && p[o + 3 * d + 1] === p[o + 1] && p[o + 3 * d + 2] === p[o + 2])) return true;
      }
      return false;
    };
    expect(hasFlatRow(im.pixels)).toBe(false);
    const flat = Array.from({ length: 40 }, (_, s) => hasFlatRow(perturbStrongly(im, new Rng(100 + s)).pixels)).filter(Boolean).length;
    expect(flat).toBeGreaterThan(5);
    expect(flat).toBeLessThan(40);
  });
});

describe('perturbSample', () => {
  it('perturbs generated samples only, and only under `strong`', () => {
    const im = image();
    expect(perturbSample(im, 'labeled', 'strong', new Rng(1))).toBe(im);
    expect(perturbSample(im, 'generated', 'none', new Rng(1))).toBe(im);
    expect(perturbSample(im, 'generated', 'strong', new Rng(1)).pixels).toEqual(perturbStrongly(im, new Rng(1)).pixels);
  });
});

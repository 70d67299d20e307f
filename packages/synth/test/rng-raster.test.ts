// The generator and the rasteriser against plain references: analytic areas, exact edges.
import { describe, expect, it } from 'vitest';
import { Rng, hashWords } from '../src/rng.js';
import { blur, createCanvas, fillCapsule, fillEllipse, fillPolygon, fillRing, polygonDistance } from '../src/raster.js';

describe('Rng', () => {
  it('repeats a stream for the same seed words and separates different ones', () => {
    const a = new Rng(1, 2, 3);
    const b = new Rng(1, 2, 3);
    const c = new Rng(1, 2, 4);
    const sa = Array.from({ length: 100 }, () => a.nextU32());
    expect(Array.from({ length: 100 }, () => b.nextU32())).toEqual(sa);
    const sc = Array.from({ length: 100 }, () => c.nextU32());
    expect(sc.filter((v, i) => v === sa[i]).length).toBeLessThan(2);
    expect(hashWords(1, 2)).not.toBe(hashWords(2, 1));
  });

  it('draws uniforms with the right mean and integers over the whole inclusive range', () => {
    const r = new Rng(9);
    let sum = 0;
    const seen = new Set<number>();
    for (let i = 0; i < 20000; i++) {
      sum += r.next();
      seen.add(r.int(2, 5));
    }
    // Standard error of the mean of 20 000 uniforms is 0.002; 0.01 is 5 of them.
    expect(Math.abs(sum / 20000 - 0.5)).toBeLessThan(0.01);
    expect([...seen].sort()).toEqual([2, 3, 4, 5]);
  });
});

/** Total coverage drawn (in pixels) of a white shape on black: its anti-aliased area. */
function coveredArea(draw: (c: ReturnType<typeof createCanvas>) => void, size = 64): number {
  const c = createCanvas(size, size);
  draw(c);
  let s = 0;
  for (let i = 0; i < c.data.length; i += 3) s += (c.data[i] as number) / 255;
  return s;
}

describe('rasteriser', () => {
  const white = { r: 255, g: 255, b: 255 };

  it('covers a circle, capsule and ring with their analytic areas (within 1%)', () => {
    expect(coveredArea((c) => fillEllipse(c, 31.3, 30.7, 12, 12, 0, white)) / (Math.PI * 144)).toBeCloseTo(1, 2);
    const capsule = 2 * 4 * 30 + Math.PI * 16; // rectangle 30 × 8 plus two half discs of radius 4
    expect(coveredArea((c) => fillCapsule(c, 15.2, 20, 45.2, 20, 4, white)) / capsule).toBeCloseTo(1, 2);
    const ring = Math.PI * (16 * 16 - 10 * 10);
    expect(coveredArea((c) => fillRing(c, 32, 32, 13, 6, white)) / ring).toBeCloseTo(1, 2);
    // A rotated ellipse keeps its area π·a·b.
    expect(coveredArea((c) => fillEllipse(c, 32, 32, 20, 8, 0.7, white)) / (Math.PI * 160)).toBeCloseTo(1, 2);
  });

  it('fills an axis-aligned square on pixel edges exactly: full inside, nothing outside', () => {
    const c = createCanvas(16, 16);
    fillPolygon(c, [4, 4, 10, 4, 10, 12, 4, 12], white);
    for (let y = 0; y < 16; y++) {
      for (let x = 0; x < 16; x++) {
        const inside = x >= 4 && x < 10 && y >= 4 && y < 12;
        expect(c.data[(y * 16 + x) * 3]).toBe(inside ? 255 : 0);
      }
    }
  });

  it('gives a non-convex polygon the right sign (an L shape)', () => {
    const d = polygonDistance([0, 0, 10, 0, 10, 4, 4, 4, 4, 10, 0, 10]);
    expect(d(2, 2)).toBeLessThan(0);
    expect(d(7, 7)).toBeCloseTo(3, 9); // in the notch: nearest is the inner edge y = 4
    expect(d(12, 6)).toBeCloseTo(2 * Math.SQRT2, 9); // outside, nearest is the corner (10, 4)
    expect(d(2, 8)).toBeCloseTo(-2, 9);
  });

  it('records the silhouette mask with the same arithmetic as a white paint on black', () => {
    const c = createCanvas(40, 40);
    const mask = new Uint8Array(40 * 40);
    const owner = new Uint16Array(40 * 40);
    fillCapsule(c, 5, 5, 33, 27, 3.3, white, { mask, owner, code: 7 });
    fillEllipse(c, 20, 22, 9, 5, 0.3, white, { mask, owner, code: 9 });
    let mismatches = 0;
    let weakOwners = 0;
    for (let p = 0; p < 1600; p++) {
      if (mask[p] !== c.data[p * 3]) mismatches++;
      if (owner[p] !== 0 && (mask[p] as number) < 128) weakOwners++;
    }
    expect([mismatches, weakOwners]).toEqual([0, 0]);
    expect(owner.filter((o) => o === 9).length).toBeGreaterThan(100);
  });

  it('leaves a constant image unchanged when blurring and preserves the mean of a pattern', () => {
    const c = createCanvas(20, 10, [90, 120, 200]);
    blur(c, 2);
    expect(c.data.every((v, i) => v === [90, 120, 200][i % 3])).toBe(true);
    const d = createCanvas(20, 10);
    for (let i = 0; i < d.data.length; i += 6) d.data[i] = 200; // every other pixel, red
    const before = d.data.reduce((a, b) => a + b, 0);
    blur(d, 1);
    const after = d.data.reduce((a, b) => a + b, 0);
    expect(Math.abs(after - before) / before).toBeLessThan(0.05);
  });
});

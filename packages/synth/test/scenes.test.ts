// Keypoint and object scenes: silhouettes match the pixels, labels follow COCO's visibility
// rules, the person's left is drawn on the image's right, and objects cover every class.
import { COCO_PERSON } from '@omnidistill/core';
import { describe, expect, it } from 'vitest';
import { KeypointState } from '../src/figure.js';
import { maskStats, renderKeypointScene } from '../src/keypoint-scene.js';
import { OBJECT_CATEGORIES, renderObjectScene } from '../src/object-scene.js';
import { Rng } from '../src/rng.js';
import { OCCLUDED_LABEL_PROB, renderSample } from '../src/sample.js';
import { KEYPOINT_STYLE, SHIFTED_STYLE } from '../src/styles.js';

/** Independent tight box and count over a coverage mask (the test's own reference). */
function referenceStats(mask: Uint8Array, w: number, h: number): { bbox: number[]; area: number } {
  const xs: number[] = [];
  const ys: number[] = [];
  for (let p = 0; p < w * h; p++) {
    if ((mask[p] as number) >= 128) {
      xs.push(p % w);
      ys.push(Math.floor(p / w));
    }
  }
  if (xs.length === 0) return { bbox: [0, 0, 0, 0], area: 0 };
  const x0 = Math.min(...xs);
  const y0 = Math.min(...ys);
  return { bbox: [x0, y0, Math.max(...xs) - x0 + 1, Math.max(...ys) - y0 + 1], area: xs.length };
}

describe('keypoint scenes', () => {
  it('draws exactly the silhouette its mask records (one white figure on black)', () => {
    for (let i = 0; i < 12; i++) {
      const scene = renderKeypointScene(new Rng(5, i), 96, 96, KEYPOINT_STYLE, { silhouetteOnly: true, instances: { min: 1, max: 1 } });
      expect(scene.instances.length).toBe(1);
      const inst = scene.instances[0]!;
      let mismatches = 0;
      for (let p = 0; p < 96 * 96; p++) if (inst.mask[p] !== scene.canvas.data[p * 3]) mismatches++;
      expect(mismatches).toBe(0);
      // bbox and area as an independent count over the drawn pixels.
      const drawn = new Uint8Array(96 * 96).map((_, p) => scene.canvas.data[p * 3] as number);
      const ref = referenceStats(drawn, 96, 96);
      expect([...inst.bbox]).toEqual(ref.bbox);
      expect(inst.area).toBe(ref.area);
    }
  });

  it('reports box and area of each silhouette in full scenes, with visible keypoints on it', () => {
    let visibleChecked = 0;
    for (let i = 0; i < 40; i++) {
      const scene = renderKeypointScene(new Rng(6, i), 128, 96, KEYPOINT_STYLE);
      for (const inst of scene.instances) {
        const ref = referenceStats(inst.mask, 128, 96);
        expect([...inst.bbox]).toEqual(ref.bbox);
        expect(inst.area).toBe(ref.area);
        expect(inst.area).toBeGreaterThan(0);
        inst.states.forEach((s, k) => {
          if (s !== KeypointState.Visible) return;
          const x = Math.floor(inst.keypoints[2 * k]!);
          const y = Math.floor(inst.keypoints[2 * k + 1]!);
          expect(inst.mask[y * 128 + x]).toBeGreaterThanOrEqual(128);
          visibleChecked++;
        });
      }
    }
    expect(visibleChecked).toBeGreaterThan(500);
  });

  it("draws the person's left on the image's right (frontal figures)", () => {
    const name = (k: number): string => COCO_PERSON.keypoints[k]!;
    let limbPairs = 0;
    let limbOrdered = 0;
    for (let i = 0; i < 150; i++) {
      const scene = renderKeypointScene(new Rng(7, i), 96, 96, KEYPOINT_STYLE);
      for (const inst of scene.instances) {
        for (const [l, r] of COCO_PERSON.flipPairs) {
          expect(name(l).startsWith('left_') && name(r).startsWith('right_')).toBe(true);
          const dx = inst.keypoints[2 * l]! - inst.keypoints[2 * r]!;
          // Eyes, ears, shoulders and hips are fixed on the body: always ordered. Limbs move
          // freely (an arm may cross the body) but are ordered in the vast majority of poses.
          if (/eye|ear|shoulder|hip/.test(name(l))) expect(dx).toBeGreaterThan(0);
          else {
            limbPairs++;
            if (dx > 0) limbOrdered++;
          }
        }
      }
    }
    expect(limbOrdered / limbPairs).toBeGreaterThan(0.9);
  });

  it('labels like COCO: about 15 of 17 keypoints per instance, occluded ones labeled with p = 0.6', () => {
    let instances = 0;
    let labeled = 0;
    let occluded = 0;
    let occludedLabeled = 0;
    let earsHidden = 0;
    for (let i = 0; i < 300; i++) {
      const s = renderSample({ style: 'keypoints', width: 96, height: 96, seed: 11, split: 'val', index: i });
      s.annotations.forEach((a, j) => {
        const states = s.states![j]!;
        instances++;
        labeled += a.num_keypoints!;
        expect(a.num_keypoints).toBe(states.filter((_, k) => a.keypoints![3 * k + 2]! > 0).length);
        states.forEach((st, k) => {
          const v = a.keypoints![3 * k + 2]!;
          if (st === KeypointState.Visible) expect(v).toBe(2);
          else if (st === KeypointState.Outside) expect(a.keypoints!.slice(3 * k, 3 * k + 3)).toEqual([0, 0, 0]);
          else {
            occluded++;
            expect(v === 1 || v === 0).toBe(true);
            if (v === 1) occludedLabeled++;
            if (k === 3 || k === 4) earsHidden++;
          }
        });
      });
    }
    // ~550 instances. DEMO-NOTES measured 15.2 labeled per instance; the per-instance spread is
    // ~2 keypoints, so the sample mean's standard error is ~0.1. ±0.7 catches a real change in the
    // occlusion/truncation mix (e.g. twice the truncation) without depending on the exact draw.
    expect(instances).toBeGreaterThan(450);
    expect(labeled / instances).toBeGreaterThan(14.5);
    expect(labeled / instances).toBeLessThan(15.9);
    // ~1300 occluded keypoints: binomial standard error of the fraction ≈ 0.014; ±0.08 is ~6 of them.
    expect(occluded).toBeGreaterThan(1000);
    expect(Math.abs(occludedLabeled / occluded - OCCLUDED_LABEL_PROB)).toBeLessThan(0.08);
    // The turning head hides ears in a good share of instances.
    expect(earsHidden / instances).toBeGreaterThan(0.4);
  });

  it('keeps figures that are drawn, from 0 to 6 per image, with medium-sized ones at 96 px', () => {
    const counts = new Set<number>();
    let medium = 0;
    let total = 0;
    for (let i = 0; i < 60; i++) {
      const scene = renderKeypointScene(new Rng(8, i), 96, 96, KEYPOINT_STYLE, { instances: { min: 0, max: 6 } });
      counts.add(scene.instances.length);
      for (const inst of scene.instances) {
        total++;
        if (inst.area >= 32 * 32) medium++;
      }
    }
    expect(counts.has(0)).toBe(true);
    expect(Math.max(...counts)).toBeGreaterThanOrEqual(5);
    expect(medium / total).toBeGreaterThan(0.2);
  });

  it('renders the shifted style differently from the default (darker, less saturated)', () => {
    const sat = (style: typeof KEYPOINT_STYLE): number => {
      let s = 0;
      for (let i = 0; i < 20; i++) {
        const { data } = renderKeypointScene(new Rng(9, i), 64, 64, style).canvas;
        for (let p = 0; p < data.length; p += 3) s += Math.max(data[p]!, data[p + 1]!, data[p + 2]!) - Math.min(data[p]!, data[p + 1]!, data[p + 2]!);
      }
      return s / (20 * 64 * 64);
    };
    expect(sat(SHIFTED_STYLE)).toBeLessThan(0.6 * sat(KEYPOINT_STYLE));
  });
});

describe('object scenes', () => {
  it('draws all five classes, each box and area matching its silhouette', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 40; i++) {
      const scene = renderObjectScene(new Rng(10, i), 96, 96);
      for (const inst of scene.instances) {
        seen.add(inst.category);
        const ref = referenceStats(inst.mask, 96, 96);
        expect([...inst.bbox]).toEqual(ref.bbox);
        expect(inst.area).toBe(ref.area);
        expect(maskStats(inst.mask, 96, 96).area).toBe(ref.area);
      }
    }
    expect([...seen].sort()).toEqual(OBJECT_CATEGORIES.map((_, i) => i));
  });

  it('gives shapes their geometric area (a ring is less than its disc, a cross less than its square)', () => {
    const areas = new Map<number, number[]>();
    for (let i = 0; i < 200; i++) {
      const scene = renderObjectScene(new Rng(12, i), 96, 96, undefined, { min: 1, max: 1 });
      for (const inst of scene.instances) {
        if (inst.bbox[0] === 0 || inst.bbox[1] === 0 || inst.bbox[0] + inst.bbox[2] === 96 || inst.bbox[1] + inst.bbox[3] === 96) continue; // truncated
        const fill = inst.area / (inst.bbox[2] * inst.bbox[3]);
        areas.set(inst.category, [...(areas.get(inst.category) ?? []), fill]);
      }
    }
    const mean = (c: string): number => {
      const v = areas.get(OBJECT_CATEGORIES.indexOf(c as never))!;
      return v.reduce((a, b) => a + b, 0) / v.length;
    };
    // Fill of the tight box: a circle π/4 ≈ 0.785; a rotated square 0.5–1; a cross and ring well below.
    expect(mean('circle')).toBeGreaterThan(0.7);
    expect(mean('circle')).toBeLessThan(0.85);
    expect(mean('ring')).toBeLessThan(mean('circle'));
    expect(mean('cross')).toBeLessThan(0.6);
  });
});

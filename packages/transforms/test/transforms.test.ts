import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { COCO_PERSON, type KeypointArray } from '@omnidistill/core';
import {
  customPlan,
  forwardBoxes,
  forwardKeypoints,
  forwardRois,
  inverseBoxes,
  inverseKeypoints,
  inverseRois,
  paperPlan,
  resolvePlan,
  resolveTransform,
  roundHalfEven,
  scalePlan,
  sizeDependentMask,
  type PixelConvention,
  type TransformGeometry,
} from '@omnidistill/transforms';

const CONVENTIONS: PixelConvention[] = ['continuous', 'pixelIndex'];

function flipOnly(width: number, height: number): TransformGeometry {
  return resolveTransform(customPlan([{ flip: true }]).transforms[1], { width, height });
}

function scaleOnly(shortSide: number, width: number, height: number, maxLongSide = 4000): TransformGeometry {
  return resolveTransform(customPlan([{ shortSide, maxLongSide }]).transforms[1], { width, height });
}

function scaleFlip(shortSide: number, width: number, height: number): TransformGeometry {
  return resolveTransform(customPlan([{ shortSide, flip: true }]).transforms[1], { width, height });
}

function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, tol: number): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) {
    if (Math.abs(a[i] - b[i]) > tol) throw new Error(`element ${i}: ${a[i]} vs ${b[i]} (tol ${tol})`);
  }
}

// Random valid boxes inside a W×H image (x2 >= x1, y2 >= y1).
const imageArb = fc.record({ width: fc.integer({ min: 16, max: 2000 }), height: fc.integer({ min: 16, max: 2000 }) });
const unit = fc.double({ min: 0, max: 1, noNaN: true });
function boxesIn(width: number, height: number) {
  return fc.array(fc.tuple(unit, unit, unit, unit), { maxLength: 20 }).map((rows) => {
    const out = new Float64Array(rows.length * 4);
    rows.forEach(([a, b, c, d], i) => {
      out.set([Math.min(a, c) * width, Math.min(b, d) * height, Math.max(a, c) * width, Math.max(b, d) * height], 4 * i);
    });
    return out;
  });
}
const caseArb = imageArb.chain((img) =>
  fc.record({
    img: fc.constant(img),
    boxes: boxesIn(img.width, img.height),
    shortSide: fc.integer({ min: 50, max: 1600 }),
    flip: fc.boolean(),
    convention: fc.constantFrom<PixelConvention>('continuous', 'pixelIndex'),
  }),
);

describe('transform plans', () => {
  it("the paper's plan is identity + 400…1200 step 100 × {unflipped, flipped}", () => {
    const names = paperPlan().transforms.map((t) => t.name);
    expect(names).toHaveLength(19);
    expect(names[0]).toBe('identity');
    expect(names.slice(1, 5)).toEqual(['s400', 's400-flip', 's500', 's500-flip']);
    expect(names[18]).toBe('s1200-flip');
    expect(paperPlan().transforms.every((t, i) => i === 0 || t.shortSide !== null)).toBe(true);
  });

  it('custom plans always start with the identity, exactly once', () => {
    const plan = customPlan([{ shortSide: 600, flip: true }, {}, { flip: true }]);
    expect(plan.transforms.map((t) => t.name)).toEqual(['identity', 's600-flip', 'orig-flip']);
    expect(customPlan([]).transforms.map((t) => t.name)).toEqual(['identity']);
    expect(scalePlan({ scales: [800], flip: false }).transforms.map((t) => t.name)).toEqual(['identity', 's800']);
  });

  it('rejects duplicate or invalid scales with the field named', () => {
    expect(() => customPlan([{ shortSide: 600 }, { shortSide: 600 }])).toThrow(/transforms\[1\]: expected no duplicate of transforms\[0\]/);
    expect(() => scalePlan({ scales: [400, -400] })).toThrow('options.scales[1]: expected a positive integer, received -400 (number)');
    expect(() => scalePlan({ scales: [400, 400] })).toThrow(/options\.scales\[1\]/);
    expect(() => customPlan([{ shortSide: 600.5 }])).toThrow(/transforms\[0\]\.shortSide/);
  });
});

describe('resize geometry (Detectron prep_im_for_blob)', () => {
  it('scales the shorter side to the target and rounds the size', () => {
    const g = scaleOnly(800, 640, 480);
    expect(g.scale).toBeCloseTo(800 / 480, 12);
    expect(g.target).toEqual({ width: 1067, height: 800 });
    expect(g.scaleX).toBe(1067 / 640);
    expect(g.scaleY).toBe(800 / 480);
    expect(g.direction).toBe('up');
  });

  it('caps the longer side', () => {
    const g = scaleOnly(800, 640, 480, 1000);
    expect(g.scale).toBe(1000 / 640);
    expect(g.target).toEqual({ width: 1000, height: 750 });
  });

  it('the identity keeps the size, down-scales are marked down', () => {
    const plan = resolvePlan(paperPlan(), { width: 1000, height: 600 });
    expect(plan[0].target).toEqual({ width: 1000, height: 600 });
    expect(plan[0].direction).toBe('none');
    expect(plan.filter((g) => g.direction === 'down').map((g) => g.spec.name)).toEqual(['s400', 's400-flip', 's500', 's500-flip']);
    expect(plan.filter((g) => g.direction === 'none').map((g) => g.spec.name)).toEqual(['identity', 's600', 's600-flip']);
  });

  it('rounds half to even like Python and OpenCV', () => {
    expect([0.5, 1.5, 2.5, -0.5, 2.4, 2.6].map(roundHalfEven)).toEqual([0, 2, 2, -0, 2, 3]);
  });

  it('rejects bad image sizes', () => {
    expect(() => resolveTransform(paperPlan().transforms[1], { width: 0, height: 10 })).toThrow(/size\.width/);
  });
});

describe('box and keypoint maps: hand-checked values', () => {
  it('continuous flip is x -> W - x', () => {
    const g = flipOnly(100, 50);
    expect(Array.from(forwardBoxes(new Float64Array([10, 5, 30, 20]), g, { convention: 'continuous' }))).toEqual([70, 5, 90, 20]);
  });

  it("Detectron's pixel-index flip is x1' = W - x2 - 1, x2' = W - x1 - 1", () => {
    const g = flipOnly(100, 50);
    expect(Array.from(forwardBoxes(new Float64Array([10, 5, 29, 20]), g, { convention: 'pixelIndex' }))).toEqual([70, 5, 89, 20]);
    // The whole image maps onto itself in both conventions.
    expect(Array.from(forwardBoxes(new Float64Array([0, 0, 99, 49]), g, { convention: 'pixelIndex' }))).toEqual([0, 0, 99, 49]);
    expect(Array.from(forwardBoxes(new Float64Array([0, 0, 100, 50]), g, { convention: 'continuous' }))).toEqual([0, 0, 100, 50]);
  });

  it('a resize scales the covered span (pixel-index: x2 -> (x2 + 1) s - 1)', () => {
    const g = scaleOnly(200, 100, 100); // s = 2
    expect(Array.from(forwardBoxes(new Float64Array([10, 10, 19, 19]), g, { convention: 'pixelIndex' }))).toEqual([20, 20, 39, 39]);
    expect(Array.from(forwardBoxes(new Float64Array([10, 10, 20, 20]), g, { convention: 'continuous' }))).toEqual([20, 20, 40, 40]);
    expect(Array.from(forwardRois(new Float64Array([10, 10, 20, 20]), g, { convention: 'continuous' }))).toEqual([20, 20, 40, 40]);
    expect(Array.from(inverseRois(new Float64Array([20, 20, 40, 40]), g, { convention: 'continuous' }))).toEqual([10, 10, 20, 20]);
  });

  it('a flipped keypoint moves to the mirrored position AND to the mirrored channel', () => {
    const g = flipOnly(100, 50);
    const data = new Float32Array(17 * 3);
    data.set([10, 20, 0.9], 3 * 1); // left_eye
    data.set([30, 20, 0.8], 3 * 2); // right_eye
    data.set([50, 10, 0.7], 0); // nose
    const out = forwardKeypoints({ data, n: 1, k: 17 }, g, { convention: 'continuous', schema: COCO_PERSON });
    expect(Array.from(out.data.subarray(0, 9))).toEqual([50, 10, Math.fround(0.7), 70, 20, Math.fround(0.8), 90, 20, Math.fround(0.9)]);
    const px = forwardKeypoints({ data, n: 1, k: 17 }, g, { convention: 'pixelIndex', flipPairs: COCO_PERSON.flipPairs });
    expect(Array.from(px.data.subarray(3, 5))).toEqual([69, 20]);
  });

  it('unlabeled keypoints stay (0, 0, 0) when the third value is a visibility', () => {
    const g = scaleFlip(200, 100, 100);
    const data = new Float32Array([0, 0, 0, 10, 10, 2]);
    const out = forwardKeypoints({ data, n: 1, k: 2 }, g, { convention: 'continuous', flipPairs: [], visibility: true });
    expect(Array.from(out.data)).toEqual([0, 0, 0, 180, 20, 2]);
  });
});

describe('flip maps are never silently missing', () => {
  const kps: KeypointArray = { data: new Float32Array(17 * 3), n: 1, k: 17 };
  it('a flipped transform without a flip map is an error', () => {
    expect(() => forwardKeypoints(kps, flipOnly(10, 10), { convention: 'continuous' })).toThrow(/options\.flipPairs: expected the left\/right flip pairs/);
    expect(() => inverseKeypoints(kps, flipOnly(10, 10), { convention: 'continuous' })).toThrow(/options\.flipPairs/);
  });
  it('an unflipped transform needs none', () => {
    expect(() => forwardKeypoints(kps, scaleOnly(20, 10, 10), { convention: 'continuous' })).not.toThrow();
  });
  it('an inconsistent flip map is an error even when it is not needed', () => {
    expect(() => forwardKeypoints(kps, scaleOnly(20, 10, 10), { convention: 'continuous', flipPairs: [[1, 2], [2, 3]] })).toThrow(/flipPairs\[1\]/);
    expect(() => forwardKeypoints(kps, flipOnly(10, 10), { convention: 'continuous', flipPairs: [[1, 17]] })).toThrow(/indices in \[0, 16\]/);
  });
  it('a schema for another K is an error', () => {
    const two: KeypointArray = { data: new Float32Array(6), n: 1, k: 2 };
    expect(() => forwardKeypoints(two, flipOnly(10, 10), { convention: 'continuous', schema: COCO_PERSON })).toThrow(/options\.schema: expected a schema with K = 2/);
  });
  it('the convention is required and checked', () => {
    const b = new Float64Array([0, 0, 1, 1]);
    expect(() => forwardBoxes(b, flipOnly(10, 10), {} as never)).toThrow(/options\.convention: expected one of "continuous", "pixelIndex"/);
    expect(() => forwardBoxes(new Float64Array([0, NaN, 1, 1]), flipOnly(10, 10), { convention: 'continuous' })).toThrow(/boxes\[1\]: expected a finite number/);
    expect(() => forwardBoxes(new Float64Array([0, 0, 1]), flipOnly(10, 10), { convention: 'continuous' })).toThrow(/multiple of 4/);
  });
});

describe('properties (fast-check)', () => {
  it('inverse ∘ forward = identity for boxes, both conventions', () => {
    fc.assert(
      fc.property(caseArb, ({ img, boxes, shortSide, flip, convention }) => {
        const g = resolveTransform(customPlan([{ shortSide, flip }]).transforms[1], img);
        const back = inverseBoxes(forwardBoxes(boxes, g, { convention }), g, { convention });
        expectClose(back, boxes, 1e-9 * Math.max(img.width, img.height));
      }),
    );
  });

  it('flip ∘ flip = identity, both conventions', () => {
    fc.assert(
      fc.property(caseArb, ({ img, boxes, convention }) => {
        const g = flipOnly(img.width, img.height);
        const twice = forwardBoxes(forwardBoxes(boxes, g, { convention }), g, { convention });
        expectClose(twice, boxes, 1e-9 * img.width);
      }),
    );
  });

  it('scaling commutes with flipping (scale∘flip = flip∘scale = the combined transform)', () => {
    fc.assert(
      fc.property(caseArb, ({ img, boxes, shortSide, convention }) => {
        const s = scaleOnly(shortSide, img.width, img.height);
        const fOrig = flipOnly(img.width, img.height);
        const fTarget = flipOnly(s.target.width, s.target.height);
        const both = scaleFlip(shortSide, img.width, img.height);
        const a = forwardBoxes(forwardBoxes(boxes, fOrig, { convention }), s, { convention });
        const b = forwardBoxes(forwardBoxes(boxes, s, { convention }), fTarget, { convention });
        const c = forwardBoxes(boxes, both, { convention });
        const tol = 1e-9 * Math.max(s.target.width, s.target.height);
        expectClose(a, b, tol);
        expectClose(b, c, tol);
      }),
    );
  });

  it('keypoints: inverse ∘ forward = identity and flip ∘ flip = identity, channels included', () => {
    const kpArb = fc.record({
      img: imageArb,
      n: fc.integer({ min: 0, max: 4 }),
      shortSide: fc.integer({ min: 50, max: 1600 }),
      flip: fc.boolean(),
      convention: fc.constantFrom<PixelConvention>(...CONVENTIONS),
      seed: fc.array(unit, { minLength: 4 * 17 * 3, maxLength: 4 * 17 * 3 }),
    });
    fc.assert(
      fc.property(kpArb, ({ img, n, shortSide, flip, convention, seed }) => {
        const data = new Float32Array(n * 17 * 3);
        for (let i = 0; i < data.length; i++) data[i] = seed[i] * (i % 3 === 0 ? img.width : i % 3 === 1 ? img.height : 1);
        const kps = { data, n, k: 17 };
        const g = resolveTransform(customPlan([{ shortSide, flip }]).transforms[1], img);
        const opts = { convention, schema: COCO_PERSON };
        const back = inverseKeypoints(forwardKeypoints(kps, g, opts), g, opts);
        expectClose(back.data, data, 2e-3);
        const f = flipOnly(img.width, img.height);
        const twice = forwardKeypoints(forwardKeypoints(kps, f, opts), f, opts);
        expectClose(twice.data, data, 2e-3);
      }),
    );
  });

  it('keypoint scaling commutes with flipping', () => {
    fc.assert(
      fc.property(imageArb, fc.integer({ min: 50, max: 1600 }), unit, unit, fc.constantFrom<PixelConvention>(...CONVENTIONS), (img, shortSide, u, v, convention) => {
        const kps = { data: new Float32Array([u * img.width, v * img.height, 1, 0, 0, 0.5]), n: 1, k: 2 };
        const opts = { convention, flipPairs: [[0, 1]] as const };
        const s = scaleOnly(shortSide, img.width, img.height);
        const a = forwardKeypoints(forwardKeypoints(kps, flipOnly(img.width, img.height), opts), s, opts);
        const b = forwardKeypoints(forwardKeypoints(kps, s, opts), flipOnly(s.target.width, s.target.height), opts);
        expectClose(a.data, b.data, 2e-3);
      }),
    );
  });
});

describe('size-dependent transform mask (Detectron combine_heatmaps_size_dep)', () => {
  const plan = resolvePlan(scalePlan({ scales: [300, 600, 1200], flip: true }), { width: 800, height: 600 });
  // plan: identity, s300, s300-flip, s600, s600-flip, s1200, s1200-flip  (600 = original short side)
  const rois = new Float64Array([0, 0, 100, 100, 0, 0, 400, 400, 0, 0, 179, 179]);

  it('small RoIs drop down-scaled passes, large RoIs drop up-scaled ones', () => {
    const mask = sizeDependentMask(plan, rois, { convention: 'continuous' });
    const row = (t: number) => Array.from(mask.subarray(3 * t, 3 * t + 3));
    expect(plan.map((g) => g.direction)).toEqual(['none', 'down', 'down', 'none', 'none', 'up', 'up']);
    expect(row(0)).toEqual([1, 1, 1]);
    expect(row(1)).toEqual([0, 1, 0]); // down-scaled: only the large RoI
    expect(row(3)).toEqual([1, 1, 1]);
    expect(row(5)).toEqual([1, 0, 1]); // up-scaled: only the small RoIs
  });

  it('pixel-index areas add one pixel per side (179 + 1 = 180 is not small)', () => {
    const mask = sizeDependentMask(plan, rois, { convention: 'pixelIndex' });
    expect(mask[1 * 3 + 2]).toBe(1);
    expect(mask[5 * 3 + 2]).toBe(0);
    const custom = sizeDependentMask(plan, rois, { convention: 'continuous', areaThreshold: 100 * 100 });
    expect(custom[1 * 3 + 0]).toBe(1); // 100² is no longer small
  });

  it('rejects inverted RoIs and bad thresholds', () => {
    expect(() => sizeDependentMask(plan, new Float64Array([5, 0, 1, 1]), { convention: 'continuous' })).toThrow(/rois\[0\]/);
    expect(() => sizeDependentMask(plan, rois, { convention: 'continuous', areaThreshold: -1 })).toThrow(/options\.areaThreshold/);
  });
});

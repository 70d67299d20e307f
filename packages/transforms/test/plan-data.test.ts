import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  PAPER_RELATIVE_FACTORS,
  customPlan,
  dataSizedPlan,
  forwardBoxes,
  forwardKeypoints,
  inverseBoxes,
  inverseKeypoints,
  medianImageSize,
  paperPlan,
  parseScaleList,
  relativePlan,
  resolvePlan,
  resolveTransform,
  upsamplingWarnings,
} from '@omnidistill/transforms';

const names = (plan: { transforms: readonly { name: string }[] }) => plan.transforms.map((t) => t.name);

describe('relative transforms', () => {
  it('scale every image by the factor, whatever its size', () => {
    const spec = customPlan([{ factor: 1.5 }]).transforms[1];
    expect(spec).toMatchObject({ shortSide: null, factor: 1.5, name: 'x1.5' });
    const small = resolveTransform(spec, { width: 96, height: 96 });
    expect(small.target).toEqual({ width: 144, height: 144 });
    expect(small.scale).toBe(1.5);
    const large = resolveTransform(spec, { width: 640, height: 480 });
    expect(large.target).toEqual({ width: 960, height: 720 });
    expect(large.direction).toBe('up');
    expect(resolveTransform(customPlan([{ factor: 0.75, flip: true }]).transforms[1], { width: 100, height: 50 })).toMatchObject({
      target: { width: 75, height: 38 }, // 37.5 rounds half to even
      scaleX: 0.75,
      scaleY: 38 / 50,
      flip: true,
      direction: 'down',
    });
  });

  it('keep the longer-side cap', () => {
    const g = resolveTransform(customPlan([{ factor: 4, maxLongSide: 1000 }]).transforms[1], { width: 500, height: 300 });
    expect(g.scale).toBe(2);
    expect(g.target).toEqual({ width: 1000, height: 600 });
  });

  it('1x is the original size: no duplicate identity', () => {
    expect(names(customPlan([{ factor: 1 }, { factor: 1, flip: true }]))).toEqual(['identity', 'orig-flip']);
  });

  it('reject an absolute and a relative size in one transform, and bad factors', () => {
    expect(() => customPlan([{ shortSide: 400, factor: 2 }])).toThrow(/transforms\[0\]: expected either shortSide \(absolute\) or factor \(relative\), not both/);
    expect(() => customPlan([{ factor: -1 }])).toThrow(/transforms\[0\]\.factor: expected a positive scale factor/);
    expect(() => customPlan([{ factor: Number.NaN }])).toThrow(/transforms\[0\]\.factor/);
  });

  it('forward then inverse maps return boxes and keypoints to where they were (property)', () => {
    const schema = { flipPairs: [[0, 1]] as [number, number][] };
    fc.assert(
      fc.property(
        fc.integer({ min: 8, max: 1500 }),
        fc.integer({ min: 8, max: 1500 }),
        fc.double({ min: 0.1, max: 4, noNaN: true }),
        fc.boolean(),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (w, h, factor, flip, u) => {
          const g = resolveTransform(customPlan([{ factor, flip }]).transforms.at(-1)!, { width: w, height: h });
          const boxes = Float64Array.from([u * w * 0.5, u * h * 0.5, w * (0.5 + u * 0.5), h * (0.5 + u * 0.5)]);
          const back = inverseBoxes(forwardBoxes(boxes, g, { convention: 'continuous' }), g, { convention: 'continuous' });
          for (let i = 0; i < 4; i++) expect(back[i]).toBeCloseTo(boxes[i], 6);
          const kps = { data: Float32Array.from([u * w, u * h, 1, w - u * w, h * 0.25, 0.5]), n: 1, k: 2 };
          const kb = inverseKeypoints(forwardKeypoints(kps, g, { convention: 'continuous', flipPairs: schema.flipPairs }), g, {
            convention: 'continuous',
            flipPairs: schema.flipPairs,
          });
          for (let i = 0; i < 6; i++) expect(kb.data[i]).toBeCloseTo(kps.data[i], 2);
        },
      ),
    );
  });

  it('a flipped relative transform maps x to W′ − x·s (hand-checked)', () => {
    const g = resolveTransform(customPlan([{ factor: 2, flip: true }]).transforms[1], { width: 100, height: 60 });
    expect(Array.from(forwardBoxes(Float64Array.from([10, 5, 30, 25]), g, { convention: 'continuous' }))).toEqual([140, 10, 180, 50]);
  });

  it('relativePlan builds factors × flip after the identity and its flip', () => {
    expect(names(relativePlan({ factors: [0.75, 1.25] }))).toEqual(['identity', 'orig-flip', 'x0.75', 'x0.75-flip', 'x1.25', 'x1.25-flip']);
    expect(names(relativePlan({ factors: [2], flip: false }))).toEqual(['identity', 'x2']);
  });
});

describe('scale lists from the command line', () => {
  it('reads relative (0.75x) and absolute (400) items, each ± flip, with the flipped original', () => {
    expect(names(parseScaleList('0.75x,1x,1.25x'))).toEqual(['identity', 'orig-flip', 'x0.75', 'x0.75-flip', 'x1.25', 'x1.25-flip']);
    expect(names(parseScaleList('400, 600'))).toEqual(['identity', 'orig-flip', 's400', 's400-flip', 's600', 's600-flip']);
    expect(names(parseScaleList('0.5x,800'))).toEqual(['identity', 'orig-flip', 'x0.5', 'x0.5-flip', 's800', 's800-flip']);
  });

  it("writes the demo's own plan (0.75, 1.25, 1.5 of the image)", () => {
    const g = resolvePlan(parseScaleList('0.75x,1.25x,1.5x'), { width: 96, height: 96 });
    expect(g.map((t) => t.target.width)).toEqual([96, 96, 72, 72, 120, 120, 144, 144]);
  });

  it('names the bad item', () => {
    expect(() => parseScaleList('0.75,1.25', '--scales')).toThrow(
      '--scales[0]: expected a relative factor such as 0.75x or an absolute shorter side in pixels such as 400, received "0.75" (string)',
    );
    expect(() => parseScaleList('1x,2x,1x', '--scales')).toThrow(/--scales\[2\]: expected no repeated scale/);
    expect(() => parseScaleList('0x')).toThrow(/scales\[0\]: expected a relative factor in \(0, 16\]/);
    expect(() => parseScaleList('')).toThrow(/scales: expected a comma-separated list/);
  });
});

describe('plans sized to the data', () => {
  it('medianImageSize takes the median of each side', () => {
    expect(medianImageSize([{ width: 10, height: 40 }, { width: 30, height: 20 }, { width: 20, height: 30 }])).toEqual({ width: 20, height: 30 });
    expect(() => medianImageSize([])).toThrow(/sizes: expected at least one image size/);
  });

  it("the default is the paper's spread relative to each image (≈0.63×…1.88×)", () => {
    expect(PAPER_RELATIVE_FACTORS[0]).toBe(0.625);
    expect(PAPER_RELATIVE_FACTORS.at(-1)).toBe(1.875);
    const d = dataSizedPlan([{ width: 96, height: 96 }, { width: 100, height: 90 }]);
    expect(d.plan.transforms).toHaveLength(2 + 2 * 9);
    const resolved = resolvePlan(d.plan, { width: 96, height: 96 });
    expect(Math.max(...resolved.map((g) => g.scale))).toBe(1.875);
    expect(upsamplingWarnings(d.plan, d.median)).toEqual([]);
    expect(d.description).toMatch(/relative scales 0.625x,.*1.875x ± flip/);
  });

  it('drops factors that would shrink tiny images under 32 px', () => {
    const d = dataSizedPlan([{ width: 40, height: 40 }]);
    expect(d.plan.transforms.every((t) => t.factor === null || t.factor * 40 >= 32)).toBe(true);
    expect(d.plan.transforms.some((t) => t.factor === 0.781)).toBe(false);
  });

  it('warns when a plan upsamples the median image more than 3×', () => {
    const warnings = upsamplingWarnings(paperPlan(), { width: 96, height: 96 });
    // s400 is 4.2×: every absolute scale of the paper's plan is over 3× on 96 px images.
    expect(warnings).toHaveLength(18);
    expect(warnings[0]).toMatch(/^transform s400 upsamples the median image \(96×96\) 4\.2× to 400×400: .*--scales 0\.75x,1x,1\.25x/);
    expect(upsamplingWarnings(paperPlan(), { width: 640, height: 480 })).toEqual([]);
  });
});

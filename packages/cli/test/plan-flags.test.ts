import { describe, expect, it } from 'vitest';
import { LAYOUTS } from '@omnidistill/infer';
import { planFromFlags } from '../src/commands/plan-flags.js';
import { UsageError } from '../src/commands/types.js';

const small = [{ width: 96, height: 96 }];
const names = (r: { plan: { transforms: readonly { name: string }[] } }) => r.plan.transforms.map((t) => t.name);

describe('plan flags', () => {
  it('default: the relative paper spread, no upsampling warning on small images', () => {
    const r = planFromFlags({}, small);
    expect(names(r)).toContain('x1.875-flip');
    expect(r.warnings).toEqual([]);
    expect(r.description).toMatch(/^plan: relative scales 0\.625x,.*median labeled image 96×96 \(20 transforms\)$/);
  });

  it('--scales accepts relative and absolute items; absolute ones on small images warn', () => {
    expect(names(planFromFlags({ scales: '0.75x,1x,1.25x' }, small))).toEqual(['identity', 'orig-flip', 'x0.75', 'x0.75-flip', 'x1.25', 'x1.25-flip']);
    const abs = planFromFlags({ scales: '400,600' }, small);
    expect(abs.warnings).toHaveLength(4);
    expect(abs.warnings[0]).toMatch(/s400 upsamples the median image \(96×96\) 4\.2×/);
  });

  it("--plan paper-absolute keeps the paper's plan by name and warns on small images", () => {
    const r = planFromFlags({ plan: 'paper-absolute' }, small);
    expect(r.plan.transforms).toHaveLength(20);
    expect(r.warnings).toHaveLength(18);
    expect(planFromFlags({ plan: 'paper-absolute' }, [{ width: 640, height: 480 }]).warnings).toEqual([]);
  });

  it('auto is original ± flip for crop layouts and in-graph resizes; explicit scales stay as given', () => {
    const crop = planFromFlags({}, small, LAYOUTS['topdown-heatmap'].traits);
    expect(names(crop)).toEqual(['identity', 'orig-flip']);
    expect(crop.description).toMatch(/^plan: auto: original ± flip, as the model crops each person to its fixed input/);
    expect(names(planFromFlags({}, small, LAYOUTS.simcc.traits))).toEqual(['identity', 'orig-flip']);
    expect(planFromFlags({}, small, LAYOUTS['torchvision-detection'].traits).description).toMatch(/resizes every input itself/);
    // image sizes are not needed when the model's geometry decides
    expect(names(planFromFlags({ plan: 'auto' }, [], LAYOUTS.simcc.traits))).toEqual(['identity', 'orig-flip']);
    // whole-image layouts keep the image-sized spread
    expect(names(planFromFlags({}, small, LAYOUTS.yolo.traits))).toContain('x1.875-flip');
    expect(names(planFromFlags({}, small, LAYOUTS.rois.traits))).toContain('x0.625');
    expect(names(planFromFlags({ scales: '0.9x,1.1x' }, small, LAYOUTS['topdown-heatmap'].traits))).toEqual(['identity', 'orig-flip', 'x0.9', 'x0.9-flip', 'x1.1', 'x1.1-flip']);
  });

  it('bad scale lists and conflicting flags are usage errors naming the flag', () => {
    expect(() => planFromFlags({ scales: '0.75,1.25' }, small)).toThrow(UsageError);
    expect(() => planFromFlags({ scales: '0.75,1.25' }, small)).toThrow(/^--scales\[0\]: expected a relative factor such as 0\.75x/);
    expect(() => planFromFlags({ scales: '1x', plan: 'flip' }, small)).toThrow(/--plan and --scales are alternatives/);
    expect(() => planFromFlags({ plan: 'huge' }, small)).toThrow(/--plan: expected one of "auto", "paper-absolute"/);
    expect(() => planFromFlags({}, [])).toThrow(/--plan auto needs the image sizes/);
  });
});

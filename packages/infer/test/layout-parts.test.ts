// The pieces the layout adapters are built from, on inputs whose answers are known: the
// letterbox geometry, the crop-frame ensemble, regressed-instance fusion, and the manifest
// rules of every layout.
import { describe, expect, it } from 'vitest';
import { COCO_PERSON } from '@omnidistill/core';
import { GraphBuilder, encodeModel, type ValueInfo } from '@omnidistill/artifacts';
import { CropFrameEnsemble } from '../src/person-crop.js';
import { LAYOUTS, LAYOUT_NAMES, createModelSession, cropFrame, fuseInstances, letterbox, parseManifest, type RegressedInstances } from '@omnidistill/infer';

describe('letterbox (Ultralytics geometry)', () => {
  it('scales by min(H/h, W/w), centres with round(d − 0.1), half-to-even', () => {
    // 97×75 into 128×96: r = min(96/75, 128/97) = 1.28 → 124.16 → 124 wide, 96 high; dw = 2.
    expect(letterbox({ width: 97, height: 75 }, [1, 3, 96, 128], 32)).toEqual({ input: { width: 128, height: 96 }, r: 1.28, left: 2, top: 0, resized: { width: 124, height: 96 } });
    // 64×120 into 128×96: r = 0.8 → 51.2 → 51 wide; dw = 38.5 → round(38.4) = 38.
    expect(letterbox({ width: 64, height: 120 }, [1, 3, 96, 128], 32)).toMatchObject({ r: 0.8, left: 38, top: 0, resized: { width: 51, height: 96 } });
  });

  it('pads a dynamic input to the stride without resizing', () => {
    expect(letterbox({ width: 97, height: 75 }, [1, 3, null, null], 32)).toEqual({ input: { width: 128, height: 96 }, r: 1, left: 15, top: 10, resized: { width: 97, height: 75 } });
  });
});

describe('cropFrame', () => {
  it('fixes the aspect to the input, pads, and zooms by the transform scale', () => {
    // A 30×40 box for a 48×64 (w×h) input: aspect 0.75 → 30×40 already; ×1.25.
    expect(cropFrame([10, 20, 40, 60], { width: 48, height: 64 }, 1.25)).toEqual({ cx: 25, cy: 40, w: 37.5, h: 50 });
    // A wide box grows in height; scale 2 halves the crop.
    expect(cropFrame([0, 0, 60, 10], { width: 48, height: 64 }, 1, 2)).toEqual({ cx: 30, cy: 5, w: 30, h: 40 });
  });
});

describe('CropFrameEnsemble', () => {
  const one = (n: number, at: number) => Float32Array.from({ length: n }, (_, i) => (i === at ? 1 : 0));

  it('un-flips a horizontal axis and swaps the flip pairs', () => {
    const e = new CropFrameEnsemble(2, [8], 'avg');
    // channel 0 peaks at bin 1, channel 1 at bin 5; the flipped pass sees them mirrored and swapped.
    e.add(Float32Array.of(...one(8, 1), ...one(8, 5)), 1, null);
    e.add(Float32Array.of(...one(8, 2), ...one(8, 6)), 1, Int32Array.of(1, 0));
    expect(Array.from(e.result())).toEqual([...one(8, 1), ...one(8, 5)]);
  });

  it('does not mirror a vertical axis (SimCC y) but still swaps the pairs', () => {
    const e = new CropFrameEnsemble(2, [4], 'avg', false);
    e.add(Float32Array.of(...one(4, 1), ...one(4, 3)), 1, Int32Array.of(1, 0));
    expect(Array.from(e.result())).toEqual([...one(4, 3), ...one(4, 1)]);
  });

  it('maps a zoomed pass about the centre and counts only the positions it saw', () => {
    const e = new CropFrameEnsemble(1, [8], 'avg');
    e.add(new Float32Array(8).fill(0), 1, null);
    // scale 2: the pass saw the middle half of the identity frame, magnified; its value 4 lands on bins 2…5.
    e.add(new Float32Array(8).fill(4), 2, null);
    expect(Array.from(e.result())).toEqual([0, 0, 2, 2, 2, 2, 0, 0]);
  });

  it('keeps a 2-D peak in place under zoom (cell centre maps to cell centre at scale 1)', () => {
    const e = new CropFrameEnsemble(1, [4, 4], 'max');
    const m = new Float32Array(16);
    m[1 * 4 + 2] = 5;
    e.add(m, 1, null);
    expect(e.result()[6]).toBe(5);
  });
});

describe('fuseInstances (regressed keypoints across transforms)', () => {
  const k = COCO_PERSON.keypoints.length;
  const person = (x: number, score: number, kpScore = 0.9): RegressedInstances => ({
    boxes: Float64Array.of(x, 10, x + 40, 90),
    scores: Float64Array.of(score),
    keypoints: { data: Float32Array.from({ length: 3 * k }, (_, i) => (i % 3 === 0 ? x + 20 : i % 3 === 1 ? 50 : kpScore)), n: 1, k },
    keypointScore: 'probability',
  });

  it('matches one person seen by two transforms and averages by confidence', () => {
    const fused = fuseInstances([person(10, 0.9), person(12, 0.3)], { threshold: 0.5, sigmas: COCO_PERSON.sigmas });
    expect(fused.keypoints.n).toBe(1);
    expect(fused.scores[0]).toBeCloseTo((0.9 + 0.3) / 2, 12);
    expect(fused.boxes[0]).toBeCloseTo((0.9 * 10 + 0.3 * 12) / 1.2, 9);
    expect(fused.keypoints.data[0]).toBeCloseTo((0.9 * 30 + 0.3 * 32) / 1.2, 4);
  });

  it('keeps two people apart, the one seen once scoring score / T', () => {
    const far: RegressedInstances = { ...person(200, 0.8) };
    const both = { ...person(10, 0.9) };
    const t0 = { boxes: Float64Array.of(...both.boxes, ...far.boxes), scores: Float64Array.of(0.9, 0.8), keypoints: { data: Float32Array.of(...both.keypoints.data, ...far.keypoints.data), n: 2, k }, keypointScore: 'probability' as const };
    const fused = fuseInstances([t0, person(11, 0.7)], { threshold: 0.5, sigmas: COCO_PERSON.sigmas });
    expect(fused.keypoints.n).toBe(2);
    expect(Array.from(fused.scores)).toEqual([0.8, 0.4]);
    expect(fused.boxes[4]).toBe(200);
  });

  it('never merges two instances of the same transform', () => {
    const t0 = { boxes: Float64Array.of(10, 10, 50, 90, 10, 10, 50, 90), scores: Float64Array.of(0.9, 0.8), keypoints: { data: Float32Array.of(...person(10, 1).keypoints.data, ...person(10, 1).keypoints.data), n: 2, k }, keypointScore: 'probability' as const };
    expect(fuseInstances([t0], { threshold: 0.5, sigmas: null }).keypoints.n).toBe(2);
  });
});

describe('manifests of every layout', () => {
  const base = { format: 'omnidistill-model', version: 1 };
  const kp = { schema: 'coco-person', categoryId: 1 };

  it('the table lists every layout under its own name', () => {
    expect(LAYOUT_NAMES).toEqual(['rois', 'torchvision-detection', 'yolo', 'topdown-heatmap', 'simcc']);
    for (const name of LAYOUT_NAMES) expect(LAYOUTS[name].name).toBe(name);
  });

  it('fills each layout\'s options with their defaults', () => {
    expect(parseManifest({ ...base, role: 'detector', layout: 'yolo', inputs: { image: 'images' }, outputs: { predictions: 'output0' } }).layoutOptions).toEqual({
      layout: 'yolo', scoreThreshold: 0.001, nmsThreshold: 0.7, maxDetections: 300, padValue: 114, stride: 32,
    });
    expect(parseManifest({ ...base, role: 'keypoints', layout: 'simcc', inputs: { image: 'i' }, outputs: { x: 'x', y: 'y' }, keypoints: kp }).layoutOptions).toEqual({
      layout: 'simcc', padding: 1.25, padValue: 0, splitRatio: 2,
    });
  });

  it.each([
    [{ ...base, role: 'detector', layout: 'topdown-heatmap', inputs: { image: 'i' }, outputs: { heatmaps: 'h' } }, 'manifest.role: expected a role the "topdown-heatmap" layout supports (keypoints), received "detector"'],
    [{ ...base, role: 'keypoints', layout: 'yolo', inputs: { image: 'i' }, outputs: { heatmaps: 'h' }, keypoints: kp }, 'manifest.outputs.heatmaps: expected no such field (known: predictions)'],
    [{ ...base, role: 'keypoints', layout: 'topdown-heatmap', inputs: { image: 'i' }, outputs: { heatmaps: 'h' }, keypoints: { ...kp, heatmapSize: 64 } }, 'manifest.keypoints.heatmapSize: expected no heatmapSize with layout "topdown-heatmap"'],
    [{ ...base, role: 'keypoints', layout: 'simcc', inputs: { image: 'i' }, outputs: { x: 'x', y: 'y' }, keypoints: kp, layoutOptions: { padding: 0 } }, 'manifest.layoutOptions.padding: expected a positive number, received 0'],
    [{ ...base, role: 'keypoints', layout: 'topdown-heatmap', inputs: { image: 'i' }, outputs: { heatmaps: 'h' }, keypoints: kp, layoutOptions: { splitRatio: 2 } }, 'manifest.layoutOptions.splitRatio: expected no such field (known for layout "topdown-heatmap": padding, padValue)'],
    [{ ...base, role: 'detector', layout: 'yolo', inputs: { image: 'i' }, outputs: { predictions: 'p' }, layoutOptions: { nmsThreshold: 1.5 } }, 'manifest.layoutOptions.nmsThreshold: expected a number in [0, 1], received 1.5'],
    [{ ...base, role: 'detector', layout: 'torchvision-detection', inputs: { image: 'i' }, outputs: { boxes: 'b', scores: 's', labels: 'l' }, layoutOptions: { minSize: 800 } }, 'manifest.layoutOptions: expected no layoutOptions for layout "torchvision-detection"'],
  ])('refuses a bad manifest precisely (case %#)', (value, message) => {
    expect(() => parseManifest(value)).toThrow(message);
  });
});

describe('sessions of crop layouts', () => {
  /** A "top-down model" with a dynamic input size: heatmaps = the channel mean, 17 times. */
  function dynamicCropModel(): Uint8Array {
    const g = new GraphBuilder({ name: 'dynamic_crop' });
    const x = g.input('input', 'float32', [1, 3, 64, 48]);
    const mean = g.reduceMean(x, [1], true);
    g.output(g.concat(new Array(17).fill(mean), 1), 'heatmaps');
    const mark = (v: ValueInfo): ValueInfo => (v.type.kind === 'tensor' ? { ...v, type: { ...v.type, shape: v.type.shape.map((d, i) => (i >= 2 ? -1 : d)) } } : v);
    const model = g.toModel();
    return encodeModel({ ...model, inputs: model.inputs.map(mark), outputs: model.outputs.map(mark), valueInfo: [] });
  }

  it('refuses a dynamic input size when the session opens, saying what to export', async () => {
    const manifest = parseManifest({ format: 'omnidistill-model', version: 1, role: 'keypoints', layout: 'topdown-heatmap', inputs: { image: 'input' }, outputs: { heatmaps: 'heatmaps' }, keypoints: { schema: 'coco-person' } });
    await expect(createModelSession(dynamicCropModel(), manifest, { threads: 1 })).rejects.toThrow(
      'layout "topdown-heatmap" needs a fixed input size [1, 3, H, W], but input "input" has [1, 3, ?, ?]; export with a fixed crop size (e.g. 256×192)',
    );
  });
});

import { instantiate } from '@omnidistill/artifacts';
import { createModelSession, parseManifest } from '@omnidistill/infer';
import { Rng, nativeStepArtifacts, createNativeEngine, exportInferenceModel } from '@omnidistill/train';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PIXELS,
  DetectorBatchBuilder,
  defineDetector,
  detectorFeatureSize,
  detectorManifest,
  exportDetector,
  gaussianRadius,
  writeDetectorTargets,
  type LoadedImage,
} from '@omnidistill/models';
import { maxAbsDiff, randomFloats, runOnnx } from './helpers.js';

function trainedLike(define: ReturnType<typeof defineDetector>): Map<string, Float32Array> {
  const { g } = instantiate(define, 'eval', 'standard');
  return new Map(
    g.params.map((p, i) => {
      const noise = randomFloats(p.init.length, 300 + i, -0.05, 0.05);
      const v = p.name.endsWith('.var') ? noise.map((x) => 1 + 10 * Math.abs(x)) : p.init.map((x, j) => x + noise[j]);
      return [p.name, Float32Array.from(v)];
    }),
  );
}

function scene(width: number, height: number, boxes: [number, number, number, number, number][]): LoadedImage {
  return {
    id: 1,
    fileName: 'a.png',
    width,
    height,
    pixels: new Uint8Array(width * height * 3).map((_, i) => (i * 7) % 256),
    annotations: boxes.map(([x, y, w, h, c], i) => ({ id: i + 1, image_id: 1, category_id: c, bbox: [x, y, w, h], area: w * h, iscrowd: 0 })),
  };
}

describe('detector targets', () => {
  it('gaussianRadius follows CenterNet (4 × 4 cells: third bound, (−11.2 + √179.2) / 2)', () => {
    expect(gaussianRadius(4, 4)).toBeCloseTo(1.0933, 3);
    expect(gaussianRadius(10, 20)).toBeGreaterThan(gaussianRadius(10, 10));
  });

  it('puts 1 at the centre cell, a Gaussian around it, and size/offset at the centre only', () => {
    const hf = 8, wf = 8;
    const heat = new Float32Array(2 * hf * wf);
    const reg = new Float32Array(4 * hf * wf);
    const mask = new Float32Array(hf * wf);
    writeDetectorTargets([{ box: [8, 4, 24, 20], label: 1 }], 2, hf, wf, heat, reg, mask);
    // centre (16, 12) px → (4, 3) cells, exactly on a cell corner: offset 0
    const c = 3 * wf + 4;
    expect(heat[hf * wf + c]).toBe(1);
    expect(heat.subarray(0, hf * wf).every((v) => v === 0)).toBe(true);
    expect(heat[hf * wf + c + 1]).toBeGreaterThan(0);
    expect(heat[hf * wf + c + 1]).toBeLessThan(1);
    expect([reg[c], reg[hf * wf + c], reg[2 * hf * wf + c], reg[3 * hf * wf + c]]).toEqual([4, 4, 0, 0]);
    expect(mask.reduce((a, b) => a + b, 0)).toBe(1);
  });

  it('flips boxes with the image (x → W − x) in minibatches', () => {
    const builder = new DetectorBatchBuilder({ height: 32, width: 32, categoryIds: [1, 2], flipProbability: 1 });
    const feeds = builder.build([scene(32, 32, [[0, 0, 8, 8, 2]]), scene(32, 32, [])], new Rng(1));
    const hf = detectorFeatureSize(32);
    const heat = feeds.det_heat.data as Float32Array;
    // box [0, 8) → flipped [24, 32): centre x 28 px = cell 7, y 4 px = cell 1, class 1
    expect(heat[1 * hf * hf + 1 * hf + 7]).toBe(1);
    expect(feeds.image.dims).toEqual([2, 3, 32, 32]);
  });
});

describe('detector model', () => {
  it('is small and exports boxes [D, 4], scores [D], labels [D] equal to the eval graph, with a valid manifest', async () => {
    const config = { classes: 5, maxDetections: 20 };
    const params = trainedLike(defineDetector(config, { batch: 1, height: 32, width: 32 }));
    const trainable = instantiate(defineDetector(config, { batch: 2, height: 32, width: 32 }), 'train', 'standard').g.params.filter((p) => p.trainable);
    expect(trainable.reduce((n, p) => n + p.init.length, 0)).toBeLessThan(100_000);
    const onnx = exportDetector(config, params);
    const manifest = parseManifest(detectorManifest([1, 2, 3, 4, 5], DEFAULT_PIXELS));
    const session = await createModelSession(onnx, manifest, { threads: 1 });
    await session.session.release();
    for (const [h, w] of [[48, 64], [96, 96]]) {
      const image = { data: randomFloats(3 * h * w, h * w), dims: [1, 3, h, w] };
      const got = await runOnnx(onnx, { image });
      const ref = await runOnnx(exportInferenceModel(defineDetector(config, { batch: 1, height: h, width: w }), params), { image });
      expect(got.boxes.dims).toEqual([20, 4]);
      expect(got.scores.dims).toEqual([20]);
      expect(got.labels.type).toBe('int64');
      expect(maxAbsDiff(got.boxes.data as Float32Array, ref.boxes.data as Float32Array)).toBeLessThanOrEqual(1e-5);
      expect(maxAbsDiff(got.scores.data as Float32Array, ref.scores.data as Float32Array)).toBeLessThanOrEqual(1e-5);
      expect(Array.from(got.labels.data as BigInt64Array)).toEqual(Array.from(ref.labels.data as BigInt64Array));
      const scores = got.scores.data as Float32Array;
      for (let i = 1; i < scores.length; i++) expect(scores[i]).toBeLessThanOrEqual(scores[i - 1]);
    }
  });

  it('trains: the loss on a fixed minibatch halves within 30 steps, and the decoded top box lands on the object', async () => {
    const shape = { batch: 2, height: 32, width: 32 };
    const config = { classes: 2, headChannels: 16 };
    const define = defineDetector(config, shape);
    const art = nativeStepArtifacts(define, { optimizer: { type: 'adamw', learningRate: 1e-2 }, schedule: { totalSteps: 30, warmupSteps: 0, milestones: [1] , gamma: 1 } });
    const { g } = instantiate(define, 'eval', 'standard');
    const engine = await createNativeEngine(art, { initialParameters: new Map(g.params.map((p) => [p.name, p.init])), threads: 1 });
    const builder = new DetectorBatchBuilder({ height: 32, width: 32, categoryIds: [1, 2], flipProbability: 0 });
    const feeds = builder.build([scene(32, 32, [[4, 4, 12, 12, 2]]), scene(32, 32, [[16, 12, 10, 14, 1]])], new Rng(2));
    const losses: number[] = [];
    for (let i = 0; i < 30; i++) losses.push((await engine.step(feeds)).loss);
    expect(losses[29]).toBeLessThan(0.5 * losses[0]);
    const state = await engine.state();
    await engine.release();
    const out = await runOnnx(exportDetector(config, state.parameters), { image: { data: (feeds.image.data as Float32Array).slice(0, 3 * 32 * 32), dims: [1, 3, 32, 32] } });
    expect(Number((out.labels.data as BigInt64Array)[0])).toBe(1);
  });
});

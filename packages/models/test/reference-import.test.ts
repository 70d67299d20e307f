// The reference keypoint model goes through the student path unchanged: its exported ONNX
// (dynamic H, W and RoI count, in-graph shape arithmetic, RoIAlign as MatMuls) imports with
// static shapes and gives the same heatmaps, loss and parameter gradients as the built-in
// definition (batch statistics in both).
import { describe, expect, it } from 'vitest';
import { HEATMAP_TARGET_INPUT, HEATMAP_WEIGHT_INPUT, decodeOnnxModel, gradientModel, gradientOutputName, instantiate, studentDefinition } from '@omnidistill/artifacts';
import { KEYPOINT_TENSORS, defineKeypointModel, exportKeypointModel, resolveKeypointConfig } from '@omnidistill/models';
import { maxAbsDiff, randomFloats, runOnnx } from './helpers.js';

const S = 64, R = 4, K = 17;

describe('reference keypoint model → ONNX → import', () => {
  it('same heatmaps, loss and parameter gradients as the built-in definition', async () => {
    const config = resolveKeypointConfig({ keypoints: K, seed: 1 });
    const builtIn = defineKeypointModel(config, { batch: 1, height: S, width: S, rois: R });
    const { g: g0 } = instantiate(builtIn, 'eval', 'standard');
    const bytes = exportKeypointModel(config, new Map(g0.params.map((p) => [p.name, p.init])));
    const imported = studentDefinition(decodeOnnxModel(bytes), { inputShapes: { image: [1, 3, S, S], rois: [R, 4] }, batchNorm: 'batch', loss: { kind: 'heatmap', output: KEYPOINT_TENSORS.heatmaps } });

    const image = { data: randomFloats(3 * S * S, 3), dims: [1, 3, S, S] };
    const rois = { data: Float32Array.from([1, 2, 40, 60, 10, 10, 60, 63, 30, 5, 50, 25, 0, 0, 64, 64]), dims: [R, 4] };
    const target = { data: BigInt64Array.from({ length: R * K }, (_, i) => BigInt((i * 37) % (28 * 28))), dims: [R, K] };
    const weight = { data: Float32Array.from({ length: R * K }, (_, i) => (i % 5 === 0 ? 0 : 1)), dims: [R, K] };
    const run = async (define: typeof builtIn, names: { target: string; weight: string }) => {
      const m = gradientModel(define, 'standard');
      const feeds: Record<string, { data: Float32Array | BigInt64Array; dims: number[] }> = { image, rois, [names.target]: target, [names.weight]: weight };
      for (const p of m.params) feeds[p.name] = { data: p.init, dims: [...p.shape] };
      return { out: await runOnnx(m.bytes, feeds), params: m.params };
    };
    const a = await run(builtIn, { target: KEYPOINT_TENSORS.target, weight: KEYPOINT_TENSORS.weight });
    const b = await run(imported, { target: HEATMAP_TARGET_INPUT, weight: HEATMAP_WEIGHT_INPUT });
    expect(b.params.map((p) => p.name).sort()).toEqual(a.params.map((p) => p.name).sort());
    const loss = (r: typeof a) => (r.out.loss.data as Float32Array)[0];
    expect(Math.abs(loss(a) - loss(b))).toBeLessThan(1e-5 * Math.abs(loss(a)));
    for (const p of a.params.filter((q) => q.trainable)) {
      const ga = a.out[gradientOutputName(p.name)].data as Float32Array;
      const gb = b.out[gradientOutputName(p.name)].data as Float32Array;
      const scale = Math.max(...ga.map(Math.abs), 1e-6);
      expect(maxAbsDiff(ga, gb) / scale, p.name).toBeLessThan(1e-4);
    }
  });
});

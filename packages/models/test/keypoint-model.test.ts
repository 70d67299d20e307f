import { GraphBuilder, instantiate } from '@omnidistill/artifacts';
import { COCO_PERSON } from '@omnidistill/core';
import { createModelSession, parseManifest } from '@omnidistill/infer';
import { nativeStepArtifacts, createNativeEngine, exportInferenceModel } from '@omnidistill/train';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_KEYPOINT_BACKBONE,
  DEFAULT_PIXELS,
  defineKeypointModel,
  exportKeypointModel,
  keypointManifest,
  keypointTargets,
  unshuffledCellIndex,
} from '@omnidistill/models';
import { maxAbsDiff, randomFloats, runEval, runOnnx } from './helpers.js';

const K = 17;
const config = { keypoints: K };

/** Parameters of the default model counted from its layer list (what the code should build). */
function expectedParameterCount(k: number): number {
  let cin = 3;
  let n = 0;
  for (const l of DEFAULT_KEYPOINT_BACKBONE) {
    n += l.out * cin * 9 + 2 * l.out; // conv without bias + BN scale and bias
    cin = l.out;
  }
  n += 3 * (32 * cin * 9 + 32); // head convs with bias
  n += 4 * k * 32 * 9 + 4 * k; // conv to 4K channels
  return n;
}

/** Initial parameters moved off their init (and BN statistics made non-trivial), so export bugs show. */
function perturbedParameters(define: ReturnType<typeof defineKeypointModel>): Map<string, Float32Array> {
  const { g } = instantiate(define, 'eval', 'standard');
  return new Map(
    g.params.map((p, i) => {
      const noise = randomFloats(p.init.length, 100 + i, -0.05, 0.05);
      const v = p.name.endsWith('.var') ? noise.map((x) => 1 + 10 * Math.abs(x)) : p.init.map((x, j) => x + noise[j]);
      return [p.name, Float32Array.from(v)];
    }),
  );
}

describe('keypoint model', () => {
  it('has the DEMO-NOTES size (83k–141k trainable parameters), counted layer by layer', () => {
    const { g } = instantiate(defineKeypointModel(config, { batch: 2, height: 32, width: 32, rois: 3 }), 'train', 'standard');
    const trainable = g.params.filter((p) => p.trainable).reduce((n, p) => n + p.init.length, 0);
    expect(trainable).toBe(expectedParameterCount(K));
    expect(trainable).toBeGreaterThanOrEqual(83_000);
    expect(trainable).toBeLessThanOrEqual(141_000);
    // BN running statistics are frozen parameters.
    expect(g.params.filter((p) => !p.trainable).map((p) => p.name)).toContain('backbone.0.bn.mean');
  });

  it('maps image + RoIs (+ image index) to [R, K, 28, 28] logits', async () => {
    const define = defineKeypointModel(config, { batch: 2, height: 32, width: 40, rois: 3 });
    const out = await runEval(define, {
      image: { data: randomFloats(2 * 3 * 32 * 40, 1), dims: [2, 3, 32, 40] },
      rois: { data: Float32Array.of(0, 0, 20, 30, 5, 5, 39, 31, 10, 2, 12, 9), dims: [3, 4] },
      roi_batch: { data: BigInt64Array.of(0n, 1n, 1n), dims: [3] },
    });
    expect(out.heatmaps.dims).toEqual([3, K, 28, 28]);
    expect((out.heatmaps.data as Float32Array).every(Number.isFinite)).toBe(true);
  });

  it('trains on the un-shuffled logits: each heatmap cell (ONNX DepthToSpace CRD) is the cell the target table names', async () => {
    const [r, k, m] = [2, 3, 6];
    const h = m / 2;
    const g = new GraphBuilder();
    g.output(g.depthToSpace(g.input('phases', 'float32', [r, 4 * k, h, h]), 2, 'CRD'), 'heatmaps');
    const phases = randomFloats(r * 4 * k * h * h, 11);
    const out = await runOnnx(g.toModelBytes(), { phases: { data: phases, dims: [r, 4 * k, h, h] } });
    const heatmaps = out.heatmaps.data as Float32Array;
    const table = unshuffledCellIndex(m);
    expect(new Set(table).size).toBe(m * m); // a permutation of the cells
    // The train graph views the phases as [R, K, 4·h·h]: logits of (r, k) start at (r·K + k)·m².
    for (let rk = 0; rk < r * k; rk++) {
      for (let cell = 0; cell < m * m; cell++) expect(phases[rk * m * m + Number(table[cell])]).toBe(heatmaps[rk * m * m + cell]);
    }
  });

  it('trains: the loss on a fixed minibatch falls well below its start within 25 steps (native engine)', async () => {
    const shape = { batch: 2, height: 32, width: 32, rois: 2 };
    const define = defineKeypointModel({ keypoints: 3, headConvs: 1 }, shape);
    const art = nativeStepArtifacts(define, { optimizer: { type: 'adamw', learningRate: 5e-3 }, schedule: { totalSteps: 25, warmupSteps: 0 } });
    const { g } = instantiate(define, 'eval', 'standard');
    const engine = await createNativeEngine(art, { initialParameters: new Map(g.params.map((p) => [p.name, p.init])), threads: 1 });
    const rois = Float32Array.of(4, 4, 20, 28, 8, 2, 30, 30);
    const t = keypointTargets([6, 6, 2, 12, 20, 2, 18, 10, 1, 10, 4, 2, 20, 20, 2, 25, 25, 0], rois, 28);
    const feeds = {
      image: { data: randomFloats(2 * 3 * 32 * 32, 3), dims: [2, 3, 32, 32] },
      rois: { data: rois, dims: [2, 4] },
      roi_batch: { data: BigInt64Array.of(0n, 1n), dims: [2] },
      kp_target: { data: t.target, dims: [2, 3] },
      kp_weight: { data: t.weight, dims: [2, 3] },
    };
    const losses: number[] = [];
    for (let i = 0; i < 25; i++) losses.push((await engine.step(feeds)).loss);
    await engine.release();
    expect(losses[0]).toBeGreaterThan(Math.log(28 * 28) - 0.5); // ≈ uniform over 784 cells at init
    expect(losses[24]).toBeLessThan(0.5 * losses[0]);
  });

  it('exports an ONNX with dynamic H, W and N whose heatmaps equal the eval graph (≤ 1e-5), with a valid manifest', async () => {
    const params = perturbedParameters(defineKeypointModel(config, { batch: 1, height: 32, width: 32, rois: 1 }));
    const onnx = exportKeypointModel(config, params);
    const manifest = parseManifest(keypointManifest(COCO_PERSON, 28, DEFAULT_PIXELS, 1));
    const session = await createModelSession(onnx, manifest, { threads: 1 });
    expect(session.inputs.image.dims).toEqual([1, 3, null, null]);
    await session.session.release();
    for (const [h, w, n] of [[48, 40, 3], [96, 96, 1]]) {
      const image = { data: randomFloats(3 * h * w, h + w), dims: [1, 3, h, w] };
      const rois = { data: randomFloats(4 * n, n, 0, 30).map((v, i) => (i % 4 >= 2 ? v + 12 : v)), dims: [n, 4] };
      const exported = await runOnnx(onnx, { image, rois });
      const staticModel = exportInferenceModel(defineKeypointModel(config, { batch: 1, height: h, width: w, rois: n }), params);
      const reference = await runOnnx(staticModel, { image, rois });
      expect(exported.heatmaps.dims).toEqual([n, K, 28, 28]);
      expect(maxAbsDiff(exported.heatmaps.data as Float32Array, reference.heatmaps.data as Float32Array)).toBeLessThanOrEqual(1e-5);
    }
  });
});

import { describe, expect, it } from 'vitest';
import {
  type ModelDefinition,
  type ModelParts,
  buildTrainingArtifacts,
  gradientOutputName,
  readCheckpoint,
  spatialSoftmaxCrossEntropy,
} from '@omnidistill/artifacts';
import { readFileSync } from 'node:fs';
import { loadOrtTraining, withReadableErrors } from './ortweb.js';
import { randn, relError } from './helpers.js';
import { GRAD_CASES } from './gradcases.js';

/** A tiny heatmap net: conv+BN+relu, conv, pixel shuffle, spatial softmax CE. */
const tinyHeatmapNet: ModelDefinition = (g) => {
  const x = g.input('image', 'float32', [2, 3, 8, 8]);
  let h = g.conv(x, g.param('c1.w', [8, 3, 3, 3], randn(216, 1, 0.3)), undefined, { pads: [1, 1, 1, 1] });
  h = g.batchNorm(h, g.param('bn.scale', [8], new Float32Array(8).fill(1)), g.param('bn.bias', [8], new Float32Array(8)), g.param('bn.mean', [8], new Float32Array(8), { trainable: false }), g.param('bn.var', [8], new Float32Array(8).fill(1), { trainable: false }));
  h = g.relu(h);
  h = g.conv(h, g.param('c2.w', [8, 8, 3, 3], randn(576, 2, 0.15)), g.param('c2.b', [8], new Float32Array(8)), { pads: [1, 1, 1, 1] });
  const heat = g.depthToSpace(h, 2); // [2, 2, 16, 16]
  if (g.phase === 'eval') return { outputs: { heatmaps: heat } };
  const t = g.input('kp.target', 'int64', [2, 2]);
  const w = g.input('kp.weight', 'float32', [2, 2]);
  return { loss: spatialSoftmaxCrossEntropy(g, heat, t, w), outputs: { heatmaps: heat } };
};

function feedsFor(ort: any) {
  return {
    image: new ort.Tensor('float32', randn(2 * 3 * 64, 7), [2, 3, 8, 8]),
    'kp.target': new ort.Tensor('int64', BigInt64Array.of(17n, 200n, 255n, 0n), [2, 2]),
    'kp.weight': new ort.Tensor('float32', Float32Array.of(1, 1, 1, 0), [2, 2]),
  };
}

describe('ORT training artifacts in onnxruntime-web 1.19.2', () => {
  for (const lowering of ['ort', 'standard'] as const) {
    for (const optimizer of [{ type: 'adamw', learningRate: 0.01 } as const, { type: 'sgd', learningRate: 0.1 } as const]) {
      it(`load and train a few steps (${lowering} gradients, ${optimizer.type})`, async () => {
        const ort = await loadOrtTraining();
        const art = buildTrainingArtifacts(tinyHeatmapNet, { lowering, optimizer, schedule: { totalSteps: 100, warmupSteps: 0 } });
        const session = await withReadableErrors('create', () =>
          ort.TrainingSession.create({ checkpointState: art.checkpoint, trainModel: art.trainingModel, evalModel: art.evalModel, optimizerModel: art.optimizerModel }),
        );
        try {
          expect(session.trainingInputNames).toEqual(art.trainInputs.map((i) => i.name));
          expect(session.trainingOutputNames).toEqual(art.trainOutputs);
          expect(session.evalInputNames).toEqual(art.evalInputs.map((i) => i.name));
          const nParams = art.params.filter((p) => p.trainable).reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0);
          expect(await session.getParametersSize(true)).toBe(nParams);
          const losses: number[] = [];
          for (let step = 0; step < 8; step++) {
            const out = await withReadableErrors('runTrainStep', () => session.runTrainStep(feedsFor(ort)));
            losses.push(out.loss.data[0]);
            await withReadableErrors('runOptimizerStep', () => session.runOptimizerStep());
            await session.lazyResetGrad();
          }
          expect(losses.every(Number.isFinite)).toBe(true);
          expect(losses[7]).toBeLessThan(losses[0] * 0.9);
          expect(session.evalOutputNames).toEqual(art.evalOutputs);
          const ev = await session.runEvalStep({ image: feedsFor(ort).image });
          expect(Object.keys(ev)).toEqual(['heatmaps']);
          expect(ev.heatmaps.dims).toEqual([2, 2, 16, 16]);
        } finally {
          await session.release();
        }
      });
    }
  }

  it("'ort' lowering: BatchNormInternal updates the frozen running statistics in the session", async () => {
    const ort = await loadOrtTraining();
    const c = GRAD_CASES.find((x) => x.name === 'batch_norm')!;
    const ref = JSON.parse(readFileSync(new URL('./fixtures/gradcheck.json', import.meta.url), 'utf8')).cases.batch_norm as { running: Record<string, number[]> };
    const art = buildTrainingArtifacts(c.define, { optimizer: { type: 'sgd', learningRate: 0.1 }, schedule: { totalSteps: 10 } });
    const s = await ort.TrainingSession.create({ checkpointState: art.checkpoint, trainModel: art.trainingModel, optimizerModel: art.optimizerModel });
    try {
      const feeds: Record<string, unknown> = {};
      for (const k of s.trainingInputNames as string[]) {
        const f = c.feeds[k];
        feeds[k] = new ort.Tensor(f.data instanceof BigInt64Array ? 'int64' : 'float32', f.data, [...f.dims]);
      }
      await s.runTrainStep(feeds);
      // getContiguousParameters(false) holds every parameter, frozen ones included, in order.
      const all = (await s.getContiguousParameters(false)).data as Float32Array;
      // Means match torch. ORT's running variance uses the biased batch variance, torch the
      // unbiased one: recover ORT's expectation from torch's (momentum 0.9, initial var 1).
      const count: Record<string, number> = { 'bn1.var': 3 * 5 * 5, 'bn2.var': 3 * 2 * 2 };
      const expected = (name: string): number[] =>
        name in count ? ref.running[name].map((rv) => 0.9 + (rv - 0.9) * ((count[name] - 1) / count[name])) : ref.running[name];
      let off = 0;
      for (const p of art.params) {
        const n = p.shape.reduce((a, b) => a * b, 1);
        if (ref.running[p.name]) expect(relError(all.subarray(off, off + n), expected(p.name)), p.name).toBeLessThan(1e-5);
        off += n;
      }
      expect(Object.keys(ref.running)).toHaveLength(4);
    } finally {
      await s.release();
    }
  });

  it('runEvalStep returns every eval output under its own name (training outputs are aligned to them)', async () => {
    // 1.19.2 names runEvalStep's results after the training outputs by position; eval
    // outputs beyond the training outputs' count would all land on the key "undefined".
    const ort = await loadOrtTraining();
    const def: ModelDefinition = (g): ModelParts => {
      const x = g.input('x', 'float32', [2]);
      const a = g.mul(x, g.param('w', [2], Float32Array.of(1, 2)));
      if (g.phase === 'eval') return { outputs: { a, b: g.add(a, 1), c: g.add(a, 2) } };
      return { loss: g.reduceSum(a, [0]), outputs: { b: g.add(a, 1), extra: g.mul(a, 3) } };
    };
    const art = buildTrainingArtifacts(def, { optimizer: { type: 'sgd', learningRate: 0.1 }, schedule: { totalSteps: 10 } });
    expect(art.trainOutputs).toEqual(['a', 'b', 'c', 'loss', 'extra']);
    const s = await ort.TrainingSession.create({ checkpointState: art.checkpoint, trainModel: art.trainingModel, evalModel: art.evalModel, optimizerModel: art.optimizerModel });
    try {
      const x = new ort.Tensor('float32', Float32Array.of(3, 4), [2]);
      const ev = await s.runEvalStep({ x });
      expect(Object.fromEntries(Object.entries(ev).map(([k, v]) => [k, Array.from((v as { data: Float32Array }).data)]))).toEqual({ a: [3, 8], b: [4, 9], c: [5, 10] });
      const tr = await s.runTrainStep({ x });
      expect(Array.from(tr.loss.data as Float32Array)).toEqual([11]);
      expect(Array.from(tr.b.data as Float32Array)).toEqual([4, 9]);
      expect(Array.from(tr.extra.data as Float32Array)).toEqual([9, 24]);
    } finally {
      await s.release();
    }
  });

  it('writes a checkpoint that reads back with the parameters in order', () => {
    const art = buildTrainingArtifacts(tinyHeatmapNet, { optimizer: { type: 'adamw', learningRate: 1e-3 }, schedule: { totalSteps: 10 } });
    const ck = readCheckpoint(art.checkpoint);
    expect(ck.trainable.map((t) => t.name)).toEqual(['c1.w', 'bn.scale', 'bn.bias', 'c2.w', 'c2.b']);
    expect(ck.frozen.map((t) => t.name)).toEqual(['bn.mean', 'bn.var']);
    expect(Array.from(ck.trainable[0].data)).toEqual(Array.from(art.initialValues[0]));
    expect(gradientOutputName('a')).toBe('a.gradient');
  });
});

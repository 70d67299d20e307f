// The standard-ONNX training step (forward + backward + optimizer) on onnxruntime-node,
// checked against a plain TypeScript optimizer reference applied to independently
// computed gradients, against torch's BatchNorm running statistics, and against the ORT
// training session (onnxruntime-web) running the ORT artifacts of the same definition.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type ModelDefinition,
  type OptimizerConfig,
  buildTrainingArtifacts,
  buildTrainingStep,
  effectiveLearningRate,
  gradientModel,
  gradientOutputName,
  spatialSoftmaxCrossEntropy,
  updatedName,
} from '@omnidistill/artifacts';
import { GRAD_CASES } from './gradcases.js';
import { randn, relError, runNode } from './helpers.js';
import { loadOrtTraining } from './ortweb.js';

const tinyNet: ModelDefinition = (g) => {
  const x = g.input('image', 'float32', [2, 3, 8, 8]);
  let h = g.conv(x, g.param('c1.w', [8, 3, 3, 3], randn(216, 1, 0.3)), g.param('c1.b', [8], randn(8, 3, 0.1)), { pads: [1, 1, 1, 1] });
  h = g.relu(h);
  h = g.conv(h, g.param('c2.w', [8, 8, 3, 3], randn(576, 2, 0.15)), undefined, { pads: [1, 1, 1, 1] });
  const heat = g.depthToSpace(h, 2);
  if (g.phase === 'eval') return { outputs: { heatmaps: heat } };
  const t = g.input('kp.target', 'int64', [2, 2]);
  const w = g.input('kp.weight', 'float32', [2, 2]);
  return { loss: spatialSoftmaxCrossEntropy(g, heat, t, w) };
};
const DATA = {
  image: { data: randn(384, 7), dims: [2, 3, 8, 8] },
  'kp.target': { data: BigInt64Array.of(17n, 200n, 255n, 0n), dims: [2, 2] },
  'kp.weight': { data: Float32Array.of(1, 1, 1, 0), dims: [2, 2] },
};
const SCHEDULE = { totalSteps: 10, warmupSteps: 2, milestones: [0.3] };

type Feeds = Record<string, { data: Float32Array | BigInt64Array; dims: readonly number[] }>;

/** Runs `steps` updates of the standard step model in onnxruntime-node. */
async function runStandardSteps(define: ModelDefinition, optimizer: OptimizerConfig, steps: number) {
  const step = buildTrainingStep(define, { optimizer, schedule: SCHEDULE });
  const state = new Map(step.state.map((s) => [s.input, s.initial]));
  const params = new Map<string, Float32Array>();
  const lrs: number[] = [];
  const losses: number[] = [];
  for (let k = 1; k <= steps; k++) {
    const feeds: Feeds = { ...DATA, step: { data: BigInt64Array.of(BigInt(k)), dims: [1] } };
    for (const s of step.state) feeds[s.input] = { data: state.get(s.input)!, dims: s.shape };
    const out = await runNode(step.model, feeds);
    for (const s of step.state) state.set(s.input, out[s.output].data as Float32Array);
    lrs.push((out.learning_rate.data as Float32Array)[0]);
    losses.push((out.loss.data as Float32Array)[0]);
  }
  for (const p of step.params) params.set(p.name, state.get(p.name)!);
  return { step, params, lrs, losses, state };
}

/** Plain float64 reference optimizers (torch semantics). */
function referenceSteps(optimizer: OptimizerConfig, gradsAt: (params: Map<string, Float32Array>) => Promise<Map<string, Float32Array>>, init: Map<string, Float32Array>, steps: number) {
  return (async () => {
    const params = new Map([...init].map(([k, v]) => [k, Float64Array.from(v)]));
    const m = new Map([...init].map(([k, v]) => [k, new Float64Array(v.length)]));
    const v2 = new Map([...init].map(([k, v]) => [k, new Float64Array(v.length)]));
    for (let t = 1; t <= steps; t++) {
      const grads = await gradsAt(new Map([...params].map(([k, v]) => [k, Float32Array.from(v)])));
      const lr = effectiveLearningRate(t, optimizer, SCHEDULE);
      for (const [name, p] of params) {
        const gr = grads.get(name)!;
        const mm = m.get(name)!;
        const vv = v2.get(name)!;
        for (let i = 0; i < p.length; i++) {
          if (optimizer.type === 'adamw') {
            const [b1, b2, eps, wd] = [optimizer.beta1 ?? 0.9, optimizer.beta2 ?? 0.999, optimizer.epsilon ?? 1e-8, optimizer.weightDecay ?? 0.01];
            p[i] *= 1 - lr * wd;
            mm[i] = b1 * mm[i] + (1 - b1) * gr[i];
            vv[i] = b2 * vv[i] + (1 - b2) * gr[i] * gr[i];
            const denom = Math.sqrt(vv[i]) / Math.sqrt(1 - b2 ** t) + eps;
            p[i] -= (lr / (1 - b1 ** t)) * (mm[i] / denom);
          } else {
            const d = gr[i] + (optimizer.weightDecay ?? 0) * p[i];
            mm[i] = (optimizer.momentum ?? 0) * mm[i] + d;
            p[i] -= lr * mm[i];
          }
        }
      }
    }
    return params;
  })();
}

async function gradientsAt(define: ModelDefinition, params: Map<string, Float32Array>): Promise<Map<string, Float32Array>> {
  const gm = gradientModel(define, 'standard');
  const feeds: Feeds = { ...DATA };
  for (const p of gm.params) feeds[p.name] = { data: params.get(p.name)!, dims: p.shape };
  const out = await runNode(gm.bytes, feeds);
  return new Map(gm.params.filter((p) => p.trainable).map((p) => [p.name, out[gradientOutputName(p.name)].data as Float32Array]));
}

describe('standard-ONNX training step on onnxruntime-node', () => {
  const cases: OptimizerConfig[] = [
    { type: 'adamw', learningRate: 0.01, weightDecay: 0.05 },
    { type: 'sgd', learningRate: 0.05, momentum: 0.9, weightDecay: 1e-3 },
    { type: 'sgd', learningRate: 0.05 },
  ];
  for (const optimizer of cases) {
    it(`matches a plain TS ${optimizer.type} reference over 4 steps (${JSON.stringify(optimizer)})`, async () => {
      const run = await runStandardSteps(tinyNet, optimizer, 4);
      const init = new Map(run.step.state.filter((s) => s.kind === 'param').map((s) => [s.param, s.initial]));
      const ref = await referenceSteps(optimizer, (p) => gradientsAt(tinyNet, p), init, 4);
      for (const [name, p] of ref) expect(relError(run.params.get(name)!, p), name).toBeLessThan(1e-5);
      run.lrs.forEach((lr, k) => expect(Math.abs(lr - effectiveLearningRate(k + 1, optimizer, SCHEDULE)) / lr).toBeLessThan(1e-6));
      expect(run.losses[3]).toBeLessThan(run.losses[0]);
    });
  }

  it('updates BatchNorm running statistics as torch does', async () => {
    const c = GRAD_CASES.find((x) => x.name === 'batch_norm')!;
    const ref = JSON.parse(readFileSync(new URL('./fixtures/gradcheck.json', import.meta.url), 'utf8')).cases.batch_norm as { running: Record<string, number[]> };
    const step = buildTrainingStep(c.define, { optimizer: { type: 'sgd', learningRate: 0.1 }, schedule: SCHEDULE });
    const feeds: Feeds = { ...c.feeds, step: { data: BigInt64Array.of(1n), dims: [1] } };
    for (const s of step.state) feeds[s.input] = { data: s.initial, dims: s.shape };
    const out = await runNode(step.model, feeds);
    expect(step.initialValues.map((v) => v.length)).toEqual(step.params.map((q) => q.shape.reduce((a, b) => a * b, 1)));
    const stats = step.state.filter((s) => s.kind === 'running-stat');
    expect(stats.map((s) => s.input)).toEqual(['bn1.mean', 'bn1.var', 'bn2.mean', 'bn2.var']);
    for (const s of stats) expect(relError(out[updatedName(s.input)].data as Float32Array, ref.running[s.input]), s.input).toBeLessThan(1e-5);
  });

  it('tracks the ORT training session (wasm) for SGD and AdamW', async () => {
    const ort = await loadOrtTraining();
    for (const [optimizer, tol] of [
      [{ type: 'sgd', learningRate: 0.05 }, 1e-5],
      [{ type: 'adamw', learningRate: 0.01 }, 1e-4],
    ] as const) {
      const run = await runStandardSteps(tinyNet, optimizer, 5);
      const art = buildTrainingArtifacts(tinyNet, { optimizer, schedule: SCHEDULE });
      const session = await ort.TrainingSession.create({ checkpointState: art.checkpoint, trainModel: art.trainingModel, optimizerModel: art.optimizerModel });
      try {
        for (let k = 0; k < 5; k++) {
          const feeds: Record<string, unknown> = {};
          for (const name of session.trainingInputNames as string[]) {
            const f = DATA[name as keyof typeof DATA];
            feeds[name] = new ort.Tensor(f.data instanceof BigInt64Array ? 'int64' : 'float32', f.data, [...f.dims]);
          }
          await session.runTrainStep(feeds);
          await session.runOptimizerStep();
          await session.lazyResetGrad();
        }
        const flat = (await session.getContiguousParameters(true)).data as Float32Array;
        let off = 0;
        for (const p of art.params.filter((q) => q.trainable)) {
          const n = p.shape.reduce((a, b) => a * b, 1);
          expect(relError(flat.subarray(off, off + n), run.params.get(p.name)!), `${optimizer.type} ${p.name}`).toBeLessThan(tol);
          off += n;
        }
      } finally {
        await session.release();
      }
    }
  });

  it('rejects a user input named like the step counter', () => {
    const bad: ModelDefinition = (g) => {
      const x = g.input('step', 'float32', [1]);
      const w = g.param('w', [1], Float32Array.of(1));
      return { loss: g.reduceSum(g.mul(x, w), [0]), outputs: { y: g.mul(x, w) } };
    };
    expect(() => buildTrainingStep(bad, { optimizer: { type: 'sgd', learningRate: 1 }, schedule: SCHEDULE })).toThrow(/reserved for the step counter/);
  });
});

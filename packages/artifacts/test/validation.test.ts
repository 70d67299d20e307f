// The writer's self-validation: every contract violation that ORT would turn into a bare
// C++ exception or, worse, a silently wrong run, is refused with a precise message.
import { describe, expect, it } from 'vitest';
import {
  type CheckpointState,
  type ModelDefinition,
  buildTrainingArtifacts,
  readCheckpoint,
  validateCheckpoint,
  writeCheckpoint,
} from '@omnidistill/artifacts';
import { loadOrtTraining } from './ortweb.js';

const opts = { optimizer: { type: 'sgd', learningRate: 0.1 } as const, schedule: { totalSteps: 10 } };

/** y = a·x + b with a loss; `swap` declares the params in the other order in eval. */
const linear =
  (swap = false): ModelDefinition =>
  (g) => {
    const x = g.input('x', 'float32', [4]);
    const declare = (n: string) => g.param(n, [1], Float32Array.of(n === 'a' ? 2 : 1));
    const [a, b] = swap && g.phase === 'eval' ? [declare('b'), declare('a')].reverse() : [declare('a'), declare('b')];
    const y = g.add(g.mul(x, a), b);
    if (g.phase === 'eval') return { outputs: { y } };
    const t = g.input('t', 'float32', [4]);
    const d = g.sub(y, t);
    return { loss: g.reduceSum(g.mul(d, d), [0]), outputs: { y } };
  };

const tensor = (name: string, n = 2) => ({ name, dims: [n], data: new Float32Array(n) });

describe('artifact validation', () => {
  it('accepts the well-formed definition', () => {
    expect(() => buildTrainingArtifacts(linear(), opts)).not.toThrow();
  });

  it('refuses an eval graph whose parameters come in another order (equal shapes would be silently wrong)', () => {
    expect(() => buildTrainingArtifacts(linear(true), opts)).toThrow(/eval graph parameter 0: expected "a" \(the training graph's parameter order\), received "b"/);
  });

  it('refuses user tensors that ORT would take for gradients', () => {
    const bad: ModelDefinition = (g) => {
      const x = g.input('x_grad', 'float32', [1]);
      const w = g.param('w', [1], Float32Array.of(1));
      const y = g.mul(x, w);
      return g.phase === 'eval' ? { outputs: { y } } : { loss: g.reduceSum(y, [0]) };
    };
    expect(() => buildTrainingArtifacts(bad, opts)).toThrow(/x_grad.*not ending in "_grad"/);
    const badOut: ModelDefinition = (g) => {
      const x = g.input('x', 'float32', [1]);
      const y = g.mul(x, g.param('w', [1], Float32Array.of(1)));
      return g.phase === 'eval' ? { outputs: { y_grad: y } } : { loss: g.reduceSum(y, [0]) };
    };
    expect(() => buildTrainingArtifacts(badOut, opts)).toThrow(/y_grad/);
  });

  it('refuses incomplete optimizer groups and mis-sized tensors in checkpoints', () => {
    const base: CheckpointState = { trainable: [tensor('a'), tensor('b')], frozen: [tensor('s')] };
    const group = (states: { paramName: string; momentums: ReturnType<typeof tensor>[] }[]) => ({ ...base, optimizerGroups: [{ groupName: 'group0', step: 3, initialLearningRate: 0.001, states }] });
    expect(() => validateCheckpoint(group([{ paramName: 'a', momentums: [tensor('momentum0')] }]))).toThrow(/missing b/);
    expect(() => validateCheckpoint(group([{ paramName: 'a', momentums: [tensor('momentum0')] }, { paramName: 'a', momentums: [tensor('momentum0')] }]))).toThrow(/each parameter once/);
    expect(() => validateCheckpoint(group([{ paramName: 'a', momentums: [tensor('m')] }, { paramName: 'b', momentums: [tensor('m')] }]))).toThrow(/"momentum0"/);
    expect(() => validateCheckpoint(group([{ paramName: 'a', momentums: [tensor('momentum0', 3)] }, { paramName: 'b', momentums: [tensor('momentum0')] }]))).toThrow(/dims: expected \[2\]/);
    expect(() => validateCheckpoint({ ...base, trainable: [{ name: 'a', dims: [3], data: new Float32Array(2) }] })).toThrow(/data.length: expected 3/);
    expect(() => validateCheckpoint({ ...base, frozen: [tensor('a')] })).toThrow(/unique parameter name/);
    expect(() => writeCheckpoint({ ...base, trainable: [tensor('w_grad')] })).toThrow(/_grad/);
  });

  it('round-trips a checkpoint with optimizer state and properties', () => {
    const state: CheckpointState = {
      trainable: [{ name: 'a', dims: [2, 1], data: Float32Array.of(1.5, -2) }],
      frozen: [{ name: 's', dims: [1], data: Float32Array.of(7) }],
      optimizerGroups: [{ groupName: 'group0', step: 12, initialLearningRate: 0.5, states: [{ paramName: 'a', momentums: [{ name: 'momentum0', dims: [2, 1], data: Float32Array.of(0.25, 4) }, { name: 'momentum1', dims: [2, 1], data: Float32Array.of(1, 2) }] }] }],
      properties: { ints: { epoch: 3 }, floats: { best: 0.5 }, strings: { note: 'hi' } },
    };
    const back = readCheckpoint(writeCheckpoint(state));
    expect(back.trainable[0].dims).toEqual([2, 1]);
    expect(Array.from(back.trainable[0].data)).toEqual([1.5, -2]);
    expect(Array.from(back.frozen[0].data)).toEqual([7]);
    expect(back.optimizerGroups![0].step).toBe(12);
    expect(back.optimizerGroups![0].initialLearningRate).toBe(0.5);
    expect(Array.from(back.optimizerGroups![0].states[0].momentums[1].data)).toEqual([1, 2]);
    expect(back.properties).toEqual({ ints: { epoch: 3 }, floats: { best: 0.5 }, strings: { note: 'hi' } });
    expect(() => readCheckpoint(new Uint8Array(16))).toThrow(/file identifier "ODTC"/);
  });

  it('a nominal checkpoint loads, and Adam moments + step written into a checkpoint are used by onnxruntime-web', async () => {
    const ort = await loadOrtTraining();
    const art = buildTrainingArtifacts(linear(), { ...opts, optimizer: { type: 'adamw', learningRate: 0.1 }, nominalCheckpoint: true });
    expect(readCheckpoint(art.checkpoint).nominal).toBe(true);
    const s1 = await ort.TrainingSession.create({ checkpointState: art.checkpoint, trainModel: art.trainingModel, optimizerModel: art.optimizerModel });
    // A nominal checkpoint needs all parameters at once (trainableOnly = false).
    await s1.loadParametersBuffer(new Uint8Array(Float32Array.of(3, 4).buffer), false);
    expect(Array.from((await s1.getContiguousParameters(true)).data as Float32Array)).toEqual([3, 4]);
    await s1.release();
    const withMoments = writeCheckpoint({
      trainable: [
        { name: 'a', dims: [1], data: Float32Array.of(2) },
        { name: 'b', dims: [1], data: Float32Array.of(1) },
      ],
      frozen: [],
      optimizerGroups: [
        {
          groupName: 'group0',
          step: 5,
          initialLearningRate: 0.001,
          states: ['a', 'b'].map((p) => ({ paramName: p, momentums: [{ name: 'momentum0', dims: [1], data: Float32Array.of(0.1) }, { name: 'momentum1', dims: [1], data: Float32Array.of(0.01) }] })),
        },
      ],
    });
    const s2 = await ort.TrainingSession.create({ checkpointState: withMoments, trainModel: art.trainingModel, optimizerModel: art.optimizerModel });
    await s2.runTrainStep({ x: new ort.Tensor('float32', Float32Array.of(1, 2, 3, 4), [4]), t: new ort.Tensor('float32', Float32Array.of(3, 5, 7, 9), [4]) });
    await s2.runOptimizerStep();
    const after = (await s2.getContiguousParameters(true)).data as Float32Array;
    // ORT takes both the moments and the step from the checkpoint: the update is AdamW at
    // t = 5 + 1 with m = 0.9·0.1, v = 0.999·0.01 (zero gradient: the data fit exactly).
    const expected = [2, 1].map((p) => {
      const t = 6;
      const denom = Math.sqrt(0.999 * 0.01) / Math.sqrt(1 - 0.999 ** t) + 1e-8;
      return p * (1 - 0.1 * 0.01) - (0.1 / (1 - 0.9 ** t)) * ((0.9 * 0.1) / denom);
    });
    expect(Math.abs(after[0] - expected[0])).toBeLessThan(1e-6);
    expect(Math.abs(after[1] - expected[1])).toBeLessThan(1e-6);
    await s2.release();
  });
});

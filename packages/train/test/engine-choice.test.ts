// Engine choice: explicit or by priority (native first, reported fallback), and students that
// start from given (teacher) weights on request instead of the fresh initialisation.
import { instantiate } from '@omnidistill/artifacts';
import { describe, expect, it } from 'vitest';
import { MixedSourceSampler, Rng, engineFactory, learningRateOf, nativeProviderAvailability, trainLoop, type TrainingSetup } from '@omnidistill/train';
import { defineHeatmapNet, heatmapBatch } from './toy-models.js';

const define = defineHeatmapNet();
const setup: TrainingSetup = { optimizer: { type: 'sgd', learningRate: 0.01 }, schedule: { totalSteps: 4 } };

describe('engine choice', () => {
  it('auto picks the native engine first', async () => {
    const lines: string[] = [];
    const engine = await engineFactory(define, setup, { log: (l) => lines.push(l), threads: 1 })(undefined);
    expect(engine.info.name).toBe('native');
    expect(lines).toEqual([]);
    await engine.release();
  });

  // Skipped where onnxruntime-node does have CUDA: asking for it is then no way to make native fail.
  it.skipIf(nativeProviderAvailability('cuda').available)(
    'auto reports why native could not start and falls back to wasm (CUDA requested where absent)',
    async () => {
      const lines: string[] = [];
      const engine = await engineFactory(define, setup, { provider: 'cuda', log: (l) => lines.push(l) })(undefined);
      expect(engine.info.name).toBe('wasm');
      expect(lines[0]).toMatch(/^engine auto: native engine unavailable \(native engine: provider cuda unavailable: .+\); using the wasm engine$/);
      await engine.release();
    },
  );

  it('an explicit choice never falls back', async () => {
    await expect(engineFactory(define, setup, { engine: 'native', provider: 'cuda' })(undefined)).rejects.toThrow(
      nativeProviderAvailability('cuda').available ? /./ : /provider cuda unavailable/,
    );
    await expect(async () => engineFactory(define, setup, { engine: 'gpu' as never })).rejects.toThrow(/options\.engine: expected one of "auto", "native", "wasm"/);
  });

  it.each(['native', 'wasm'] as const)('%s: starts from given (teacher) weights instead of fresh ones', async (name) => {
    const fresh = new Map(instantiate(define, 'eval', 'standard').g.params.map((p) => [p.name, p.init]));
    const teacher = new Map([...fresh].map(([k, v]) => [k, v.map((x) => x * 0.5 + 0.01)]));
    const engine = await engineFactory(define, setup, { engine: name, initialParameters: teacher, threads: 1 })(undefined);
    const st = await engine.state();
    expect(st.step).toBe(0);
    for (const [k, v] of teacher) expect(st.parameters.get(k)).toEqual(v);
    await engine.release();
  });
});

describe('learning rate for the progress line', () => {
  it('mirrors the in-graph schedule: warm-up, then ÷10 at 70% and 90%', () => {
    const lr = learningRateOf({ optimizer: { type: 'adamw', learningRate: 0.01 }, schedule: { totalSteps: 100, warmupSteps: 10, warmupStartFactor: 0.5 } });
    expect(lr(0)).toBeCloseTo(0.005, 12);
    expect(lr(5)).toBeCloseTo(0.0075, 12);
    expect(lr(10)).toBeCloseTo(0.01, 12);
    expect(lr(69)).toBeCloseTo(0.01, 12);
    expect(lr(70)).toBeCloseTo(0.001, 12);
    expect(lr(90)).toBeCloseTo(0.0001, 12);
  });
});

describe('evaluation hook', () => {
  it('runs every N steps and at the end, with the engine’s eval graph', async () => {
    const calls: { step: number; shape: number }[] = [];
    await trainLoop({
      createEngine: engineFactory(define, { ...setup, schedule: { totalSteps: 7 } }, { engine: 'native', threads: 1 }),
      iterations: 7,
      batchSize: 8,
      sampler: new MixedSourceSampler({ labeledSize: 10, generatedSize: 10, seed: 1 }),
      makeBatch: (_refs, rng) => heatmapBatch(rng),
      evaluate: {
        every: 3,
        run: async (engine, step) => {
          const out = await engine.evaluate(heatmapBatch(new Rng(step), false));
          calls.push({ step, shape: out.heatmaps.length });
        },
      },
      onProgress: () => {},
    });
    expect(calls.map((c) => c.step)).toEqual([3, 6, 7]);
    expect(calls[0].shape).toBe(8 * 2 * 16 * 16);
  });
});

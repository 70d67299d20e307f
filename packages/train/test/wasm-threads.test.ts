// The wasm runtime with 2 threads (its own test file: the runtime is loaded once per process).
// Needs the loader's browser shims (fetch for file:// URLs, globalThis.location).
import { describe, expect, it } from 'vitest';
import { Rng, engineFactory, type TrainingSetup } from '@omnidistill/train';
import { defineHeatmapNet, heatmapBatch } from './toy-models.js';

describe('wasm engine with 2 threads', () => {
  it('starts through the shims and computes the same losses as the native engine', async () => {
    const setup: TrainingSetup = { optimizer: { type: 'sgd', learningRate: 0.02 }, schedule: { totalSteps: 5 } };
    const losses = async (engine: 'wasm' | 'native') => {
      const e = await engineFactory(defineHeatmapNet(), setup, { engine, wasmThreads: 2, threads: 1 })(undefined);
      if (engine === 'wasm') expect(e.info.description).toMatch(/wasm \(onnxruntime-web 1\.19\.2, 2 threads\)/);
      const rng = new Rng(8);
      const out: number[] = [];
      for (let i = 0; i < 5; i++) out.push((await e.step(heatmapBatch(rng))).loss);
      await e.release();
      return out;
    };
    const [w, n] = [await losses('wasm'), await losses('native')];
    w.forEach((l, i) => expect(Math.abs(l - n[i]) / n[i]).toBeLessThan(1e-5));
  });
});

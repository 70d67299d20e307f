import { describe, expect, it } from 'vitest';
import { createNativeEngine, nativeProviderAvailability, spinningFromEnvironment } from '@omnidistill/train';
import { linearData, linearInit, linearNativeArtifacts, linearReferenceStep, type LinearSpec } from './linear-model.js';

const SGD: LinearSpec = { batch: 4, inDim: 3, outDim: 2, optimizer: { kind: 'sgd', lr: 0.1 } };
const ADAMW: LinearSpec = { ...SGD, optimizer: { kind: 'adamw', lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 } };

function batches(spec: LinearSpec, n: number) {
  const { xs, ys } = linearData(spec, n * spec.batch);
  return Array.from({ length: n }, (_, k) => ({
    x: { data: Float32Array.from(xs.slice(k * spec.batch, (k + 1) * spec.batch).flatMap((a) => [...a])), dims: [spec.batch, spec.inDim] },
    y: { data: Float32Array.from(ys.slice(k * spec.batch, (k + 1) * spec.batch).flatMap((a) => [...a])), dims: [spec.batch, spec.outDim] },
  }));
}

/** Largest |a − b| relative to the largest |b| of the tensor (elementwise ratios blow up near 0). */
function maxRelErr(a: Float32Array, b: Float64Array): number {
  let worst = 0, scale = 0;
  for (let i = 0; i < a.length; i++) {
    worst = Math.max(worst, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return worst / scale;
}

// Float32 in ORT vs float64 in the reference: SGD stays within 1e-5 relative; AdamW divides by
// sqrt(v), which amplifies rounding of small gradients, so it gets 1e-4.
describe.each([
  ['SGD', SGD, 1e-5],
  ['AdamW', ADAMW, 1e-4],
])('native engine, %s, against the plain-TS reference step', (_name, spec, tol) => {
  it('matches the reference parameters after 20 steps and keeps the moments', async () => {
    const init = linearInit(spec);
    const engine = await createNativeEngine(linearNativeArtifacts(spec), { initialParameters: init, threads: 1 });
    const ref = new Map([...init].map(([k, v]) => [k, Float64Array.from(v)]));
    const mom = new Map([...init].map(([k, v]) => [k, [new Float64Array(v.length), new Float64Array(v.length)]]));
    const data = batches(spec, 20);
    for (const [t, feeds] of data.entries()) {
      const refLoss = linearReferenceStep(spec, ref, mom, t + 1, feeds.x.data, feeds.y.data);
      const { loss } = await engine.step(feeds);
      expect(Math.abs(loss - refLoss) / refLoss).toBeLessThan(tol);
    }
    const st = await engine.state();
    expect(st.step).toBe(20);
    expect(maxRelErr(st.parameters.get('W')!, ref.get('W')!)).toBeLessThan(tol);
    expect(maxRelErr(st.parameters.get('b')!, ref.get('b')!)).toBeLessThan(tol);
    if (spec.optimizer.kind === 'adamw') expect(maxRelErr(st.moments!.get('W')![1], mom.get('W')![1])).toBeLessThan(1e-4);
    await engine.release();
  });

  it('resumes bit-for-bit from a saved state', async () => {
    const init = linearInit(spec);
    const data = batches(spec, 12);
    const straight = await createNativeEngine(linearNativeArtifacts(spec), { initialParameters: init, threads: 1 });
    for (const f of data) await straight.step(f);
    const first = await createNativeEngine(linearNativeArtifacts(spec), { initialParameters: init, threads: 1 });
    for (const f of data.slice(0, 5)) await first.step(f);
    const saved = await first.state();
    const resumed = await createNativeEngine(linearNativeArtifacts(spec), { initialParameters: init, initialState: saved, threads: 1 });
    for (const f of data.slice(5)) await resumed.step(f);
    const a = await straight.state();
    const b = await resumed.state();
    expect(b.step).toBe(12);
    for (const name of ['W', 'b']) {
      expect(b.parameters.get(name)).toEqual(a.parameters.get(name));
      expect(b.moments!.get(name)).toEqual(a.moments!.get(name));
    }
  });
});

describe('native providers', () => {
  it('says why CUDA is unavailable instead of falling back silently', async () => {
    const cuda = nativeProviderAvailability('cuda');
    expect(typeof cuda.reason).toBe('string');
    if (!cuda.available) {
      await expect(
        createNativeEngine(linearNativeArtifacts(SGD), { initialParameters: linearInit(SGD), provider: 'cuda' }),
      ).rejects.toThrow(/provider cuda unavailable: .+/);
    }
    expect(nativeProviderAvailability('cpu').available).toBe(true);
  });

  it('rejects a feed of the wrong shape naming it', async () => {
    const engine = await createNativeEngine(linearNativeArtifacts(SGD), { initialParameters: linearInit(SGD), threads: 1 });
    const [f] = batches(SGD, 1);
    await expect(engine.step({ ...f, x: { data: new Float32Array(3), dims: [1, 3] } })).rejects.toThrow(/feeds\.x\.dims: expected \[4, 3\]/);
  });
});

describe('native thread-pool spinning', () => {
  it('reads OMNIDISTILL_NATIVE_SPINNING: on unless set to 0/false/off/no, and rejects other values naming the variable', () => {
    expect(spinningFromEnvironment({})).toBe(true);
    expect(spinningFromEnvironment({ OMNIDISTILL_NATIVE_SPINNING: '' })).toBe(true);
    for (const v of ['1', 'true', 'ON', 'yes']) expect(spinningFromEnvironment({ OMNIDISTILL_NATIVE_SPINNING: v })).toBe(true);
    for (const v of ['0', 'false', 'Off', 'no']) expect(spinningFromEnvironment({ OMNIDISTILL_NATIVE_SPINNING: v })).toBe(false);
    expect(() => spinningFromEnvironment({ OMNIDISTILL_NATIVE_SPINNING: 'sometimes' })).toThrow(/OMNIDISTILL_NATIVE_SPINNING.*sometimes/);
  });

  it('says in the engine description whether a multi-threaded pool spins, and trains the same either way', async () => {
    const data = batches(SGD, 3);
    const losses: number[][] = [];
    for (const spinning of [true, false]) {
      const engine = await createNativeEngine(linearNativeArtifacts(SGD), { initialParameters: linearInit(SGD), threads: 2, spinning });
      expect(engine.info.description).toMatch(spinning ? /2 threads, spinning\)/ : /2 threads, no spinning\)/);
      const run: number[] = [];
      for (const feeds of data) run.push((await engine.step(feeds)).loss);
      losses.push(run);
      await engine.release();
    }
    expect(losses[1]).toEqual(losses[0]);
    const single = await createNativeEngine(linearNativeArtifacts(SGD), { initialParameters: linearInit(SGD), threads: 1 });
    expect(single.info.description).toMatch(/, 1 thread\)$/);
    await single.release();
  });
});

describe('native inter-op threads', () => {
  it('runs independent nodes in parallel when asked, says so in the description, and trains the same as one node at a time', async () => {
    const data = batches(ADAMW, 3);
    const losses: number[][] = [];
    const states: Float32Array[][] = [];
    for (const interOpThreads of [1, 2]) {
      const engine = await createNativeEngine(linearNativeArtifacts(ADAMW), { initialParameters: linearInit(ADAMW), threads: 1, interOpThreads });
      expect(engine.info.description).toMatch(interOpThreads === 2 ? /, 2 nodes at once × 1 thread, (no )?spinning\)/ : /, 1 thread\)$/);
      const run: number[] = [];
      for (const feeds of data) run.push((await engine.step(feeds)).loss);
      losses.push(run);
      states.push([...(await engine.state()).parameters.values()]);
      await engine.release();
    }
    expect(losses[1]).toEqual(losses[0]);
    expect(states[1]).toEqual(states[0]);
    await expect(createNativeEngine(linearNativeArtifacts(ADAMW), { initialParameters: linearInit(ADAMW), interOpThreads: 0 })).rejects.toThrow(/options\.interOpThreads/);
  });
});

describe('native session configuration entries', () => {
  it('hands extra entries to ONNX Runtime by their full key', async () => {
    const options = { initialParameters: linearInit(SGD), threads: 1 };
    const engine = await createNativeEngine(linearNativeArtifacts(SGD), { ...options, sessionConfig: { 'session.dynamic_block_base': '4' } });
    expect(Number.isFinite((await engine.step(batches(SGD, 1)[0])).loss)).toBe(true);
    await engine.release();
    // An entry ORT acts on at load time: told the model is in ORT format, it refuses the ONNX bytes.
    await expect(createNativeEngine(linearNativeArtifacts(SGD), { ...options, sessionConfig: { 'session.load_model_format': 'ORT' } })).rejects.toThrow();
  });
});

// Done-when of the training issue on the native engine: the toy heatmap network and the toy
// detection head train to a loss far below the initial one, and the exported inference model
// reproduces the eval graph's outputs in onnxruntime-node.
import { instantiate, type ModelDefinition } from '@omnidistill/artifacts';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { Rng, createNativeEngine, exportInferenceModel, nativeStepArtifacts, nchwcBlockSize, profileNativeStep, type Feeds } from '@omnidistill/train';
import { defineDetectionHead, defineHeatmapNet, detectionBatch, heatmapBatch } from './toy-models.js';

function initialParameters(define: ModelDefinition): Map<string, Float32Array> {
  return new Map(instantiate(define, 'eval', 'standard').g.params.map((p) => [p.name, p.init]));
}

async function trainNative(define: ModelDefinition, batch: (rng: Rng) => Feeds, steps: number) {
  const artifacts = nativeStepArtifacts(define, { optimizer: { type: 'adamw', learningRate: 0.01 }, schedule: { totalSteps: steps } });
  const engine = await createNativeEngine(artifacts, { initialParameters: initialParameters(define), threads: 1 });
  const rng = new Rng(11);
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) losses.push((await engine.step(batch(rng))).loss);
  return { engine, losses };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('toy tasks on the native engine', () => {
  it('heatmap network: spatial softmax CE falls far below its start', async () => {
    const { engine, losses } = await trainNative(defineHeatmapNet(), heatmapBatch, 120);
    // Start ≈ ln(256) ≈ 5.5 (uniform over 16×16); require a 20× drop of the last-10 mean.
    expect(losses[0]).toBeGreaterThan(4);
    expect(mean(losses.slice(-10))).toBeLessThan(losses[0] / 20);
    await engine.release();
  });

  it('detection head: focal + smooth-L1 loss falls far below its start', async () => {
    const { engine, losses } = await trainNative(defineDetectionHead(), detectionBatch, 150);
    expect(mean(losses.slice(-10))).toBeLessThan(mean(losses.slice(0, 5)) / 5);
    await engine.release();
  });

  it('the exported model gives the eval graph outputs in onnxruntime-node (≤ 1e-5)', async () => {
    const define = defineHeatmapNet();
    const { engine } = await trainNative(define, heatmapBatch, 20);
    const feeds = heatmapBatch(new Rng(99), false);
    const viaEngine = await engine.evaluate(feeds);
    const st = await engine.state();
    const onnx = exportInferenceModel(define, st.parameters);
    const session = await ort.InferenceSession.create(onnx, { intraOpNumThreads: 1 });
    const out = await session.run({ image: new ort.Tensor('float32', feeds.image.data as Float32Array, [...feeds.image.dims]) });
    const a = viaEngine.heatmaps, b = out.heatmaps.data as Float32Array;
    expect(b.length).toBe(a.length);
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(a[i])));
    expect(worst).toBeLessThanOrEqual(1e-5);
    // Trained parameters were baked in: the output differs from the initial model's.
    const initial = await ort.InferenceSession.create(exportInferenceModel(define, initialParameters(define)));
    const out0 = await initial.run({ image: new ort.Tensor('float32', feeds.image.data as Float32Array, [...feeds.image.dims]) });
    expect(Array.from(out0.heatmaps.data as Float32Array)).not.toEqual(Array.from(b));
    await engine.release();
  });

  it('export refuses parameters of another model, naming them', () => {
    const define = defineHeatmapNet();
    const params = initialParameters(define);
    params.set('nope.w', new Float32Array(1));
    expect(() => exportInferenceModel(define, params)).toThrow(/parameters\.nope\.w: expected a parameter of the model/);
    const short = initialParameters(define);
    short.set('c1.w', new Float32Array(3));
    expect(() => exportInferenceModel(define, short)).toThrow(/parameters\.c1\.w\.length: expected 144/);
  });
});

describe('profileNativeStep', () => {
  it('attributes every node of the step graph to forward, backward or optimizer, over real steps', async () => {
    const define = defineDetectionHead();
    const setup = { optimizer: { type: 'adamw' as const, learningRate: 0.01 }, schedule: { totalSteps: 10 } };
    const p = await profileNativeStep(define, setup, (i) => detectionBatch(new Rng(i)), { threads: 1, steps: 3, warmup: 1 });
    expect(p.steps).toBe(3);
    // Times only (no speed assertions): every part ran, and the parts add up to the kernel time.
    for (const part of ['forward', 'backward', 'optimizer'] as const) expect(p.sections[part], part).toBeGreaterThan(0);
    const kernel = p.sections.forward + p.sections.backward + p.sections.optimizer + p.sections.other;
    expect(kernel + p.betweenNodesMs).toBeCloseTo(p.stepMs, 6);
    expect(p.ops.reduce((s, o) => s + o.ms, 0)).toBeCloseTo(kernel, 6);
    // Node by node: the same kernel time, each node's fastest run no slower than its mean.
    expect(p.perNode.reduce((s, n) => s + n.ms, 0)).toBeCloseTo(kernel, 6);
    expect(new Set(p.perNode.map((n) => n.name)).size).toBe(p.perNode.length);
    for (const n of p.perNode) expect(n.minMs, n.name).toBeLessThanOrEqual(n.ms + 1e-9);
    expect(p.perNode.some((n) => n.section === 'backward' && n.op === 'Conv')).toBe(true);
    // ORT's cost per node: some gap between nodes, no more than all of the time between them.
    expect(p.medianGapUs).toBeGreaterThan(0);
    expect(p.medianGapUs / 1000).toBeLessThanOrEqual(p.betweenNodesMs);
    // Nodes of the NCHWc rewrite (the blocked Conv, its ReorderInput, ...) count in the part of
    // the node they replaced, not in 'other' (ORT's own additions).
    expect(p.ops.some((o) => o.section === 'forward' && o.op === 'Conv')).toBe(true);
    expect(p.ops.some((o) => o.section === 'backward' && o.op === 'Conv')).toBe(true);
    if (await nchwcBlockSize()) expect(p.ops.some((o) => o.section === 'backward' && o.op === 'ReorderInput')).toBe(true);
    // The optimizer runs over one concatenated vector: its Concat and Split are there, in the optimizer part.
    expect(p.ops.some((o) => o.section === 'optimizer' && o.op === 'Split')).toBe(true);
    // Each node of the graph ran once per step (ORT may fuse some, never add to ours without a name).
    const graphNodes = Object.keys(nativeStepArtifacts(define, setup, { nchwcBlock: await nchwcBlockSize() }).nodeSections ?? {}).length;
    expect(p.nodes).toBeGreaterThan(0.5 * graphNodes);
    expect(p.nodes).toBeLessThanOrEqual(graphNodes + p.ops.filter((o) => o.section === 'other').reduce((s, o) => s + o.nodes, 0));
  });

  it('names a missing feed', async () => {
    await expect(profileNativeStep(defineDetectionHead(), { optimizer: { type: 'sgd', learningRate: 0.01 }, schedule: { totalSteps: 10 } }, {}, { steps: 1 })).rejects.toThrow(/feeds\.\w+/);
  });
});

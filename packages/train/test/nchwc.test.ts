// NCHWc convolutions in the native step: the rewritten graph computes what the plain one does
// (forward outputs and whole training steps), on the block size the runtime reports.
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { GraphBuilder, NCHWC_DOMAIN, buildGradients, encodeModel, nchwcConvolutions, type ConvWeightGradient, type Value } from '@omnidistill/artifacts';
import { Rng, engineFactory, nchwcBlockSize, nchwcFromEnvironment, weightGradConvFromEnvironment, type TrainingSetup } from '@omnidistill/train';
import { defineHeatmapNet, heatmapBatch } from './toy-models.js';

const block = await nchwcBlockSize();
const why = 'skipped where onnxruntime-node has no NCHWc kernels (non-x86, no AVX2): the engine never rewrites there';

/** A graph of the conv shapes the reference models use: RGB stride-2, channels off the block, dilated, 1 × 1, with and without bias. */
function convStack(): GraphBuilder {
  const g = new GraphBuilder({ phase: 'eval' });
  const rng = new Rng(4);
  const w = (name: string, shape: number[]) => g.param(name, shape, Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.nextNormal() * 0.2));
  let x: Value = g.input('x', 'float32', [2, 3, 20, 20]);
  x = g.relu(g.conv(x, w('c0', [16, 3, 3, 3]), undefined, { strides: [2, 2], pads: [1, 1, 1, 1] })); // RGB input, NCHW algorithm
  x = g.relu(g.conv(x, w('c1', [24, 16, 3, 3]), w('b1', [24]), { pads: [1, 1, 1, 1] })); // 24 outputs: padded block
  x = g.relu(g.conv(x, w('c2', [32, 24, 3, 3]), undefined, { strides: [2, 2], pads: [1, 1, 1, 1] })); // 24 inputs
  x = g.relu(g.conv(x, w('c3', [32, 32, 3, 3]), undefined, { pads: [2, 2, 2, 2], dilations: [2, 2] }));
  g.output(g.conv(x, w('c4', [68, 32, 1, 1]), w('b4', [68])), 'y'); // 68 outputs, 1 × 1
  return g;
}

describe('nchwcConvolutions', () => {
  it.skipIf(block === 0)(`computes the same convolutions as the plain graph (${why})`, async () => {
    const g = convStack();
    const plain = g.toModel({ paramsAs: 'inputs' });
    const blocked = nchwcConvolutions(plain, block);
    expect(blocked.nodes.filter((n) => n.domain === NCHWC_DOMAIN && n.opType === 'Conv')).toHaveLength(5);
    // Each ReLU right after a conv runs inside it.
    expect(blocked.nodes.filter((n) => n.opType === 'Relu')).toHaveLength(0);
    const rng = new Rng(9);
    const feeds: Record<string, ort.Tensor> = { x: new ort.Tensor('float32', Float32Array.from({ length: 2 * 3 * 20 * 20 }, () => rng.nextNormal()), [2, 3, 20, 20]) };
    for (const p of g.params) feeds[p.name] = new ort.Tensor('float32', p.init, [...p.shape]);
    const run = async (bytes: Uint8Array) => {
      const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
      const y = (await s.run(feeds)).y;
      await s.release();
      return y;
    };
    const a = await run(encodeModel(plain));
    const b = await run(encodeModel(blocked));
    expect(b.dims).toEqual(a.dims);
    const x = a.data as Float32Array, y = b.data as Float32Array;
    let diff = 0, scale = 0;
    for (let i = 0; i < x.length; i++) {
      diff = Math.max(diff, Math.abs(x[i] - y[i]));
      scale = Math.max(scale, Math.abs(x[i]));
    }
    expect(scale).toBeGreaterThan(0.1);
    expect(diff / scale).toBeLessThan(1e-5);
  });

  // Weight gradients as convolutions of Xᵀ by dYᵀ: the rewrite folds dYᵀ's transpose into the
  // blocked weight (ReorderInput + a block transpose). A batch of 16 takes the blocked layout
  // (the batch is that conv's input channels), a batch of 2 the NCHW-input one.
  for (const batch of [16, 2]) {
    it.skipIf(block === 0)(`computes the weight gradients of the plain graph with them as NCHWc convolutions, batch ${batch} (${why})`, async () => {
      const rng = new Rng(11);
      const model = (form: ConvWeightGradient) => {
        const g = new GraphBuilder({ phase: 'train', lowering: 'standard' });
        const w = (name: string, shape: number[]) => g.param(name, shape, Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 0.37 + shape[0]) * 0.2));
        let x: Value = g.input('x', 'float32', [batch, 3, 20, 20]);
        x = g.relu(g.conv(x, w('c0', [16, 3, 3, 3]), undefined, { strides: [2, 2], pads: [1, 1, 1, 1] }));
        x = g.relu(g.conv(x, w('c1', [24, 16, 3, 3]), w('b1', [24]), { pads: [1, 1, 1, 1] }));
        x = g.relu(g.conv(x, w('c2', [32, 24, 3, 3]), undefined, { strides: [2, 2], pads: [1, 1, 0, 0] }));
        // 18 outputs: not a multiple of 4 (its input gradient stays a plain Conv; dYᵀ is padded before ReorderInput).
        const y = g.conv(x, w('c3', [18, 32, 3, 3]), undefined, { pads: [2, 2, 2, 2], dilations: [2, 2] });
        const loss = g.reduceSum(g.mul(y, g.input('t', 'float32', y.shape)), [0, 1, 2, 3]);
        const grads = buildGradients(g, loss, g.params.map((p) => p.value), { convWeightGradient: form });
        for (const p of g.params) g.output(grads.get(p.name)!, `${p.name}.grad`);
        return { g, model: g.toModel({ paramsAs: 'inputs' }), t: y.shape };
      };
      const plain = model('classic');
      const conv = model('conv');
      const blocked = nchwcConvolutions(conv.model, block);
      // Four forward convs, the input gradient of c1 (c2's is a ConvTranspose, c3's has 18 input
      // channels), four weight gradients. Every weight that is a [1, 0, 2, 3] transpose (the
      // weight gradients' dYᵀ, c1's swapped kernel) has it folded into the blocked weight.
      const padPasses = blocked.nodes.filter((n) => n.name.endsWith('/x_pad_node'));
      expect(blocked.nodes.filter((n) => n.domain === NCHWC_DOMAIN && n.opType === 'Conv' && !padPasses.includes(n))).toHaveLength(9);
      // The zero padding of a weight gradient's Xᵀ: with the batch as blocked channels it is done
      // after the reorder by a depthwise 1 × 1 conv by ones (no Pad left in front of a conv);
      // the NCHW-input layout (batch 2) reads Xᵀ as it is, Pad included.
      const convInputs = new Set(blocked.nodes.filter((n) => n.opType === 'Conv').map((n) => n.inputs[0]));
      const padsIntoConvs = blocked.nodes.filter((n) => n.opType === 'Pad' && convInputs.has(n.outputs[0]));
      // A batch of exactly one block needs no Transpose for Xᵀ: X viewed as [1, N, C·H, W] reorders to it.
      const batchViews = blocked.nodes.filter((n) => n.opType === 'ReorderInput' && n.inputs[0].endsWith('_batch_view'));
      const xtTransposes = blocked.nodes.filter((n) => n.opType === 'Transpose' && (n.attributes.perm as { value: number[] }).value.join(',') === '1,0,2,3' && blocked.nodes.some((m) => m.inputs.includes(n.outputs[0]) && ['Pad', 'ReorderInput'].includes(m.opType)));
      if (batch === 16) {
        expect(padPasses.length).toBeGreaterThanOrEqual(3);
        for (const p of padPasses) expect(p.attributes.group, p.name).toEqual({ type: 'int', value: block });
        expect(padsIntoConvs).toHaveLength(0);
        expect(batchViews.length).toBe(block === 16 ? 4 : 0);
        if (block === 16) expect(xtTransposes).toHaveLength(0);
      } else {
        expect(padPasses).toHaveLength(0);
        expect(padsIntoConvs.length).toBeGreaterThanOrEqual(3);
        expect(batchViews).toHaveLength(0);
      }
      expect(blocked.nodes.filter((n) => n.name.endsWith('/t_perm_node'))).toHaveLength(5);
      expect(blocked.nodes.filter((n) => n.name.endsWith('/t_pad_node')).length).toBeGreaterThanOrEqual(1);
      // Each tensor is reordered once (dY feeds its input gradient's conv and its weight gradient's weight).
      const reorderSources = blocked.nodes.filter((n) => n.opType === 'ReorderInput').map((n) => n.inputs[0]);
      expect(new Set(reorderSources).size).toBe(reorderSources.length);
      const feeds: Record<string, ort.Tensor> = {
        x: new ort.Tensor('float32', Float32Array.from({ length: batch * 3 * 400 }, () => rng.nextNormal()), [batch, 3, 20, 20]),
        t: new ort.Tensor('float32', Float32Array.from({ length: plain.t.reduce((a, b) => a * b, 1) }, () => rng.nextNormal()), [...plain.t]),
      };
      for (const p of plain.g.params) feeds[p.name] = new ort.Tensor('float32', p.init, [...p.shape]);
      const run = async (bytes: Uint8Array) => {
        const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
        const out = await s.run(feeds);
        await s.release();
        return out;
      };
      const a = await run(encodeModel(plain.model));
      const b = await run(encodeModel(blocked));
      for (const p of plain.g.params) {
        const x = a[`${p.name}.grad`].data as Float32Array, y = b[`${p.name}.grad`].data as Float32Array;
        let diff = 0, scale = 0;
        for (let i = 0; i < x.length; i++) {
          diff = Math.max(diff, Math.abs(x[i] - y[i]));
          scale = Math.max(scale, Math.abs(x[i]));
        }
        expect(scale, p.name).toBeGreaterThan(1e-3);
        expect(diff / scale, p.name).toBeLessThan(1e-4);
      }
    });
  }

  it('leaves grouped convolutions alone and rejects a block size MLAS cannot have', () => {
    const g = new GraphBuilder({ phase: 'eval' });
    const x = g.input('x', 'float32', [1, 8, 6, 6]);
    g.output(g.conv(x, g.param('w', [8, 1, 3, 3], new Float32Array(72)), undefined, { pads: [1, 1, 1, 1], group: 8 }), 'y');
    const model = g.toModel({ paramsAs: 'inputs' });
    expect(nchwcConvolutions(model, 16)).toBe(model);
    expect(() => nchwcConvolutions(model, 12)).toThrow(/nchwcConvolutions: block: expected a power of two ≥ 4/);
  });

  it('reads OMNIDISTILL_NATIVE_NCHWC and OMNIDISTILL_NATIVE_WEIGHT_GRAD_CONV: on unless 0/false/off/no, and rejects other values naming the variable', () => {
    expect(nchwcFromEnvironment({})).toBe(true);
    expect(nchwcFromEnvironment({ OMNIDISTILL_NATIVE_NCHWC: 'off' })).toBe(false);
    expect(() => nchwcFromEnvironment({ OMNIDISTILL_NATIVE_NCHWC: 'maybe' })).toThrow(/OMNIDISTILL_NATIVE_NCHWC/);
    expect(weightGradConvFromEnvironment({})).toBe(true);
    expect(weightGradConvFromEnvironment({ OMNIDISTILL_NATIVE_WEIGHT_GRAD_CONV: '0' })).toBe(false);
    expect(() => weightGradConvFromEnvironment({ OMNIDISTILL_NATIVE_WEIGHT_GRAD_CONV: 'maybe' })).toThrow(/OMNIDISTILL_NATIVE_WEIGHT_GRAD_CONV/);
  });
});

describe('native engine with NCHWc convolutions', () => {
  it.skipIf(block === 0)(`trains like the plain step and says so in its description (${why})`, async () => {
    const define = defineHeatmapNet(5);
    const setup: TrainingSetup = { optimizer: { type: 'adamw', learningRate: 0.01 }, schedule: { totalSteps: 10 } };
    const losses = async (nchwc: boolean) => {
      const e = await engineFactory(define, setup, { engine: 'native', provider: 'cpu', threads: 1, nchwc })(undefined);
      const rng = new Rng(2);
      const out: number[] = [];
      for (let i = 0; i < 6; i++) out.push((await e.step(heatmapBatch(rng))).loss);
      const description = e.info.description;
      await e.release();
      return { out, description };
    };
    const plain = await losses(false);
    const blocked = await losses(true);
    expect(plain.description).not.toMatch(/NCHWc/);
    expect(blocked.description).toContain(`NCHWc ${block} convolutions`);
    expect(plain.out[5]).toBeLessThan(plain.out[0]);
    blocked.out.forEach((l, i) => expect(Math.abs(l - plain.out[i]) / plain.out[i]).toBeLessThan(1e-4));
  });
});

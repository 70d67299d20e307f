import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { GraphBuilder, encodeModel } from '@omnidistill/artifacts';
import { randn, refConv2d, relError, runNode } from './helpers.js';

describe('GraphBuilder → onnxruntime-node', () => {
  it('serialises a conv + relu + pool model whose outputs match a plain reference', async () => {
    const g = new GraphBuilder();
    const x = g.input('image', 'float32', [2, 3, 9, 8]);
    const wData = randn(4 * 3 * 3 * 3, 1, 0.3);
    const bData = randn(4, 2, 0.1);
    const w = g.param('conv.w', [4, 3, 3, 3], wData);
    const b = g.param('conv.b', [4], bData);
    const y = g.conv(x, w, b, { strides: [2, 2], pads: [1, 1, 1, 1], dilations: [1, 1] });
    expect(y.shape).toEqual([2, 4, 5, 4]);
    const r = g.relu(y);
    g.output(r, 'features');
    const pooled = g.maxPool(r, { kernel: [2, 2] });
    expect(pooled.shape).toEqual([2, 4, 2, 2]);
    g.output(pooled, 'pooled');
    const xData = randn(2 * 3 * 9 * 8, 3);
    const out = await runNode(g.toModelBytes(), { image: { data: xData, dims: [2, 3, 9, 8] } });
    const ref = refConv2d(xData, [2, 3, 9, 8], wData, [4, 3, 3, 3], bData, 2, 1, 1);
    expect(out.features.dims).toEqual(ref.shape);
    expect(relError(out.features.data as Float32Array, ref.data.map((v) => Math.max(v, 0)))).toBeLessThan(1e-6);
    expect(out.pooled.dims).toEqual([2, 4, 2, 2]);
  });

  it('infers static shapes for shape ops and rejects bad ones with a precise message', () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', [2, 12, 4, 5]);
    expect(g.depthToSpace(x, 2).shape).toEqual([2, 3, 8, 10]);
    expect(g.reshape(x, [2, -1]).shape).toEqual([2, 240]);
    expect(g.transpose(x, [0, 2, 3, 1]).shape).toEqual([2, 4, 5, 12]);
    expect(g.slice(x, [1, -3], [100, 5], [1, 2]).shape).toEqual([2, 11, 3, 5]);
    expect(g.reduceSum(x, [1, 3]).shape).toEqual([2, 4]);
    expect(g.reduceMean(x, [-1], true).shape).toEqual([2, 12, 4, 1]);
    expect(g.resize(x, { mode: 'linear', scales: [2, 2] }).shape).toEqual([2, 12, 8, 10]);
    expect(g.add(x, g.input('b', 'float32', [12, 1, 1])).shape).toEqual([2, 12, 4, 5]);
    expect(() => g.reshape(x, [7, -1])).toThrow(/Reshape: shape for x \[2, 12, 4, 5\]: expected a shape with 480 elements/);
    expect(() => g.add(x, g.input('c', 'float32', [3]))).toThrow(/broadcastable shapes/);
    expect(() => g.param('w_grad', [1], new Float32Array(1))).toThrow(/_grad/);
  });

  it('runs gather, gatherElements, depthToSpace, resize and softmax in onnxruntime-node', async () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', [1, 8, 2, 3]);
    const idx = g.input('idx', 'int64', [2]);
    const ps = g.depthToSpace(x, 2); // [1, 2, 4, 6]
    g.output(ps, 'ps');
    g.output(g.gather(ps, idx, 3), 'gathered');
    g.output(g.resize(ps, { mode: 'nearest', scales: [2, 2] }), 'up');
    g.output(g.logSoftmax(g.reshape(ps, [2, 24]), -1), 'lsm');
    const xData = randn(48, 5);
    const out = await runNode(g.toModelBytes(), {
      x: { data: xData, dims: [1, 8, 2, 3] },
      idx: { data: BigInt64Array.of(5n, 0n), dims: [2] },
    });
    // torch.nn.PixelShuffle: out[c, h·2+i, w·2+j] = in[c·4 + i·2 + j, h, w]
    const ps0 = out.ps.data as Float32Array;
    for (let c = 0; c < 2; c++)
      for (let h = 0; h < 2; h++)
        for (let w = 0; w < 3; w++)
          for (let i = 0; i < 2; i++)
            for (let j = 0; j < 2; j++) {
              expect(ps0[(c * 4 + h * 2 + i) * 6 + w * 2 + j]).toBe(xData[((c * 4 + i * 2 + j) * 2 + h) * 3 + w]);
            }
    const gathered = out.gathered.data as Float32Array;
    expect(out.gathered.dims).toEqual([1, 2, 4, 2]);
    expect(gathered[0]).toBe(ps0[5]);
    expect(gathered[1]).toBe(ps0[0]);
    expect(out.up.dims).toEqual([1, 2, 8, 12]);
    expect((out.up.data as Float32Array)[1]).toBe(ps0[0]);
    const lsm = out.lsm.data as Float32Array;
    let s = 0;
    for (let i = 0; i < 24; i++) s += Math.exp(lsm[i]);
    expect(Math.abs(s - 1)).toBeLessThan(1e-5);
  });

  it('serialises -1 dimensions of a hand-made model as symbolic (dynamic) axes', async () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', [1, 2]);
    g.output(g.relu(x), 'y');
    const m = g.toModel();
    const dyn = { ...m, inputs: [{ name: 'x', type: { kind: 'tensor' as const, dtype: 'float32' as const, shape: [-1, 2] } }], outputs: [{ name: 'y', type: { kind: 'tensor' as const, dtype: 'float32' as const, shape: [-1, 2] } }], valueInfo: [] };
    const session = await ort.InferenceSession.create(encodeModel(dyn));
    const meta = session.inputMetadata[0] as unknown as { shape: (number | string)[] };
    expect(meta.shape).toEqual(['x_dim0', 2]);
    const out = await session.run({ x: new ort.Tensor('float32', Float32Array.of(-1, 2, 3, -4, 5, 6), [3, 2]) });
    expect(Array.from(out.y.data as Float32Array)).toEqual([0, 2, 3, 0, 5, 6]);
    await session.release();
  });
});

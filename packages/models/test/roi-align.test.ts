import { readFileSync } from 'node:fs';
import { GraphBuilder } from '@omnidistill/artifacts';
import { describe, expect, it } from 'vitest';
import { roiAlign, roiAlignReference, type RoiAlignOptions } from '@omnidistill/models';
import { maxAbsDiff, randomFloats, runOnnx } from './helpers.js';

interface Fixture {
  dims: [number, number, number, number];
  features: number[];
  cases: string[];
  rois: number[][];
  outputs: Record<string, number[]>;
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/roi-align-torchvision.json', import.meta.url), 'utf8')) as Fixture;
const rois4 = Float32Array.from(fixture.rois.flatMap((r) => r.slice(1)));
const batchIndex = fixture.rois.map((r) => r[0]);
const features = Float32Array.from(fixture.features);

/** The graph RoIAlign as a one-op model: features (+ batch index) + rois → pooled. */
function graphModel(dims: readonly number[], r: number, withBatch: boolean, o: RoiAlignOptions): Uint8Array {
  const g = new GraphBuilder();
  const f = g.input('features', 'float32', dims);
  const rois = g.input('rois', 'float32', [r, 4]);
  const bi = withBatch ? g.input('batch', 'int64', [r]) : undefined;
  g.output(roiAlign(g, f, rois, bi, o), 'out');
  return g.toModelBytes();
}

describe('RoIAlign', () => {
  for (const aligned of [true, false]) {
    for (const samplingRatio of [1, 2]) {
      const o = { outputSize: 5, spatialScale: 0.25, samplingRatio, aligned };
      const expected = fixture.outputs[`aligned=${aligned ? 'True' : 'False'},sampling=${samplingRatio}`];

      it(`TS reference equals torchvision.ops.roi_align (aligned=${aligned}, sampling ${samplingRatio})`, () => {
        const got = roiAlignReference(features, fixture.dims, rois4, batchIndex, o);
        expect(maxAbsDiff(got, expected)).toBeLessThan(1e-5);
      });

      it(`graph version equals torchvision on every edge case (aligned=${aligned}, sampling ${samplingRatio})`, async () => {
        const bytes = graphModel(fixture.dims, rois4.length / 4, true, o);
        const out = await runOnnx(bytes, {
          features: { data: features, dims: [...fixture.dims] },
          rois: { data: rois4, dims: [rois4.length / 4, 4] },
          batch: { data: BigInt64Array.from(batchIndex.map(BigInt)), dims: [batchIndex.length] },
        });
        const got = out.out.data as Float32Array;
        const per = 3 * 25;
        fixture.cases.forEach((name, i) => {
          expect(maxAbsDiff(got.subarray(i * per, (i + 1) * per), expected.slice(i * per, (i + 1) * per)), name).toBeLessThan(1e-5);
        });
      });
    }
  }

  it('without a batch index, reads image 0 for every RoI, with N, H, W dynamic in the same graph', async () => {
    const o = { outputSize: 7, spatialScale: 0.25, samplingRatio: 2 };
    // Built for 1×4×8×8 and 3 RoIs; run on 1×4×13×10 and 5 RoIs after marking nothing static but
    // the builder's nominal shapes — the graph computes every size from Shape at run time.
    const g = new GraphBuilder();
    const f = g.input('features', 'float32', [1, 4, 8, 8]);
    const rois = g.input('rois', 'float32', [3, 4]);
    g.output(roiAlign(g, f, rois, undefined, o), 'out');
    const m = g.toModel();
    const { encodeModel } = await import('@omnidistill/artifacts');
    const dyn = encodeModel({
      ...m,
      valueInfo: [],
      inputs: [
        { name: 'features', type: { kind: 'tensor', dtype: 'float32', shape: [1, 4, -1, -1] } },
        { name: 'rois', type: { kind: 'tensor', dtype: 'float32', shape: [-1, 4] } },
      ],
      outputs: [{ name: 'out', type: { kind: 'tensor', dtype: 'float32', shape: [-1, 4, 7, 7] } }],
    });
    const feats = randomFloats(4 * 13 * 10, 7);
    const r = Float32Array.of(0, 0, 40, 52, 3, 5, 20, 30, -4, 10, 12, 60, 30, 40, 39, 51, 1, 1, 2, 2);
    const out = await runOnnx(dyn, { features: { data: feats, dims: [1, 4, 13, 10] }, rois: { data: r, dims: [5, 4] } });
    expect(out.out.dims).toEqual([5, 4, 7, 7]);
    const ref = roiAlignReference(feats, [1, 4, 13, 10], r, [0, 0, 0, 0, 0], o);
    expect(maxAbsDiff(out.out.data as Float32Array, ref)).toBeLessThan(1e-5);
  });

  it('rejects options that do not make sense', () => {
    const g = new GraphBuilder();
    const f = g.input('f', 'float32', [2, 1, 4, 4]);
    const r = g.input('r', 'float32', [1, 4]);
    expect(() => roiAlign(g, f, r, undefined, { outputSize: 2, spatialScale: 1, samplingRatio: 1 })).toThrow(/batchIndex/);
    expect(() => roiAlignReference(new Float32Array(16), [1, 1, 4, 4], [0, 0, 1, 1], [0], { outputSize: 0, spatialScale: 1, samplingRatio: 1 })).toThrow(/outputSize/);
  });
});

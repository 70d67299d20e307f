import { beforeAll, describe, expect, it } from 'vitest';
import { ensembleAndDecode } from '@omnidistill/ensemble';
import { createModelSession, detectRois, predictKeypoints, type DecodedImage, type EnsembleRequest, type KeypointSession } from '@omnidistill/infer';
import { customPlan } from '@omnidistill/transforms';
import { BLOCKS, IMAGE_H, IMAGE_W, M, ROIS, blockImage, detectorManifest, fixedRoiDetector, keypointManifest, roiAlignKeypointModel } from './fixtures.js';

const image: DecodedImage = { data: blockImage(), width: IMAGE_W, height: IMAGE_H };
const rois = Float64Array.from(ROIS.flat());
// Identity + half size, double size, each with and without flip, and the flipped original.
const plan = customPlan([{ shortSide: 24 }, { shortSide: 24, flip: true }, { flip: true }, { shortSide: 96 }, { shortSide: 96, flip: true }]);
const K = 3;
const slab = K * M * M;

let model: KeypointSession;
beforeAll(async () => {
  model = await createModelSession(roiAlignKeypointModel(4), keypointManifest, { threads: 1 });
});

/** Runs the pipeline with a capturing ensembler and returns what it received. */
async function capture(m: KeypointSession): Promise<EnsembleRequest> {
  let seen: EnsembleRequest | undefined;
  await predictKeypoints(m, image, rois, {
    plan,
    ensemble: async (r) => {
      seen = r;
      return { data: new Float32Array(r.n * r.k * 3), n: r.n, k: r.k };
    },
  });
  return seen!;
}

/** Heatmaps of transform t, RoI n, with a flipped transform's x axis reversed back. */
function unflipped(r: EnsembleRequest, t: number, n: number): Float32Array {
  const src = r.heatmaps.subarray((t * r.n + n) * slab, (t * r.n + n + 1) * slab);
  if (!r.flipped[t]) return Float32Array.from(src);
  const out = new Float32Array(slab);
  for (let c = 0; c < K; c++) for (let y = 0; y < M; y++) for (let x = 0; x < M; x++) out[(c * M + y) * M + x] = src[(c * M + y) * M + (M - 1 - x)];
  return out; // no channel swap: this schema has no flip pairs
}

describe('multi-transform keypoint inference', () => {
  it('puts every transform\'s heatmaps in the RoI frame: the same one-hot cells once un-flipped', async () => {
    const r = await capture(model);
    expect([r.t, r.n, r.k, r.m]).toEqual([6, 2, K, M]);
    expect(r.flipped).toEqual([false, false, true, true, false, true]);
    expect(r.flipPairs).toEqual([]);
    expect(r.mode).toBe('avg');
    expect(Array.from(r.rois)).toEqual(ROIS.flat());
    for (let n = 0; n < 2; n++) {
      const identity = unflipped(r, 0, n);
      // The identity's maps are one-hot exactly at the blocks of this RoI.
      const expected = new Float32Array(slab);
      for (const b of BLOCKS.filter((b) => b.roi === n)) expected[(b.channel * M + b.row) * M + b.col] = 1;
      expect(identity).toEqual(expected);
      for (let t = 1; t < r.t; t++) expect(unflipped(r, t, n), `transform ${t}, RoI ${n}`).toEqual(identity);
    }
  });

  it('decodes every transform alone and all together to the same image-space keypoints, inside the block', async () => {
    const r = await capture(model);
    const decodeOne = async (t: number) => {
      const data = r.heatmaps.slice(t * r.n * slab, (t + 1) * r.n * slab);
      const out = await ensembleAndDecode({ data, t: 1, n: r.n, k: K, m: M }, r.rois, { mode: 'avg', flipped: [r.flipped[t]], flipPairs: [], backend: 'ts' });
      return out.keypoints.data;
    };
    const reference = await decodeOne(0);
    for (let t = 1; t < r.t; t++) expect(await decodeOne(t), `transform ${t}`).toEqual(reference);
    const all = await predictKeypoints(model, image, rois, { plan, backend: 'ts' });
    expect(all.data).toEqual(reference);
    for (const b of BLOCKS) {
      const [x1, y1] = ROIS[b.roi];
      const o = 3 * (b.roi * K + b.channel);
      const [x, y, score] = Array.from(all.data.subarray(o, o + 3));
      expect(x).toBeGreaterThanOrEqual(x1 + 4 * b.col);
      expect(x).toBeLessThan(x1 + 4 * b.col + 4);
      expect(y).toBeGreaterThanOrEqual(y1 + 4 * b.row);
      expect(y).toBeLessThan(y1 + 4 * b.row + 4);
      expect(score).toBeGreaterThan(0.5);
    }
  });

  it('gives the same heatmaps whatever the model\'s fixed RoI batch (chunks and padding RoIs)', async () => {
    const reference = await capture(model);
    for (const roiCount of [1, 3]) {
      const other = await createModelSession(roiAlignKeypointModel(roiCount), keypointManifest, { threads: 1 });
      expect((await capture(other)).heatmaps, `fixed RoI count ${roiCount}`).toEqual(reference.heatmaps);
    }
  });

  it('passes the size-dependent mask: small RoIs leave the down-scaled passes out', async () => {
    let mask: Uint8Array | undefined;
    await predictKeypoints(model, image, rois, {
      plan,
      sizeDependent: true, // 32×32 RoIs are below 180²
      ensemble: async (r) => {
        mask = r.mask;
        return { data: new Float32Array(r.n * r.k * 3), n: r.n, k: r.k };
      },
    });
    // transforms: identity, s24, s24-flip, orig-flip, s96, s96-flip; rows t, columns n
    expect(Array.from(mask!)).toEqual([1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]);
  });

  it("hands the manifest's flip pairs to the ensembler with the flipped flags", async () => {
    const paired = await createModelSession(roiAlignKeypointModel(4), { ...keypointManifest, keypoints: { ...keypointManifest.keypoints, flipPairs: [[1, 2]] } }, { threads: 1 });
    const r = await capture(paired);
    expect(r.flipPairs).toEqual([[1, 2]]);
    // With G/B declared a left/right pair, the flipped passes' G and B maps trade places.
    const all = await predictKeypoints(paired, image, rois, { plan, backend: 'ts' });
    const plain = await predictKeypoints(model, image, rois, { plan, backend: 'ts' });
    expect(all.data).not.toEqual(plain.data);
  });

  it('returns no keypoints for no RoIs without running the model', async () => {
    const out = await predictKeypoints(model, image, new Float64Array(0), { plan, backend: 'ts' });
    expect(out).toEqual({ data: new Float32Array(0), n: 0, k: K });
  });
});

describe('detectRois', () => {
  it('takes the RoIs from one identity detector pass, best first, capped and filtered', async () => {
    const det = await createModelSession(fixedRoiDetector(), detectorManifest, { threads: 1 });
    const r = await detectRois(det, image);
    expect(Array.from(r.boxes)).toEqual(ROIS.flat());
    expect(Array.from(r.scores)).toEqual([Math.fround(0.9), Math.fround(0.8)]);
    expect(Array.from(r.categoryIds)).toEqual([1, 1]);
    expect((await detectRois(det, image, { maxRois: 1 })).scores.length).toBe(1);
    expect((await detectRois(det, image, { minScore: 0.85 })).scores.length).toBe(1);
    expect((await detectRois(det, image, { categoryIds: [2] })).scores.length).toBe(0);
  });
});

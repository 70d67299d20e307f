import { beforeAll, describe, expect, it } from 'vitest';
import { ensembleAndDecode } from '@omnidistill/ensemble';
import { createModelSession, detectAllTransforms, detectRois, detectionPredictor, keypointPredictor, predictDetections, predictKeypoints, type DecodedImage, type EnsembleRequest, type KeypointSession } from '@omnidistill/infer';
import { customPlan, inverseBoxes } from '@omnidistill/transforms';
import { BLOCKS, IMAGE_H, IMAGE_W, M, ROIS, blockImage, detectorManifest, fixedRoiDetector, keypointManifest, redBoxDetector, roiAlignKeypointModel } from './fixtures.js';

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

  it('gives the same heatmaps with a dynamic-shape model (no padding), whatever the RoI batch', async () => {
    const reference = await capture(model);
    const dynamic = await createModelSession(roiAlignKeypointModel(2, { dynamic: true }), keypointManifest, { threads: 1 });
    expect(dynamic.inputs.image.dims).toEqual([1, 3, null, null]);
    expect(dynamic.inputs.rois.dims).toEqual([null, 4]);
    expect((await capture(dynamic)).heatmaps).toEqual(reference.heatmaps);
    let batched: EnsembleRequest | undefined;
    await predictKeypoints(dynamic, image, rois, { plan, roiBatch: 1, ensemble: async (r) => ((batched = r), { data: new Float32Array(r.n * r.k * 3), n: r.n, k: r.k }) });
    expect(batched!.heatmaps).toEqual(reference.heatmaps);
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

  it('with a plan, takes the RoIs from the merged (box-voted) detections of every transform', async () => {
    // Fixed boxes in each transformed image's pixels map back to different original boxes.
    const det = await createModelSession(fixedRoiDetector(), detectorManifest, { threads: 1 });
    const merged = await predictDetections(det, image, { plan });
    const r = await detectRois(det, image, { plan });
    expect(merged.scores.length).toBeGreaterThan(0);
    expect(Array.from(r.boxes)).toEqual(Array.from(merged.boxes));
    expect(Array.from(r.scores)).toEqual(Array.from(merged.scores));
    // Not the identity pass alone.
    const once = await detectRois(det, image);
    expect(Array.from(r.boxes)).not.toEqual(Array.from(once.boxes));
  });
});

describe('multi-transform detection', () => {
  // The red blocks span x 4..64, y 8..36 (continuous pixels) in the original image.
  const redBox = [4, 8, 64, 36];

  it('sees the object where each transform puts it, and maps every box back to the same original box', async () => {
    const det = await createModelSession(redBoxDetector(), detectorManifest, { threads: 1 });
    const perTransform = await detectAllTransforms(det, image, plan);
    expect(perTransform.map((p) => p.transform.spec.name)).toEqual(['identity', 's24', 's24-flip', 'orig-flip', 's96', 's96-flip']);
    // Under s24-flip (32×24) the box is mirrored and halved: x' = 32 − x / 2.
    expect(Array.from(perTransform[2].detections.boxes)).toEqual([0, 4, 30, 18]);
    for (const p of perTransform) {
      expect(Array.from(inverseBoxes(p.detections.boxes, p.transform, { convention: 'continuous' })), p.transform.spec.name).toEqual(redBox);
      expect(Array.from(p.detections.labels)).toEqual([1]); // label 0 → category 1 via the manifest
    }
    const merged = await predictDetections(det, image, { plan });
    expect(Array.from(merged.boxes)).toEqual(redBox);
    expect(Array.from(merged.labels)).toEqual([1]);
    expect(merged.scores[0]).toBeCloseTo(0.9, 6);
  });
});

describe('predictors', () => {
  it('keypoints from given boxes: the RoI as bbox, its score, (x, y, score) per keypoint', async () => {
    const predict = keypointPredictor(model, { kind: 'given', rois: () => ({ boxes: rois, scores: Float64Array.of(1, 0.5), categoryIds: Int32Array.of(1, 1) }) }, { plan, backend: 'ts' });
    const instances = await predict(image, { imageId: 1, fileName: 'x.png' });
    const direct = await predictKeypoints(model, image, rois, { plan, backend: 'ts' });
    expect(instances).toEqual([
      { bbox: ROIS[0], score: 1, categoryId: 1, keypoints: Array.from(direct.data.subarray(0, 9)) },
      { bbox: ROIS[1], score: 0.5, categoryId: 1, keypoints: Array.from(direct.data.subarray(9, 18)) },
    ]);
  });

  it('detections merged into raw instances', async () => {
    const det = await createModelSession(redBoxDetector(), detectorManifest, { threads: 1 });
    const instances = await detectionPredictor(det, { plan })(image, { imageId: 1, fileName: 'x.png' });
    expect(instances).toHaveLength(1);
    expect(instances[0]).toMatchObject({ bbox: [4, 8, 64, 36], categoryId: 1 });
  });
});

// A session on its own worker thread (createModelSession's `ownThread`) must be a drop-in for
// a main-thread one: the same signature, the same outputs bit for bit (including int64
// labels), inputs left usable for another call, and onnxruntime's errors passed through.
import { describe, expect, it } from 'vitest';
import { Tensor } from 'onnxruntime-node';
import { createModelSession, type DetectorSession } from '@omnidistill/infer';
import { detectorManifest, keypointManifest, MODEL_H, MODEL_W, redBoxDetector, roiAlignKeypointModel } from './fixtures.js';

/** A normalised [1, 3, H, W] input whose red channel is 1 in columns 10 + shift … 19 + shift, rows 5 … 14. */
export function blockImage(shift: number): Tensor {
  const data = new Float32Array(3 * MODEL_H * MODEL_W);
  for (let y = 5; y < 15; y++) for (let x = 10 + shift; x < 20 + shift; x++) data[y * MODEL_W + x] = 1;
  return new Tensor('float32', data, [1, 3, MODEL_H, MODEL_W]);
}

/** One raw run: boxes and labels as plain arrays. */
export async function detectIn(model: DetectorSession, image: Tensor): Promise<{ boxes: number[]; labels: bigint[] }> {
  const out = await model.session.run({ [model.inputs.image.name]: image });
  return { boxes: Array.from(out.boxes.data as Float32Array), labels: Array.from(out.labels.data as BigInt64Array) };
}

describe('createModelSession with ownThread', () => {
  it('has the main-thread session\'s signature and gives identical outputs', async () => {
    const main = await createModelSession(roiAlignKeypointModel(4), keypointManifest, { threads: 1 });
    const own = await createModelSession(roiAlignKeypointModel(4), keypointManifest, { threads: 1, ownThread: true });
    try {
      expect(own.inputs).toEqual(main.inputs);
      expect(own.outputs).toEqual(main.outputs);
      const image = new Tensor('float32', Float32Array.from({ length: 3 * MODEL_H * MODEL_W }, (_, i) => Math.sin(i)), [1, 3, MODEL_H, MODEL_W]);
      const rois = new Tensor('float32', Float32Array.from([1, 2, 30, 40, 10, 10, 60, 50, 0, 0, 127, 95, 5, 7, 9, 11]), [4, 4]);
      const a = (await main.session.run({ image, rois })).heatmaps;
      const b = (await own.session.run({ image, rois })).heatmaps;
      expect(b.dims).toEqual(a.dims);
      expect(Buffer.from((b.data as Float32Array).buffer).equals(Buffer.from((a.data as Float32Array).buffer))).toBe(true);
      // The input was copied, not moved: it still holds its data and runs again.
      expect((image.data as Float32Array).length).toBe(3 * MODEL_H * MODEL_W);
      const again = (await own.session.run({ image, rois })).heatmaps;
      expect(Array.from(again.data as Float32Array)).toEqual(Array.from(a.data as Float32Array));
    } finally {
      await main.session.release();
      await own.session.release();
    }
  });

  it('keeps int64 outputs and overlapping calls apart', async () => {
    const own = await createModelSession(redBoxDetector(), detectorManifest, { threads: 1, ownThread: true });
    try {
      const calls = [0, 1, 2].map((shift) => detectIn(own, blockImage(shift)));
      const results = await Promise.all(calls);
      for (const [shift, r] of results.entries()) {
        expect(r.labels).toEqual([0n]);
        expect(r.boxes[0]).toBeCloseTo(10 + shift, 5); // each call answered with its own image's box
      }
    } finally {
      await own.session.release();
    }
  });

  it('passes onnxruntime errors through and refuses calls after release', async () => {
    const own = await createModelSession(redBoxDetector(), detectorManifest, { threads: 1, ownThread: true });
    const wrong = new Tensor('float32', new Float32Array(3 * 4 * 4), [1, 3, 4, 4]);
    await expect(own.session.run({ image: wrong })).rejects.toThrow(/dimension|Got invalid dimensions|shape/i);
    await own.session.release();
    await expect(own.session.run({ image: wrong })).rejects.toThrow('the session was released');
    await expect(createModelSession(new TextEncoder().encode('not an onnx model'), detectorManifest, { ownThread: true, source: 't.onnx' })).rejects.toThrow(
      /^t\.onnx: onnxruntime could not load the model/,
    );
  });
});

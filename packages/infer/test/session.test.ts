import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '@omnidistill/artifacts';
import { createModelSession, parseManifest } from '@omnidistill/infer';
import { M, MODEL_H, MODEL_W, detectorManifest, keypointManifest, redBoxDetector, roiAlignKeypointModel } from './fixtures.js';

describe('createModelSession', () => {
  it('loads a model and records its real signatures', async () => {
    const kp = await createModelSession(roiAlignKeypointModel(4), keypointManifest, { threads: 1 });
    expect(kp.inputs.image).toEqual({ name: 'image', type: 'float32', dims: [1, 3, MODEL_H, MODEL_W] });
    expect(kp.inputs.rois).toEqual({ name: 'rois', type: 'float32', dims: [4, 4] });
    expect(kp.outputs.heatmaps).toEqual({ name: 'heatmaps', type: 'float32', dims: [4, 3, M, M] });
    const det = await createModelSession(redBoxDetector(), detectorManifest, { threads: 1 });
    expect(det.outputs.labels.type).toBe('int64');
  });

  it('names a tensor the model does not have, and lists what it has', async () => {
    const manifest = { ...keypointManifest, inputs: { image: 'img', rois: 'rois' } };
    await expect(createModelSession(roiAlignKeypointModel(4), manifest)).rejects.toThrow(
      'manifest.inputs.image names input "img", but the model has no such input; its inputs are: image float32 [1, 3, 96, 128]; rois float32 [4, 4]',
    );
    const wrongOut = { ...detectorManifest, outputs: { boxes: 'boxes', scores: 'score', labels: 'labels' } };
    await expect(createModelSession(redBoxDetector(), wrongOut)).rejects.toThrow('manifest.outputs.scores names output "score", but the model has no such output');
  });

  it('rejects a model whose heatmap size or K differs from the manifest', async () => {
    const m16 = { ...keypointManifest, keypoints: { ...keypointManifest.keypoints, heatmapSize: 16 } };
    await expect(createModelSession(roiAlignKeypointModel(4), m16)).rejects.toThrow(
      'output "heatmaps" (heatmaps) dimension 2 must be 16, but the model declares heatmaps float32 [4, 3, 8, 8]',
    );
    const k2 = { ...keypointManifest, keypoints: { ...keypointManifest.keypoints, names: ['a', 'b'] } };
    await expect(createModelSession(roiAlignKeypointModel(4), k2)).rejects.toThrow('dimension 1 must be 2');
  });

  it('rejects wrong dtypes, ranks and unfed inputs', async () => {
    const g = new GraphBuilder();
    const image = g.input('image', 'float32', [1, 3, 8, 8]);
    g.output(g.reshape(g.slice(image, [0], [1], [3]), [8, 3]), 'boxes'); // rank 2 but [8, 3]
    g.output(g.floats([1]), 'scores');
    g.output(g.cast(g.floats([0]), 'uint8'), 'labels');
    const bytes = g.toModelBytes();
    await expect(createModelSession(bytes, detectorManifest)).rejects.toThrow('output "boxes" (boxes) dimension 1 must be 4');
    const g2 = new GraphBuilder();
    const im2 = g2.input('image', 'float32', [3, 8, 8]);
    g2.output(g2.reshape(im2, [48, 4]), 'boxes');
    g2.output(g2.floats([1]), 'scores');
    g2.output(g2.int64s([0]), 'labels');
    await expect(createModelSession(g2.toModelBytes(), detectorManifest)).rejects.toThrow('input "image" (image) must have rank 4, but the model declares image float32 [3, 8, 8]');
    const g3 = new GraphBuilder();
    const im3 = g3.input('image', 'float32', [1, 3, 8, 8]);
    g3.output(g3.reshape(g3.slice(im3, [0], [1], [3]), [6, 4]), 'boxes');
    g3.output(g3.floats([1]), 'scores');
    g3.output(g3.cast(g3.floats([0]), 'uint8'), 'labels');
    await expect(createModelSession(g3.toModelBytes(), detectorManifest)).rejects.toThrow('output "labels" (labels) must be int64 or int32 or float32, but the model declares uint8');
    const g4 = new GraphBuilder();
    const im4 = g4.input('image', 'float32', [1, 3, 8, 8]);
    const extra = g4.input('extra', 'float32', [1]);
    g4.output(g4.add(g4.reshape(g4.slice(im4, [0], [1], [3]), [6, 4]), extra), 'boxes');
    g4.output(g4.floats([1]), 'scores');
    g4.output(g4.int64s([0]), 'labels');
    await expect(createModelSession(g4.toModelBytes(), detectorManifest)).rejects.toThrow('the model has inputs the manifest does not name (extra float32 [1]); it cannot be fed');
  });

  it('wraps onnxruntime load failures with the model source', async () => {
    await expect(createModelSession('/nonexistent/model.onnx', keypointManifest)).rejects.toThrow('/nonexistent/model.onnx: onnxruntime could not load the model');
    // Bytes are named by options.source (the file they came from), not by their length.
    const garbage = new TextEncoder().encode('not an onnx model');
    await expect(createModelSession(garbage, keypointManifest, { source: 'teacher.onnx' })).rejects.toThrow(/^teacher\.onnx: onnxruntime could not load the model/);
    await expect(createModelSession(garbage, keypointManifest)).rejects.toThrow(/^<17-byte model>: onnxruntime could not load/);
    expect(() => parseManifest({})).toThrow('manifest.format');
  });
});

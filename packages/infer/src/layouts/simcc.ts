// The `simcc` layout (RTMPose-style exports): a person crop `image` [1, 3, H, W] → `x`
// [1, K, W · r] and `y` [1, K, H · r] 1-D logits (r = layoutOptions.splitRatio). Crops and
// transforms as topdown-heatmap; each axis is un-flipped, resampled into the identity crop's
// frame and averaged; decode = argmax per axis (bin i ↔ (i + 0.5) / r input pixels),
// score = the smaller of the two maxima (MMPose's get_simcc_maximum).
import type { Tensor } from 'onnxruntime-node';
import type { KeypointArray } from '@omnidistill/core';
import type { DecodedImage } from '../image.js';
import type { KeypointInferenceOptions } from '../keypoint-options.js';
import { CropFrameEnsemble, cropFrame, cropInputSize, cropToImage, ensembleCrops } from '../person-crop.js';
import type { KeypointSession } from '../session.js';
import { cropOptionsOf, fixedCropInput, parseCropOptions } from './crop-options.js';
import type { LayoutAdapter } from './types.js';

/** Bins per axis: the input size times the split ratio. */
function binsOf(model: KeypointSession): { x: number; y: number } {
  const input = cropInputSize(model);
  const r = cropOptionsOf(model).splitRatio;
  return { x: Math.round(input.width * r), y: Math.round(input.height * r) };
}

async function predictSimcc(model: KeypointSession, image: DecodedImage, rois: Float64Array, options: KeypointInferenceOptions): Promise<KeypointArray> {
  const crop = cropOptionsOf(model);
  const k = model.manifest.keypoints.names.length;
  const n = rois.length / 4;
  const bins = binsOf(model);
  const runCrops = async (input: Tensor, count: number): Promise<Float32Array[][]> => {
    const out = (await model.session.run({ [model.inputs.image.name]: input })) as Record<string, Tensor>;
    const [xs, ys] = (['x', 'y'] as const).map((axis) => {
      const t = out[model.outputs[axis].name];
      const want = [count, k, bins[axis]];
      if (!t || t.dims.length !== 3 || t.dims.some((d, i) => d !== want[i])) {
        throw new Error(`${model.source}: output "${model.outputs[axis].name}" (${axis}) has shape [${t?.dims.join(', ')}], expected [${want.join(', ')}] (input size × layoutOptions.splitRatio ${crop.splitRatio})`);
      }
      return t.data as Float32Array;
    });
    const [px, py] = [k * bins.x, k * bins.y];
    return Array.from({ length: count }, (_, i) => [xs.subarray(i * px, (i + 1) * px), ys.subarray(i * py, (i + 1) * py)]);
  };
  const mode = options.mode ?? 'avg';
  const perRoi = await ensembleCrops(model, image, rois, options, crop, runCrops, () => [
    new CropFrameEnsemble(k, [bins.x], mode),
    new CropFrameEnsemble(k, [bins.y], mode, false),
  ]);
  const input = cropInputSize(model);
  const data = new Float32Array(n * k * 3);
  perRoi.forEach(([ex, ey], r) => {
    const frame = cropFrame(rois.subarray(4 * r, 4 * r + 4), input, crop.padding);
    const xs = ex.result();
    const ys = ey.result();
    for (let c = 0; c < k; c++) {
      const [i, vx] = argmax(xs, c * bins.x, bins.x);
      const [j, vy] = argmax(ys, c * bins.y, bins.y);
      const [x, y] = cropToImage(frame, input, (i + 0.5) / crop.splitRatio, (j + 0.5) / crop.splitRatio);
      data.set([x, y, Math.min(vx, vy)], 3 * (r * k + c));
    }
  });
  return { data, n, k };
}

function argmax(values: Float64Array, start: number, count: number): [number, number] {
  let best = 0;
  for (let i = 1; i < count; i++) if (values[start + i] > values[start + best]) best = i;
  return [best, values[start + best]];
}

export const simccLayout: LayoutAdapter = {
  name: 'simcc',
  description:
    'SimCC / RTMPose person crops: like topdown-heatmap, but the model gives 1-D x [1, K, W·r] and y [1, K, H·r] logits (r = layoutOptions.splitRatio, default 2), averaged per axis after un-flipping (a dynamic batch dimension takes up to 16 crops per call); needs RoIs (--detector or --boxes).',
  traits: { resizesInGraph: false, selfDetecting: false, cropsPerson: true },
  roles: { keypoints: { inputs: ['image'], outputs: ['x', 'y'] } },
  needsHeatmapSize: false,
  parseOptions: (value, _role, path) => parseCropOptions('simcc', value, path),
  expectations: (manifest) => {
    const k = manifest.role === 'keypoints' ? manifest.keypoints.names.length : null;
    return {
      inputs: { image: { rank: 4, types: ['float32'], dims: [null, 3, null, null] } },
      outputs: { x: { rank: 3, types: ['float32'], dims: [null, k, null] }, y: { rank: 3, types: ['float32'], dims: [null, k, null] } },
    };
  },
  check: fixedCropInput,
  keypoints: { kind: 'rois', predict: predictSimcc },
};

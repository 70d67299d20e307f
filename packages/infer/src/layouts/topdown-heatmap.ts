// The `topdown-heatmap` layout (MMPose / HRNet / SimpleBaseline exports): a person crop
// `image` [1, 3, H, W] → `heatmaps` [1, K, h, w]. RoIs become padded, aspect-fixed crops;
// transforms are crop scale × flip, averaged in the identity crop's frame (person-crop.ts);
// decode = argmax + a quarter-cell shift toward the larger neighbour, mapped to the image.
import { Tensor } from 'onnxruntime-node';
import type { KeypointArray } from '@omnidistill/core';
import type { DecodedImage } from '../image.js';
import type { KeypointInferenceOptions } from '../keypoint-options.js';
import { CropFrameEnsemble, cropFrame, cropInputSize, cropToImage, ensembleCrops } from '../person-crop.js';
import type { KeypointSession } from '../session.js';
import { cropOptionsOf, fixedCropInput, parseCropOptions } from './crop-options.js';
import type { LayoutAdapter } from './types.js';

async function predictTopdown(model: KeypointSession, image: DecodedImage, rois: Float64Array, options: KeypointInferenceOptions): Promise<KeypointArray> {
  const crop = cropOptionsOf(model);
  const k = model.manifest.keypoints.names.length;
  const n = rois.length / 4;
  let size: [number, number] | null = null; // heatmap [h, w], known after the first run
  const runCrops = async (input: Tensor, count: number): Promise<Float32Array[][]> => {
    const out = (await model.session.run({ [model.inputs.image.name]: input })) as Record<string, Tensor>;
    const t = out[model.outputs.heatmaps.name];
    if (!t || t.dims.length !== 4 || t.dims[0] !== count || t.dims[1] !== k) {
      throw new Error(`${model.source}: output "${model.outputs.heatmaps.name}" (heatmaps) has shape [${t?.dims.join(', ')}], expected [${count}, ${k}, h, w]`);
    }
    size ??= [t.dims[2], t.dims[3]];
    const per = k * t.dims[2] * t.dims[3];
    return Array.from({ length: count }, (_, i) => [(t.data as Float32Array).subarray(i * per, (i + 1) * per)]);
  };
  // The ensemble's map size is the model's heatmap size: read it from a first pass when the
  // model declares it symbolic.
  const declared = model.outputs.heatmaps.dims;
  const mapSize = async (): Promise<[number, number]> => {
    if (declared[2] !== null && declared[3] !== null) return [declared[2], declared[3]];
    const input = cropInputSize(model);
    if (size === null) await runCrops(new Tensor('float32', new Float32Array(3 * input.width * input.height), [1, 3, input.height, input.width]), 1);
    return size!;
  };
  const [h, w] = n === 0 ? [1, 1] : await mapSize();
  const mode = options.mode ?? 'avg';
  const perRoi = await ensembleCrops(model, image, rois, options, crop, runCrops, () => [new CropFrameEnsemble(k, [h, w], mode)]);
  const input = cropInputSize(model);
  const data = new Float32Array(n * k * 3);
  perRoi.forEach(([ensemble], r) => {
    const frame = cropFrame(rois.subarray(4 * r, 4 * r + 4), input, crop.padding);
    const maps = ensemble.result();
    for (let c = 0; c < k; c++) {
      const [u, v, score] = heatmapPeak(maps, c, h, w);
      const [x, y] = cropToImage(frame, input, (u * input.width) / w, (v * input.height) / h);
      data.set([x, y, score], 3 * (r * k + c));
    }
  });
  return { data, n, k };
}

/**
 * The peak of heatmap `c` as a continuous heatmap position (cell centre, shifted a quarter
 * cell toward the larger neighbour, HRNet/MMPose's refinement) and its value.
 */
export function heatmapPeak(maps: Float64Array, c: number, h: number, w: number): [number, number, number] {
  const base = c * h * w;
  let best = base;
  for (let i = base + 1; i < base + h * w; i++) if (maps[i] > maps[best]) best = i;
  const i = Math.floor((best - base) / w);
  const j = best - base - i * w;
  const at = (y: number, x: number) => maps[base + y * w + x];
  const dx = j > 0 && j < w - 1 ? 0.25 * Math.sign(at(i, j + 1) - at(i, j - 1)) : 0;
  const dy = i > 0 && i < h - 1 ? 0.25 * Math.sign(at(i + 1, j) - at(i - 1, j)) : 0;
  return [j + dx + 0.5, i + dy + 0.5, maps[best]];
}

export const topdownHeatmapLayout: LayoutAdapter = {
  name: 'topdown-heatmap',
  description:
    'top-down person crops (MMPose/HRNet/SimpleBaseline): each RoI becomes an aspect-fixed crop padded by layoutOptions.padding (default 1.25) resampled to the fixed input → heatmaps [1, K, h, w] (a dynamic batch dimension takes up to 16 crops per call); a transform scales the crop (scale s: the box · padding / s) and/or mirrors it, heatmaps are averaged in the identity crop\'s frame; needs RoIs (--detector or --boxes).',
  traits: { resizesInGraph: false, selfDetecting: false, cropsPerson: true },
  roles: { keypoints: { inputs: ['image'], outputs: ['heatmaps'] } },
  needsHeatmapSize: false,
  parseOptions: (value, _role, path) => parseCropOptions('topdown-heatmap', value, path),
  expectations: (manifest) => ({
    inputs: { image: { rank: 4, types: ['float32'], dims: [null, 3, null, null] } },
    outputs: { heatmaps: { rank: 4, types: ['float32'], dims: [null, manifest.role === 'keypoints' ? manifest.keypoints.names.length : null, null, null] } },
  }),
  check: fixedCropInput,
  keypoints: { kind: 'rois', predict: predictTopdown },
};

// Tiny ONNX models (built with @omnidistill/artifacts' GraphBuilder) and images (sharp)
// whose correct predictions are known exactly, for the infer tests and the kill/resume child.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { GraphBuilder, encodeModel, type Value, type ValueInfo } from '@omnidistill/artifacts';
import { parseManifest, type DetectorManifest, type KeypointManifest } from '@omnidistill/infer';

const int = (value: number) => ({ type: 'int' as const, value });

/** Test image: 64×48, black, with 4×4-pixel blocks in single channels. */
export const IMAGE_W = 64;
export const IMAGE_H = 48;
/** Model input size: big enough for the 2× transform (128×96); smaller inputs are padded. */
export const MODEL_W = 128;
export const MODEL_H = 96;
export const M = 8;

/** Two RoIs of 32×32 px: with M = 8 every heatmap cell is a 4×4 block of the image. */
export const ROIS: [number, number, number, number][] = [
  [0, 8, 32, 40],
  [32, 8, 64, 40],
];

/** Blocks: in RoI `roi`, channel `channel` has a 4×4 block filling heatmap cell (col, row). */
export const BLOCKS = [
  { roi: 0, channel: 0, col: 1, row: 6 },
  { roi: 0, channel: 1, col: 6, row: 1 },
  { roi: 1, channel: 2, col: 3, row: 3 },
  { roi: 1, channel: 0, col: 7, row: 0 },
];

/** The test image as RGB bytes. */
export function blockImage(): Uint8Array {
  const data = new Uint8Array(IMAGE_W * IMAGE_H * 3);
  for (const b of BLOCKS) {
    const [x1, y1] = ROIS[b.roi];
    for (let y = y1 + 4 * b.row; y < y1 + 4 * b.row + 4; y++) {
      for (let x = x1 + 4 * b.col; x < x1 + 4 * b.col + 4; x++) data[3 * (y * IMAGE_W + x) + b.channel] = 255;
    }
  }
  return data;
}

export async function writeBlockPng(path: string): Promise<void> {
  await sharp(blockImage(), { raw: { width: IMAGE_W, height: IMAGE_H, channels: 3 } }).png().toFile(path);
}

/**
 * Keypoint "model": heatmap channel c of a RoI is 1 where the RoI-aligned image channel c is
 * above 0.9, else 0 (K = 3: one keypoint per colour). It looks at the projected RoI in the
 * transformed image, so a wrong projection or flip convention changes its output.
 */
export function roiAlignKeypointModel(roiCount: number, options: { dynamic?: boolean } = {}): Uint8Array {
  const g = new GraphBuilder({ name: 'roi_align_kp' });
  const image = g.input('image', 'float32', [1, 3, MODEL_H, MODEL_W]);
  const rois = g.input('rois', 'float32', [roiCount, 4]);
  const [batchIndices] = g.node('Cast', [g.reduceSum(g.mul(rois, 0), [1], false)], [{ dtype: 'int64', shape: [roiCount] }], { to: int(7) });
  const [aligned] = g.node('RoiAlign', [image, rois, batchIndices], [{ dtype: 'float32', shape: [roiCount, 3, M, M] }], {
    output_height: int(M),
    output_width: int(M),
    sampling_ratio: int(2),
    spatial_scale: { type: 'float', value: 1 },
    coordinate_transformation_mode: { type: 'string', value: 'half_pixel' },
  });
  g.output(g.cast(g.greater(aligned, 0.9), 'float32'), 'heatmaps');
  if (!options.dynamic) return g.toModelBytes();
  // Dynamic H, W and N: GraphBuilder writes fixed shapes only, so mark those dimensions -1
  // (read by onnxruntime as unknown) and drop the intermediate shapes, as models/ does.
  const dynamic: Record<string, number[]> = { image: [2, 3], rois: [0], heatmaps: [0] };
  const mark = (v: ValueInfo): ValueInfo =>
    v.type.kind === 'tensor' && dynamic[v.name] ? { ...v, type: { ...v.type, shape: v.type.shape.map((d, i) => (dynamic[v.name].includes(i) ? -1 : d)) } } : v;
  const model = g.toModel();
  return encodeModel({ ...model, inputs: model.inputs.map(mark), outputs: model.outputs.map(mark), valueInfo: [] });
}

export const keypointManifest: KeypointManifest = parseManifest({
  format: 'omnidistill-model',
  version: 1,
  role: 'keypoints',
  inputs: { image: 'image', rois: 'rois' },
  outputs: { heatmaps: 'heatmaps' },
  pixels: { scale: 255, resizeKernel: 'nearest' },
  keypoints: { schema: 'rgb-blocks', names: ['red', 'green', 'blue'], flipPairs: [], heatmapSize: M, categoryId: 1 },
}) as KeypointManifest;

/**
 * Detector "model": one box, the bounding box (continuous coordinates) of the pixels whose
 * red channel is above 0.5, score 0.9, label 0. Flip- and scale-equivariant by construction.
 * An image with no red pixel gives a degenerate box; tests avoid that.
 */
export function redBoxDetector(): Uint8Array {
  const g = new GraphBuilder({ name: 'red_box' });
  const image = g.input('image', 'float32', [1, 3, MODEL_H, MODEL_W]);
  const red = g.slice(image, [0], [1], [1]); // [1, 1, H, W]
  const mask = g.cast(g.greater(red, 0.5), 'float32');
  const cols = g.reshape(g.reduceMax(mask, [0, 1, 2], false), [MODEL_W]);
  const rows = g.reshape(g.reduceMax(mask, [0, 1, 3], false), [MODEL_H]);
  const extent = (occupied: Value, n: number) => {
    const idx = g.floats(Array.from({ length: n }, (_, i) => i));
    const on = g.greater(occupied, 0.5);
    const lo = g.neg(g.reduceMax(g.where(on, g.neg(idx), g.floats(new Array(n).fill(-1e6))), [0], true));
    const hi = g.reduceMax(g.where(on, g.add(idx, 1), g.floats(new Array(n).fill(-1e6))), [0], true);
    return [lo, hi];
  };
  const [x1, x2] = extent(cols, MODEL_W);
  const [y1, y2] = extent(rows, MODEL_H);
  g.output(g.reshape(g.concat([x1, y1, x2, y2], 0), [1, 4]), 'boxes');
  g.output(g.floats([0.9]), 'scores');
  g.output(g.int64s([0]), 'labels');
  return g.toModelBytes();
}

/** Detector "model" that ignores the image: the two {@link ROIS} with scores 0.9 and 0.8, label 0. */
export function fixedRoiDetector(): Uint8Array {
  const g = new GraphBuilder({ name: 'fixed_rois' });
  const image = g.input('image', 'float32', [1, 3, MODEL_H, MODEL_W]);
  const zero = g.mul(g.reduceSum(image, [0, 1, 2, 3], false), 0); // keeps the input in use
  g.output(g.add(g.floats(ROIS.flat(), [2, 4]), zero), 'boxes');
  g.output(g.add(g.floats([0.9, 0.8]), zero), 'scores');
  g.output(g.int64s([0, 0]), 'labels');
  return g.toModelBytes();
}

export const detectorManifest: DetectorManifest = parseManifest({
  format: 'omnidistill-model',
  version: 1,
  role: 'detector',
  inputs: { image: 'image' },
  outputs: { boxes: 'boxes', scores: 'scores', labels: 'labels' },
  pixels: { scale: 255, resizeKernel: 'nearest' },
  categoryIds: [1],
}) as DetectorManifest;

/** Writes a folder of test images for the runner: block PNGs plus one corrupt file. */
export async function writeRunImages(dir: string, count: number, corruptAt: number[]): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const name = `img${String(i).padStart(3, '0')}.png`;
    if (corruptAt.includes(i)) await writeFile(join(dir, name), Buffer.from('this is not a png'));
    else {
      // Shift the blocks a little per image so predictions differ from image to image.
      const data = blockImage();
      const shifted = new Uint8Array(data.length);
      const dx = (i % 4) * 4;
      for (let y = 0; y < IMAGE_H; y++) for (let x = 0; x + dx < IMAGE_W; x++) for (let c = 0; c < 3; c++) shifted[3 * (y * IMAGE_W + x + dx) + c] = data[3 * (y * IMAGE_W + x) + c];
      await sharp(shifted, { raw: { width: IMAGE_W, height: IMAGE_H, channels: 3 } }).png().toFile(join(dir, name));
    }
    names.push(name);
  }
  return names;
}

// Export of trained reference models: the eval graph with the trained parameters baked in as
// initializers and the dimensions that may vary at inference (image height and width, RoI or
// detection count) marked dynamic, plus the JSON manifest of DESIGN.md's model contract.
import { writeFileAtomic } from '@omnidistill/coco';
import type { ModelDefinition } from '@omnidistill/artifacts';
import type { KeypointSchema } from '@omnidistill/core';
import { exportInferenceModel } from '@omnidistill/train';
import type { PixelNormalisation } from './data.js';

/**
 * Encodes the eval graph of `define` with `parameters` baked in. `dynamic` lists, per graph
 * input/output name, the axes to mark dynamic (written as dimension -1, which ONNX Runtime
 * reads as unknown). Intermediate shapes are left to the runtime, so the graph must compute
 * every size-dependent quantity from `Shape` at run time (the reference models do).
 */
export function exportDynamicModel(
  define: ModelDefinition,
  parameters: ReadonlyMap<string, Float32Array>,
  dynamic: Readonly<Record<string, readonly number[]>>,
): Uint8Array {
  return exportInferenceModel(define, parameters, { dynamicAxes: dynamic });
}

/** The manifest's `pixels` block for a normalisation (RGB, /255, mean/std; sizes padded to a multiple of `sizeDivisor`). */
export function manifestPixels(p: PixelNormalisation, sizeDivisor: number) {
  return { channelOrder: 'rgb' as const, scale: 255, mean: [...p.mean], std: [...p.std], resizeKernel: 'linear' as const, sizeDivisor };
}

/** Manifest of a keypoint model (DESIGN.md "Model contract"). */
export function keypointManifest(schema: KeypointSchema, heatmapSize: number, pixels: PixelNormalisation, categoryId: number) {
  return {
    format: 'omnidistill-model',
    version: 1,
    role: 'keypoints',
    inputs: { image: 'image', rois: 'rois' },
    outputs: { heatmaps: 'heatmaps' },
    pixels: manifestPixels(pixels, 4),
    keypoints: {
      schema: schema.name,
      names: [...schema.keypoints],
      flipPairs: schema.flipPairs.map(([a, b]) => [a, b]),
      heatmapSize,
      categoryId,
    },
  };
}

/** Manifest of a detector (labels index `categoryIds`). */
export function detectorManifest(categoryIds: readonly number[], pixels: PixelNormalisation) {
  return {
    format: 'omnidistill-model',
    version: 1,
    role: 'detector',
    inputs: { image: 'image' },
    outputs: { boxes: 'boxes', scores: 'scores', labels: 'labels' },
    pixels: manifestPixels(pixels, 4),
    categoryIds: [...categoryIds],
  };
}

/**
 * Writes the ONNX model and its manifest (`<name>.onnx`, `<name>.json`) through the atomic
 * write path: a full disk leaves the previous files (or none) and a FileWriteError naming
 * the file, never a truncated model. The manifest goes last, so a manifest next to a model
 * always describes a complete model.
 */
export async function writeModel(onnxPath: string, onnx: Uint8Array, manifest: unknown): Promise<{ onnxPath: string; manifestPath: string }> {
  const manifestPath = onnxPath.replace(/\.onnx$/, '') + '.json';
  await writeFileAtomic(onnxPath, onnx);
  await writeFileAtomic(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  return { onnxPath, manifestPath };
}

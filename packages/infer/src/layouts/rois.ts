// The `rois` layout: today's internal contract, as the reference models export it.
// detector: image [1, 3, H, W] → boxes [D, 4], scores [D], labels [D];
// keypoints: image [1, 3, H, W] + rois [N, 4] → heatmaps [N, K, M, M] in each RoI's frame.
import { OmniRangeError, expectInteger, type KeypointArray } from '@omnidistill/core';
import { forwardRois, resolvePlan } from '@omnidistill/transforms';
import type { DecodedImage } from '../image.js';
import { defaultEnsemble, sizeDependentMaskFor, type KeypointInferenceOptions } from '../keypoint-options.js';
import type { ModelManifest } from '../manifest.js';
import { runDetector, runKeypointModel, withInput } from '../run-model.js';
import type { KeypointSession } from '../session.js';
import { timeStage } from '../stage-clock.js';
import type { LayoutAdapter, LayoutExpectations, TensorExpectation } from './types.js';

const IMAGE: TensorExpectation = { rank: 4, types: ['float32'], dims: [1, 3, null, null] };

function expectations(manifest: ModelManifest): LayoutExpectations {
  if (manifest.role === 'detector') {
    return {
      inputs: { image: IMAGE },
      outputs: {
        boxes: { rank: 2, types: ['float32'], dims: [null, 4] },
        scores: { rank: 1, types: ['float32'], dims: [null] },
        labels: { rank: 1, types: ['int64', 'int32', 'float32'], dims: [null] },
      },
    };
  }
  const { names, heatmapSize: m } = manifest.keypoints;
  return {
    inputs: { image: IMAGE, rois: { rank: 2, types: ['float32'], dims: [null, 4] } },
    outputs: { heatmaps: { rank: 4, types: ['float32'], dims: [null, names.length, m, m] } },
  };
}

/**
 * Keypoints of the `rois` (`[N, 4]` original-image pixels, fixed beforehand by one
 * identity detector pass or given) under every transform of the plan: each transform
 * resizes/flips the image, projects the RoIs into it and runs the keypoint model; the
 * `[T, N, K, M, M]` heatmaps are ensembled and decoded in one call.
 *
 * Memory per image: `T · N · K · M² · 4` bytes of heatmaps (cap N with the RoI source).
 */
async function predictRoiHeatmaps(model: KeypointSession, image: DecodedImage, rois: Float64Array, options: KeypointInferenceOptions): Promise<KeypointArray> {
  const n = rois.length / 4;
  const { names, flipPairs } = model.manifest.keypoints;
  const m = model.manifest.keypoints.heatmapSize!; // required by this layout's manifest
  const k = names.length;
  if (n === 0) return { data: new Float32Array(0), n: 0, k };
  const geometries = resolvePlan(options.plan, image);
  const t = geometries.length;
  const perTransform = n * k * m * m;
  const heatmaps = new Float32Array(t * perTransform);
  const batch = options.roiBatch ?? n;
  expectInteger(batch, 'options.roiBatch', 1);
  for (let ti = 0; ti < t; ti++) {
    const g = geometries[ti];
    const projected = forwardRois(rois, g, { convention: 'continuous' });
    await withInput(model, image, g, (input) => runKeypointModel(model, input, projected, batch, heatmaps, ti * perTransform));
  }
  const mask = sizeDependentMaskFor(geometries, rois, options.sizeDependent);
  const ensemble = options.ensemble ?? defaultEnsemble(options.backend ?? 'auto', options.keypointScore ?? 'logit');
  return timeStage(model.clock, 'ensemble', () => ensemble({
    heatmaps,
    t,
    n,
    k,
    m,
    rois: Float32Array.from(rois),
    flipped: geometries.map((g) => g.flip),
    flipPairs,
    mode: options.mode ?? 'avg',
    ...(mask ? { mask } : {}),
  }));
}

export const roisLayout: LayoutAdapter = {
  name: 'rois',
  description:
    'omnidistill\'s own contract: image [1, 3, H, W] → boxes/scores/labels (detector) or image + rois [N, 4] → heatmaps [N, K, M, M] in each RoI\'s frame (keypoints); scale transforms change what the network sees, as in the paper.',
  traits: { resizesInGraph: false, selfDetecting: false, cropsPerson: false },
  roles: {
    detector: { inputs: ['image'], outputs: ['boxes', 'scores', 'labels'] },
    keypoints: { inputs: ['image', 'rois'], outputs: ['heatmaps'] },
  },
  needsHeatmapSize: true,
  parseOptions: (value, _role, path) => noOptions('rois', value, path),
  expectations,
  async detect(model, image, geometry) {
    return withInput(model, image, geometry, (input) => runDetector(model, input, geometry.target));
  },
  keypoints: { kind: 'rois', predict: predictRoiHeatmaps },
};

/** `layoutOptions` of a layout that has none: absent or `{}`. */
export function noOptions<L extends 'rois' | 'torchvision-detection'>(layout: L, value: unknown, path: string): { layout: L } {
  if (value !== undefined && (typeof value !== 'object' || value === null || Object.keys(value).length > 0)) {
    throw new OmniRangeError(path, `no layoutOptions for layout "${layout}"`, value);
  }
  return { layout };
}

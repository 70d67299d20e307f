// The `torchvision-detection` layout: `torch.onnx.export` of torchvision's detection models
// (fasterrcnn_*, retinanet, fcos, ssd(lite), keypointrcnn). The graph takes one rank-3 image
// [3, H, W] (0..1, normalised and resized to the model's min_size inside the graph) and
// returns boxes [D, 4] in input pixels, scores [D], int64 labels [D], D possibly 0; keypoint
// R-CNN adds keypoints [D, K, 3] and keypoints_scores [D, K] (regressed-style keypoints).
import { Tensor } from 'onnxruntime-node';
import type { TransformGeometry } from '@omnidistill/transforms';
import { resizeImage, toInputTensor, type DecodedImage } from '../image.js';
import type { ModelManifest } from '../manifest.js';
import { inputBuffers } from '../input-buffers.js';
import { runDetector, withPooledInput } from '../run-model.js';
import type { KeypointSession, ModelSession } from '../session.js';
import { noOptions } from './rois.js';
import type { LayoutAdapter, LayoutExpectations, RegressedInstances } from './types.js';

/**
 * `use(input)` with the transformed image as torchvision wants it: [3, H, W], no batch
 * dimension, no padding. The tensor is filled into a reused buffer (input-buffers.ts; a fresh
 * 640 × 480 input is 3.7 MB that the allocator zeroes and V8 counts as external memory) and
 * handed back when `use` settles, so `use` must not keep it.
 */
function withRank3Input<T>(model: ModelSession, image: DecodedImage, g: TransformGeometry, use: (input: Tensor) => Promise<T>): Promise<T> {
  const build = async (): Promise<Tensor> => {
    const resized = await resizeImage(image, g.target, model.manifest.pixels.resizeKernel);
    const data = toInputTensor(resized, model.manifest.pixels, g.flip, g.target, inputBuffers.take(3 * g.target.width * g.target.height));
    return new Tensor('float32', data, [3, g.target.height, g.target.width]);
  };
  return withPooledInput(model, build, use);
}

function expectations(manifest: ModelManifest): LayoutExpectations {
  const detections: LayoutExpectations['outputs'] = {
    boxes: { rank: 2, types: ['float32'], dims: [null, 4] },
    scores: { rank: 1, types: ['float32'], dims: [null] },
    labels: { rank: 1, types: ['int64', 'int32', 'float32'], dims: [null] },
  };
  const inputs = { image: { rank: 3, types: ['float32'] as const, dims: [3, null, null] } };
  if (manifest.role === 'detector') return { inputs, outputs: detections };
  const k = manifest.keypoints.names.length;
  return {
    inputs,
    outputs: {
      ...detections,
      keypoints: { rank: 3, types: ['float32'], dims: [null, k, 3] },
      keypointScores: { rank: 2, types: ['float32'], dims: [null, k] },
    },
  };
}

/** Keypoint R-CNN: its detections with their decoded keypoints (x, y, keypoint logit). */
async function runKeypointRcnn(model: KeypointSession, image: DecodedImage, g: TransformGeometry): Promise<RegressedInstances> {
  const out = (await withRank3Input(model, image, g, (input) => model.session.run({ [model.inputs.image.name]: input }))) as Record<string, Tensor>;
  const get = (role: string) => {
    const t = out[model.outputs[role].name];
    if (!t) throw new Error(`${model.source}: run returned no output "${model.outputs[role].name}" (${role})`);
    return t;
  };
  const boxes = get('boxes');
  const d = boxes.dims[0];
  const k = model.manifest.keypoints.names.length;
  const kps = get('keypoints').data as Float32Array;
  const kpScores = get('keypointScores').data as Float32Array;
  if (kps.length !== d * k * 3 || kpScores.length !== d * k) {
    throw new Error(`${model.source}: keypoints/keypointScores do not hold ${d} × ${k} keypoints (manifest keypoints.names has K = ${k})`);
  }
  const data = new Float32Array(d * k * 3);
  for (let i = 0; i < d * k; i++) data.set([kps[3 * i], kps[3 * i + 1], kpScores[i]], 3 * i);
  return {
    boxes: Float64Array.from(boxes.data as Float32Array),
    scores: Float64Array.from(get('scores').data as Float32Array),
    keypoints: { data, n: d, k },
    keypointScore: 'logit',
  };
}

export const torchvisionDetectionLayout: LayoutAdapter = {
  name: 'torchvision-detection',
  description:
    'torchvision detection exports (fasterrcnn, retinanet, fcos, ssd, keypointrcnn): rank-3 image [3, H, W] 0..1 without a batch dimension, int64 labels, possibly zero detections; keypointrcnn adds keypoints [D, K, 3] + keypoints_scores [D, K] (regressed keypoints, ensembled by instance matching). The graph resizes every input to its own min_size (shorter side, capped by max_size): scale transforms are undone inside the model and only the flip changes what it sees.',
  traits: { resizesInGraph: true, selfDetecting: true, cropsPerson: false },
  roles: {
    detector: { inputs: ['image'], outputs: ['boxes', 'scores', 'labels'] },
    keypoints: { inputs: ['image'], outputs: ['boxes', 'scores', 'labels', 'keypoints', 'keypointScores'] },
  },
  needsHeatmapSize: false,
  parseOptions: (value, _role, path) => noOptions('torchvision-detection', value, path),
  expectations,
  async detect(model, image, geometry) {
    return withRank3Input(model, image, geometry, (input) => runDetector(model, input, geometry.target));
  },
  keypoints: { kind: 'regressed', run: runKeypointRcnn },
};

// Guesses which model layout an ONNX model follows from its inputs and outputs alone, and
// writes a manifest skeleton for it (what `omnidistill inspect` prints for the user to edit).
// One entry per layout in a typed table, tried in order; the first that recognises the
// model's signature wins.
import { MANIFEST_FORMAT, MANIFEST_VERSION } from './manifest.js';
import { fixedInputSize, type ModelInfo, type TensorInfo } from './model-info.js';

/** A guess: the layout and role, why, and a manifest skeleton to edit. */
export interface LayoutGuess {
  layout: string;
  role: 'detector' | 'keypoints';
  reason: string;
  /** A manifest for this model; fields marked in `edit` need the user's knowledge. */
  manifest: Record<string, unknown>;
  /** What to check or fill in before using the manifest. */
  edit: string[];
}

interface LayoutRecogniser {
  layout: string;
  guess(info: ModelInfo): Omit<LayoutGuess, 'layout'> | null;
}

const rank = (t: TensorInfo | undefined): number => t?.shape?.length ?? -1;
const dim = (t: TensorInfo, i: number): number | null => {
  const d = t.shape?.at(i);
  return typeof d === 'number' ? d : null;
};
const isFloat = (t: TensorInfo) => t.dtype === 'float32' || t.dtype === 'float16' || t.dtype === 'float64';
const named = (outputs: TensorInfo[], re: RegExp) => outputs.find((o) => re.test(o.name));

function skeleton(layout: string, role: 'detector' | 'keypoints', inputs: Record<string, string>, outputs: Record<string, string>, extra: Record<string, unknown>, pixels: Record<string, unknown>) {
  return { format: MANIFEST_FORMAT, version: MANIFEST_VERSION, role, ...(layout === 'rois' ? {} : { layout }), inputs, outputs, pixels, ...extra };
}

/** COCO person keypoints when K = 17; otherwise the names and flip pairs are the user's to give. */
function keypointFields(k: number | null, heatmapSize?: number | null): { fields: Record<string, unknown>; edit: string[] } {
  const edit: string[] = [];
  const fields: Record<string, unknown> = { schema: 'coco-person' };
  if (k !== 17) {
    fields.schema = 'custom';
    fields.names = Array.from({ length: k ?? 1 }, (_, i) => `keypoint${i}`);
    fields.flipPairs = [];
    edit.push(`keypoints.names / keypoints.flipPairs: the model has ${k ?? 'an unknown number of'} keypoints, not COCO's 17; name them and list the left/right pairs`);
  }
  if (heatmapSize !== undefined) {
    fields.heatmapSize = heatmapSize ?? 56;
    if (heatmapSize === null) edit.push('keypoints.heatmapSize: the heatmap side is dynamic in the graph; give the size the model outputs');
  }
  return { fields: { keypoints: fields }, edit };
}

const PIXEL_EDIT = 'pixels: how the model was trained to see pixels (scale 255 → inputs in [0, 1]; mean/std of the training normalisation; channelOrder bgr for OpenCV-trained models). A wrong pixel scale gives near-zero AP (check-model warns)';

/** omnidistill's own contract: image + rois → heatmaps. */
const roisKeypoints: LayoutRecogniser = {
  layout: 'rois',
  guess(info) {
    if (info.inputs.length !== 2 || info.outputs.length !== 1) return null;
    const image = info.inputs.find((t) => rank(t) === 4);
    const rois = info.inputs.find((t) => rank(t) === 2 && dim(t, 1) === 4);
    const heatmaps = info.outputs[0];
    if (!image || !rois || rank(heatmaps) !== 4) return null;
    const kp = keypointFields(dim(heatmaps, 1), dim(heatmaps, 2));
    return {
      role: 'keypoints',
      reason: `inputs ${image.name} [1, 3, H, W] + ${rois.name} [N, 4] and one [N, K, M, M] output: RoI heatmaps (Mask R-CNN-style keypoint head)`,
      manifest: skeleton('rois', 'keypoints', { image: image.name, rois: rois.name }, { heatmaps: heatmaps.name }, kp.fields, { scale: 255 }),
      edit: [PIXEL_EDIT, ...kp.edit],
    };
  },
};

/** omnidistill's own detector contract: image → boxes [D, 4], scores [D], labels [D]. */
const roisDetector: LayoutRecogniser = {
  layout: 'rois',
  guess(info) {
    if (info.inputs.length !== 1 || rank(info.inputs[0]) !== 4 || info.outputs.length !== 3) return null;
    const boxes = info.outputs.find((t) => rank(t) === 2 && dim(t, 1) === 4);
    const rest = info.outputs.filter((t) => t !== boxes && rank(t) === 1);
    if (!boxes || rest.length !== 2) return null;
    const scores = rest.find(isFloat) ?? rest[0];
    const labels = rest.find((t) => t !== scores)!;
    return {
      role: 'detector',
      reason: `one [1, 3, H, W] input and outputs ${boxes.name} [D, 4], ${scores.name} [D], ${labels.name} [D]: omnidistill's detector contract`,
      manifest: skeleton('rois', 'detector', { image: info.inputs[0].name }, { boxes: boxes.name, scores: scores.name, labels: labels.name }, {}, { scale: 255 }),
      edit: [PIXEL_EDIT, 'categoryIds: add [COCO id of label 0, of label 1, …] unless the labels are already COCO category ids'],
    };
  },
};

/** torchvision detection exports: image [3, H, W] (no batch) → boxes, labels (int64), scores (+ keypoints). */
const torchvisionDetection: LayoutRecogniser = {
  layout: 'torchvision-detection',
  guess(info) {
    if (info.inputs.length !== 1 || rank(info.inputs[0]) !== 3) return null;
    const boxes = named(info.outputs, /box/i);
    const labels = named(info.outputs, /label/i);
    const scores = info.outputs.find((o) => /score/i.test(o.name) && !/keypoint/i.test(o.name));
    if (!boxes || !labels || !scores) return null;
    const keypoints = info.outputs.find((o) => /keypoint/i.test(o.name) && !/score/i.test(o.name));
    const keypointScores = info.outputs.find((o) => /keypoint/i.test(o.name) && /score/i.test(o.name));
    const outputs: Record<string, string> = { boxes: boxes.name, scores: scores.name, labels: labels.name };
    const pixels = { scale: 255 };
    const edit = [
      'pixels: torchvision detectors take [0, 1] RGB (scale 255) and normalise inside the graph; keep mean 0 / std 1',
      'categoryIds: torchvision COCO models use label = COCO category id (leave out); for your own classes give [id of label 0, …]',
    ];
    if (keypoints) {
      outputs.keypoints = keypoints.name;
      if (keypointScores) outputs.keypointScores = keypointScores.name;
      const kp = keypointFields(dim(keypoints, 1));
      return {
        role: 'keypoints',
        reason: `rank-3 image input ${info.inputs[0].name} [3, H, W] and outputs boxes/labels/scores/keypoints: a torchvision keypoint R-CNN export (regressed keypoints)`,
        manifest: skeleton('torchvision-detection', 'keypoints', { image: info.inputs[0].name }, outputs, kp.fields, pixels),
        edit: [...edit, ...kp.edit],
      };
    }
    return {
      role: 'detector',
      reason: `rank-3 image input ${info.inputs[0].name} [3, H, W] and outputs boxes/labels/scores: a torchvision detection export (Faster R-CNN, RetinaNet, FCOS, SSD)`,
      manifest: skeleton('torchvision-detection', 'detector', { image: info.inputs[0].name }, outputs, {}, pixels),
      edit,
    };
  },
};

/** Ultralytics-style raw heads: detect [1, 4 + C, A], pose [1, 4 + 1 + 3K, A]. */
const yolo: LayoutRecogniser = {
  layout: 'yolo',
  guess(info) {
    if (info.inputs.length !== 1 || rank(info.inputs[0]) !== 4 || info.outputs.length !== 1 || rank(info.outputs[0]) !== 3) return null;
    const out = info.outputs[0];
    const c = dim(out, 1);
    const a = dim(out, 2);
    if (c === null || (a !== null && a <= c)) return null;
    const pose = c >= 8 && (c - 5) % 3 === 0;
    const k = pose ? (c - 5) / 3 : null;
    const fixed = fixedInputSize(info.inputs[0]);
    const base = {
      reason: `one output ${out.name} [1, ${c}, ${a ?? 'A'}]: an Ultralytics-style raw head (${pose ? `pose, 4 + 1 + 3·${k}` : `detect, 4 + ${c - 4} classes`})${fixed ? `, fixed ${fixed.width}×${fixed.height} letterboxed input` : ''}`,
      edit: ['pixels: Ultralytics models take [0, 1] RGB (scale 255, no mean/std)'],
    };
    if (pose) {
      const kp = keypointFields(k);
      return { ...base, role: 'keypoints', manifest: skeleton('yolo', 'keypoints', { image: info.inputs[0].name }, { predictions: out.name }, kp.fields, { scale: 255 }), edit: [...base.edit, ...kp.edit] };
    }
    return {
      ...base,
      role: 'detector',
      manifest: skeleton('yolo', 'detector', { image: info.inputs[0].name }, { predictions: out.name }, {}, { scale: 255 }),
      edit: [...base.edit, `categoryIds: [COCO id of class 0, …] for the ${c - 4} classes (COCO-trained YOLO: the 80-class → COCO id map)`],
    };
  },
};

/** Top-down heatmap models (SimpleBaseline, HRNet, MMPose): person crop [1, 3, h, w] → [1, K, h/4, w/4]. */
const topdownHeatmap: LayoutRecogniser = {
  layout: 'topdown-heatmap',
  guess(info) {
    if (info.inputs.length !== 1 || rank(info.inputs[0]) !== 4 || info.outputs.length !== 1 || rank(info.outputs[0]) !== 4) return null;
    const out = info.outputs[0];
    const kp = keypointFields(dim(out, 1));
    const fixed = fixedInputSize(info.inputs[0]);
    return {
      role: 'keypoints',
      reason: `one image input${fixed ? ` of fixed size ${fixed.width}×${fixed.height}` : ''} and one [1, K, h, w] output ${out.name}: a top-down heatmap model on person crops`,
      manifest: skeleton('topdown-heatmap', 'keypoints', { image: info.inputs[0].name }, { heatmaps: out.name }, { ...kp.fields, layoutOptions: { padding: 1.25, padValue: 0 } }, { scale: 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] }),
      edit: ['pixels: MMPose/HRNet models use ImageNet mean/std on [0, 1] RGB (as written); check yours', ...kp.edit],
    };
  },
};

/** SimCC (RTMPose): person crop → x logits [1, K, Wx] and y logits [1, K, Wy]. */
const simcc: LayoutRecogniser = {
  layout: 'simcc',
  guess(info) {
    if (info.inputs.length !== 1 || rank(info.inputs[0]) !== 4 || info.outputs.length !== 2 || !info.outputs.every((o) => rank(o) === 3)) return null;
    const [x, y] = info.outputs;
    const kp = keypointFields(dim(x, 1));
    return {
      role: 'keypoints',
      reason: `two [1, K, L] outputs (${x.name}, ${y.name}): SimCC x/y 1-D logits (RTMPose)`,
      manifest: skeleton('simcc', 'keypoints', { image: info.inputs[0].name }, { x: x.name, y: y.name }, { ...kp.fields, layoutOptions: { padding: 1.25, splitRatio: 2 } }, { scale: 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] }),
      edit: ['outputs: check which output is x and which is y (the x one has the longer axis for portrait crops)', ...kp.edit],
    };
  },
};

/** The recognisers, most specific signature first. */
export const LAYOUT_RECOGNISERS: readonly LayoutRecogniser[] = Object.freeze([roisKeypoints, roisDetector, torchvisionDetection, yolo, simcc, topdownHeatmap]);

/** The first layout whose signature the model matches, or null when none does. */
export function guessLayout(info: ModelInfo): LayoutGuess | null {
  for (const r of LAYOUT_RECOGNISERS) {
    const g = r.guess(info);
    if (g !== null) return { layout: r.layout, ...g };
  }
  return null;
}

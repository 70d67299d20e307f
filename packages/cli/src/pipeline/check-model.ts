// The teacher check (check-model, and the start of label): on a few labeled images, the
// model's AP and the agreement of its flipped and 2×-scaled passes with the identity pass,
// plus the traps found in the ONNX file itself — so a wrong pixel scale, a model that finds
// nothing, an in-graph resize, an opset-11 RoiAlign or a plan that cannot fit a fixed input
// are reported before a long run, not discovered in its labels.
import { join } from 'node:path';
import { COCO_PERSON_OKS_SIGMAS, createParams, evaluate, summarize } from '@omnidistill/coco';
import type { CocoDataset, CocoResult } from '@omnidistill/coco';
import type { ImageSize } from '@omnidistill/core';
import { decodeImage } from '@omnidistill/infer';
import type { DecodedImage, KeypointSession, ModelInfo, ModelSession } from '@omnidistill/infer';
import type { RawInstance } from '@omnidistill/select';
import { customPlan, resolveTransform } from '@omnidistill/transforms';
import type { TransformPlan, TransformSpec } from '@omnidistill/transforms';
import { predictorFor } from './label.js';
import type { LabelOptions } from './label.js';

/** Below this AP (on the 0–1 scale) on its own labeled images a teacher is broken, not weak. */
export const NEAR_ZERO_AP = 0.02;
/** PCK / box-match threshold under which a flipped pass disagrees with the identity. */
const FLIP_AGREEMENT_FLOOR = 0.5;

/** One single-transform pass of the check. */
export interface CheckPass {
  transform: string;
  /** COCO AP on the sample (keypoint AP or box AP), or null when the pass could not run. */
  ap: number | null;
  predictions: number;
  /**
   * Agreement with the identity pass: for keypoints the fraction of keypoints within 10% of
   * the box's longer side of the identity's (PCK@0.1), for boxes the fraction of identity
   * boxes matched at IoU ≥ 0.5 (same category). 1 for the identity itself.
   */
  agreement: number | null;
  note?: string;
}

export interface CheckReport {
  task: 'keypoints' | 'detection';
  images: number;
  instances: number;
  passes: CheckPass[];
  warnings: string[];
}

/** Layouts whose image input receives the transformed image unscaled (padded to a fixed input). */
const WHOLE_IMAGE_LAYOUTS: ReadonlySet<string> = new Set(['rois', 'torchvision-detection']);

/** A plan transform that makes some image larger than a fixed model input, in words; null when all fit. */
export function planFitProblem(model: ModelSession, path: string, plan: TransformPlan, sizes: readonly ImageSize[]): string | null {
  // Crop layouts resample each person to their fixed input and yolo letterboxes the whole
  // image into it: only layouts that feed the transformed image as it is can overflow.
  if (!WHOLE_IMAGE_LAYOUTS.has(model.manifest.layout)) return null;
  const dims = model.inputs.image?.dims ?? [];
  const fixedH = dims.at(-2);
  const fixedW = dims.at(-1);
  if (typeof fixedH !== 'number' || typeof fixedW !== 'number') return null;
  const distinct = [...new Map(sizes.map((s) => [`${s.width}x${s.height}`, s])).values()];
  for (const spec of plan.transforms) {
    for (const size of distinct) {
      const g = resolveTransform(spec, size);
      if (g.target.width > fixedW || g.target.height > fixedH) {
        const fit = Math.min(fixedW / size.width, fixedH / size.height);
        return `${path} has a fixed input of ${fixedW}×${fixedH}, but transform ${spec.name} makes a ${size.width}×${size.height} image ${g.target.width}×${g.target.height}: use scales that fit (at most ${Math.floor(fit * 100) / 100}x for these images, e.g. --scales ${Math.floor(fit * 100) / 100}x) or --plan flip, or export the model with dynamic height/width`;
      }
    }
  }
  return null;
}

export interface CheckOptions extends Pick<LabelOptions, 'task' | 'detector'> {
  /** Its RoIs on the labeled sample are the labeled boxes (unless self-detecting). */
  /** keypoints task: the model; `selfDetecting` models (keypoint R-CNN, YOLO-pose) find the people themselves. */
  keypoints?: { model: KeypointSession; selfDetecting?: boolean };
  labeled: CocoDataset;
  /** The labeled COCO file (its boxes are the keypoint RoIs). */
  labeledPath: string;
  imageDir: string;
  /** Labeled images to check on (default 8). */
  sample?: number;
  /** Static findings of the ONNX file (inspect's), merged into the warnings. */
  info?: ModelInfo;
}

/**
 * The three passes, each run alone: a one-transform "plan" without the identity (plans built
 * by customPlan always lead with it), so a pass measures that transform only.
 */
const SINGLE_PASSES = (): TransformSpec[] => [customPlan([]).transforms[0], customPlan([{ flip: true }]).transforms[1], customPlan([{ factor: 2 }]).transforms[1]];

/** Runs the check; never throws for a bad model, it reports. */
export async function checkTeacher(options: CheckOptions): Promise<CheckReport> {
  const categoryId = options.task === 'keypoints' ? options.keypoints!.model.manifest.keypoints.categoryId : null;
  const sample = sampleImages(options.labeled, options.sample ?? 8, categoryId);
  const decoded = new Map<number, DecodedImage>();
  for (const img of sample) {
    const d = await decodeImage(join(options.imageDir, img.file_name));
    if (d.ok) decoded.set(img.id, d.image);
  }
  const warnings = [...(options.info?.warnings ?? [])];
  const ids = sample.filter((i) => decoded.has(i.id)).map((i) => i.id);
  const instances = options.labeled.annotations.filter((a) => ids.includes(a.image_id) && !a.iscrowd && (categoryId === null || a.category_id === categoryId)).length;
  if (ids.length === 0) {
    warnings.push(`no labeled image could be read from ${options.imageDir} (tried ${sample.length}); the model was not run`);
    return { task: options.task, images: 0, instances: 0, passes: [], warnings };
  }
  const model: ModelSession = options.task === 'keypoints' ? options.keypoints!.model : options.detector!;
  const passes: CheckPass[] = [];
  let identity: Map<number, RawInstance[]> | null = null;
  for (const spec of SINGLE_PASSES()) {
    const plan: TransformPlan = { transforms: [spec] };
    const fit = planFitProblem(model, 'the model', plan, ids.map((id) => decoded.get(id)!));
    if (fit !== null) {
      passes.push({ transform: spec.name, ap: null, predictions: 0, agreement: null, note: 'does not fit the fixed input' });
      continue;
    }
    let byImage: Map<number, RawInstance[]>;
    try {
      byImage = await runPass(options, plan, ids, decoded);
    } catch (err) {
      passes.push({ transform: spec.name, ap: null, predictions: 0, agreement: null, note: `failed: ${(err as Error).message}` });
      continue;
    }
    let ap: number | null = null;
    let note: string | undefined;
    try {
      ap = sampleAp(options, byImage, ids);
    } catch (err) {
      note = `AP not computed: ${(err as Error).message}`;
    }
    const predictions = [...byImage.values()].reduce((n, l) => n + l.length, 0);
    if (identity === null) identity = byImage;
    passes.push({ transform: spec.name, ap, predictions, agreement: agreement(identity, byImage, options.task), ...(note ? { note } : {}) });
  }
  warnings.push(...passWarnings(passes, ids.length, instances, options.task));
  return { task: options.task, images: ids.length, instances, passes, warnings };
}

/** One single-transform pass over the sample. */
async function runPass(options: CheckOptions, plan: TransformPlan, ids: number[], decoded: Map<number, DecodedImage>): Promise<Map<number, RawInstance[]>> {
  const predict = await predictorFor({
    task: options.task,
    ...(options.task === 'keypoints' ? { keypoints: { model: options.keypoints!.model, rois: options.keypoints!.selfDetecting ? null : { kind: 'boxes', annotations: options.labeledPath } } } : { detector: options.detector }),
    plan,
  });
  const byImage = new Map<number, RawInstance[]>();
  for (const id of ids) {
    const img = options.labeled.images.find((i) => i.id === id)!;
    byImage.set(id, await predict(decoded.get(id)!, { imageId: id, fileName: img.file_name }));
  }
  return byImage;
}

function sampleImages(labeled: CocoDataset, count: number, categoryId: number | null) {
  const withInstances = new Set(labeled.annotations.filter((a) => !a.iscrowd && (categoryId === null || a.category_id === categoryId)).map((a) => a.image_id));
  return labeled.images.filter((i) => withInstances.has(i.id)).slice(0, count);
}

function sampleAp(options: CheckOptions, byImage: Map<number, RawInstance[]>, ids: number[]): number | null {
  const results: CocoResult[] = [];
  for (const [imageId, list] of byImage) {
    for (const inst of list) {
      const [x1, y1, x2, y2] = inst.bbox;
      const r: CocoResult = { image_id: imageId, category_id: inst.categoryId, score: inst.score, bbox: [x1, y1, x2 - x1, y2 - y1] };
      if (options.task === 'keypoints' && inst.keypoints) r.keypoints = Float64Array.from(inst.keypoints);
      results.push(r);
    }
  }
  if (options.task === 'keypoints') {
    const kp = options.keypoints!.model.manifest.keypoints;
    const sigmas = kp.names.length === COCO_PERSON_OKS_SIGMAS.length ? [...COCO_PERSON_OKS_SIGMAS] : new Array<number>(kp.names.length).fill(0.05);
    const params = createParams('keypoints', options.labeled, { imgIds: ids, catIds: [kp.categoryId], kptOksSigmas: sigmas });
    return summarize(evaluate(options.labeled, results, params)).stats[0];
  }
  const params = createParams('bbox', options.labeled, { imgIds: ids });
  return summarize(evaluate(options.labeled, results, params)).stats[0];
}

function iou(a: readonly number[], b: readonly number[]): number {
  const w = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
}

/** Agreement of `other` with the identity pass (see {@link CheckPass.agreement}). */
function agreement(identity: Map<number, RawInstance[]>, other: Map<number, RawInstance[]>, task: 'keypoints' | 'detection'): number | null {
  let hits = 0;
  let total = 0;
  for (const [id, base] of identity) {
    const candidates = other.get(id) ?? [];
    // The identity's 20 most confident instances: agreement on what the model believes in.
    const top = [...base].sort((a, b) => b.score - a.score).slice(0, 20);
    for (const inst of top) {
      let best: RawInstance | null = null;
      let bestIou = 0.5;
      for (const c of candidates) {
        const v = c.categoryId === inst.categoryId ? iou(inst.bbox, c.bbox) : 0;
        if (v >= bestIou) [best, bestIou] = [c, v];
      }
      if (task === 'detection') {
        total++;
        if (best !== null) hits++;
        continue;
      }
      const k = (inst.keypoints?.length ?? 0) / 3;
      const side = Math.max(inst.bbox[2] - inst.bbox[0], inst.bbox[3] - inst.bbox[1]);
      for (let j = 0; j < k; j++) {
        total++;
        if (best?.keypoints && Math.hypot(best.keypoints[3 * j] - inst.keypoints![3 * j], best.keypoints[3 * j + 1] - inst.keypoints![3 * j + 1]) <= 0.1 * side) hits++;
      }
    }
  }
  return total === 0 ? null : hits / total;
}

function passWarnings(passes: CheckPass[], images: number, instances: number, task: 'keypoints' | 'detection'): string[] {
  const out: string[] = [];
  const [id, flip, scaled] = passes;
  const what = task === 'keypoints' ? 'keypoint AP' : 'box AP';
  if (id.predictions === 0) {
    out.push(`zero ${task === 'keypoints' ? 'keypoint instances' : 'detections'} on ${images} labeled images with ${instances} labeled instances: the model finds nothing — check the manifest's pixels (scale 255 ↔ inputs in [0, 1]; mean/std; channelOrder), its output names and score threshold`);
  } else if (id.ap !== null && id.ap < NEAR_ZERO_AP) {
    out.push(`near-zero ${what} ${(id.ap * 100).toFixed(1)} on ${images} labeled images (${instances} instances): the predictions do not match the labels — most often a wrong pixel scale or normalisation (manifest pixels.scale / mean / std / channelOrder), a keypoint order or category id that differs from the labeled set, or a model trained on other data; count matching would still select labels from it`);
  }
  if (flip?.agreement !== null && flip?.agreement !== undefined && id.ap !== null && id.ap >= NEAR_ZERO_AP && flip.agreement < FLIP_AGREEMENT_FLOOR) {
    out.push(`the flipped pass agrees with the identity on only ${(flip.agreement * 100).toFixed(0)}%: check keypoints.flipPairs in the manifest (left/right channels) — a wrong flip map corrupts every flipped transform of the plan`);
  }
  if (scaled?.note) out.push(`the 2× pass was not run: ${scaled.note}`);
  return out;
}

// Multi-transform inference for models that regress keypoints and find the people themselves
// (keypoint R-CNN's decoded outputs, YOLO-pose). There are no heatmaps to average, so — an
// extension beyond the paper — every transform's instances are mapped back to the original
// image, matched across transforms (OKS against the best-scoring member, or box IoU when the
// schema has no OKS sigmas; at most one instance per transform in a group), and each group is
// fused: confidence-weighted mean of the coordinates, instance score = sum of the members'
// scores / T (a person seen under fewer transforms scores lower, as in weighted boxes fusion).
import { COCO_PERSON, OmniRangeError, expectInRange, type KeypointArray } from '@omnidistill/core';
import { inverseBoxes, inverseKeypoints, resolvePlan, type TransformPlan } from '@omnidistill/transforms';
import type { DecodedImage } from './image.js';
import type { RegressedInstances } from './layouts/types.js';
import { keypointRunner } from './multi.js';
import type { KeypointSession } from './session.js';
import { timeStage } from './stage-clock.js';

/** Options of {@link predictRegressedKeypoints}. */
export interface RegressedInferenceOptions {
  plan: TransformPlan;
  /** Instances of two transforms are one person when OKS (or IoU) with the group's best is > this (default 0.5). */
  matchThreshold?: number;
}

/** Instances in original-image pixels, best first. */
export interface KeypointInstances {
  boxes: Float64Array;
  scores: Float64Array;
  keypoints: KeypointArray;
}

/**
 * Runs a self-detecting keypoint model under every transform of the plan and fuses the
 * instances (see the file comment). A single-pass plan returns the model's own instances.
 */
export async function predictRegressedKeypoints(model: KeypointSession, image: DecodedImage, options: RegressedInferenceOptions): Promise<KeypointInstances> {
  const runner = keypointRunner(model);
  if (runner.kind !== 'regressed') throw new Error(`${model.source}: layout "${model.manifest.layout}" needs RoIs; predict with predictKeypoints`);
  const threshold = options.matchThreshold === undefined ? 0.5 : expectInRange(options.matchThreshold, 'options.matchThreshold', 0, 1);
  const { flipPairs, names, schema } = model.manifest.keypoints;
  const geometries = resolvePlan(options.plan, image);
  // The registry gives every regressed runner a runAll (one transform per call where the layout cannot batch).
  const raws = await runner.runAll!(model, image, geometries);
  const perTransform = raws.map((raw, i) => ({
    ...raw,
    boxes: inverseBoxes(raw.boxes, geometries[i], { convention: 'continuous' }),
    keypoints: inverseKeypoints(raw.keypoints, geometries[i], { convention: 'continuous', flipPairs }),
  }));
  const sigmas = schema === COCO_PERSON.name && names.length === COCO_PERSON.keypoints.length ? COCO_PERSON.sigmas : null;
  return timeStage(model.clock, 'ensemble', () => fuseInstances(perTransform, { threshold, sigmas }));
}

/** One instance of the union: transform t, row i. */
interface Member {
  t: number;
  i: number;
}

/**
 * Groups and fuses instances that are already in original-image pixels (one entry per
 * transform). Exported for tests and for callers with their own passes.
 */
export function fuseInstances(perTransform: readonly RegressedInstances[], options: { threshold: number; sigmas: readonly number[] | null }): KeypointInstances {
  const tCount = perTransform.length;
  if (tCount === 0) throw new OmniRangeError('perTransform', 'at least one transform', perTransform);
  const k = perTransform[0].keypoints.k;
  const union: Member[] = perTransform.flatMap((p, t) => Array.from({ length: p.scores.length }, (_, i) => ({ t, i })));
  const score = (m: Member) => perTransform[m.t].scores[m.i];
  union.sort((a, b) => score(b) - score(a) || a.t - b.t || a.i - b.i);
  const groups: Member[][] = [];
  for (const m of union) {
    let best: Member[] | null = null;
    let bestSim = options.threshold;
    for (const g of groups) {
      if (g.some((o) => o.t === m.t)) continue;
      const sim = similarity(perTransform, g[0], m, k, options.sigmas);
      if (sim > bestSim) [best, bestSim] = [g, sim];
    }
    if (best) best.push(m);
    else groups.push([m]);
  }
  const n = groups.length;
  const boxes = new Float64Array(4 * n);
  const scores = new Float64Array(n);
  const data = new Float32Array(n * k * 3);
  groups.forEach((g, gi) => fuseGroup(perTransform, g, k, tCount, boxes, scores, data, gi));
  // Best first; stable on ties (groups are created in score order).
  const order = [...groups.keys()].sort((a, b) => scores[b] - scores[a] || a - b);
  return {
    boxes: Float64Array.from(order.flatMap((i) => Array.from(boxes.subarray(4 * i, 4 * i + 4)))),
    scores: Float64Array.from(order, (i) => scores[i]),
    keypoints: { data: Float32Array.from(order.flatMap((i) => Array.from(data.subarray(3 * k * i, 3 * k * (i + 1))))), n, k },
  };
}

/** OKS of `m` against the group's best `g` (COCO's formula over all K keypoints, g's box area), or box IoU. */
function similarity(p: readonly RegressedInstances[], g: Member, m: Member, k: number, sigmas: readonly number[] | null): number {
  const gb = p[g.t].boxes.subarray(4 * g.i, 4 * g.i + 4);
  const mb = p[m.t].boxes.subarray(4 * m.i, 4 * m.i + 4);
  if (sigmas === null) return iou(gb, mb);
  const area = Math.max((gb[2] - gb[0]) * (gb[3] - gb[1]), 1e-9);
  const gk = p[g.t].keypoints.data;
  const mk = p[m.t].keypoints.data;
  let acc = 0;
  for (let c = 0; c < k; c++) {
    const a = 3 * (g.i * k + c);
    const b = 3 * (m.i * k + c);
    const d2 = (gk[a] - mk[b]) ** 2 + (gk[a + 1] - mk[b + 1]) ** 2;
    acc += Math.exp(-d2 / (2 * area * (2 * sigmas[c]) ** 2));
  }
  return acc / k;
}

function iou(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const w = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

function fuseGroup(
  p: readonly RegressedInstances[], g: readonly Member[], k: number, tCount: number,
  boxes: Float64Array, scores: Float64Array, data: Float32Array, at: number,
): void {
  let wSum = 0;
  let sSum = 0;
  const box = [0, 0, 0, 0];
  for (const m of g) {
    const s = p[m.t].scores[m.i];
    const w = Math.max(s, 1e-6);
    for (let j = 0; j < 4; j++) box[j] += w * p[m.t].boxes[4 * m.i + j];
    wSum += w;
    sSum += s;
  }
  boxes.set(box.map((v) => v / wSum), 4 * at);
  scores[at] = sSum / tCount;
  for (let c = 0; c < k; c++) {
    let x = 0;
    let y = 0;
    let w = 0;
    let score = 0;
    for (const m of g) {
      const src = p[m.t];
      const o = 3 * (m.i * k + c);
      const conf = src.keypointScore === 'logit' ? sigmoid(src.keypoints.data[o + 2]) : Math.max(src.keypoints.data[o + 2], 0);
      const wm = Math.max(src.scores[m.i], 1e-6) * Math.max(conf, 1e-6);
      x += wm * src.keypoints.data[o];
      y += wm * src.keypoints.data[o + 1];
      w += wm;
      score += src.keypoints.data[o + 2];
    }
    data.set([x / w, y / w, score / g.length], 3 * (at * k + c));
  }
}

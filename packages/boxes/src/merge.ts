// The detection-distillation merge (REFERENCE.md §1.3 and §4, Detectron's bbox test-time
// augmentation): per-transform detections → original image coordinates → union →
// per-class NMS → box voting against the whole union → top-k for the image. One call.
import { OmniRangeError, OmniTypeError, expectFiniteNumber, expectInteger, expectOneOf, type Detections, type ImageSize } from '@omnidistill/core';
import type { TransformGeometry } from '@omnidistill/transforms';
import { toDetections, type DetectionsInput } from './inputs.js';
import { toColumns } from './iou.js';
import { greedySuppress, groupByLabel, type NmsStrategy } from './nms.js';
import { orderByScoreDesc } from './order.js';
import { checkConvention, checkDetections, checkOptions, checkThreshold, type PixelConventionInput } from './validate.js';
import { VOTE_SCORINGS, voteByIndex, type VotingOptions } from './voting.js';

/** The detections of one transformed copy of the image, in that copy's pixel coordinates. */
export interface TransformDetections {
  detections: Detections;
  /** The transform they were predicted under (from `resolveTransform`). */
  transform: TransformGeometry;
}

/** What `mergeDetections` accepts per transform: the detections may use plain arrays. */
export interface TransformDetectionsInput {
  detections: DetectionsInput;
  transform: TransformGeometry;
}

export interface MergeOptions {
  /** Required: pixel convention of the boxes, for the inverse maps, clipping and IoU (`plusOne` = `pixelIndex`). */
  convention: PixelConventionInput;
  /** Keep candidates with score > this (default 0.05, Detectron's `TEST.SCORE_THRESH`). */
  scoreThreshold?: number;
  /** Per-class NMS IoU threshold (default 0.5). */
  nmsThreshold?: number;
  /** Box voting settings, or `false` to skip voting (default: vote threshold 0.8, scoring `id`). */
  voting?: VotingOptions | false;
  /** At most this many detections for the image, best first (default 100). */
  topK?: number;
  /** Clip mapped boxes to the original image (default true; Detectron clips). */
  clip?: boolean;
  /** NMS algorithm (default `auto`; all strategies give the same result). */
  strategy?: NmsStrategy;
}

export interface MergedDetections {
  /** `[M, 4]` boxes in original-image coordinates. */
  boxes: Float64Array;
  scores: Float64Array;
  labels: Int32Array;
}

interface Union {
  n: number;
  boxes: Float64Array;
  scores: Float64Array;
  labels: Int32Array;
}

/**
 * Merges the detections of every transform of one image into one set of hard labels.
 * Output sorted by descending score, at most `topK` (ties: stable, so exactly `topK`).
 *
 * @example
 * const plan = resolvePlan(paperPlan(), image);
 * const merged = mergeDetections(plan.map((t, i) => ({ transform: t, detections: outputs[i] })),
 *   { convention: 'continuous', voting: { scoring: 'avg' } });
 */
export function mergeDetections(perTransform: readonly TransformDetectionsInput[], options: MergeOptions): MergedDetections {
  if (options === null || typeof options !== 'object') throw new OmniTypeError('options', 'an object with a `convention` field', options);
  const o = checkOptions(options);
  const convention = checkConvention(o.convention, 'options.convention', null);
  const e = convention === 'pixelIndex' ? 1 : 0;
  const scoreThreshold = checkThreshold(o.scoreThreshold ?? 0.05, 'options.scoreThreshold');
  const nmsThreshold = checkThreshold(o.nmsThreshold ?? 0.5, 'options.nmsThreshold');
  const topK = expectInteger(o.topK ?? 100, 'options.topK', 0);
  const clip = o.clip ?? true;
  if (typeof clip !== 'boolean') throw new OmniTypeError('options.clip', 'a boolean', clip);
  const strategy = o.strategy ?? 'auto';
  const voting = readMergeVoting(o.voting, e);
  const { image, items } = checkTransforms(perTransform);

  const union = buildUnion(items, image, scoreThreshold, e, clip);
  const order = orderByScoreDesc(union.scores);
  const { grouped, starts, ends } = groupByLabel(order, union.labels);

  const resBoxes: Float64Array[] = [];
  const resScores: Float64Array[] = [];
  const resLabels: number[] = [];
  for (let g = 0; g < starts.length; g++) {
    // One class, its candidates in descending score order.
    const m = ends[g] - starts[g];
    const ids = new Int32Array(m);
    for (let i = 0; i < m; i++) ids[i] = order[grouped[starts[g] + i]];
    const label = union.labels[ids[0]];
    const cols = toColumns(union.boxes, ids);
    const keep = new Uint8Array(m);
    greedySuppress(cols, m, nmsThreshold, e, strategy, keep);
    const kept: number[] = [];
    for (let i = 0; i < m; i++) if (keep[i]) kept.push(i);
    if (voting === null) {
      const boxes = new Float64Array(4 * kept.length);
      const scores = new Float64Array(kept.length);
      kept.forEach((i, r) => {
        boxes.set([cols.x1[i], cols.y1[i], cols.x2[i], cols.y2[i]], 4 * r);
        scores[r] = union.scores[ids[i]];
      });
      resBoxes.push(boxes);
      resScores.push(scores);
    } else {
      const classScores = new Float64Array(m);
      for (let i = 0; i < m; i++) classScores[i] = union.scores[ids[i]];
      const voted = voteByIndex(cols, classScores, m, kept, voting);
      resBoxes.push(voted.boxes);
      resScores.push(voted.scores);
    }
    resLabels.push(label);
  }
  return topKOf(resBoxes, resScores, resLabels, topK);
}

/** Best `k` over every class (stable: classes in order, each in its kept order). */
function topKOf(boxesByClass: Float64Array[], scoresByClass: Float64Array[], labelOfClass: number[], k: number): MergedDetections {
  let total = 0;
  for (const s of scoresByClass) total += s.length;
  const scores = new Float64Array(total);
  const cls = new Int32Array(total);
  const row = new Int32Array(total);
  let at = 0;
  scoresByClass.forEach((s, c) => {
    for (let i = 0; i < s.length; i++, at++) {
      scores[at] = s[i];
      cls[at] = c;
      row[at] = i;
    }
  });
  const order = orderByScoreDesc(scores);
  const m = Math.min(k, total);
  const out: MergedDetections = { boxes: new Float64Array(4 * m), scores: new Float64Array(m), labels: new Int32Array(m) };
  for (let i = 0; i < m; i++) {
    const j = order[i];
    const b = boxesByClass[cls[j]];
    out.boxes.set(b.subarray(4 * row[j], 4 * row[j] + 4), 4 * i);
    out.scores[i] = scores[j];
    out.labels[i] = labelOfClass[cls[j]];
  }
  return out;
}

function readMergeVoting(v: VotingOptions | false | undefined, e: number) {
  if (v === false) return null;
  const o = checkOptions(v ?? {}, 'options.voting');
  if (o.convention !== undefined) {
    throw new OmniTypeError('options.voting.convention', 'nothing (the merge uses options.convention)', o.convention);
  }
  const scoring = expectOneOf(o.scoring ?? 'id', 'options.voting.scoring', VOTE_SCORINGS);
  const beta = expectFiniteNumber(o.beta ?? 1, 'options.voting.beta');
  if ((scoring === 'generalized_avg' || scoring === 'temp_avg') && !(beta > 0)) {
    throw new OmniRangeError('options.voting.beta', `a positive number for scoring "${scoring}"`, beta);
  }
  return { threshold: checkThreshold(o.voteThreshold ?? 0.8, 'options.voting.voteThreshold'), scoring, beta, e };
}

/** Validates the per-transform list; returns the original image size and the detections as typed arrays. */
function checkTransforms(perTransform: readonly TransformDetectionsInput[]): { image: ImageSize; items: TransformDetections[] } {
  if (!Array.isArray(perTransform) || perTransform.length === 0) {
    throw new OmniTypeError('perTransform', 'a non-empty array of { detections, transform }', perTransform);
  }
  let image: ImageSize | null = null;
  const items: TransformDetections[] = [];
  perTransform.forEach((item, t) => {
    if (item === null || typeof item !== 'object') throw new OmniTypeError(`perTransform[${t}]`, '{ detections, transform }', item);
    const g = item.transform;
    if (g === null || typeof g !== 'object' || typeof g.scaleX !== 'number' || g.source === undefined || g.target === undefined) {
      throw new OmniTypeError(`perTransform[${t}].transform`, 'a TransformGeometry (from resolveTransform)', g);
    }
    if (image === null) image = g.source;
    else if (g.source.width !== image.width || g.source.height !== image.height) {
      throw new OmniRangeError(`perTransform[${t}].transform.source`, `the same original image size as perTransform[0] (${image.width}x${image.height})`, `${g.source.width}x${g.source.height}`);
    }
    const detections = toDetections(item.detections, `perTransform[${t}].detections`);
    checkDetections(detections, `perTransform[${t}].detections`, [0, 1]);
    items.push({ detections, transform: g });
  });
  return { image: image as unknown as ImageSize, items };
}

// Maps every candidate above the score threshold back to the original image, in one pass.
function buildUnion(perTransform: readonly TransformDetections[], image: ImageSize, thr: number, e: number, clip: boolean): Union {
  let total = 0;
  for (const { detections } of perTransform) {
    const s = detections.scores;
    for (let i = 0; i < s.length; i++) if (s[i] > thr) total++;
  }
  const u: Union = { n: total, boxes: new Float64Array(4 * total), scores: new Float64Array(total), labels: new Int32Array(total) };
  const maxX = image.width - e;
  const maxY = image.height - e;
  let k = 0;
  for (const { detections: d, transform: t } of perTransform) {
    const { scaleX: sx, scaleY: sy, flip } = t;
    const w = t.target.width;
    const b = d.boxes;
    for (let i = 0; i < d.scores.length; i++) {
      if (!(d.scores[i] > thr)) continue;
      let x1 = b[4 * i];
      let x2 = b[4 * i + 2];
      if (flip) {
        const f1 = w - e - x2;
        x2 = w - e - x1;
        x1 = f1;
      }
      // Same arithmetic as inverseBoxes in @omnidistill/transforms.
      let ox1 = x1 / sx;
      let oy1 = b[4 * i + 1] / sy;
      let ox2 = (x2 + e) / sx - e;
      let oy2 = (b[4 * i + 3] + e) / sy - e;
      if (clip) {
        ox1 = ox1 < 0 ? 0 : ox1 > maxX ? maxX : ox1;
        oy1 = oy1 < 0 ? 0 : oy1 > maxY ? maxY : oy1;
        ox2 = ox2 < 0 ? 0 : ox2 > maxX ? maxX : ox2;
        oy2 = oy2 < 0 ? 0 : oy2 > maxY ? maxY : oy2;
      }
      u.boxes[4 * k] = ox1;
      u.boxes[4 * k + 1] = oy1;
      u.boxes[4 * k + 2] = ox2;
      u.boxes[4 * k + 3] = oy2;
      u.scores[k] = d.scores[i];
      u.labels[k] = d.labels[i];
      k++;
    }
  }
  return u;
}

// Plain reference implementations: the most direct reading of the semantics, O(n²), arrays of
// numbers, no pruning. They are the oracle the tests compare the fast paths against and the
// baseline the benchmarks measure. Not meant for production use.
import type { Detections } from '@omnidistill/core';
import { inverseBoxes, type PixelConvention, type TransformGeometry } from '@omnidistill/transforms';
import type { VoteScoring } from './voting.js';

function iouPlain(a: number[], b: number[], e: number): number {
  const w = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]) + e);
  const h = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]) + e);
  const inter = w * h;
  if (inter === 0) return 0;
  return inter / ((a[2] - a[0] + e) * (a[3] - a[1] + e) + (b[2] - b[0] + e) * (b[3] - b[1] + e) - inter);
}

function rows(boxes: ArrayLike<number>): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < boxes.length; i += 4) out.push([boxes[i], boxes[i + 1], boxes[i + 2], boxes[i + 3]]);
  return out;
}

/** Reference hard NMS: sort by score (stable), each kept box suppresses later ones with IoU > thr. */
export function nmsReference(boxes: ArrayLike<number>, scores: ArrayLike<number>, iouThreshold: number, convention: PixelConvention = 'continuous'): number[] {
  const e = convention === 'pixelIndex' ? 1 : 0;
  const b = rows(boxes);
  const order = b.map((_, i) => i).sort((i, j) => scores[j] - scores[i] || i - j);
  const suppressed = new Set<number>();
  const keep: number[] = [];
  for (let a = 0; a < order.length; a++) {
    const i = order[a];
    if (suppressed.has(i)) continue;
    keep.push(i);
    for (let c = a + 1; c < order.length; c++) {
      const j = order[c];
      if (!suppressed.has(j) && iouPlain(b[i], b[j], e) > iouThreshold) suppressed.add(j);
    }
  }
  return keep;
}

/** Reference batched NMS: per label, then all kept sorted by score (stable). */
export function batchedNmsReference(boxes: ArrayLike<number>, scores: ArrayLike<number>, labels: ArrayLike<number>, iouThreshold: number, convention: PixelConvention = 'continuous'): number[] {
  const e = convention === 'pixelIndex' ? 1 : 0;
  const b = rows(boxes);
  const order = b.map((_, i) => i).sort((i, j) => scores[j] - scores[i] || i - j);
  const kept: number[] = [];
  for (const i of order) {
    if (kept.some((k) => labels[k] === labels[i] && iouPlain(b[k], b[i], e) > iouThreshold)) continue;
    kept.push(i);
  }
  return kept;
}

function voteScorePlain(ws: number[], ious: number[], own: number, scoring: VoteScoring, beta: number): number {
  const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;
  switch (scoring) {
    case 'id':
      return own;
    case 'avg':
      return mean(ws);
    case 'iou_avg':
      return ws.reduce((a, s, i) => a + s * ious[i], 0) / ious.reduce((a, x) => a + x, 0);
    case 'generalized_avg':
      return mean(ws.map((s) => s ** beta)) ** (1 / beta);
    case 'quasi_sum':
      return ws.reduce((a, x) => a + x, 0) / ws.length ** beta;
    case 'temp_avg':
      return mean(ws.map((s) => s ** (1 / beta) / (s ** (1 / beta) + (1 - s) ** (1 / beta))));
  }
}

export interface MergeReferenceOptions {
  convention: PixelConvention;
  scoreThreshold: number;
  nmsThreshold: number;
  voting: { voteThreshold: number; scoring: VoteScoring; beta: number } | false;
  topK: number;
  clip: boolean;
}

/**
 * Reference detection merge: map each transform's boxes back with `inverseBoxes`, clip, keep
 * scores > threshold, per class sort + greedy NMS + voting by scanning the whole class, then
 * the top-k by score.
 */
export function mergeDetectionsReference(
  perTransform: readonly { detections: Detections; transform: TransformGeometry }[],
  o: MergeReferenceOptions,
): { boxes: number[][]; scores: number[]; labels: number[] } {
  const e = o.convention === 'pixelIndex' ? 1 : 0;
  const all: { box: number[]; score: number; label: number }[] = [];
  for (const { detections, transform } of perTransform) {
    const back = rows(inverseBoxes(detections.boxes, transform, { convention: o.convention }));
    const { width, height } = transform.source;
    back.forEach((box, i) => {
      const score = detections.scores[i];
      if (!(score > o.scoreThreshold)) return;
      const b = o.clip
        ? [Math.min(Math.max(box[0], 0), width - e), Math.min(Math.max(box[1], 0), height - e), Math.min(Math.max(box[2], 0), width - e), Math.min(Math.max(box[3], 0), height - e)]
        : box;
      all.push({ box: b, score, label: detections.labels[i] });
    });
  }
  const out: { box: number[]; score: number; label: number; at: number }[] = [];
  // Classes in order of first appearance by descending score (stable), as the fast path.
  const byScore = all.map((d, at) => ({ d, at })).sort((a, b) => b.d.score - a.d.score || a.at - b.at);
  const labels = [...new Set(byScore.map((x) => x.d.label))];
  for (const label of labels) {
    const cls = all.map((d, at) => ({ ...d, at })).filter((d) => d.label === label);
    cls.sort((a, b) => b.score - a.score || a.at - b.at);
    const kept = nmsReference(cls.flatMap((d) => d.box), cls.map((d) => d.score), o.nmsThreshold, o.convention).map((i) => cls[i]);
    for (const k of kept) {
      if (o.voting === false) {
        out.push({ ...k });
        continue;
      }
      const voters = cls.map((d) => ({ d, iou: d === k ? 1 : iouPlain(k.box, d.box, e) })).filter((v) => v.iou >= (o.voting as { voteThreshold: number }).voteThreshold);
      const sw = voters.reduce((a, v) => a + v.d.score, 0);
      const box = [0, 1, 2, 3].map((c) => voters.reduce((a, v) => a + v.d.score * v.d.box[c], 0) / sw);
      const score = voteScorePlain(voters.map((v) => v.d.score), voters.map((v) => v.iou), k.score, o.voting.scoring, o.voting.beta);
      out.push({ box, score, label, at: k.at });
    }
  }
  // Stable by score; among equal scores, classes in first-seen order, then score rank.
  const ranked = out.map((d, i) => ({ d, i })).sort((a, b) => b.d.score - a.d.score || a.i - b.i).slice(0, o.topK);
  return { boxes: ranked.map((r) => r.d.box), scores: ranked.map((r) => r.d.score), labels: ranked.map((r) => r.d.label) };
}

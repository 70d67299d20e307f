// pycocotools' summarize(): the 12 box / 10 keypoint stats and the text it prints,
// character for character (including Python's round-half-even on exact ties).
import { OmniRangeError } from '@omnidistill/core';
import type { CocoEvalResult } from './eval-types.js';
import type { CocoDataset } from './types.js';
import { npSum } from './numeric.js';

/** The stats vector and the lines pycocotools prints for them. */
export interface CocoSummary {
  stats: number[];
  lines: string[];
  /** `lines` joined with newlines, plus a final newline. */
  text: string;
}

/** Python's `'{:0.3f}'.format(x)`: like toFixed(3) but ties (x = j/16) go to even. */
export function formatFixed3(x: number): string {
  const s = x * 1000;
  if (Number.isInteger(x * 16) && Math.abs(s % 1) === 0.5) {
    const f = Math.floor(s);
    return ((f % 2 === 0 ? f : f + 1) / 1000).toFixed(3);
  }
  return x.toFixed(3);
}

function meanOfValid(values: number[]): number {
  const valid = values.filter((v) => v > -1);
  if (valid.length === 0) return -1;
  return npSum(valid) / valid.length;
}

/** One `_summarize(ap, iouThr, areaRng, maxDets)` call: the mean and its printed line. */
function summarizeOne(e: CocoEvalResult, ap: boolean, iouThr: number | undefined, areaLbl: string, maxDets: number): { value: number; line: string } {
  const p = e.params;
  const [T, R, K, A, M] = e.counts;
  const tSel = iouThr === undefined ? p.iouThrs.map((_, i) => i) : p.iouThrs.flatMap((v, i) => (v === iouThr ? [i] : []));
  const aSel = p.areaRngLbl.flatMap((l, i) => (l === areaLbl ? [i] : []));
  const mSel = p.maxDets.flatMap((d, i) => (d === maxDets ? [i] : []));
  const values: number[] = [];
  // C order over the selected [T, R, K] (precision) or [T, K] (recall) sub-array.
  if (aSel.length === 1 && mSel.length === 1) {
    const a = aSel[0], m = mSel[0];
    for (const t of tSel) {
      if (ap) {
        for (let r = 0; r < R; r++) for (let k = 0; k < K; k++) values.push(e.precision[(((t * R + r) * K + k) * A + a) * M + m]);
      } else {
        for (let k = 0; k < K; k++) values.push(e.recall[((t * K + k) * A + a) * M + m]);
      }
    }
  }
  void T;
  const value = meanOfValid(values);
  const title = ap ? 'Average Precision' : 'Average Recall';
  const type = ap ? '(AP)' : '(AR)';
  const iouStr = iouThr === undefined ? `${p.iouThrs[0].toFixed(2)}:${p.iouThrs[p.iouThrs.length - 1].toFixed(2)}` : iouThr.toFixed(2);
  const line = ` ${title.padEnd(18)} ${type} @[ IoU=${iouStr.padEnd(9)} | area=${areaLbl.padStart(6)} | maxDets=${String(maxDets).padStart(3)} ] = ${formatFixed3(value)}`;
  return { value, line };
}

/**
 * pycocotools' `COCOeval.summarize()`: 12 stats for bbox (AP, AP50, AP75, APs, APm, APl,
 * AR1, AR10, AR100, ARs, ARm, ARl) or 10 for keypoints (AP, AP50, AP75, APm, APl, AR,
 * AR50, AR75, ARm, ARl), each -1 where nothing was evaluated.
 */
export function summarize(e: CocoEvalResult): CocoSummary {
  const p = e.params;
  const rows: [boolean, number | undefined, string, number][] = [];
  if (p.iouType === 'bbox') {
    if (p.maxDets.length < 3) throw new OmniRangeError('params.maxDets', 'three values for the bbox summary (pycocotools reads maxDets[0..2])', p.maxDets);
    const [m0, m1, m2] = p.maxDets;
    rows.push([true, undefined, 'all', 100], [true, 0.5, 'all', m2], [true, 0.75, 'all', m2]);
    rows.push([true, undefined, 'small', m2], [true, undefined, 'medium', m2], [true, undefined, 'large', m2]);
    rows.push([false, undefined, 'all', m0], [false, undefined, 'all', m1], [false, undefined, 'all', m2]);
    rows.push([false, undefined, 'small', m2], [false, undefined, 'medium', m2], [false, undefined, 'large', m2]);
  } else {
    for (const ap of [true, false]) {
      rows.push([ap, undefined, 'all', 20], [ap, 0.5, 'all', 20], [ap, 0.75, 'all', 20]);
      rows.push([ap, undefined, 'medium', 20], [ap, undefined, 'large', 20]);
    }
  }
  const out = rows.map(([ap, iou, area, md]) => summarizeOne(e, ap, iou, area, md));
  const lines = out.map((o) => o.line);
  return { stats: out.map((o) => o.value), lines, text: `${lines.join('\n')}\n` };
}

/** AP of one category: mean precision over thresholds and recall levels, area "all", last maxDets. */
export interface CategoryAP {
  categoryId: number;
  name: string | undefined;
  /** null when the category has no non-ignored ground truth. */
  ap: number | null;
}

/**
 * Per-category AP (area range 0, the largest maxDets), as detectron2 reports it.
 * With `useCats = false` there is a single pooled entry with categoryId -1.
 */
export function perCategoryAP(e: CocoEvalResult, gt?: CocoDataset): CategoryAP[] {
  const [T, R, K, A, M] = e.counts;
  const names = new Map((gt?.categories ?? []).map((c) => [c.id, c.name]));
  const ids = e.params.useCats ? e.params.catIds : [-1];
  const out: CategoryAP[] = [];
  for (let k = 0; k < K; k++) {
    const values: number[] = [];
    for (let t = 0; t < T; t++) for (let r = 0; r < R; r++) values.push(e.precision[(((t * R + r) * K + k) * A + 0) * M + (M - 1)]);
    const v = meanOfValid(values);
    out.push({ categoryId: ids[k], name: names.get(ids[k]), ap: v === -1 ? null : v });
  }
  return out;
}

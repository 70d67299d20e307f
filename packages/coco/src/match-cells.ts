// The matching step of the fast COCOeval (pycocotools' computeIoU/computeOks + evaluateImg)
// over every image × category cell, as one call on flat columns: the contract between this
// TypeScript implementation (the reference, and what runs without the addon) and the native
// addon's `matchCocoCells`, which evaluate() takes as `options.cellMatcher`. Both write the
// same bytes: test/integration/coco-match.test.ts runs the same cases through both.
import { boxIou, keypointExtent, oks } from './geometry.js';
import { NP_SPACING_1 } from './numeric.js';

/** A detection's outcome per area range and threshold (one byte of CellMatch.outcome). */
export const FP = 0;
export const TP = 1;
export const IGNORED = 2;

/**
 * Everything the matching reads (ground truths and detections as columns, the cells, the
 * parameters) and the arrays it fills. Indices of ground truths / detections are column
 * positions; `gOrder` / `dOrder` list them grouped by image, then category.
 */
export interface CellMatch {
  keypoints: boolean;
  gtId: Float64Array;
  gtArea: Float64Array;
  gtCrowd: Uint8Array;
  /** iscrowd, or (keypoints) num_keypoints == 0: ignored in every area range */
  gtIgnore: Uint8Array;
  /** [4 n]: x, y, w, h */
  gtBox: Float64Array;
  /** keypoints only: ground truth g's keypoints start at gtKp[gtKpOff[g]] (3K numbers) */
  gtKp: Float64Array;
  gtKpOff: Int32Array;
  dtScore: Float64Array;
  dtArea: Float64Array;
  /** [4 n]: x, y, w, h */
  dtBox: Float64Array;
  /** keypoints only: detection j's keypoints start at dtKp[dtKpOff[j]] (3K numbers) */
  dtKp: Float64Array;
  dtKpOff: Int32Array;
  gOrder: Int32Array;
  /** each cell's detections are sorted in place by descending score (stable) */
  dOrder: Int32Array;
  /** [5 × cells]: category position k, then the cell's ranges g0, g1 in gOrder and d0, d1 in dOrder */
  cells: Int32Array;
  /** (2σ)² per keypoint */
  vars: Float64Array;
  /** squared distance beyond which every OKS term is below e^-6, per unit of (area + eps) */
  farPerArea: number;
  /** min(iouThr, 1 - 1e-10), ascending */
  thr: Float64Array;
  areaLo: Float64Array;
  areaHi: Float64Array;
  maxDetLast: number;
  /** written: layout position (category-major, then image, then score rank) -> detection column */
  detOf: Int32Array;
  /** written: rank of that detection within its cell */
  rank: Int32Array;
  /** written: [area][threshold][layout position] FP / TP / IGNORED */
  outcome: Uint8Array;
  /** added to: [k × A] non-ignored ground truths per category and area range */
  npig: Float64Array;
}

/** A matching implementation: fills m.detOf, m.rank, m.outcome and m.npig. */
export type CellMatcher = (m: CellMatch) => void;

/** Per-call state of the TypeScript matcher: what it derives from the keypoints once, and scratch grown as cells need. */
interface Scratch {
  /** keypoints only: labeled keypoints (v > 0) per ground truth */
  gtLabeled: Int32Array;
  /** keypoints only: [4 n] extent of each ground truth's labeled keypoints x0, y0, x1, y1 */
  gtKpBox: Float64Array;
  /** keypoints only: [4 n] extent of each detection's keypoints */
  dtKpBox: Float64Array;
  oks: Float64Array;
  ious: Float64Array;
  sortedIous: Float64Array;
  bestIou: Float64Array;
  outside: Uint8Array;
  gSorted: Int32Array;
  gIg: Uint8Array;
  gMatched: Uint8Array;
  sortedCrowd: Uint8Array;
}

/** The TypeScript cell matcher (the reference of the native one). */
export function matchCells(m: CellMatch): void {
  const nGt = m.keypoints ? m.gtId.length : 0, nDt = m.keypoints ? m.dtScore.length : 0;
  const s: Scratch = {
    gtLabeled: new Int32Array(nGt),
    gtKpBox: new Float64Array(4 * nGt),
    dtKpBox: new Float64Array(4 * nDt),
    oks: new Float64Array(m.vars.length),
    ious: new Float64Array(256),
    sortedIous: new Float64Array(256),
    bestIou: new Float64Array(128),
    outside: new Uint8Array(128),
    gSorted: new Int32Array(64),
    gIg: new Uint8Array(64),
    gMatched: new Uint8Array(64),
    sortedCrowd: new Uint8Array(64),
  };
  if (m.keypoints) keypointBounds(m, s);
  let pos = 0;
  for (let c = 0; c < m.cells.length; c += 5) pos = matchCell(m, s, c, pos);
}

/** Each ground truth's labeled keypoint count and labeled extent, each detection's keypoint extent (the OKS bounds). */
function keypointBounds(m: CellMatch, s: Scratch): void {
  const k3 = 3 * m.vars.length;
  for (let g = 0; g < s.gtLabeled.length; g++) {
    const off = m.gtKpOff[g];
    let labeled = 0;
    for (let v = off + 2; v < off + k3; v += 3) if (m.gtKp[v] > 0) labeled++;
    s.gtLabeled[g] = labeled;
    keypointExtent(m.gtKp, off, k3, true, s.gtKpBox, g);
  }
  for (let d = 0; d < m.dtScore.length; d++) keypointExtent(m.dtKp, m.dtKpOff[d], k3, false, s.dtKpBox, d);
}

/** Sorts `idx[s..e)` by descending score, stable (pycocotools' mergesort of -score). */
function sortByScoreDesc(idx: Int32Array, s: number, e: number, score: Float64Array): void {
  if (e - s <= 32) {
    for (let i = s + 1; i < e; i++) {
      const v = idx[i];
      const sv = score[v];
      let j = i - 1;
      while (j >= s && score[idx[j]] < sv) {
        idx[j + 1] = idx[j];
        j--;
      }
      idx[j + 1] = v;
    }
    return;
  }
  // Array.prototype.sort is stable (ES2019), as the mergesort pycocotools asks numpy for
  const part = Array.from(idx.subarray(s, e));
  part.sort((a, b) => score[b] - score[a]);
  idx.set(part, s);
}

/**
 * OKS of detection `d` with ground truth `g`, or 0 when no threshold can match them.
 * The O(1) test: every labeled keypoint pair is at least as far apart as the extents of
 * the two keypoint sets, so when that gap gives every term an exponent above 6 the OKS
 * is below e^-6 (far below any sensible threshold).
 */
function cellOks(m: CellMatch, s: Scratch, d: number, g: number): number {
  const floor = m.thr[0];
  if (floor > 0.01 && s.gtLabeled[g] > 0) {
    const gb = s.gtKpBox, db = s.dtKpBox;
    const gx = Math.max(0, gb[4 * g] - db[4 * d + 2], db[4 * d] - gb[4 * g + 2]);
    const gy = Math.max(0, gb[4 * g + 1] - db[4 * d + 3], db[4 * d + 1] - gb[4 * g + 3]);
    if (gx * gx + gy * gy > m.farPerArea * (m.gtArea[g] + NP_SPACING_1)) return 0;
  }
  return oks(m.dtKp, m.dtKpOff[d], m.gtKp, m.gtKpOff[g], s.gtLabeled[g], m.gtArea[g], m.gtBox, 4 * g, m.vars, s.oks, floor);
}

/** Grows the scratch for a cell of D detections and G ground truths. */
function fitScratch(s: Scratch, D: number, G: number): void {
  if (D * G > s.ious.length) {
    s.ious = new Float64Array(2 * D * G);
    s.sortedIous = new Float64Array(2 * D * G);
  }
  if (D > s.bestIou.length) {
    s.bestIou = new Float64Array(2 * D);
    s.outside = new Uint8Array(2 * D);
  }
  if (G > s.gSorted.length) {
    s.gSorted = new Int32Array(2 * G);
    s.gIg = new Uint8Array(2 * G);
    s.gMatched = new Uint8Array(2 * G);
    s.sortedCrowd = new Uint8Array(2 * G);
  }
}

/**
 * pycocotools' computeIoU/computeOks + evaluateImg for the cell at m.cells[c], for every
 * area range and threshold at once. Writes the cell's detections at layout position `pos`
 * and returns the next free position.
 */
function matchCell(m: CellMatch, s: Scratch, c: number, pos: number): number {
  const { gOrder, dOrder } = m;
  const k = m.cells[c], g0 = m.cells[c + 1], g1 = m.cells[c + 2], d0 = m.cells[c + 3], d1 = m.cells[c + 4];
  const G = g1 - g0;
  sortByScoreDesc(dOrder, d0, d1, m.dtScore);
  const D = Math.min(d1 - d0, m.maxDetLast);
  fitScratch(s, D, G);
  const { ious, bestIou, gSorted, gIg, gMatched, sortedIous, sortedCrowd, outside } = s;
  const { thr, outcome } = m;
  const kept = m.detOf.length;
  // similarity matrix ious[d * G + g] (ground truths in cell order) and each row's maximum
  for (let di = 0; di < D; di++) {
    const d = dOrder[d0 + di];
    let best = -Infinity;
    for (let gi = 0; gi < G; gi++) {
      const g = gOrder[g0 + gi];
      const v = m.keypoints ? cellOks(m, s, d, g) : boxIou(m.dtBox, 4 * d, m.gtBox, 4 * g, m.gtCrowd[g] === 1);
      ious[di * G + gi] = v;
      if (v > best) best = v;
    }
    bestIou[di] = best;
    m.detOf[pos + di] = d;
    m.rank[pos + di] = di;
  }
  const T = thr.length, A = m.areaLo.length;
  for (let a = 0; a < A; a++) {
    const lo = m.areaLo[a], hi = m.areaHi[a];
    // ground truths of this area range, non-ignored first (stable)
    let nKept = 0;
    for (let gi = 0; gi < G; gi++) {
      const g = gOrder[g0 + gi];
      if (!(m.gtIgnore[g] === 1 || m.gtArea[g] < lo || m.gtArea[g] > hi)) gSorted[nKept++] = gi;
    }
    m.npig[k * A + a] += nKept;
    let w = nKept;
    for (let gi = 0; gi < G; gi++) {
      const g = gOrder[g0 + gi];
      if (m.gtIgnore[g] === 1 || m.gtArea[g] < lo || m.gtArea[g] > hi) gSorted[w++] = gi;
    }
    for (let q = 0; q < G; q++) {
      gIg[q] = q < nKept ? 0 : 1;
      sortedCrowd[q] = m.gtCrowd[gOrder[g0 + gSorted[q]]];
    }
    for (let di = 0; di < D; di++) {
      const d = dOrder[d0 + di];
      outside[di] = m.dtArea[d] < lo || m.dtArea[d] > hi ? 1 : 0;
      if (bestIou[di] < thr[0]) continue; // never scanned below
      for (let q = 0; q < G; q++) sortedIous[di * G + q] = ious[di * G + gSorted[q]];
    }
    for (let t = 0; t < T; t++) {
      const base = (a * T + t) * kept + pos;
      const th = thr[t];
      for (let q = 0; q < G; q++) gMatched[q] = 0;
      for (let di = 0; di < D; di++) {
        // no ground truth reaches the threshold: pycocotools' scan ends with m = -1
        if (bestIou[di] < th) {
          outcome[base + di] = outside[di] === 1 ? IGNORED : FP;
          continue;
        }
        let best = th;
        let match = -1;
        const row = di * G;
        for (let q = 0; q < G; q++) {
          if (gMatched[q] === 1 && sortedCrowd[q] === 0) continue;
          if (match > -1 && gIg[match] === 0 && gIg[q] === 1) break;
          const v = sortedIous[row + q];
          if (v < best) continue;
          best = v;
          match = q;
        }
        if (match === -1) {
          outcome[base + di] = outside[di] === 1 ? IGNORED : FP;
          continue;
        }
        gMatched[match] = 1;
        // pycocotools records the matched gt's id; an id of 0 reads as "no match".
        const matchedId = m.gtId[gOrder[g0 + gSorted[match]]] !== 0;
        if (gIg[match] === 1 || (!matchedId && outside[di] === 1)) outcome[base + di] = IGNORED;
        else outcome[base + di] = matchedId ? TP : FP;
      }
    }
  }
  return pos + D;
}

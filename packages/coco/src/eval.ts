// The fast COCOeval: same arithmetic and tie-breaking as pycocotools (and as
// eval-reference.ts, its test oracle), restructured around flat typed arrays:
//  - ground truths and detections are bucketed per image with counting sorts, never
//    keyed by strings, and only non-empty image×category cells are visited;
//  - each detection's outcome (TP / FP / ignored) per area range and threshold is one byte;
//  - per category, detections are sorted by score ONCE; every (maxDets, area, threshold)
//    curve is a linear sweep over that order (a stable sort restricted to a subset is the
//    subset of the sorted order, so the per-maxDets re-sorts of pycocotools are redundant).
import type { CocoDataset, CocoResult } from './types.js';
import type { EvalParams } from './params.js';
import type { CocoEvalResult } from './eval-types.js';
import { boxIou, oks, oksVars, resultGeometry } from './geometry.js';
import { NP_SPACING_1 } from './numeric.js';
import { checkKeypointInputs, checkResultImages } from './prepare.js';

const FP = 0;
const TP = 1;
const IGNORED = 2;

/** Ground truths as columns; index = position among the evaluated annotations. */
interface GtColumns {
  n: number;
  img: Int32Array;
  /** position of the category in params.catIds (the pooling order when !useCats) */
  cat: Int32Array;
  id: Float64Array;
  area: Float64Array;
  crowd: Uint8Array;
  /** iscrowd, or (keypoints) num_keypoints == 0: ignored in every area range */
  ignore: Uint8Array;
  box: Float64Array;
  labeled: Int32Array;
  keypoints: (Float64Array | undefined)[];
}

/** Detections as columns; index = position among the evaluated results (file order). */
interface DtColumns {
  n: number;
  img: Int32Array;
  cat: Int32Array;
  score: Float64Array;
  area: Float64Array;
  box: Float64Array;
  keypoints: (Float64Array | undefined)[];
}

function indexOf(ids: readonly number[]): Map<number, number> {
  const m = new Map<number, number>();
  ids.forEach((id, i) => m.set(id, i));
  return m;
}

function gtColumns(gt: CocoDataset, imgIndex: Map<number, number>, catIndex: Map<number, number>, keypoints: boolean): GtColumns {
  const anns = gt.annotations;
  const picked: number[] = [];
  for (let i = 0; i < anns.length; i++) {
    if (imgIndex.has(anns[i].image_id) && catIndex.has(anns[i].category_id)) picked.push(i);
  }
  const n = picked.length;
  const c: GtColumns = {
    n,
    img: new Int32Array(n),
    cat: new Int32Array(n),
    id: new Float64Array(n),
    area: new Float64Array(n),
    crowd: new Uint8Array(n),
    ignore: new Uint8Array(n),
    box: new Float64Array(4 * n),
    labeled: new Int32Array(n),
    keypoints: new Array(n),
  };
  for (let j = 0; j < n; j++) {
    const a = anns[picked[j]];
    c.img[j] = imgIndex.get(a.image_id)!;
    c.cat[j] = catIndex.get(a.category_id)!;
    c.id[j] = a.id;
    c.area[j] = a.area;
    c.crowd[j] = a.iscrowd === 1 ? 1 : 0;
    c.ignore[j] = a.iscrowd === 1 || (keypoints && a.num_keypoints === 0) ? 1 : 0;
    c.box.set(a.bbox, 4 * j);
    c.keypoints[j] = a.keypoints;
    let labeled = 0;
    const k = a.keypoints;
    if (k !== undefined) for (let v = 2; v < k.length; v += 3) if (k[v] > 0) labeled++;
    c.labeled[j] = labeled;
  }
  return c;
}

function dtColumns(results: readonly CocoResult[], imgIndex: Map<number, number>, catIndex: Map<number, number>): { dt: DtColumns; ignoredResults: number } {
  const geo = resultGeometry(results);
  const picked: number[] = [];
  let ignoredResults = 0;
  for (let i = 0; i < results.length; i++) {
    if (!catIndex.has(results[i].category_id)) ignoredResults++;
    else if (imgIndex.has(results[i].image_id)) picked.push(i);
  }
  const n = picked.length;
  const d: DtColumns = {
    n,
    img: new Int32Array(n),
    cat: new Int32Array(n),
    score: new Float64Array(n),
    area: new Float64Array(n),
    box: new Float64Array(4 * n),
    keypoints: new Array(n),
  };
  for (let j = 0; j < n; j++) {
    const i = picked[j];
    const r = results[i];
    d.img[j] = imgIndex.get(r.image_id)!;
    d.cat[j] = catIndex.get(r.category_id)!;
    d.score[j] = r.score;
    d.area[j] = geo.areas[i];
    d.box.set(geo.boxes.subarray(4 * i, 4 * i + 4), 4 * j);
    d.keypoints[j] = r.keypoints;
  }
  return { dt: d, ignoredResults };
}

/**
 * Orders items by (image, category position, original order) with a counting sort over
 * images and an insertion sort inside each image's (short) run. Returns the order and
 * the start of each image's run.
 */
function groupByImage(n: number, img: Int32Array, cat: Int32Array, numImages: number): { order: Int32Array; start: Int32Array } {
  const start = new Int32Array(numImages + 1);
  for (let i = 0; i < n; i++) start[img[i] + 1]++;
  for (let i = 0; i < numImages; i++) start[i + 1] += start[i];
  const fill = start.slice(0, numImages);
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[fill[img[i]]++] = i;
  for (let im = 0; im < numImages; im++) {
    const s = start[im], e = start[im + 1];
    for (let i = s + 1; i < e; i++) {
      const v = order[i];
      let j = i - 1;
      while (j >= s && cat[order[j]] > cat[v]) {
        order[j + 1] = order[j];
        j--;
      }
      order[j + 1] = v;
    }
  }
  return { order, start };
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
  const part = Array.from(idx.subarray(s, e));
  const pos = new Map(part.map((v, i) => [v, i]));
  part.sort((a, b) => score[b] - score[a] || pos.get(a)! - pos.get(b)!);
  idx.set(part, s);
}

/** One image × category cell: its ground truths and detections (ranges into the orders). */
interface Cell {
  k: number;
  g0: number;
  g1: number;
  d0: number;
  d1: number;
}

/** Lists non-empty cells image-major, then stably regroups them category-major. */
function listCells(
  numImages: number,
  gt: GtColumns,
  gOrder: Int32Array,
  gStart: Int32Array,
  dt: DtColumns,
  dOrder: Int32Array,
  dStart: Int32Array,
  useCats: boolean,
  K: number,
): Cell[] {
  const cells: Cell[] = [];
  for (let im = 0; im < numImages; im++) {
    let g = gStart[im], d = dStart[im];
    const ge = gStart[im + 1], de = dStart[im + 1];
    if (!useCats) {
      if (g < ge || d < de) cells.push({ k: 0, g0: g, g1: ge, d0: d, d1: de });
      continue;
    }
    while (g < ge || d < de) {
      const kg = g < ge ? gt.cat[gOrder[g]] : Infinity;
      const kd = d < de ? dt.cat[dOrder[d]] : Infinity;
      const k = Math.min(kg, kd);
      const g0 = g, d0 = d;
      while (g < ge && gt.cat[gOrder[g]] === k) g++;
      while (d < de && dt.cat[dOrder[d]] === k) d++;
      cells.push({ k, g0, g1: g, d0, d1: d });
    }
  }
  const byK: Cell[][] = Array.from({ length: K }, () => []);
  for (const c of cells) byK[c.k].push(c);
  return byK.flat();
}

/**
 * COCOeval `evaluate()` + `accumulate()` with pycocotools' exact semantics, fast.
 *
 * @example
 * const p = createParams('bbox', gt);
 * const { stats, text } = summarize(evaluate(gt, results, p));
 */
export function evaluate(gtSet: CocoDataset, results: readonly CocoResult[], p: EvalParams): CocoEvalResult {
  checkResultImages(gtSet, results);
  checkKeypointInputs(gtSet, results, p);
  const keypoints = p.iouType === 'keypoints';
  const numImages = p.imgIds.length;
  const imgIndex = indexOf(p.imgIds);
  const catIndex = indexOf(p.catIds);
  const gt = gtColumns(gtSet, imgIndex, catIndex, keypoints);
  const { dt, ignoredResults } = dtColumns(results, imgIndex, catIndex);

  const T = p.iouThrs.length, R = p.recThrs.length, K = p.useCats ? p.catIds.length : 1;
  const A = p.areaRng.length, M = p.maxDets.length;
  const maxDetLast = p.maxDets[M - 1];

  const { order: gOrder, start: gStart } = groupByImage(gt.n, gt.img, gt.cat, numImages);
  const { order: dOrder, start: dStart } = groupByImage(dt.n, dt.img, dt.cat, numImages);
  const cells = listCells(numImages, gt, gOrder, gStart, dt, dOrder, dStart, p.useCats, K);

  // Layout of evaluated detections: category-major, then image, then score rank.
  let kept = 0;
  for (const c of cells) kept += Math.min(c.d1 - c.d0, maxDetLast);
  const detOf = new Int32Array(kept); // layout position -> detection column
  const rank = new Int32Array(kept); // rank within its cell
  const outcome = new Uint8Array(A * T * kept); // [a][t][layout position]
  const kStart = new Int32Array(K + 1);
  const npig = new Float64Array(K * A);

  const vars = oksVars(p.kptOksSigmas);
  const scratch = new Float64Array(p.kptOksSigmas.length);
  const thr = p.iouThrs.map((t) => Math.min(t, 1 - 1e-10));
  let ious = new Float64Array(256);
  let gSorted = new Int32Array(64);
  let gIg = new Uint8Array(64);
  let gMatched = new Uint8Array(64);

  let pos = 0;
  for (const cell of cells) {
    const { k, g0, g1, d0 } = cell;
    const G = g1 - g0;
    sortByScoreDesc(dOrder, d0, cell.d1, dt.score);
    const D = Math.min(cell.d1 - d0, maxDetLast);
    if (D * G > ious.length) ious = new Float64Array(2 * D * G);
    if (G > gSorted.length) {
      gSorted = new Int32Array(2 * G);
      gIg = new Uint8Array(2 * G);
      gMatched = new Uint8Array(2 * G);
    }
    // similarity matrix ious[d * G + g], ground truths in cell order
    for (let di = 0; di < D; di++) {
      const d = dOrder[d0 + di];
      for (let gi = 0; gi < G; gi++) {
        const g = gOrder[g0 + gi];
        ious[di * G + gi] = keypoints
          ? oks(dt.keypoints[d]!, 0, gt.keypoints[g]!, gt.labeled[g], gt.area[g], gt.box, 4 * g, vars, scratch)
          : boxIou(dt.box, 4 * d, gt.box, 4 * g, gt.crowd[g] === 1);
      }
    }
    for (let di = 0; di < D; di++) {
      detOf[pos + di] = dOrder[d0 + di];
      rank[pos + di] = di;
    }
    for (let a = 0; a < A; a++) {
      const lo = p.areaRng[a][0], hi = p.areaRng[a][1];
      // ground truths of this area range, non-ignored first (stable)
      let nKept = 0;
      for (let gi = 0; gi < G; gi++) {
        const g = gOrder[g0 + gi];
        if (!(gt.ignore[g] === 1 || gt.area[g] < lo || gt.area[g] > hi)) gSorted[nKept++] = gi;
      }
      npig[k * A + a] += nKept;
      let w = nKept;
      for (let gi = 0; gi < G; gi++) {
        const g = gOrder[g0 + gi];
        if (gt.ignore[g] === 1 || gt.area[g] < lo || gt.area[g] > hi) gSorted[w++] = gi;
      }
      for (let s = 0; s < G; s++) gIg[s] = s < nKept ? 0 : 1;
      for (let t = 0; t < T; t++) {
        const base = (a * T + t) * kept + pos;
        gMatched.fill(0, 0, G);
        for (let di = 0; di < D; di++) {
          let best = thr[t];
          let m = -1;
          const row = di * G;
          for (let s = 0; s < G; s++) {
            const gi = gSorted[s];
            if (gMatched[s] === 1 && gt.crowd[gOrder[g0 + gi]] === 0) continue;
            if (m > -1 && gIg[m] === 0 && gIg[s] === 1) break;
            const v = ious[row + gi];
            if (v < best) continue;
            best = v;
            m = s;
          }
          const d = dOrder[d0 + di];
          const outside = dt.area[d] < lo || dt.area[d] > hi;
          if (m === -1) {
            outcome[base + di] = outside ? IGNORED : FP;
            continue;
          }
          gMatched[m] = 1;
          // pycocotools records the matched gt's id; an id of 0 reads as "no match".
          const matchedId = gt.id[gOrder[g0 + gSorted[m]]] !== 0;
          if (gIg[m] === 1 || (!matchedId && outside)) outcome[base + di] = IGNORED;
          else outcome[base + di] = matchedId ? TP : FP;
        }
      }
    }
    pos += D;
    kStart[k + 1] = pos;
  }
  for (let k = 0; k < K; k++) if (kStart[k + 1] < kStart[k]) kStart[k + 1] = kStart[k];

  const precision = new Float64Array(T * R * K * A * M).fill(-1);
  const recall = new Float64Array(T * K * A * M).fill(-1);
  const scores = new Float64Array(T * R * K * A * M).fill(-1);
  accumulate(p, K, kept, kStart, detOf, rank, outcome, npig, dt.score, precision, recall, scores);
  return { params: p, counts: [T, R, K, A, M], precision, recall, scores, ignoredResults };
}

/** pycocotools' accumulate over the per-detection outcomes, one score sort per category. */
function accumulate(
  p: EvalParams,
  K: number,
  kept: number,
  kStart: Int32Array,
  detOf: Int32Array,
  rank: Int32Array,
  outcome: Uint8Array,
  npig: Float64Array,
  score: Float64Array,
  precision: Float64Array,
  recall: Float64Array,
  scores: Float64Array,
): void {
  const T = p.iouThrs.length, R = p.recThrs.length, A = p.areaRng.length, M = p.maxDets.length;
  const rc = new Float64Array(kept);
  const pr = new Float64Array(kept);
  const sel = new Int32Array(kept);
  for (let k = 0; k < K; k++) {
    const s = kStart[k], e = kStart[k + 1];
    const sorted = new Int32Array(e - s);
    for (let i = 0; i < sorted.length; i++) sorted[i] = s + i;
    // layout order is pycocotools' concatenation order, so (score desc, position) = its stable sort
    sorted.sort((x, y) => score[detOf[y]] - score[detOf[x]] || x - y);
    for (let m = 0; m < M; m++) {
      const maxDet = p.maxDets[m];
      let nd = 0;
      for (let i = 0; i < sorted.length; i++) if (rank[sorted[i]] < maxDet) sel[nd++] = sorted[i];
      for (let a = 0; a < A; a++) {
        const np = npig[k * A + a];
        if (np === 0) continue;
        for (let t = 0; t < T; t++) {
          const base = (a * T + t) * kept;
          let tp = 0, fp = 0;
          for (let i = 0; i < nd; i++) {
            const o = outcome[base + sel[i]];
            if (o === TP) tp++;
            else if (o === FP) fp++;
            rc[i] = tp / np;
            pr[i] = tp / (fp + tp + NP_SPACING_1);
          }
          recall[((t * K + k) * A + a) * M + m] = nd > 0 ? rc[nd - 1] : 0;
          for (let i = nd - 1; i > 0; i--) if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];
          let pi = 0;
          for (let r = 0; r < R; r++) {
            const rt = p.recThrs[r];
            while (pi < nd && rc[pi] < rt) pi++;
            const cell = (((t * R + r) * K + k) * A + a) * M + m;
            precision[cell] = pi < nd ? pr[pi] : 0;
            scores[cell] = pi < nd ? score[detOf[sel[pi]]] : 0;
          }
        }
      }
    }
  }
}

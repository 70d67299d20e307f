// The straightforward evaluator: a line-by-line port of pycocotools' COCOeval structure
// (per image×category dicts, per-cell evaluateImg records, concatenate-and-argsort
// accumulate). Written for clarity, not speed: it is the oracle the fast evaluator is
// tested against and the baseline the benchmark prints.
import type { CocoAnnotation, CocoDataset, CocoResult } from './types.js';
import type { EvalParams } from './params.js';
import type { CocoEvalResult } from './eval-types.js';
import { boxIou, oks, oksVars, resultGeometry } from './geometry.js';
import { NP_SPACING_1 } from './numeric.js';
import { checkKeypointInputs, checkResultImages } from './prepare.js';

interface GtRec {
  id: number;
  ann: CocoAnnotation;
  /** the box as a Float64Array, so the shared geometry kernels see one array type */
  box: Float64Array;
  ignore: boolean;
  labeled: number;
}

interface DtRec {
  id: number;
  res: CocoResult;
  score: number;
  area: number;
  box: Float64Array;
}

interface EvalImg {
  dtScores: number[];
  /** [T][D] matched ground-truth id (0 = none) */
  dtMatches: number[][];
  /** [T][D] */
  dtIgnore: boolean[][];
  gtIgnore: boolean[];
}

/** Stable descending sort by score (`np.argsort(-scores, kind='mergesort')`). */
function byScore(dts: DtRec[]): DtRec[] {
  return [...dts].sort((a, b) => b.score - a.score);
}

/**
 * Evaluates `results` against `gt` the way pycocotools does, structure included.
 * Same contract as {@link evaluate}; use that one (it is much faster).
 */
export function evaluateReference(gt: CocoDataset, results: readonly CocoResult[], p: EvalParams): CocoEvalResult {
  checkResultImages(gt, results);
  checkKeypointInputs(gt, results, p);
  const geo = resultGeometry(results);
  const keypoints = p.iouType === 'keypoints';
  const catSet = new Set(p.catIds);
  const imgSet = new Set(p.imgIds);

  // _prepare
  const gts = new Map<string, GtRec[]>();
  const dts = new Map<string, DtRec[]>();
  const key = (img: number, cat: number): string => `${img},${cat}`;
  for (const ann of gt.annotations) {
    if (!imgSet.has(ann.image_id) || !catSet.has(ann.category_id)) continue;
    let ignore = ann.iscrowd === 1;
    if (keypoints) ignore = ann.num_keypoints === 0 || ignore;
    let labeled = 0;
    if (ann.keypoints) for (let j = 2; j < ann.keypoints.length; j += 3) if (ann.keypoints[j] > 0) labeled++;
    const k = key(ann.image_id, ann.category_id);
    if (!gts.has(k)) gts.set(k, []);
    gts.get(k)!.push({ id: ann.id, ann, box: Float64Array.from(ann.bbox), ignore, labeled });
  }
  let ignoredResults = 0;
  results.forEach((res, i) => {
    if (!catSet.has(res.category_id)) {
      ignoredResults++;
      return;
    }
    if (!imgSet.has(res.image_id)) return;
    const k = key(res.image_id, res.category_id);
    if (!dts.has(k)) dts.set(k, []);
    dts.get(k)!.push({ id: i + 1, res, score: res.score, area: geo.areas[i], box: geo.boxes.subarray(4 * i, 4 * i + 4) });
  });
  // imgToAnns order: dts of one image come in file order; group per image first.
  const cellGt = (img: number, cat: number): GtRec[] =>
    p.useCats ? gts.get(key(img, cat)) ?? [] : p.catIds.flatMap((c) => gts.get(key(img, c)) ?? []);
  const cellDt = (img: number, cat: number): DtRec[] =>
    p.useCats ? dts.get(key(img, cat)) ?? [] : p.catIds.flatMap((c) => dts.get(key(img, c)) ?? []);

  const maxDetLast = p.maxDets[p.maxDets.length - 1];
  const vars = oksVars(p.kptOksSigmas);
  const scratch = new Float64Array(p.kptOksSigmas.length);

  // computeIoU / computeOks: ious[d][g], dts sorted by score and cut to maxDets[-1]
  const computeIou = (img: number, cat: number): number[][] => {
    const g = cellGt(img, cat);
    let d = byScore(cellDt(img, cat));
    if (d.length > maxDetLast) d = d.slice(0, maxDetLast);
    if (g.length === 0 || d.length === 0) return [];
    return d.map((dt) =>
      g.map((gr) => {
        if (!keypoints) return boxIou(dt.box, 0, gr.box, 0, gr.ann.iscrowd === 1);
        return oks(dt.res.keypoints!, 0, gr.ann.keypoints!, 0, gr.labeled, gr.ann.area, gr.box, 0, vars, scratch);
      }),
    );
  };

  const evaluateImg = (img: number, cat: number, aRng: [number, number], ious: number[][]): EvalImg | null => {
    const gtAll = cellGt(img, cat);
    const dtAll = cellDt(img, cat);
    if (gtAll.length === 0 && dtAll.length === 0) return null;
    const gIgn = gtAll.map((g) => g.ignore || g.ann.area < aRng[0] || g.ann.area > aRng[1]);
    const gtind = gtAll.map((_, i) => i).sort((a, b) => Number(gIgn[a]) - Number(gIgn[b]));
    const gtS = gtind.map((i) => gtAll[i]);
    const gtIg = gtind.map((i) => gIgn[i]);
    const dtS = byScore(dtAll).slice(0, maxDetLast);
    const T = p.iouThrs.length;
    const G = gtS.length;
    const D = dtS.length;
    const gtm: number[][] = p.iouThrs.map(() => new Array<number>(G).fill(0));
    const dtm: number[][] = p.iouThrs.map(() => new Array<number>(D).fill(0));
    const dtIg: boolean[][] = p.iouThrs.map(() => new Array<boolean>(D).fill(false));
    if (ious.length > 0) {
      for (let t = 0; t < T; t++) {
        for (let di = 0; di < D; di++) {
          let iou = Math.min(p.iouThrs[t], 1 - 1e-10);
          let m = -1;
          for (let gi = 0; gi < G; gi++) {
            if (gtm[t][gi] > 0 && gtS[gi].ann.iscrowd !== 1) continue;
            if (m > -1 && !gtIg[m] && gtIg[gi]) break;
            const v = ious[di][gtind[gi]];
            if (v < iou) continue;
            iou = v;
            m = gi;
          }
          if (m === -1) continue;
          dtIg[t][di] = gtIg[m];
          dtm[t][di] = gtS[m].id;
          gtm[t][m] = dtS[di].id;
        }
      }
    }
    for (let di = 0; di < D; di++) {
      const outside = dtS[di].area < aRng[0] || dtS[di].area > aRng[1];
      for (let t = 0; t < T; t++) dtIg[t][di] = dtIg[t][di] || (dtm[t][di] === 0 && outside);
    }
    return { dtScores: dtS.map((d) => d.score), dtMatches: dtm, dtIgnore: dtIg, gtIgnore: gtIg };
  };

  // evaluate: evalImgs ordered cat, area, image
  const catIds = p.useCats ? p.catIds : [-1];
  const evalImgs: (EvalImg | null)[] = [];
  const iouCache = new Map<string, number[][]>();
  for (const img of p.imgIds) for (const cat of catIds) iouCache.set(key(img, cat), computeIou(img, cat));
  for (const cat of catIds) {
    for (const aRng of p.areaRng) {
      for (const img of p.imgIds) evalImgs.push(evaluateImg(img, cat, aRng, iouCache.get(key(img, cat))!));
    }
  }

  // accumulate
  const T = p.iouThrs.length, R = p.recThrs.length, K = catIds.length, A = p.areaRng.length, M = p.maxDets.length;
  const precision = new Float64Array(T * R * K * A * M).fill(-1);
  const recall = new Float64Array(T * K * A * M).fill(-1);
  const scores = new Float64Array(T * R * K * A * M).fill(-1);
  const I0 = p.imgIds.length;
  for (let k = 0; k < K; k++) {
    for (let a = 0; a < A; a++) {
      for (let m = 0; m < M; m++) {
        const maxDet = p.maxDets[m];
        const E = evalImgs.slice(k * A * I0 + a * I0, k * A * I0 + (a + 1) * I0).filter((e): e is EvalImg => e !== null);
        if (E.length === 0) continue;
        const dtScores = E.flatMap((e) => e.dtScores.slice(0, maxDet));
        const inds = dtScores.map((_, i) => i).sort((x, y) => dtScores[y] - dtScores[x]);
        const dtScoresSorted = inds.map((i) => dtScores[i]);
        const npig = E.reduce((s, e) => s + e.gtIgnore.filter((g) => !g).length, 0);
        if (npig === 0) continue;
        for (let t = 0; t < T; t++) {
          const dtmT = E.flatMap((e) => e.dtMatches[t].slice(0, maxDet));
          const dtIgT = E.flatMap((e) => e.dtIgnore[t].slice(0, maxDet));
          const nd = inds.length;
          const rc: number[] = [];
          const pr: number[] = [];
          let tp = 0, fp = 0;
          for (const i of inds) {
            if (!dtIgT[i]) {
              if (dtmT[i] !== 0) tp++;
              else fp++;
            }
            rc.push(tp / npig);
            pr.push(tp / (fp + tp + NP_SPACING_1));
          }
          recall[((t * K + k) * A + a) * M + m] = nd ? rc[nd - 1] : 0;
          for (let i = nd - 1; i > 0; i--) if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];
          for (let r = 0; r < R; r++) {
            const pi = searchsortedLeft(rc, p.recThrs[r]);
            const cell = (((t * R + r) * K + k) * A + a) * M + m;
            precision[cell] = pi < nd ? pr[pi] : 0;
            scores[cell] = pi < nd ? dtScoresSorted[pi] : 0;
          }
        }
      }
    }
  }
  return { params: p, counts: [T, R, K, A, M], precision, recall, scores, ignoredResults };
}

/** First index i with a[i] >= v (a non-decreasing), `np.searchsorted(a, v, side='left')`. */
export function searchsortedLeft(a: ArrayLike<number>, v: number, n: number = a.length): number {
  let lo = 0, hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

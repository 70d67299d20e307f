// Edge cases of the evaluation whose answers follow from pycocotools' rules by hand
// (each test states the reasoning); run against both evaluators.
import { describe, expect, it } from 'vitest';
import { createParams, evaluate, evaluateReference, summarize, validateDataset, validateResults } from '@omnidistill/coco';
import type { CocoDataset, CocoEvalResult, CocoResult, EvalParams, IouType } from '@omnidistill/coco';

type Evaluator = (gt: CocoDataset, res: readonly CocoResult[], p: EvalParams) => CocoEvalResult;
const evaluators: [string, Evaluator][] = [
  ['reference', evaluateReference],
  ['fast', evaluate],
];

const KP17 = Array.from({ length: 17 }, (_, i) => `k${i}`);

interface Inst {
  img: number;
  box: [number, number, number, number];
  crowd?: 0 | 1;
  kps?: number[];
  id?: number;
}

function dataset(images: number[], insts: Inst[]): CocoDataset {
  return validateDataset({
    images: images.map((id) => ({ id, width: 1000, height: 1000, file_name: `${id}.jpg` })),
    categories: [{ id: 1, name: 'person', keypoints: KP17 }],
    annotations: insts.map((a, i) => ({
      id: a.id ?? i + 1,
      image_id: a.img,
      category_id: 1,
      bbox: a.box,
      area: a.box[2] * a.box[3],
      iscrowd: a.crowd ?? 0,
      ...(a.kps ? { keypoints: a.kps } : {}),
    })),
  });
}

function results(gt: CocoDataset, list: { img: number; box?: number[]; score: number; kps?: number[] }[]): CocoResult[] {
  return validateResults(list.map((r) => ({ image_id: r.img, category_id: 1, score: r.score, ...(r.box ? { bbox: r.box } : {}), ...(r.kps ? { keypoints: r.kps } : {}) })), gt);
}

/** 17 labeled keypoints spread over a box. */
function kpsIn(x: number, y: number, w: number, h: number, v = 2): number[] {
  return Array.from({ length: 17 }, (_, k) => [x + ((k % 4) + 0.5) * (w / 4), y + (Math.floor(k / 4) + 0.5) * (h / 5), v]).flat();
}

function stats(e: Evaluator, gt: CocoDataset, res: CocoResult[], iouType: IouType): number[] {
  return summarize(e(gt, res, createParams(iouType, gt))).stats;
}

describe.each(evaluators)('edge cases (%s)', (_name, ev) => {
  it('empty results: AP and AR 0 where ground truth exists, -1 in empty area ranges', () => {
    // one large box (area 200² > 96²): small/medium ranges have no ground truth -> -1
    const gt = dataset([1], [{ img: 1, box: [10, 10, 200, 200] }]);
    expect(stats(ev, gt, [], 'bbox')).toEqual([0, 0, 0, -1, -1, 0, 0, 0, 0, -1, -1, 0]);
  });

  it('a detection on an image without annotations is a false positive', () => {
    const gt = dataset([1, 2], [{ img: 1, box: [10, 10, 200, 200] }]);
    // FP (0.95) ranks above the TP (0.9): precision [0, 1/2] -> monotone [1/2, 1/2] -> AP 0.5
    const fpFirst = results(gt, [{ img: 1, box: [10, 10, 200, 200], score: 0.9 }, { img: 2, box: [0, 0, 50, 50], score: 0.95 }]);
    // FP below the TP: precision [1, 1/2]; every recall level is reached at index 0 -> AP 1
    const fpLast = results(gt, [{ img: 1, box: [10, 10, 200, 200], score: 0.9 }, { img: 2, box: [0, 0, 50, 50], score: 0.5 }]);
    expect(stats(ev, gt, fpFirst, 'bbox')[0]).toBeCloseTo(0.5, 12);
    expect(stats(ev, gt, fpLast, 'bbox')[0]).toBeCloseTo(1, 12);
    expect(stats(ev, gt, fpFirst, 'bbox')[8]).toBeCloseTo(1, 12); // AR100: the object is found
  });

  it('all-crowd images: detections inside crowd regions are ignored, not false positives', () => {
    const gt = dataset([1, 2], [{ img: 1, box: [10, 10, 200, 200] }, { img: 2, box: [0, 0, 500, 500], crowd: 1 }]);
    const res = results(gt, [
      { img: 1, box: [10, 10, 200, 200], score: 0.5 },
      // three high-scoring detections in the crowd: all absorbed by it (crowd matches many)
      { img: 2, box: [10, 10, 100, 100], score: 0.9 },
      { img: 2, box: [200, 200, 100, 100], score: 0.8 },
      { img: 2, box: [300, 50, 100, 100], score: 0.7 },
    ]);
    expect(stats(ev, gt, res, 'bbox')[0]).toBeCloseTo(1, 12);
    // only crowd ground truth anywhere: nothing to recall -> -1 everywhere
    const onlyCrowd = dataset([2], [{ img: 2, box: [0, 0, 500, 500], crowd: 1 }]);
    expect(stats(ev, onlyCrowd, results(onlyCrowd, [{ img: 2, box: [10, 10, 100, 100], score: 0.9 }]), 'bbox').every((s) => s === -1)).toBe(true);
  });

  it('tied scores across images rank by image id, within an image by file order', () => {
    const gt = dataset([1, 2], [{ img: 2, box: [0, 0, 100, 100] }]);
    // tie between a FP on image 1 and a TP on image 2: image 1 comes first -> AP 0.5
    const fpImageFirst = results(gt, [{ img: 2, box: [0, 0, 100, 100], score: 0.7 }, { img: 1, box: [0, 0, 10, 10], score: 0.7 }]);
    expect(stats(ev, gt, fpImageFirst, 'bbox')[0]).toBeCloseTo(0.5, 12);
    const gt2 = dataset([1, 2], [{ img: 1, box: [0, 0, 100, 100] }]);
    const tpImageFirst = results(gt2, [{ img: 2, box: [0, 0, 10, 10], score: 0.7 }, { img: 1, box: [0, 0, 100, 100], score: 0.7 }]);
    expect(stats(ev, gt2, tpImageFirst, 'bbox')[0]).toBeCloseTo(1, 12);

    // same image, same score: A (IoU 0.62) and B (IoU 0.92). The first in file order matches first.
    const one = dataset([1], [{ img: 1, box: [0, 0, 100, 100] }]);
    const A = { img: 1, box: [0, 0, 62, 100], score: 0.5 };
    const B = { img: 1, box: [0, 0, 92, 100], score: 0.5 };
    // A first: t in {.50,.55,.60} A is TP then B FP (AP 1); t in {.65..90} A FP, B TP (AP 0.5); t=.95 none (0)
    expect(stats(ev, one, results(one, [A, B]), 'bbox')[0]).toBeCloseTo((3 * 1 + 6 * 0.5 + 0) / 10, 12);
    // B first: TP for t <= .90 (AP 1), nothing at .95
    expect(stats(ev, one, results(one, [B, A]), 'bbox')[0]).toBeCloseTo(0.9, 12);
  });

  it('num_keypoints = 0 ground truths are ignored; detections on them are neither TP nor FP', () => {
    const labeled = { img: 1, box: [100, 100, 200, 300] as [number, number, number, number], kps: kpsIn(100, 100, 200, 300) };
    const unlabeled = { img: 1, box: [500, 100, 200, 300] as [number, number, number, number], kps: new Array(51).fill(0) };
    const gt = dataset([1], [labeled, unlabeled]);
    expect(gt.annotations[1].num_keypoints).toBe(0);
    const res = results(gt, [
      { img: 1, score: 0.6, kps: kpsIn(100, 100, 200, 300) },
      // highest score, keypoints inside the unlabeled instance's box: OKS 1 with it -> ignored
      { img: 1, score: 0.9, kps: kpsIn(500, 100, 200, 300) },
    ]);
    const s = stats(ev, gt, res, 'keypoints');
    expect(s[0]).toBeCloseTo(1, 12);
    expect(s[5]).toBeCloseTo(1, 12);
    // the same detection far from every box is a false positive ranked first -> AP 0.5
    const far = results(gt, [{ img: 1, score: 0.6, kps: kpsIn(100, 100, 200, 300) }, { img: 1, score: 0.9, kps: kpsIn(850, 700, 100, 100) }]);
    expect(stats(ev, gt, far, 'keypoints')[0]).toBeCloseTo(0.5, 12);
  });

  it('results naming an image absent from the ground truth are an error that says which', () => {
    const gt = dataset([1], [{ img: 1, box: [0, 0, 10, 10] }]);
    const raw = [{ image_id: 1, category_id: 1, bbox: [0, 0, 10, 10], score: 1 }, { image_id: 999, category_id: 1, bbox: [0, 0, 10, 10], score: 1 }];
    expect(() => validateResults(structuredClone(raw), gt)).toThrow(/\[1\]\.image_id: expected the id of an image in the ground truth, received 999/);
    // unvalidated results handed straight to the evaluator get the same kind of message
    expect(() => ev(gt, raw as CocoResult[], createParams('bbox', gt))).toThrow(/results\[1\]\.image_id: expected the id of an image in the ground truth, received 999/);
  });

  it('results of categories absent from the ground truth are counted and left out, as pycocotools does', () => {
    const gt = dataset([1], [{ img: 1, box: [0, 0, 100, 100] }]);
    const res = validateResults([{ image_id: 1, category_id: 1, bbox: [0, 0, 100, 100], score: 0.5 }, { image_id: 1, category_id: 7, bbox: [0, 0, 5, 5], score: 0.9 }], gt);
    const e = ev(gt, res, createParams('bbox', gt));
    expect(e.ignoredResults).toBe(1);
    expect(summarize(e).stats[0]).toBeCloseTo(1, 12);
  });
});

describe('parameters', () => {
  it('defaults reproduce numpy linspace thresholds and /10 sigmas', () => {
    const gt = dataset([1], []);
    const p = createParams('keypoints', gt);
    expect(p.iouThrs).toHaveLength(10);
    expect(p.iouThrs[0]).toBe(0.5);
    expect(p.iouThrs[9]).toBe(0.95);
    expect(p.iouThrs.indexOf(0.75)).toBe(5); // summarize() finds AP75 by equality
    expect(p.recThrs[100]).toBeCloseTo(1, 12);
    expect(p.kptOksSigmas[0]).toBe(0.26 / 10);
    expect(p.maxDets).toEqual([20]);
    expect(p.areaRngLbl).toEqual(['all', 'medium', 'large']);
  });
  it('rejects bad overrides with the parameter path', () => {
    const gt = dataset([1], []);
    expect(() => createParams('bbox', gt, { iouThrs: [0.5, 0.4] })).toThrow(/params\.iouThrs\[1\]/);
    expect(() => createParams('bbox', gt, { maxDets: [0] })).toThrow(/params\.maxDets\[0\]: expected a positive integer/);
    expect(() => createParams('keypoints', gt, { kptOksSigmas: [0.1, -1] })).toThrow(/params\.kptOksSigmas\[1\]/);
    expect(() => createParams('segm' as IouType, gt)).toThrow(/iouType/);
  });
  it('OKS sigmas of another schema need keypoints of that length', () => {
    const gt = dataset([1], [{ img: 1, box: [0, 0, 10, 10], kps: kpsIn(0, 0, 10, 10) }]);
    expect(() => evaluate(gt, [], createParams('keypoints', gt, { kptOksSigmas: [0.05, 0.05, 0.05] }))).toThrow(/annotations\[0\]\.keypoints: expected 9 numbers/);
  });
});

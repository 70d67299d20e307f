// Validation of parsed COCO JSON: every problem is reported with its exact place, e.g.
// `annotations[5123].keypoints: expected 51 numbers (17 × 3), received 48`.
import { describeValue } from '@omnidistill/core';
import type { CocoAnnotation, CocoBox, CocoCategory, CocoDataset, CocoImage, CocoResult } from './types.js';
import { KeypointSlab } from './slab.js';

/** One problem found while validating: where, and what is wrong there. */
export interface CocoProblem {
  path: string;
  message: string;
}

/** Thrown when a COCO file or object fails validation; lists every problem (first 50 spelled out). */
export class CocoValidationError extends RangeError {
  readonly problems: readonly CocoProblem[];
  readonly problemCount: number;
  constructor(what: string, problems: CocoProblem[], problemCount: number) {
    const shown = problems.slice(0, 10).map((p) => `  ${p.message}`);
    const more = problemCount > shown.length ? [`  ... and ${problemCount - shown.length} more`] : [];
    const noun = problemCount === 1 ? 'problem' : 'problems';
    super([`${what}: ${problemCount} ${noun}`, ...shown, ...more].join('\n'));
    this.name = 'CocoValidationError';
    this.problems = problems;
    this.problemCount = problemCount;
  }
}

const MAX_KEPT_PROBLEMS = 50;

/** Collects problems instead of stopping at the first, so one run shows what to fix. */
class Problems {
  readonly list: CocoProblem[] = [];
  count = 0;
  add(path: string, expected: string, received: string): void {
    this.count++;
    if (this.list.length < MAX_KEPT_PROBLEMS) this.list.push({ path, message: `${path}: expected ${expected}, received ${received}` });
  }
  bad(path: string, expected: string, value: unknown): void {
    this.add(path, expected, describeValue(value));
  }
  throwIfAny(what: string): void {
    if (this.count > 0) throw new CocoValidationError(what, this.list, this.count);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v);
}

function isFiniteNum(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** Reads a finite number field, recording a problem when it is not one. */
function checkNumber(p: Problems, obj: Record<string, unknown>, key: string, path: string, min?: number): boolean {
  const v = obj[key];
  if (!isFiniteNum(v)) {
    p.bad(`${path}.${key}`, min === undefined ? 'a finite number' : `a finite number >= ${min}`, v);
    return false;
  }
  if (min !== undefined && v < min) {
    p.bad(`${path}.${key}`, `a finite number >= ${min}`, v);
    return false;
  }
  return true;
}

function checkInt(p: Problems, obj: Record<string, unknown>, key: string, path: string, min?: number): boolean {
  const v = obj[key];
  const expected = min === undefined ? 'an integer' : min === 1 ? 'a positive integer' : `an integer >= ${min}`;
  if (!isInt(v) || (min !== undefined && v < min)) {
    p.bad(`${path}.${key}`, expected, v);
    return false;
  }
  return true;
}

/** A `[x, y, w, h]` box of finite numbers with w, h >= 0. */
function checkBox(p: Problems, v: unknown, path: string): v is CocoBox {
  if (!Array.isArray(v) || v.length !== 4) {
    p.add(path, '[x, y, width, height] (4 numbers)', Array.isArray(v) ? `${v.length} numbers` : describeValue(v));
    return false;
  }
  for (let i = 0; i < 4; i++) {
    if (!isFiniteNum(v[i])) {
      p.bad(`${path}[${i}]`, 'a finite number', v[i]);
      return false;
    }
  }
  if (v[2] < 0 || v[3] < 0) {
    p.bad(`${path}[${v[2] < 0 ? 2 : 3}]`, 'a non-negative width and height', v[v[2] < 0 ? 2 : 3]);
    return false;
  }
  return true;
}

/** Checks a flat `[x, y, v, ...]` array of `k` triples and converts it to a Float64Array (a view of `slab`). */
function checkKeypoints(
  p: Problems,
  v: unknown,
  path: string,
  k: number | undefined,
  visibility: boolean,
  slab: KeypointSlab,
): Float64Array | undefined {
  if (!Array.isArray(v) && !(v instanceof Float64Array)) {
    p.bad(path, 'an array of numbers [x1, y1, v1, ...]', v);
    return undefined;
  }
  const n = v.length;
  if (k !== undefined && n !== 3 * k) {
    p.add(path, `${3 * k} numbers (${k} × 3)`, `${n}`);
    return undefined;
  }
  if (k === undefined && n % 3 !== 0) {
    p.add(path, 'a multiple of 3 numbers (x, y, v per keypoint)', `${n}`);
    return undefined;
  }
  // a Float64Array (the streaming reader packs keypoints early) is checked in place
  const out = v instanceof Float64Array ? v : slab.take(n);
  for (let i = 0; i < n; i++) {
    const x = v[i];
    if (!isFiniteNum(x)) {
      p.bad(`${path}[${i}]`, 'a finite number', x);
      return undefined;
    }
    if (visibility && i % 3 === 2 && x !== 0 && x !== 1 && x !== 2) {
      p.bad(`${path}[${i}]`, 'a visibility flag 0, 1 or 2', x);
      return undefined;
    }
    out[i] = x;
  }
  return out;
}

function checkTopArray(p: Problems, raw: Record<string, unknown>, key: string): unknown[] {
  const v = raw[key];
  if (!Array.isArray(v)) {
    p.bad(key, 'an array', v);
    return [];
  }
  return v;
}

function validateImages(p: Problems, list: unknown[]): Map<number, number> {
  const index = new Map<number, number>();
  for (let i = 0; i < list.length; i++) {
    const path = `images[${i}]`;
    const img = list[i];
    if (!isObject(img)) {
      p.bad(path, 'an object', img);
      continue;
    }
    if (checkInt(p, img, 'id', path)) {
      const first = index.get(img.id as number);
      if (first !== undefined) p.bad(`${path}.id`, `an id not already used by images[${first}]`, img.id);
      else index.set(img.id as number, i);
    }
    checkImageFields(p, img, path);
  }
  return index;
}

function checkImageFields(p: Problems, img: Record<string, unknown>, path: string): boolean {
  const before = p.count;
  checkInt(p, img, 'width', path, 1);
  checkInt(p, img, 'height', path, 1);
  if (typeof img.file_name !== 'string') p.bad(`${path}.file_name`, 'a string', img.file_name);
  return p.count === before;
}

/**
 * Checks image records one at a time (a streamed `images` array) with the messages of
 * validateDataset, except the repeated-id check, which needs every id (callers that sort
 * the ids check neighbours instead). Problems are collected; `throwIfAny` reports them.
 */
export class ImageRecordChecker {
  private readonly problems = new Problems();
  /** The record as a CocoImage, or null when it has a problem (recorded). */
  check(value: unknown, index: number): CocoImage | null {
    const path = `images[${index}]`;
    if (!isObject(value)) {
      this.problems.bad(path, 'an object', value);
      return null;
    }
    const idOk = checkInt(this.problems, value, 'id', path);
    return checkImageFields(this.problems, value, path) && idOk ? (value as unknown as CocoImage) : null;
  }
  /** Records a problem found outside a record (e.g. `images` missing). */
  bad(path: string, expected: string, value: unknown): void {
    this.problems.bad(path, expected, value);
  }
  throwIfAny(what: string): void {
    this.problems.throwIfAny(what);
  }
}

function validateCategories(p: Problems, list: unknown[]): Map<number, number> {
  const index = new Map<number, number>();
  for (let i = 0; i < list.length; i++) {
    const path = `categories[${i}]`;
    const cat = list[i];
    if (!isObject(cat)) {
      p.bad(path, 'an object', cat);
      continue;
    }
    if (checkInt(p, cat, 'id', path)) {
      const first = index.get(cat.id as number);
      if (first !== undefined) p.bad(`${path}.id`, `an id not already used by categories[${first}]`, cat.id);
      else index.set(cat.id as number, i);
    }
    if (typeof cat.name !== 'string') p.bad(`${path}.name`, 'a string', cat.name);
    let k: number | undefined;
    if (cat.keypoints !== undefined) {
      if (!Array.isArray(cat.keypoints) || !cat.keypoints.every((s) => typeof s === 'string')) {
        p.bad(`${path}.keypoints`, 'an array of keypoint names', cat.keypoints);
      } else k = cat.keypoints.length;
    }
    if (cat.skeleton !== undefined) {
      if (!Array.isArray(cat.skeleton)) p.bad(`${path}.skeleton`, 'an array of [a, b] pairs', cat.skeleton);
      else {
        cat.skeleton.forEach((pair: unknown, j: number) => {
          const ok = Array.isArray(pair) && pair.length === 2 && pair.every((e) => isInt(e) && e >= 1 && (k === undefined || e <= k));
          if (!ok) p.bad(`${path}.skeleton[${j}]`, `a pair of 1-based keypoint indices${k === undefined ? '' : ` in [1, ${k}]`}`, pair);
        });
      }
    }
  }
  return index;
}

function countLabeled(kps: Float64Array): number {
  let n = 0;
  for (let i = 2; i < kps.length; i += 3) if (kps[i] > 0) n++;
  return n;
}

function validateAnnotations(
  p: Problems,
  list: unknown[],
  images: Map<number, number>,
  categories: Map<number, number>,
  catList: unknown[],
): void {
  const ids = new Map<number, number>();
  const slab = new KeypointSlab();
  for (let i = 0; i < list.length; i++) {
    const path = `annotations[${i}]`;
    const ann = list[i];
    if (!isObject(ann)) {
      p.bad(path, 'an object', ann);
      continue;
    }
    if (checkInt(p, ann, 'id', path)) {
      const first = ids.get(ann.id as number);
      if (first !== undefined) p.bad(`${path}.id`, `an id not already used by annotations[${first}]`, ann.id);
      else ids.set(ann.id as number, i);
    }
    if (checkInt(p, ann, 'image_id', path) && !images.has(ann.image_id as number)) {
      p.bad(`${path}.image_id`, 'the id of an entry in images', ann.image_id);
    }
    let k: number | undefined;
    if (checkInt(p, ann, 'category_id', path)) {
      const c = categories.get(ann.category_id as number);
      if (c === undefined) p.bad(`${path}.category_id`, 'the id of an entry in categories', ann.category_id);
      else {
        const names = (catList[c] as Record<string, unknown>).keypoints;
        if (Array.isArray(names)) k = names.length;
      }
    }
    checkBox(p, ann.bbox, `${path}.bbox`);
    checkNumber(p, ann, 'area', path, 0);
    if (ann.iscrowd === undefined) ann.iscrowd = 0;
    else if (ann.iscrowd !== 0 && ann.iscrowd !== 1) p.bad(`${path}.iscrowd`, '0 or 1', ann.iscrowd);
    if (ann.keypoints !== undefined) {
      const kps = checkKeypoints(p, ann.keypoints, `${path}.keypoints`, k, true, slab);
      if (kps !== undefined) {
        ann.keypoints = kps;
        const labeled = countLabeled(kps);
        if (ann.num_keypoints === undefined) ann.num_keypoints = labeled;
        else if (ann.num_keypoints !== labeled) {
          p.bad(`${path}.num_keypoints`, `${labeled} (the keypoints with v > 0)`, ann.num_keypoints);
        }
      }
    } else if (ann.num_keypoints !== undefined) {
      checkInt(p, ann, 'num_keypoints', path, 0);
    }
  }
}

/**
 * Validates a parsed COCO dataset in place and returns it typed. Keypoint arrays are
 * replaced by Float64Arrays; a missing `iscrowd` becomes 0 and a missing `num_keypoints`
 * is counted from the keypoints. Throws {@link CocoValidationError} listing every problem:
 * wrong types, wrong keypoint counts, duplicate ids, and image/category ids that point nowhere.
 *
 * @param what names the source in the error (e.g. the file name)
 */
export function validateDataset(raw: unknown, what = 'dataset'): CocoDataset {
  const p = new Problems();
  if (!isObject(raw)) {
    p.bad('(top level)', 'an object with images, annotations and categories', raw);
    p.throwIfAny(what);
  }
  const obj = raw as Record<string, unknown>;
  const images = checkTopArray(p, obj, 'images');
  const annotations = checkTopArray(p, obj, 'annotations');
  const categories = checkTopArray(p, obj, 'categories');
  const imageIndex = validateImages(p, images);
  const catIndex = validateCategories(p, categories);
  validateAnnotations(p, annotations, imageIndex, catIndex, categories);
  p.throwIfAny(what);
  return obj as unknown as CocoDataset;
}

/** What a results list must carry for a given evaluation. */
export interface ResultsRequirements {
  /** Require `keypoints` on every result, of this many triples. */
  keypoints?: number;
}

/**
 * Validates a parsed COCO results list against its ground truth, in place. Every result
 * needs an integer `image_id` naming a ground-truth image (as pycocotools asserts, but
 * with the index and id of the first offenders), an integer `category_id`, a finite
 * `score`, and a box or keypoints. Results of categories absent from the ground truth are
 * legal (pycocotools ignores them during evaluation).
 */
export function validateResults(raw: unknown, gt: CocoDataset, what = 'results', req: ResultsRequirements = {}): CocoResult[] {
  const p = new Problems();
  if (!Array.isArray(raw)) {
    p.bad('(top level)', 'an array of results', raw);
    p.throwIfAny(what);
  }
  const list = raw as unknown[];
  const imageIds = new Set<number>();
  for (const img of gt.images) imageIds.add(img.id);
  const kpK = req.keypoints;
  const slab = new KeypointSlab();
  for (let i = 0; i < list.length; i++) {
    const path = `[${i}]`;
    const r = list[i];
    if (!isObject(r)) {
      p.bad(path, 'an object', r);
      continue;
    }
    if (checkInt(p, r, 'image_id', path) && !imageIds.has(r.image_id as number)) {
      p.bad(`${path}.image_id`, 'the id of an image in the ground truth', r.image_id);
    }
    checkInt(p, r, 'category_id', path);
    checkNumber(p, r, 'score', path);
    const hasBox = r.bbox !== undefined && !(Array.isArray(r.bbox) && r.bbox.length === 0);
    if (hasBox) checkBox(p, r.bbox, `${path}.bbox`);
    else delete r.bbox;
    if (r.keypoints !== undefined) {
      const kps = checkKeypoints(p, r.keypoints, `${path}.keypoints`, kpK, false, slab);
      if (kps !== undefined) r.keypoints = kps;
    } else if (kpK !== undefined) {
      p.bad(`${path}.keypoints`, `${3 * kpK} numbers (${kpK} × 3) for a keypoint evaluation`, undefined);
    } else if (!hasBox) {
      p.bad(`${path}.bbox`, 'a box [x, y, width, height] (or keypoints)', r.bbox);
    }
  }
  p.throwIfAny(what);
  return list as CocoResult[];
}

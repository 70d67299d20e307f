// Results that a columnar parser (the native addon's scanner) already read: turned into
// CocoResult records with the checks of validateResults that need the ground truth. The
// parser accepts only valid records of the common shape, so anything it passes that the
// ground truth rejects (or anything it could not scan) is re-read by the general parsers,
// whose errors name the record: this module never words an error.
import type { CocoDataset, CocoResult } from './types.js';
import type { ResultsRequirements } from './validate.js';

/** A results file as columns, one entry per record in file order. */
export interface CocoResultsColumns {
  imageId: Float64Array;
  categoryId: Float64Array;
  score: Float64Array;
  /** [4 n]: x, y, w, h, read only where `hasBox` is 1. */
  bbox: Float64Array;
  hasBox: Uint8Array;
  /** Where each record's keypoints start in `keypoints`, and how many numbers (-1: none). */
  kpStart: Int32Array;
  kpCount: Int32Array;
  keypoints: Float64Array;
}

/**
 * Reads and parses a results file (its path) into columns, or resolves null when the file
 * cannot be read or the text is outside what it parses (then the file is parsed in JavaScript). Numbers must be JSON.parse's doubles;
 * ids integers, scores finite, boxes 4 numbers with w, h >= 0 (an empty box: none), keypoints
 * a multiple of 3 numbers, each record with a box or keypoints. `skipBoxedKeypoints` leaves
 * out the keypoints of records with a box.
 */
export type ResultsColumnParser = (file: string, options: { skipBoxedKeypoints: boolean }) => Promise<CocoResultsColumns | null>;

/** Whether `results` are columns rather than records. */
export function isResultsColumns(results: readonly CocoResult[] | CocoResultsColumns): results is CocoResultsColumns {
  return !Array.isArray(results);
}

/**
 * Whether every record of `c` passes the checks of validateResults that need the ground truth
 * (an image id it has) or `req` (keypoints present, of the required count); the parser
 * checked the rest.
 */
export function columnsPassChecks(c: CocoResultsColumns, gt: CocoDataset, req: ResultsRequirements = {}): boolean {
  const imageIds = new Set<number>();
  for (const img of gt.images) imageIds.add(img.id);
  const need = req.keypoints === undefined ? undefined : 3 * req.keypoints;
  for (let i = 0; i < c.score.length; i++) {
    const count = c.kpCount[i];
    if (!imageIds.has(c.imageId[i]) || (need !== undefined ? count !== need : count > 0 && count % 3 !== 0)) return false;
  }
  return true;
}

/**
 * The records of `c` as validateResults would return them, or null when one fails a check
 * that needs the ground truth (an image id it lacks) or `req` (keypoints missing or of the
 * wrong count): the caller then re-reads the file to report it. Keypoints are views of
 * `c.keypoints`.
 */
export function resultsFromColumns(c: CocoResultsColumns, gt: CocoDataset, req: ResultsRequirements = {}): CocoResult[] | null {
  if (!columnsPassChecks(c, gt, req)) return null;
  return recordsOf(c);
}

function recordsOf(c: CocoResultsColumns): CocoResult[] {
  const n = c.score.length;
  const out = new Array<CocoResult>(n);
  for (let i = 0; i < n; i++) {
    const count = c.kpCount[i];
    const r: CocoResult = { image_id: c.imageId[i], category_id: c.categoryId[i], score: c.score[i] };
    if (c.hasBox[i] === 1) r.bbox = [c.bbox[4 * i], c.bbox[4 * i + 1], c.bbox[4 * i + 2], c.bbox[4 * i + 3]];
    if (count >= 0) r.keypoints = c.keypoints.subarray(c.kpStart[i], c.kpStart[i] + count);
    out[i] = r;
  }
  return out;
}

// Reading and writing COCO files. Reads validate (see validate.ts); writes go through the
// atomic write path (atomic.ts) and are streamed in chunks, so a crash or a full disk never
// leaves a truncated file and a large dataset is never one giant string.
import { statSync } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { writeAtomically } from './atomic.js';
import type { Push } from './atomic.js';
import type { CocoAnnotation, CocoDataset, CocoImage, CocoResult } from './types.js';
import { CocoValidationError, ImageRecordChecker, validateDataset, validateResults } from './validate.js';
import type { ResultsRequirements } from './validate.js';
import { JsonSplitError, TopLevelSplitter } from './json-split.js';
import type { SplitSink } from './json-split.js';
import { parseJsonFast } from './json-fast.js';
import { columnsPassChecks, resultsFromColumns } from './results-columns.js';
import { datasetFromColumns } from './dataset-columns.js';
import type { CocoDatasetColumns, DatasetColumnParser } from './dataset-columns.js';
import { KeypointSlab } from './slab.js';
import type { CocoResultsColumns, ResultsColumnParser } from './results-columns.js';
import type { FastJsonShape } from './json-fast.js';

const READ_CHUNK = 8 << 20;
/**
 * Files up to this size are parsed as one text by JSON.parse, about twice as fast as cutting
 * them into records (the splitter's byte loop and one parse call per record dominate a 5k-image
 * evaluation); their peak memory (text + tree) stays a few hundred MB. Larger files stream.
 */
export const WHOLE_TEXT_LIMIT_BYTES = 64 << 20;
/**
 * Files up to this size go to a `columnParser` / `datasetParser` (when given): it holds the
 * bytes and compact columns, never a parse tree, so it takes files 4× larger than JSON.parse does.
 */
export const COLUMN_PARSER_LIMIT_BYTES = 256 << 20;

/** How a COCO file is read. */
export interface ReadOptions {
  /** Files larger than this many bytes are streamed record by record (default WHOLE_TEXT_LIMIT_BYTES). */
  wholeTextLimitBytes?: number;
  /**
   * Leave out `keypoints` (checked as JSON only) of every record that has a `bbox`: a box
   * evaluation never reads them, and they are most of a keypoint file's bytes. Records without
   * a box keep them (a result's box is then derived from its keypoints). Files that stream
   * (over the size limit) are read in full.
   */
  skipKeypoints?: boolean;
  /**
   * Results files only: a parser that reads the file's bytes into columns off the JavaScript
   * thread (the native addon's `parseCocoResults`). Used for files up to `columnParserLimitBytes`;
   * whatever it cannot read, and any record the ground truth rejects, is re-read by the
   * JavaScript parsers, so errors read the same with or without it.
   */
  columnParser?: ResultsColumnParser;
  /**
   * Dataset files only: a parser that reads the file into columns off the JavaScript thread
   * (the native addon's `parseCocoDataset`), for files up to `columnParserLimitBytes`.
   * Annotations it reads carry only the fields of CocoAnnotation but `segmentation` (what
   * COCOeval reads); whatever it cannot read is read by the JavaScript parsers, so errors
   * read the same with or without it.
   */
  datasetParser?: DatasetColumnParser;
  /** Files larger than this many bytes are not given to `columnParser` / `datasetParser` (default COLUMN_PARSER_LIMIT_BYTES). */
  columnParserLimitBytes?: number;
}

/** How the whole-text reader parses when keypoints are skipped. */
const SKIP_KEYPOINTS: FastJsonShape = { skip: { key: 'keypoints', unlessMissing: 'bbox' }, numberArrays: new Set(['keypoints']) };
function pieceParseError(file: string, path: string, err: unknown): CocoValidationError {
  const message = `${path}: expected valid JSON, received a parse error: ${(err as Error).message}`;
  return new CocoValidationError(file, [{ path, message }], 1);
}

/** What a non-regular file is, for the error message. */
function fileKind(s: import('node:fs').Stats): string {
  if (s.isDirectory()) return 'a directory';
  if (s.isFIFO()) return 'a FIFO (named pipe)';
  if (s.isSocket()) return 'a socket';
  if (s.isCharacterDevice() || s.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/**
 * Refuses anything but a regular file before opening it: opening a FIFO for reading blocks
 * until a writer appears (forever, for a user who passed the wrong path).
 */
async function expectRegularFile(file: string): Promise<import('node:fs').Stats> {
  const s = await stat(file);
  if (!s.isFile()) throw new CocoValidationError(file, [{ path: '(file)', message: `(file): expected a regular JSON file, received ${fileKind(s)}` }], 1);
  return s;
}

/** Feeds a file to a splitter in 8 MB chunks; splitter errors become a CocoValidationError. */
async function splitFile(file: string, splitter: TopLevelSplitter, expected: string): Promise<void> {
  for await (const _ of feedChunks(file, splitter, expected, READ_CHUNK)) {
    // the sink collects everything
  }
}

/**
 * Feeds a file to a splitter chunk by chunk, pausing after each (the consumer takes what the
 * sink collected); splitter errors become a CocoValidationError.
 */
async function* feedChunks(file: string, splitter: TopLevelSplitter, expected: string, chunkBytes: number): AsyncGenerator<void> {
  const fh = await open(file, 'r');
  try {
    for (;;) {
      const chunk = Buffer.allocUnsafe(chunkBytes);
      const { bytesRead } = await fh.read(chunk, 0, chunkBytes, null);
      if (bytesRead === 0) break;
      splitter.feed(chunk.subarray(0, bytesRead));
      yield;
    }
    splitter.finish();
  } catch (err) {
    if (err instanceof JsonSplitError) {
      throw new CocoValidationError(file, [{ path: '(file)', message: `(file): expected ${expected}, received invalid JSON (${err.message})` }], 1);
    }
    throw err;
  } finally {
    await fh.close();
  }
}

function parsePiece(file: string, path: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw pieceParseError(file, path, err);
  }
}

/** Replaces a record's keypoints array by a slab view when it is all finite numbers. */
function packKeypoints(value: unknown, slab: KeypointSlab): void {
  if (typeof value !== 'object' || value === null) return;
  const rec = value as Record<string, unknown>;
  if (Array.isArray(rec.keypoints)) rec.keypoints = slab.pack(rec.keypoints) ?? rec.keypoints;
}

/**
 * Reads a COCO dataset in chunks and parses it record by record, packing keypoints into
 * shared Float64Array slabs as it goes: peak memory stays near the size of the result
 * instead of file text + full parse tree + copies.
 */
async function parseDatasetStreaming(file: string): Promise<unknown> {
  const raw: Record<string, unknown> = {};
  const slab = new KeypointSlab();
  const sink: SplitSink = {
    member(key, text) {
      raw[key] = parsePiece(file, key, text);
    },
    element(key, index, text) {
      const value = parsePiece(file, `${key}[${index}]`, text);
      if (key === 'annotations') packKeypoints(value, slab);
      (raw[key] as unknown[]).push(value);
    },
  };
  await splitFile(file, new TopLevelSplitter(new Set(['images', 'annotations', 'categories']), sink), 'a JSON object with images, annotations and categories');
  return raw;
}

/** Reads a results file (a JSON array) record by record, like parseDatasetStreaming. */
async function parseResultsStreaming(file: string): Promise<unknown> {
  const list: unknown[] = [];
  let objectAtTop = false;
  const slab = new KeypointSlab();
  const sink: SplitSink = {
    member() {
      // an object, not an array: validation reports the shape
      objectAtTop = true;
    },
    element(_key, index, text) {
      const value = parsePiece(file, `[${index}]`, text);
      packKeypoints(value, slab);
      list.push(value);
    },
  };
  await splitFile(file, new TopLevelSplitter(new Set(['']), sink), 'a JSON array of results');
  return objectAtTop ? {} : list;
}

/**
 * Parses a small file as one text (with `whole`); a large one, or one that is not valid JSON,
 * through `streaming`, which streams and names the record that does not parse.
 */
async function parseFile(file: string, options: ReadOptions, streaming: (file: string) => Promise<unknown>, whole: (text: string) => unknown): Promise<unknown> {
  const { size } = await expectRegularFile(file);
  if (size > (options.wholeTextLimitBytes ?? WHOLE_TEXT_LIMIT_BYTES)) return streaming(file);
  const text = await readFile(file, 'utf8');
  try {
    // invalid JSON falls through to the streaming reader, whose error names the record
    return whole(text);
  } catch {
    return streaming(file);
  }
}

/**
 * A dataset's whole text. Without keypoints it is still JSON.parse, then the keypoints of boxed
 * annotations are dropped: on a dataset (short records, keypoints a third of the bytes)
 * JSON.parse beats the skipping parser (5k images: 150 vs 205 ms CPU for the whole read), on
 * a results file (keypoints most of the bytes) the skipping parser wins (160 vs 300 ms).
 */
function parseDatasetText(text: string, options: ReadOptions): unknown {
  const raw: unknown = JSON.parse(text);
  if (options.skipKeypoints === true) dropBoxedKeypoints(raw);
  return raw;
}

/** Leaves out the keypoints of every annotation with a `bbox` (set undefined: the object keeps its shape). */
function dropBoxedKeypoints(raw: unknown): void {
  const annotations = typeof raw === 'object' && raw !== null ? (raw as { annotations?: unknown }).annotations : undefined;
  if (!Array.isArray(annotations)) return; // validation reports the shape
  for (const ann of annotations) {
    if (typeof ann === 'object' && ann !== null && 'bbox' in ann && 'keypoints' in ann) (ann as { keypoints?: unknown }).keypoints = undefined;
  }
}

function parseResultsText(text: string, options: ReadOptions): unknown {
  return options.skipKeypoints === true ? parseJsonFast(text, SKIP_KEYPOINTS) : JSON.parse(text);
}

/**
 * Reads and validates a COCO dataset file; files over 64 MB stream (see the package README
 * for the memory figures). Errors name the file and every problem's place
 * (`annotations[5123].keypoints: expected 51 numbers (17 × 3), received 48`).
 */
export async function readCocoDataset(file: string, options: ReadOptions = {}): Promise<CocoDataset> {
  const parser = options.datasetParser;
  if (parser !== undefined) {
    // started before the first await: the pool thread reads while the caller goes on (e.g. to start the results)
    const early = startColumns(file, options, (f) => parser(f, { skipKeypoints: options.skipKeypoints === true }));
    const columns: CocoDatasetColumns | null = await early.catch(() => null);
    const fast = columns === null ? null : datasetFromColumns(columns);
    if (fast !== null) return fast;
  }
  return validateDataset(await parseFile(file, options, parseDatasetStreaming, (text) => parseDatasetText(text, options)), file);
}

/** Bytes read per step by {@link readCocoImages}: a few hundred image records at a time. */
const IMAGE_STREAM_CHUNK = 64 << 10;

/**
 * The `images` of a COCO file, streamed record by record in file order (64 KB read at a
 * time; annotations and other members are skipped, never held), each checked like
 * readCocoDataset checks it. Problems are collected and thrown as one CocoValidationError
 * after the last record, so a consumer must treat what it got as provisional until the
 * stream ends. Ids are not checked for repeats (that needs every id: sort, then compare
 * neighbours).
 *
 * @example
 * for await (const image of readCocoImages('unlabeled.json')) console.log(image.id, image.file_name);
 */
export async function* readCocoImages(file: string): AsyncGenerator<CocoImage> {
  await expectRegularFile(file);
  const checker = new ImageRecordChecker();
  let ready: CocoImage[] = [];
  let sawImages = false;
  const sink: SplitSink = {
    member(key, text) {
      if (key !== 'images') return;
      sawImages = true;
      // a split array announces itself as "[]" before its elements; anything else is not an array
      if (text !== '[]') checker.bad('images', 'an array', parsePiece(file, key, text));
    },
    element(key, index, text) {
      if (key !== 'images') return;
      const image = checker.check(parsePiece(file, `images[${index}]`, text), index);
      if (image !== null) ready.push(image);
    },
  };
  const splitter = new TopLevelSplitter(new Set(['images', 'annotations']), sink);
  for await (const _ of feedChunks(file, splitter, 'a JSON object with an images array', IMAGE_STREAM_CHUNK)) {
    const batch = ready;
    ready = [];
    yield* batch;
  }
  if (!sawImages) checker.bad('images', 'an array', undefined);
  checker.throwIfAny(file);
}

/** Reads (streaming when over 64 MB) and validates a COCO results file (a JSON array) against its ground truth. */
export async function readCocoResults(file: string, gt: CocoDataset, req: ResultsRequirements = {}, options: ReadOptions = {}): Promise<CocoResult[]> {
  return startReadingCocoResults(file, options).finish(gt, req);
}

/** A results file being read ahead of its ground truth (see {@link startReadingCocoResults}). */
export interface PendingCocoResults {
  /** The validated results, as readCocoResults returns them (and with the same errors). */
  finish(gt: CocoDataset, req?: ResultsRequirements): Promise<CocoResult[]>;
  /**
   * The columns of the early read when every record passes validateResults' checks against
   * `gt` and `req` (no object is built per result: `evaluate` takes them as they are), else
   * what `finish` returns, with the same errors.
   */
  finishAny(gt: CocoDataset, req?: ResultsRequirements): Promise<CocoResult[] | CocoResultsColumns>;
}

/**
 * Starts reading a results file before its ground truth is known. With
 * `options.columnParser`, the file is read and parsed now, off the JavaScript thread, while
 * the caller reads the ground truth; `finish` then only checks the records against it.
 * Without one (or when the parser declines the file), `finish` reads it as readCocoResults
 * always did. Failures of the early read are not reported: `finish` re-reads, so a missing
 * file or a FIFO fails there, with readCocoResults' errors and in the same order.
 *
 * @example
 * const pending = startReadingCocoResults('results.json', { columnParser });
 * const gt = await readCocoDataset('gt.json');
 * const results = await pending.finish(gt);
 */
export function startReadingCocoResults(file: string, options: ReadOptions = {}): PendingCocoResults {
  const parser = options.columnParser;
  const early = parser === undefined ? Promise.resolve(null) : startColumns(file, options, (f) => parser(f, { skipBoxedKeypoints: options.skipKeypoints === true })).catch(() => null);
  const readRecords = async (gt: CocoDataset, req: ResultsRequirements): Promise<CocoResult[]> =>
    validateResults(await parseFile(file, options, parseResultsStreaming, (text) => parseResultsText(text, options)), gt, file, req);
  return {
    async finish(gt, req = {}) {
      const columns = await early;
      const fast = columns === null ? null : resultsFromColumns(columns, gt, req);
      return fast ?? readRecords(gt, req);
    },
    async finishAny(gt, req = {}) {
      const columns = await early;
      return columns !== null && columnsPassChecks(columns, gt, req) ? columns : readRecords(gt, req);
    },
  };
}

/**
 * The file's columns from `parse`, or null for anything but a regular file within the
 * parsers' size limit. The parser is called before this returns (the file is stat'ed
 * synchronously): its read and scan then run on the thread pool without waiting for a turn of
 * this thread, which the caller keeps busy meanwhile.
 */
function startColumns<T>(file: string, options: ReadOptions, parse: (file: string) => Promise<T | null>): Promise<T | null> {
  try {
    const s = statSync(file);
    // never open a FIFO here (it would block until a writer appears); the JavaScript reader reports it
    if (!s.isFile() || s.size > (options.columnParserLimitBytes ?? COLUMN_PARSER_LIMIT_BYTES)) return Promise.resolve(null);
    return parse(file);
  } catch {
    return Promise.resolve(null);
  }
}

/** JSON of one record; typed arrays (keypoints) are written as plain number arrays. */
function recordJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (ArrayBuffer.isView(v) && !(v instanceof DataView) ? Array.from(v as Float64Array) : v));
}

async function writeArray(push: Push, key: string, items: Iterable<unknown> | AsyncIterable<unknown>, last: boolean): Promise<void> {
  await push(`${JSON.stringify(key)}: [`);
  let i = 0;
  for await (const item of items) await push(`${i++ === 0 ? '\n' : ',\n'}${recordJson(item)}`);
  await push(`${i > 0 ? '\n' : ''}]${last ? '' : ',\n'}`);
}

/**
 * A COCO dataset whose images and annotations are produced while the file is written (e.g.
 * from a stream of predictions), so that no array of them is ever held: each is iterated once.
 */
export interface CocoDatasetStream extends Omit<CocoDataset, 'images' | 'annotations'> {
  images: Iterable<CocoImage> | AsyncIterable<CocoImage>;
  annotations: Iterable<CocoAnnotation> | AsyncIterable<CocoAnnotation>;
}

/**
 * Writes a COCO dataset atomically, one record per line (diff-friendly, streamed). `images`
 * and `annotations` may be (async) iterables, read once in that order: the same bytes as
 * the arrays they yield.
 */
export async function writeCocoDataset(file: string, dataset: CocoDataset | CocoDatasetStream): Promise<void> {
  await writeAtomically(file, async (push) => {
    await push('{\n');
    if (dataset.info !== undefined) await push(`"info": ${recordJson(dataset.info)},\n`);
    if (dataset.licenses !== undefined) await push(`"licenses": ${recordJson(dataset.licenses)},\n`);
    await writeArray(push, 'images', dataset.images, false);
    await writeArray(push, 'annotations', dataset.annotations, false);
    await writeArray(push, 'categories', dataset.categories, true);
    await push('\n}\n');
  });
}

/** Writes a COCO results list atomically, one result per line. */
export async function writeCocoResults(file: string, results: readonly CocoResult[]): Promise<void> {
  await writeAtomically(file, async (push) => {
    await push('[');
    for (let i = 0; i < results.length; i++) await push(`${i === 0 ? '\n' : ',\n'}${recordJson(results[i])}`);
    await push(`${results.length > 0 ? '\n' : ''}]\n`);
  });
}

// The streaming labeling runner: many images in, raw prediction shards out, with bounded
// memory (at most `concurrency` decoded images and `concurrency + 1` unfinished shards), a
// progress callback, and crash-safe resume (see shards.ts).
import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { availableParallelism } from 'node:os';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, extname, join, resolve } from 'node:path';
import { openAppendLog, writeFileAtomic, type AppendLog } from '@omnidistill/coco';
import { InputFileError, OmniRangeError, OmniTypeError, expectInteger } from '@omnidistill/core';
import { validateRawImagePrediction, type RawImagePrediction, type RawInstance } from '@omnidistill/select';
import { decodeImage, DEFAULT_MAX_PIXELS, type DecodedImage, type DecodeResult, type ImageFailure } from './image.js';
import { arrayImageList, type ImageList } from './image-list.js';
import { containedPath, digestText, imageIdentity, shardDamage } from './integrity.js';
import {
  CHUNK_JOURNAL,
  DamagedRunFileError,
  formatChunkEntry,
  formatShardLine,
  joinShardLines,
  readChunkJournal,
  readRunHeader,
  removeStaleTemps,
  shardFileName,
  writeRunHeader,
  type ChunkEntry,
  type ImageEntry,
  type RunHeader,
  type RunPartition,
  type ShardLine,
  type StoredRun,
} from './shards.js';
import { timeStage, type StageClock } from './stage-clock.js';

/** Progress of a run; `etaMs` is null until this process has finished an image. */
export interface RunProgress {
  /** Images done (predicted or skipped), including shards finished by earlier runs. */
  done: number;
  total: number;
  skipped: number;
  elapsedMs: number;
  etaMs: number | null;
}

/** Things worth telling a user about while a run goes on. */
export type RunEvent =
  | { type: 'resumed'; completedShards: number; shardCount: number }
  | { type: 'image-skipped'; imageId: number; fileName: string; failure: ImageFailure }
  | { type: 'shard-written'; shard: number; file: string }
  /** A shard an earlier run finished is redone: damaged file, changed images, or transient failures to retry. */
  | { type: 'shard-redone'; shard: number; why: string }
  /** `run.json` was damaged (not JSON): the run starts over in the same folder. */
  | { type: 'manifest-damaged'; file: string; message: string };

/** Options of {@link runInference}. */
export interface RunOptions {
  /**
   * Images in run order; ids unique. The same list must be given to resume. An
   * {@link ImageList} (e.g. the frozen `images.jsonl`) is read in passes and never held.
   */
  images: readonly ImageEntry[] | ImageList;
  /** Directory the `fileName`s are relative to. */
  imageRoot: string;
  /** Directory of `run.json` and the shards (created if needed). */
  outDir: string;
  /** Predicts every instance of one decoded image (every score kept). */
  predict: (image: DecodedImage, entry: ImageEntry) => Promise<RawInstance[]>;
  /**
   * Identity of everything that shapes the predictions (models, plan, options). Stored in
   * `run.json`; resuming with another fingerprint is refused instead of mixing outputs.
   */
  fingerprint: string;
  /**
   * Named digests of the inputs behind `fingerprint` (e.g. `{ teacher: sha256, boxes: sha256 }`),
   * stored in `run.json` so that a refused resume says which input changed.
   */
  inputs?: Readonly<Record<string, string>>;
  /** Images with more pixels are skipped as `too-large` from their header (default {@link DEFAULT_MAX_PIXELS}). */
  maxPixels?: number;
  /** Images per shard (default 64). */
  shardSize?: number;
  /** Images in `predict` at once (default {@link defaultConcurrency}). */
  concurrency?: number;
  /**
   * Images read and decoded ahead of the one `predict` takes next (default
   * {@link DEFAULT_PREFETCH}): decoding (sharp, on libuv's pool) overlaps the model, which
   * runs on onnxruntime's threads. Memory: at most `prefetch + concurrency` decoded images.
   */
  prefetch?: number;
  /** Records the busy time of the `decode` and `write` stages (the model's own stages are timed by its session). */
  clock?: StageClock;
  onProgress?: (progress: RunProgress) => void;
  onEvent?: (event: RunEvent) => void;
  /** Stops taking new images; in-flight images finish and complete shards are kept. */
  signal?: AbortSignal;
  /**
   * Run only this share of the shards (`shard % count === index`), e.g. one job of a
   * Kubernetes indexed job or Slurm array, each with its own `outDir`; `readPredictions`
   * over all the directories gives the same predictions as one unpartitioned run.
   * Default `{ index: 0, count: 1 }`.
   */
  partition?: RunPartition;
}

/** What a run did. */
export interface RunSummary {
  /** False when stopped by the signal before every shard (of the partition) was written. */
  complete: boolean;
  /** Images of this partition (all images when unpartitioned). */
  total: number;
  /** Images predicted by this process (resumed shards not included). */
  predicted: number;
  /** Images skipped by this process. */
  skipped: number;
  /** Of those, the ones with a transient failure (missing file, I/O error, model failure): retried by the next run. */
  transientSkipped: number;
  shardCount: number;
  /** Shards found complete at start (written by an earlier, interrupted run). */
  resumedShards: number;
}

/** Image file extensions {@link listImages} picks up (lower case). */
export const IMAGE_EXTENSIONS: readonly string[] = Object.freeze(['.jpg', '.jpeg', '.png', '.webp']);

/**
 * The images under `root` (recursively), as run entries: paths relative to `root` with
 * `/` separators, sorted by code point so every machine lists them in the same order,
 * ids 1, 2, … in that order. Files are chosen by extension (case-insensitive); whether
 * they decode is found out, and reported, by the run.
 */
export async function listImages(root: string, options: { firstId?: number } = {}): Promise<ImageEntry[]> {
  const firstId = options.firstId ?? 1;
  expectInteger(firstId, 'options.firstId', 0);
  const found: string[] = [];
  const walk = async (dir: string, prefix: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const rel = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
      if (entry.isDirectory()) await walk(join(dir, entry.name), rel);
      else if (entry.isFile() && IMAGE_EXTENSIONS.includes(extname(entry.name).toLowerCase())) found.push(rel);
    }
  };
  await walk(root, '');
  found.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return found.map((fileName, i) => ({ imageId: firstId + i, fileName }));
}

/** Images decoded ahead of prediction by default: enough to hide a slow file behind a few model calls. */
export const DEFAULT_PREFETCH = 4;

/**
 * Images in flight by default: 2 (one decoding while one is in the model, whose intra-op
 * threads already use every core), up to 4 on machines with more than 16 cores, where
 * single small-model calls stop scaling.
 */
export function defaultConcurrency(cores = availableParallelism()): number {
  return Math.max(2, Math.min(4, Math.floor(cores / 8)));
}

/** The images option as a list read in passes. */
function imageListOf(images: RunOptions['images']): ImageList {
  if (Array.isArray(images)) return arrayImageList(images);
  const list = images as Partial<ImageList> | null;
  if (typeof list !== 'object' || list === null || !Number.isInteger(list.count) || typeof list.entries !== 'function') {
    throw new OmniTypeError('options.images', 'an array of { imageId, fileName } or an ImageList { count, entries() }', images);
  }
  return list as ImageList;
}

/**
 * One pass over the images: each checked (ids unique, paths inside the image folder) and
 * the SHA-256 over the ordered `imageId\tfileName` lines (shards.ts hashImageList). Ids
 * are checked against the previous one while they increase (the frozen list's order); the
 * first id out of order reads the ids seen so far into a set (a second pass over them).
 */
async function validateAndHash(list: ImageList, root: string): Promise<string> {
  const hash = createHash('sha256');
  let seen: Set<number> | null = null;
  let last = -Infinity;
  let i = 0;
  for await (const im of list.entries()) {
    expectInteger(im?.imageId, `options.images[${i}].imageId`, 0);
    if (typeof im.fileName !== 'string' || im.fileName === '') throw new OmniTypeError(`options.images[${i}].fileName`, 'a non-empty string', im.fileName);
    if (containedPath(root, im.fileName) === null) throw new OmniRangeError(`options.images[${i}].fileName (image ${im.imageId})`, `a relative path inside the image folder ${root}`, im.fileName);
    if (seen === null && im.imageId <= last) seen = await idsBefore(list, i);
    if (seen !== null) {
      if (seen.has(im.imageId)) throw new OmniRangeError(`options.images[${i}].imageId`, 'an id not used by an earlier image', im.imageId);
      seen.add(im.imageId);
    }
    last = im.imageId;
    hash.update(`${im.imageId}\t${im.fileName}\n`);
    i++;
  }
  if (i !== list.count) throw new OmniRangeError('options.images', `the ${list.count} images the list announces`, i);
  return hash.digest('hex');
}

/** The ids of the first `n` images (only for lists that are not in increasing id order). */
async function idsBefore(list: ImageList, n: number): Promise<Set<number>> {
  const ids = new Set<number>();
  if (n === 0) return ids;
  for await (const im of list.entries()) {
    ids.add(im.imageId);
    if (ids.size >= n) break;
  }
  return ids;
}

/** The list cut into run chunks of `size` consecutive images, with their index. */
async function* chunksOf(list: ImageList, size: number): AsyncGenerator<{ index: number; entries: ImageEntry[] }> {
  let entries: ImageEntry[] = [];
  let index = 0;
  for await (const im of list.entries()) {
    entries.push(im);
    if (entries.length < size) continue;
    yield { index: index++, entries };
    entries = [];
  }
  if (entries.length > 0) yield { index, entries };
}

/**
 * A resume refused because the folder holds a run made with other inputs; `changed` names
 * them (from {@link RunOptions.inputs}) when the run recorded its inputs.
 */
export class RunMismatchError extends InputFileError {
  readonly changed: readonly string[];
  constructor(file: string, changed: readonly string[], detail: string) {
    const dir = dirname(file);
    const what = changed.length > 0 ? `made with other inputs: ${changed.join(', ')} changed since it started` : `of another configuration (${detail})`;
    super(file, `${dir} holds a run ${what}; rerun with the original inputs to resume it, or start over with a new --out folder (or delete ${dir})`);
    this.name = 'RunMismatchError';
    this.changed = changed;
  }
}

/** Names of the recorded inputs whose digest differs (or that appear or disappear). */
function changedInputs(before: Readonly<Record<string, string>> | undefined, now: Readonly<Record<string, string>> | undefined): string[] {
  if (!before || !now) return [];
  const names = [...new Set([...Object.keys(before), ...Object.keys(now)])];
  return names.filter((n) => before[n] !== now[n]);
}

/** Reads `run.json`; a damaged one is reported and replaced (its shards are redone), never trusted. */
async function readOrReplaceHeader(options: RunOptions): Promise<StoredRun | null> {
  try {
    return await readRunHeader(options.outDir);
  } catch (error) {
    if (!(error instanceof DamagedRunFileError)) throw error;
    options.onEvent?.({ type: 'manifest-damaged', file: error.file, message: error.message });
    return null;
  }
}

/** An open run: its header, the shards earlier runs finished (last entry each), and the journal to append to. */
interface OpenRun {
  header: RunHeader;
  finished: Map<number, ChunkEntry>;
  journal: AppendLog;
}

/**
 * Loads `run.json` and the journal and checks they belong to this run, or starts a fresh
 * one (an empty journal first, then `run.json`: a crash between leaves no header, so the
 * next run starts fresh again). A version 1 folder is converted: its list of shards becomes
 * the journal, then `run.json` is rewritten as version 2.
 */
async function openRun(options: RunOptions, images: { count: number; hash: string }, shardSize: number, partition: RunPartition): Promise<OpenRun> {
  const imagesHash = images.hash;
  const shardCount = Math.ceil(images.count / shardSize);
  const journalFile = join(options.outDir, CHUNK_JOURNAL);
  const existing = await readOrReplaceHeader(options);
  if (existing) {
    const old = existing.header;
    const mismatch =
      old.fingerprint !== options.fingerprint ? `fingerprint ${old.fingerprint.slice(0, 12)}… ≠ ${options.fingerprint.slice(0, 12)}…`
      : old.imagesHash !== imagesHash ? 'the image list differs'
      : old.shardSize !== shardSize ? `shardSize ${old.shardSize} ≠ ${shardSize}`
      : old.partition.index !== partition.index || old.partition.count !== partition.count
        ? `partition ${old.partition.index}/${old.partition.count} ≠ ${partition.index}/${partition.count}`
      : null;
    if (mismatch) {
      const changed = old.imagesHash !== imagesHash ? ['the image list', ...changedInputs(old.inputs, options.inputs)] : changedInputs(old.inputs, options.inputs);
      throw new RunMismatchError(join(options.outDir, 'run.json'), changed, mismatch);
    }
    if (existing.legacy !== null) {
      await writeFileAtomic(journalFile, existing.legacy.map(formatChunkEntry).join(''));
      await writeRunHeader(options.outDir, old);
    }
    // Opening the journal cuts off a line torn by a crash; then its entries are read.
    const journal = await openAppendLog(journalFile);
    return { header: old, finished: await readChunkJournal(options.outDir), journal };
  }
  const fresh: RunHeader = {
    format: 'omnidistill-predictions',
    version: 2,
    fingerprint: options.fingerprint,
    imagesHash,
    total: images.count,
    shardSize,
    shardCount,
    partition,
    ...(options.inputs ? { inputs: { ...options.inputs } } : {}),
  };
  await writeFileAtomic(journalFile, '');
  await writeRunHeader(options.outDir, fresh);
  return { header: fresh, finished: new Map(), journal: await openAppendLog(journalFile) };
}

/**
 * Predicts every image and appends the raw predictions to atomically written shards.
 * Killed at any point (even SIGKILL) and started again with the same options, it redoes
 * only unfinished shards and ends with the same files as an uninterrupted run: no image
 * lost or duplicated. A finished shard is trusted only when its length, checksum and the
 * identity of its images (name, size, mtime) still match its line in `chunks.jsonl`; otherwise it is redone
 * (`shard-redone`). Per-image failures (unreadable, corrupt, too large, model errors) are
 * reported (`image-skipped`) and recorded in their shard: permanent ones are kept, transient
 * ones (missing file, I/O error, model failure) are retried by the next run. A write failure
 * (full disk) stops the run with a FileWriteError naming the file; what was written stays valid.
 *
 * @example
 * await runInference({ images, imageRoot: 'data/unlabeled', outDir: 'run/predictions',
 *   fingerprint: 'teacher-v1/paper-plan', predict: (img) => predictor(img),
 *   onProgress: (p) => bar.update(p.done / p.total) });
 */
export async function runInference(options: RunOptions): Promise<RunSummary> {
  const list = imageListOf(options.images);
  const imagesHash = await validateAndHash(list, resolve(options.imageRoot));
  const shardSize = options.shardSize ?? 64;
  expectInteger(shardSize, 'options.shardSize', 1);
  const concurrency = options.concurrency ?? defaultConcurrency();
  expectInteger(concurrency, 'options.concurrency', 1);
  const prefetch = options.prefetch ?? DEFAULT_PREFETCH;
  expectInteger(prefetch, 'options.prefetch', 0);
  if (typeof options.predict !== 'function') throw new OmniTypeError('options.predict', 'a function', options.predict);
  const partition = options.partition ?? { index: 0, count: 1 };
  expectInteger(partition.count, 'options.partition.count', 1);
  expectInteger(partition.index, 'options.partition.index', 0);
  if (partition.index >= partition.count) throw new OmniRangeError('options.partition.index', `an integer < count = ${partition.count}`, partition.index);
  const mine = (s: number) => s % partition.count === partition.index;

  await removeStaleTemps(options.outDir);
  const run = await openRun(options, { count: list.count, hash: imagesHash }, shardSize, partition);
  const { header, journal } = run;
  const restoreCache = withoutSharpCache();
  try {
    return await predictPending(options, list, header, run.finished, journal, { shardSize, concurrency, prefetch, mine });
  } finally {
    restoreCache();
    await journal.close();
  }
}

/**
 * Turns libvips' operation cache off for the run and returns what restores its limits. A run
 * decodes every image once and resizes it for one flip pair at a time (image.ts keeps that
 * resize itself), so the cache never hits: it only hashes and keeps operations (up to 50 MB).
 * Measured: decoding 5–10 % less CPU without it (tools/bench, 96 and 320 px PNGs).
 */
function withoutSharpCache(): () => void {
  const before = sharp.cache(); // the limits now (setting returns the new ones)
  sharp.cache(false);
  return () => {
    sharp.cache({ memory: before.memory.max, files: before.files.max, items: before.items.max });
  };
}

/** How {@link runInference} cuts and spreads the work. */
interface RunShape {
  shardSize: number;
  concurrency: number;
  prefetch: number;
  mine: (shard: number) => boolean;
}

/** The body of {@link runInference} once the run folder is open: checks earlier shards, predicts the rest. */
async function predictPending(options: RunOptions, list: ImageList, header: RunHeader, earlier: Map<number, ChunkEntry>, journal: AppendLog, shape: RunShape): Promise<RunSummary> {
  const { shardSize, concurrency, prefetch, mine } = shape;
  const root = resolve(options.imageRoot);
  // One flag per shard (not a set of ids): memory of a byte per shardSize images.
  const completed = new Uint8Array(header.shardCount);
  let completedMine = 0;
  const markCompleted = (s: number) => {
    if (completed[s] === 0 && mine(s)) completedMine++;
    completed[s] = 1;
  };
  if ([...earlier.keys()].some(mine)) {
    // One pass over the list for the chunks an earlier run finished: trusted or redone.
    for await (const chunk of chunksOf(list, shardSize)) {
      const entry = earlier.get(chunk.index);
      if (!mine(chunk.index) || entry === undefined) continue;
      const why = await whyRedo(options.outDir, entry, root, chunk.entries);
      if (why === null) markCompleted(chunk.index);
      else options.onEvent?.({ type: 'shard-redone', shard: chunk.index, why });
    }
  }
  earlier.clear();
  const resumedShards = completedMine;
  if (resumedShards > 0) options.onEvent?.({ type: 'resumed', completedShards: resumedShards, shardCount: header.shardCount });

  const shardLength = (s: number): number => Math.min(shardSize, list.count - s * shardSize);
  let total = 0;
  let pending = 0;
  let myShardCount = 0;
  for (let s = 0; s < header.shardCount; s++) {
    if (!mine(s)) continue;
    myShardCount++;
    total += shardLength(s);
    if (completed[s] === 0) pending += shardLength(s);
  }
  // Each image's line is formatted when it is predicted: a chunk waiting for its last images
  // holds one string per image, not ~100 instance objects each that every young-generation
  // collection would copy until the chunk is written.
  const buffers = new Map<number, { lines: string[]; filled: number; retry: boolean }>();

  const start = Date.now();
  let done = total - pending;
  let doneHere = 0;
  let skipped = 0;
  let transientSkipped = 0;
  const report = () => {
    const elapsedMs = Date.now() - start;
    const etaMs = doneHere === 0 ? null : (elapsedMs / doneHere) * (total - done);
    options.onProgress?.({ done, total, skipped, elapsedMs, etaMs });
  };
  report();

  // Shard writes are serialised: each shard's journal line is appended after its file is in place.
  let writeChain: Promise<void> = Promise.resolve();
  const finishShard = (s: number, lines: readonly string[], retry: boolean, entries: readonly ImageEntry[]) => {
    writeChain = writeChain.then(() => timeStage(options.clock, 'write', async () => {
      const file = join(options.outDir, shardFileName(s));
      const text = joinShardLines(lines);
      const identity = await imageIdentity(root, entries);
      await writeFileAtomic(file, text);
      await journal.append(formatChunkEntry({ shard: s, ...digestText(text), images: identity, ...(retry ? { retry: true as const } : {}) }));
      markCompleted(s);
      options.onEvent?.({ type: 'shard-written', shard: s, file });
    }));
    return writeChain;
  };

  let failed = false; // a write failure stops every worker, not only the one that hit it
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  const decode = (entry: ImageEntry) => timeStage(options.clock, 'decode', () => decodeImage(containedPath(root, entry.fileName)!, { maxPixels }));
  const queue = new PendingImages(list, shardSize, (s) => mine(s) && completed[s] === 0, prefetch, decode);
  const worker = async () => {
    while (!options.signal?.aborted && !failed) {
      const item = await queue.take();
      if (item === null) break;
      const { s, j, entries } = item;
      const entry = entries[j];
      const line = await predictImage(entry, await item.decoded, options.predict);
      if ('skipped' in line) {
        skipped++;
        if (line.skipped.transient) transientSkipped++;
        options.onEvent?.({ type: 'image-skipped', imageId: entry.imageId, fileName: entry.fileName, failure: line.skipped });
      }
      let buffer = buffers.get(s);
      if (!buffer) buffers.set(s, (buffer = { lines: new Array<string>(entries.length), filled: 0, retry: false }));
      buffer.lines[j] = formatShardLine(line);
      if ('skipped' in line && line.skipped.transient) buffer.retry = true;
      buffer.filled++;
      done++;
      doneHere++;
      if (buffer.filled === buffer.lines.length) {
        buffers.delete(s);
        try {
          await finishShard(s, buffer.lines, buffer.retry, entries);
        } catch (error) {
          failed = true;
          throw error;
        }
      }
      report();
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(pending, 1)) }, worker));
  } finally {
    // Decodes started ahead of a stop (signal, write failure) settle before the run returns:
    // nothing keeps reading the image folder after it.
    await queue.close();
  }
  await writeChain;
  return {
    complete: completedMine === myShardCount,
    total,
    predicted: doneHere - skipped,
    skipped,
    transientSkipped,
    shardCount: header.shardCount,
    resumedShards,
  };
}

/** An image to predict: its chunk, its place there, and its decode (started ahead or on demand). */
interface PendingImage {
  s: number;
  j: number;
  entries: readonly ImageEntry[];
  decoded: Promise<DecodeResult>;
}

/**
 * The images still to predict, read from the list chunk by chunk as workers take them (never
 * a queue of all of them), with the next `prefetch` already decoding. `take()` calls are
 * served one at a time, in list order.
 */
class PendingImages {
  private readonly source: AsyncGenerator<{ s: number; j: number; entries: readonly ImageEntry[] }>;
  private readonly ahead: PendingImage[] = [];
  private exhausted = false;
  private turn: Promise<unknown> = Promise.resolve();

  constructor(
    list: ImageList,
    shardSize: number,
    wanted: (chunk: number) => boolean,
    private readonly prefetch: number,
    private readonly decode: (entry: ImageEntry) => Promise<DecodeResult>,
  ) {
    this.source = (async function* () {
      for await (const chunk of chunksOf(list, shardSize)) {
        if (!wanted(chunk.index)) continue;
        for (let j = 0; j < chunk.entries.length; j++) yield { s: chunk.index, j, entries: chunk.entries };
      }
    })();
  }

  /** The next image (null when there is none left); the following ones start decoding. */
  take(): Promise<PendingImage | null> {
    const next = this.turn.then(async () => {
      const item = this.ahead.shift() ?? (await this.pull(false));
      while (!this.exhausted && this.ahead.length < this.prefetch) {
        const more = await this.pull(true);
        if (more !== null) this.ahead.push(more);
      }
      return item;
    });
    this.turn = next.catch(() => undefined);
    return next;
  }

  private async pull(ahead: boolean): Promise<PendingImage | null> {
    if (this.exhausted) return null;
    const r = await this.source.next();
    if (r.done) {
      this.exhausted = true;
      return null;
    }
    const { s, j, entries } = r.value;
    // Decodes started ahead must not reject unobserved before a worker awaits them.
    const decoded = this.decode(entries[j]);
    if (ahead) decoded.catch(() => undefined);
    return { s, j, entries, decoded };
  }

  /** Lets the decodes started ahead settle and closes the list. */
  async close(): Promise<void> {
    await this.turn;
    await Promise.allSettled(this.ahead.map((i) => i.decoded));
    await this.source.return(undefined);
  }
}

/**
 * Why a shard an earlier run finished must be redone, or null when it can be trusted: it
 * holds transient failures to retry, its file is missing or damaged (length/checksum), or
 * its images changed since (name, size, mtime).
 */
async function whyRedo(dir: string, entry: ChunkEntry, root: string, images: readonly ImageEntry[]): Promise<string | null> {
  if (entry.retry) return 'retrying images that failed transiently';
  let bytes: Buffer;
  try {
    bytes = await readFile(join(dir, shardFileName(entry.shard)));
  } catch {
    return 'shard file missing';
  }
  const damage = shardDamage(bytes, entry);
  if (damage) return `shard file damaged (${damage})`;
  if ((await imageIdentity(root, images)) !== entry.images) return 'images changed since it was written';
  return null;
}

/**
 * One decoded image → its shard line. Every per-image failure (unreadable file, too many
 * pixels, a model error such as a failed allocation, a malformed prediction) becomes a
 * skipped line for that image: the run goes on with the others. Model failures are marked
 * transient, so the next run tries the image again rather than trusting a failure that may
 * have been momentary. (Paths were checked to stay inside the image folder before the run.)
 */
async function predictImage(entry: ImageEntry, decoded: DecodeResult, predict: RunOptions['predict']): Promise<ShardLine> {
  if (!decoded.ok) return { imageId: entry.imageId, fileName: entry.fileName, skipped: decoded.failure };
  try {
    const instances = await predict(decoded.image, entry);
    const record: RawImagePrediction = {
      imageId: entry.imageId,
      fileName: entry.fileName,
      width: decoded.image.width,
      height: decoded.image.height,
      instances,
    };
    // A NaN or a malformed instance must not reach a shard that selection would reject later.
    return validateRawImagePrediction(record, 'prediction');
  } catch (error) {
    const message = (error as Error).message ?? String(error);
    return { imageId: entry.imageId, fileName: entry.fileName, skipped: { reason: 'inference-failed', message, transient: true } };
  }
}

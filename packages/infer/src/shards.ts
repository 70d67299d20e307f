// The on-disk state of a labeling run: JSON-lines shards of raw predictions (one per
// `shardSize` consecutive images), `run.json`, what the run is (written once, fixed size),
// and `chunks.jsonl`, an append-only journal with one line per finished shard (its length,
// checksum and image identity). Shards and run.json are written atomically (temp file,
// fsync, rename); a journal line is appended and fsynced after its shard is in place. A run
// killed at any instant leaves whole shards and at most a torn last journal line (cut off
// when the journal is opened again, ignored by readers), and a restart redoes exactly the
// shards the journal does not vouch for. Per shard the work is O(1): nothing is rewritten
// (version 1 rewrote the whole list of shards in run.json after each one, O(n²) in total).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { removeAtomicTemps, writeFileAtomic } from '@omnidistill/coco';
import { InputFileError, OmniRangeError } from '@omnidistill/core';
import { validateRawImagePrediction, type RawImagePrediction } from '@omnidistill/select';
import type { ImageFailure, ImageFailureReason } from './image.js';
import { shardDamage, type ShardRecord } from './integrity.js';

/** An image of a run: its COCO id and its path relative to the image root. */
export interface ImageEntry {
  imageId: number;
  fileName: string;
}

/** A shard line for an image that was reported and skipped (retried on resume only when `skipped.transient`). */
export interface SkippedImage extends ImageEntry {
  skipped: ImageFailure;
}

export type ShardLine = RawImagePrediction | SkippedImage;

export const RUN_MANIFEST = 'run.json';
/** The append-only journal of finished shards, next to `run.json`. */
export const CHUNK_JOURNAL = 'chunks.jsonl';

/** A share of a run for one machine/job: shards with `shard % count === index`. */
export interface RunPartition {
  index: number;
  count: number;
}
const RUN_FORMAT = 'omnidistill-predictions';

/** `run.json` (version 2): what the run is, so a restart with other arguments is refused. */
export interface RunHeader {
  format: typeof RUN_FORMAT;
  version: 2;
  /** Caller's identity of models, plan and options. */
  fingerprint: string;
  /** SHA-256 of the ordered image list (ids and file names). */
  imagesHash: string;
  total: number;
  shardSize: number;
  shardCount: number;
  /** This directory's share of the shards: those with `shard % count === index`. */
  partition: RunPartition;
  /** Named digests of the run's inputs (teacher, boxes, …): a refused resume names those that changed. */
  inputs?: Record<string, string>;
}

/**
 * One line of `chunks.jsonl`: shard `shard` was written with this length, checksum and image
 * identity; `retry` when it holds transient image failures (a resumed run redoes it). A shard
 * written again (redone) gets a new line: the last line of a shard wins.
 */
export interface ChunkEntry extends ShardRecord {
  shard: number;
  retry?: true;
}

/**
 * A run as one object: `run.json` with the journal folded in (the version 1 layout of
 * run.json, which listed the shards itself). For tools and tests; a run reads the journal
 * as a stream ({@link readChunkJournal}).
 */
export interface RunManifest extends Omit<RunHeader, 'version'> {
  version: 1 | 2;
  /** Completed shard indices, ascending. */
  completed: number[];
  /** Per completed shard (key: its index): byte length, SHA-256 and the identity of its images when written. */
  shards: Record<string, ShardRecord>;
  /** Completed shards that hold transient image failures: a resumed run redoes them. */
  retry: number[];
}

/** File name of shard `index`. */
export function shardFileName(index: number): string {
  return `shard-${String(index).padStart(6, '0')}.jsonl`;
}

/** SHA-256 over the ordered `imageId\tfileName` lines. */
export function hashImageList(images: readonly ImageEntry[]): string {
  const hash = createHash('sha256');
  for (const im of images) hash.update(`${im.imageId}\t${im.fileName}\n`);
  return hash.digest('hex');
}

/**
 * A run fingerprint: SHA-256 over the given parts in order (strings and bytes as is,
 * anything else as JSON). Give it everything that shapes the predictions — model bytes,
 * manifests, the plan, predictor options — so a resume with other inputs is refused.
 */
export function runFingerprint(...parts: (string | Uint8Array | object | number | boolean | null)[]): string {
  const hash = createHash('sha256');
  for (const part of parts) {
    const bytes = part instanceof Uint8Array ? part : typeof part === 'string' ? part : JSON.stringify(part);
    hash.update(typeof bytes === 'string' ? `s${bytes.length}:` : `b${bytes.length}:`);
    hash.update(bytes);
  }
  return hash.digest('hex');
}

/** Removes temp files a killed writer left behind (the run's folder is its own: see lock.ts). */
export const removeStaleTemps = removeAtomicTemps;

/** A run record (`run.json`) or a shard that is damaged (truncated, edited, not JSON): redo it, never trust it. */
export class DamagedRunFileError extends InputFileError {
  constructor(file: string, what: string) {
    super(file, `${file}: damaged (${what}); rerun the same label command to redo it`);
    this.name = 'DamagedRunFileError';
  }
}

/** `run.json` as read: the header, and for a version 1 file the shards it listed itself. */
export interface StoredRun {
  header: RunHeader;
  /** Version 1 only: its completed shards as journal entries (its folder has no journal). */
  legacy: ChunkEntry[] | null;
}

/** Reads `run.json`, or null when the directory has none; a damaged one throws {@link DamagedRunFileError}. */
export async function readRunHeader(dir: string): Promise<StoredRun | null> {
  const file = join(dir, RUN_MANIFEST);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  let m: RunHeader & Partial<Pick<RunManifest, 'completed' | 'shards' | 'retry'>>;
  try {
    m = JSON.parse(text) as typeof m;
  } catch (error) {
    throw new DamagedRunFileError(file, `not valid JSON: ${(error as Error).message}`);
  }
  const version = (m as { version?: unknown } | null)?.version;
  if (typeof m !== 'object' || m === null || m.format !== RUN_FORMAT || (version !== 1 && version !== 2)) throw new Error(`${file}: not an omnidistill predictions manifest`);
  if (!Number.isInteger(m.shardCount) || !Number.isInteger(m.shardSize)) throw new DamagedRunFileError(file, 'fields missing');
  const { completed, shards, retry, ...rest } = m;
  const header: RunHeader = { ...rest, version: 2 };
  if (version === 2) return { header, legacy: null };
  if (!Array.isArray(completed)) throw new DamagedRunFileError(file, 'fields missing');
  const retrying = new Set(retry ?? []);
  const legacy = completed.map((shard): ChunkEntry | null => {
    const record = shards?.[String(shard)];
    // A shard listed without a record (runs older than records) is not vouched for: it is redone.
    return record ? { shard, ...record, ...(retrying.has(shard) ? { retry: true as const } : {}) } : null;
  });
  return { header, legacy: legacy.filter((e): e is ChunkEntry => e !== null) };
}

export async function writeRunHeader(dir: string, header: RunHeader): Promise<void> {
  await writeFileAtomic(join(dir, RUN_MANIFEST), `${JSON.stringify(header, null, 1)}\n`);
}

/** A journal line as a checked entry, or null when it is not one (torn, edited): that shard is then simply not vouched for. */
function parseChunkEntry(line: string): ChunkEntry | null {
  let e: Partial<ChunkEntry>;
  try {
    e = JSON.parse(line) as Partial<ChunkEntry>;
  } catch {
    return null;
  }
  const ok = typeof e === 'object' && e !== null && Number.isInteger(e.shard) && (e.shard as number) >= 0 && Number.isInteger(e.bytes) && typeof e.sha256 === 'string' && typeof e.images === 'string';
  return ok ? (e as ChunkEntry) : null;
}

/**
 * The journal of a run folder as a map shard → its last entry (empty when there is no
 * journal). Read as a stream; lines that are not whole entries (a line torn by a crash) are
 * skipped, which only means their shards are redone.
 */
export async function readChunkJournal(dir: string): Promise<Map<number, ChunkEntry>> {
  const entries = new Map<number, ChunkEntry>();
  const input = createReadStream(join(dir, CHUNK_JOURNAL));
  try {
    for await (const line of createInterface({ input, crlfDelay: Infinity })) {
      const e = line === '' ? null : parseChunkEntry(line);
      if (e) entries.set(e.shard, e);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  } finally {
    input.destroy();
  }
  return entries;
}

/** A run folder's header and its finished shards (journal, or a version 1 run.json's list), or null without run.json. */
export async function readRunState(dir: string): Promise<{ header: RunHeader; chunks: Map<number, ChunkEntry>; version: 1 | 2 } | null> {
  const stored = await readRunHeader(dir);
  if (stored === null) return null;
  if (stored.legacy !== null) return { header: stored.header, chunks: new Map(stored.legacy.map((e) => [e.shard, e])), version: 1 };
  return { header: stored.header, chunks: await readChunkJournal(dir), version: 2 };
}

/** `run.json` with the journal folded in ({@link RunManifest}), or null when the directory has none. */
export async function readRunManifest(dir: string): Promise<RunManifest | null> {
  const state = await readRunState(dir);
  if (state === null) return null;
  const completed = [...state.chunks.keys()].sort((a, b) => a - b);
  const shards = Object.fromEntries(completed.map((s) => { const { shard: _, retry: __, ...record } = state.chunks.get(s)!; return [String(s), record]; }));
  const retry = completed.filter((s) => state.chunks.get(s)!.retry);
  return { ...state.header, version: state.version, completed, shards, retry };
}

/** The journal line of a shard just written. */
export function formatChunkEntry(entry: ChunkEntry): string {
  return `${JSON.stringify(entry)}\n`;
}

/** Serialises one shard: one JSON object per line, in image order. */
export function formatShard(lines: readonly ShardLine[]): string {
  return joinShardLines(lines.map(formatShardLine));
}

/** One line of a shard, without its newline (a shard is these lines joined by {@link joinShardLines}). */
export function formatShardLine(line: ShardLine): string {
  return JSON.stringify(line);
}

/** A shard's text from its formatted lines, in image order. */
export function joinShardLines(lines: readonly string[]): string {
  return lines.join('\n') + (lines.length > 0 ? '\n' : '');
}

function isSkipped(line: ShardLine): line is SkippedImage {
  return (line as SkippedImage).skipped !== undefined;
}

/** A completed shard's folder and, when the run recorded it, its length and checksum. */
interface LocatedShard {
  dir: string;
  record: ShardRecord | undefined;
}

/** Where each shard of a (possibly partitioned) run lives, checked for consistency. */
async function locateShards(dirs: readonly string[], allowIncomplete: boolean): Promise<(LocatedShard | null)[]> {
  if (dirs.length === 0) throw new OmniRangeError('dirs', 'at least one predictions directory', dirs);
  let first: RunHeader | null = null;
  let located: (LocatedShard | null)[] = [];
  for (const dir of dirs) {
    const state = await readRunState(dir);
    if (!state) throw new Error(`${dir}: no ${RUN_MANIFEST}; not a predictions directory`);
    const m = state.header;
    if (first === null) {
      first = m;
      located = new Array<LocatedShard | null>(m.shardCount).fill(null);
    } else if (m.fingerprint !== first.fingerprint || m.imagesHash !== first.imagesHash || m.shardSize !== first.shardSize) {
      throw new Error(`${dir}: belongs to another run than ${dirs[0]} (fingerprint, image list or shard size differ)`);
    }
    for (const [sIndex, entry] of state.chunks) if (sIndex < located.length) located[sIndex] ??= { dir, record: entry };
  }
  const done = located.filter((d) => d !== null).length;
  if (done < first!.shardCount && !allowIncomplete) {
    const missing = located.map((d, i) => (d === null ? i : -1)).filter((i) => i >= 0);
    throw new Error(
      `${dirs.join(', ')}: the run is incomplete (${done} of ${first!.shardCount} shards; missing ${missing.slice(0, 8).join(', ')}${missing.length > 8 ? ', …' : ''}); rerun the same command to finish it`,
    );
  }
  return located;
}

async function* readShardLines(dirOrDirs: string | readonly string[], options: { allowIncomplete?: boolean }): AsyncGenerator<ShardLine> {
  const dirs = typeof dirOrDirs === 'string' ? [dirOrDirs] : dirOrDirs;
  const located = await locateShards(dirs, options.allowIncomplete ?? false);
  for (let sIndex = 0; sIndex < located.length; sIndex++) {
    const shard = located[sIndex];
    if (shard === null) continue;
    const file = join(shard.dir, shardFileName(sIndex));
    const bytes = await readFile(file).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') throw new DamagedRunFileError(file, `listed as done in ${CHUNK_JOURNAL} but missing`);
      throw error;
    });
    const damage = shard.record ? shardDamage(bytes, shard.record) : null;
    if (damage) throw new DamagedRunFileError(file, damage);
    const text = bytes.toString('utf8');
    let lineNo = 0;
    for (const line of text.split('\n')) {
      lineNo++;
      if (line === '') continue;
      try {
        yield JSON.parse(line) as ShardLine;
      } catch (error) {
        throw new DamagedRunFileError(`${file}:${lineNo}`, `not valid JSON: ${(error as Error).message}`);
      }
    }
  }
}

/**
 * The raw predictions of a finished run, in image order (skipped images left out), ready
 * for `@omnidistill/select`. Each record is validated. A partitioned run is read from all
 * its partition directories at once (`dirs` in any order; the result is the same as one
 * unpartitioned run). Throws if the run is not complete, unless `allowIncomplete`.
 */
export async function* readPredictions(dir: string | readonly string[], options: { allowIncomplete?: boolean } = {}): AsyncGenerator<RawImagePrediction> {
  let index = 0;
  for await (const line of readShardLines(dir, options)) {
    if (isSkipped(line)) continue;
    yield validateRawImagePrediction(line, `prediction ${index++}`);
  }
}

/** Skipped images of a run counted by reason (see {@link summariseSkipped}). */
export interface SkippedSummary {
  /** Images skipped, all reasons together. */
  total: number;
  /** Of those, the ones a rerun tries again (missing files, I/O errors, model failures). */
  transient: number;
  byReason: Partial<Record<ImageFailureReason, number>>;
  /** Up to 3 examples per reason (`file: message`). */
  examples: Partial<Record<ImageFailureReason, string[]>>;
}

/** Counts a run's skipped images by reason, with a few examples each, for the end-of-run report (streamed). */
export async function summariseSkipped(dir: string | readonly string[], options: { allowIncomplete?: boolean } = {}): Promise<SkippedSummary> {
  const out: SkippedSummary = { total: 0, transient: 0, byReason: {}, examples: {} };
  for await (const s of skippedLines(dir, options)) {
    const reason = s.skipped.reason;
    out.total++;
    if (s.skipped.transient) out.transient++;
    out.byReason[reason] = (out.byReason[reason] ?? 0) + 1;
    const ex = (out.examples[reason] ??= []);
    if (ex.length < 3) ex.push(`${s.fileName}: ${s.skipped.message}`);
  }
  return out;
}

/** The images a run reported and skipped, in image order. */
export async function readSkipped(dir: string | readonly string[], options: { allowIncomplete?: boolean } = {}): Promise<SkippedImage[]> {
  const out: SkippedImage[] = [];
  for await (const line of skippedLines(dir, options)) out.push(line);
  return out;
}

async function* skippedLines(dir: string | readonly string[], options: { allowIncomplete?: boolean }): AsyncGenerator<SkippedImage> {
  for await (const line of readShardLines(dir, options)) if (isSkipped(line)) yield line;
}

// The map/merge contract of labeling at scale (DESIGN.md "Scale"): a frozen image list with a
// content hash, the rule that gives each shard its images, the DONE record a finished shard
// writes, and the merge of every shard's raw predictions by image id.
//
// Rule: the frozen list is sorted by image id; the image at position p belongs to run chunk
// c = floor(p / chunkSize) and chunk c to shard c mod N (the runner's `partition`). Directory
// order never matters, and a shard's predictions come out in increasing image id.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { OmniRangeError } from '@omnidistill/core';
import type { RawImagePrediction } from '@omnidistill/select';
import { writeAtomically, writeFileAtomic } from '@omnidistill/coco';
import { manifestLine, readImageLines, sortImagesById, type ImageList, type PositionedEntry } from './image-list.js';
import { readPredictions, type ImageEntry } from './shards.js';

/** File name of the frozen image list in a labeling output folder. */
export const IMAGE_MANIFEST = 'images.jsonl';
/** File name of a finished shard's record. */
export const SHARD_DONE = 'DONE.json';
/** Folder (under the output folder) holding one folder per shard. */
export const SHARDS_DIR = 'shards';

/** The image list, sorted by id, with the SHA-256 of its manifest text. */
export interface FrozenImageList {
  images: ImageEntry[];
  /** SHA-256 (hex) of the `images.jsonl` bytes. */
  hash: string;
}

/** A shard folder or merge input that does not fit the contract (the CLI exits 2). */
export class ShardPlanError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShardPlanError';
  }
}


/**
 * Freezes an image list: sorted by image id (so the file order of the COCO input does not
 * matter), one `{"id","file_name"}` line per image. Throws on a repeated id. The manifest
 * text is hashed line by line and never held whole.
 */
export function freezeImageList(images: Iterable<ImageEntry>): FrozenImageList {
  const sorted = [...images].map((im) => ({ imageId: im.imageId, fileName: im.fileName })).sort((a, b) => a.imageId - b.imageId);
  const hash = createHash('sha256');
  for (let i = 0; i < sorted.length; i++) {
    if (i > 0 && sorted[i].imageId === sorted[i - 1].imageId) throw new OmniRangeError('images', 'unique image ids', `id ${sorted[i].imageId} twice`);
    hash.update(manifestLine(sorted[i]));
  }
  return { images: sorted, hash: hash.digest('hex') };
}

/**
 * Writes `dir/images.jsonl` if absent, else checks it is the same list. Shards started at
 * once may all write it: they write identical bytes atomically, so any of them wins.
 * Returns whether the file was written or found matching.
 */
export async function freezeImageManifest(dir: string, frozen: FrozenImageList): Promise<'written' | 'matched'> {
  const path = join(dir, IMAGE_MANIFEST);
  const existing = await hashFileOrNull(path);
  if (existing === null) {
    await mkdir(dir, { recursive: true });
    await writeAtomically(path, async (push) => {
      for (const im of frozen.images) await push(manifestLine(im));
    });
    return 'written';
  }
  if (existing.hash !== frozen.hash) {
    throw new ShardPlanError(
      `${path}: the frozen image list differs from this run's images (${existing.lines} frozen vs ${frozen.images.length} given); label the same unlabeled file or use a new --out`,
    );
  }
  return 'matched';
}

/** The frozen list on disk: its images are read back from `path` on each pass. */
export interface FrozenImageFile extends ImageList {
  path: string;
  /** SHA-256 (hex) of the `images.jsonl` bytes. */
  hash: string;
}

/**
 * {@link freezeImageList} + {@link freezeImageManifest} for a stream of any length: the
 * images are sorted by id with an external merge sort (scratch runs under `dir`), written
 * to `dir/images.jsonl` atomically while hashed (or hashed and compared with the existing
 * file), never held whole. Throws on a repeated id, naming both positions in the input
 * (`images[5].id: expected an id not already used by images[2]`); nothing is written then.
 */
export async function freezeImageStream(dir: string, images: AsyncIterable<ImageEntry> | Iterable<ImageEntry>): Promise<{ state: 'written' | 'matched'; frozen: FrozenImageFile }> {
  const path = join(dir, IMAGE_MANIFEST);
  await mkdir(dir, { recursive: true });
  const existing = await hashFileOrNull(path);
  const hash = createHash('sha256');
  let count = 0;
  let last: PositionedEntry | null = null;
  const lines = async (push?: (line: string) => Promise<void>) => {
    for await (const im of sortImagesById(images, dir)) {
      // Named like COCO validation names a repeated id (positions in the input order).
      if (im.imageId === last?.imageId) throw new OmniRangeError(`images[${im.position}].id`, `an id not already used by images[${last.position}]`, im.imageId);
      last = im;
      const line = manifestLine(im);
      hash.update(line);
      count++;
      if (push) await push(line);
    }
  };
  if (existing === null) await writeAtomically(path, (push) => lines(push));
  else await lines();
  const digest = hash.digest('hex');
  if (existing !== null && existing.hash !== digest) {
    throw new ShardPlanError(`${path}: the frozen image list differs from this run's images (${existing.lines} frozen vs ${count} given); label the same unlabeled file or use a new --out`);
  }
  return { state: existing === null ? 'written' : 'matched', frozen: { path, hash: digest, count, entries: () => readImageLines(path) } };
}

/** Folder of shard `index` of `count` under an output folder. */
export function shardDir(outDir: string, index: number, count: number): string {
  return join(outDir, SHARDS_DIR, `shard-${index}-of-${count}`);
}

/** What a finished shard records; merge checks that every shard agrees. */
export interface ShardDone {
  format: 'omnidistill-shard-done';
  version: 1;
  shard: { index: number; count: number };
  /** SHA-256 of the frozen `images.jsonl`. */
  manifestHash: string;
  /** Identity of the teacher (hash of its bytes). */
  teacherFingerprint: string;
  /** Identity of everything that shapes predictions (task, teacher, plan, RoIs): equal across shards. */
  runFingerprint: string;
  /** The transform plan, as given to the predictor. */
  plan: unknown;
  /** Images per chunk file, which with the shard count fixes which images are this shard's. */
  chunkSize: number;
  /** What merge needs for selection, equal across shards. */
  selection: { task: 'keypoints' | 'detection'; labeled: string; labeledHash: string; numKeypoints?: number };
  counts: { images: number; predicted: number; skipped: number; candidates: number };
}

/** Writes `DONE.json` into a shard folder (atomically: it appears whole or not at all). */
export async function writeShardDone(dir: string, done: ShardDone): Promise<void> {
  await writeFileAtomic(join(dir, SHARD_DONE), `${JSON.stringify(done, null, 1)}\n`);
}

/** Reads a shard's `DONE.json`, or null when the shard has not finished. */
export async function readShardDone(dir: string): Promise<ShardDone | null> {
  const text = await readTextOrNull(join(dir, SHARD_DONE));
  if (text === null) return null;
  const done = JSON.parse(text) as ShardDone;
  if (done.format !== 'omnidistill-shard-done' || done.version !== 1) throw new ShardPlanError(`${join(dir, SHARD_DONE)}: not an omnidistill shard record`);
  return done;
}

/** Counts the predictions of a finished shard folder (streaming): images, skipped, candidates. */
export async function countShard(dir: string): Promise<{ predicted: number; candidates: number }> {
  let predicted = 0;
  let candidates = 0;
  for await (const p of readPredictions(dir, { allowIncomplete: true })) {
    predicted++;
    candidates += p.instances.length;
  }
  return { predicted, candidates };
}

/** The shards of an output folder, all DONE and agreeing, in index order. */
export interface CheckedShards {
  dirs: string[];
  records: ShardDone[];
}

/**
 * Checks that `outDir/shards/` holds shards 0…N-1 of one N, each DONE, all with the frozen
 * list's hash and the same fingerprints and selection inputs. The error names the first
 * missing, unfinished or inconsistent shard and what to do.
 */
export async function checkShards(outDir: string): Promise<CheckedShards> {
  const root = join(outDir, SHARDS_DIR);
  const manifest = await hashFileOrNull(join(outDir, IMAGE_MANIFEST));
  if (manifest === null) throw new ShardPlanError(`${join(outDir, IMAGE_MANIFEST)}: missing; run \`omnidistill label plan\` or the shards with --out ${outDir} first`);
  const manifestHash = manifest.hash;
  let names: string[];
  try {
    names = (await readdir(root)).filter((n) => /^shard-\d+-of-\d+$/.test(n));
  } catch {
    names = [];
  }
  if (names.length === 0) throw new ShardPlanError(`${root}: no shard folders; run \`omnidistill label … --out ${outDir}\` with a shard index and count first`);
  const counts = new Set(names.map((n) => Number(n.split('-of-')[1])));
  if (counts.size > 1) throw new ShardPlanError(`${root}: shards of different counts (${[...counts].sort((a, b) => a - b).join(', ')}); keep the folders of one count only`);
  const count = [...counts][0];
  const dirs: string[] = [];
  const records: ShardDone[] = [];
  for (let i = 0; i < count; i++) {
    const dir = shardDir(outDir, i, count);
    if (!names.includes(`shard-${i}-of-${count}`)) throw new ShardPlanError(`shard ${i} of ${count}: missing (${dir}); run it (e.g. --shard-index ${i} --shard-count ${count}) before merging`);
    const done = await readShardDone(dir);
    if (!done) throw new ShardPlanError(`shard ${i} of ${count}: not finished (${join(dir, SHARD_DONE)} missing); rerun it, it resumes where it stopped`);
    const mismatch = shardMismatch(done, records[0], manifestHash, i, count);
    if (mismatch) throw new ShardPlanError(`shard ${i} of ${count}: ${mismatch} (${join(dir, SHARD_DONE)}); rerun that shard with the same inputs as the others`);
    dirs.push(dir);
    records.push(done);
  }
  return { dirs, records };
}

function shardMismatch(done: ShardDone, first: ShardDone | undefined, manifestHash: string, index: number, count: number): string | null {
  if (done.shard.index !== index || done.shard.count !== count) return `records shard ${done.shard.index} of ${done.shard.count}`;
  if (done.manifestHash !== manifestHash) return 'image manifest hash differs from the frozen images.jsonl';
  if (!first) return null;
  if (done.teacherFingerprint !== first.teacherFingerprint) return `teacher fingerprint ${done.teacherFingerprint} ≠ ${first.teacherFingerprint} of shard 0`;
  if (done.chunkSize !== first.chunkSize) return `chunk size ${done.chunkSize} ≠ ${first.chunkSize} of shard 0`;
  if (done.runFingerprint !== first.runFingerprint) return 'run fingerprint (task, plan or RoI source) differs from shard 0';
  if (JSON.stringify(done.selection) !== JSON.stringify(first.selection)) return 'selection inputs (task, labeled set) differ from shard 0';
  return null;
}

interface Head {
  value: RawImagePrediction;
  source: number;
}

/**
 * The raw predictions of every shard folder as one stream in increasing image id (a k-way
 * merge by id, never by position), holding one record per shard in memory. Throws when an
 * id repeats, within a shard or across two.
 */
export async function* mergeByImageId(dirs: readonly string[]): AsyncGenerator<RawImagePrediction> {
  const streams = dirs.map((d) => readPredictions(d, { allowIncomplete: true })[Symbol.asyncIterator]());
  const heap: Head[] = [];
  const pull = async (source: number): Promise<void> => {
    const r = await streams[source].next();
    if (!r.done) heapPush(heap, { value: r.value, source });
  };
  for (let s = 0; s < streams.length; s++) await pull(s);
  let last: Head | null = null;
  while (heap.length > 0) {
    const head = heapPop(heap);
    if (last !== null && head.value.imageId <= last.value.imageId) {
      throw new ShardPlanError(`image id ${head.value.imageId} of ${dirs[head.source]} ${head.value.imageId === last.value.imageId ? `repeats in ${dirs[last.source]}` : 'is out of order'}; the shards were not made from one frozen list`);
    }
    yield head.value;
    last = head;
    await pull(head.source);
  }
}

// A binary min-heap on image id: the merge costs O(log shards) per image.
function heapPush(heap: Head[], item: Head): void {
  heap.push(item);
  let i = heap.length - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (heap[parent].value.imageId <= item.value.imageId) break;
    heap[i] = heap[parent];
    i = parent;
  }
  heap[i] = item;
}

function heapPop(heap: Head[]): Head {
  const top = heap[0];
  const last = heap.pop()!;
  if (heap.length > 0) {
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= heap.length) break;
      const r = l + 1;
      const c = r < heap.length && heap[r].value.imageId < heap[l].value.imageId ? r : l;
      if (heap[c].value.imageId >= last.value.imageId) break;
      heap[i] = heap[c];
      i = c;
    }
    heap[i] = last;
  }
  return top;
}

/** SHA-256 (hex) of a text or bytes. */
export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** SHA-256 and line count of a file, streamed; null when it does not exist. */
async function hashFileOrNull(path: string): Promise<{ hash: string; lines: number } | null> {
  const hash = createHash('sha256');
  let lines = 0;
  try {
    for await (const chunk of createReadStream(path)) {
      hash.update(chunk as Buffer);
      for (const b of chunk as Buffer) if (b === 0x0a) lines++;
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  return { hash: hash.digest('hex'), lines };
}

async function readTextOrNull(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

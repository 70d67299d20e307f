// The streaming labeling runner: many images in, raw prediction shards out, with bounded
// memory (at most `concurrency` decoded images and `concurrency + 1` unfinished shards), a
// progress callback, and crash-safe resume (see shards.ts).
import { availableParallelism } from 'node:os';
import { readdir } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { writeFileAtomic } from '@omnidistill/coco';
import { OmniRangeError, OmniTypeError, expectInteger } from '@omnidistill/core';
import { validateRawImagePrediction, type RawImagePrediction, type RawInstance } from '@omnidistill/select';
import { decodeImage, type DecodedImage, type ImageFailure } from './image.js';
import {
  formatShard,
  hashImageList,
  readRunManifest,
  removeStaleTemps,
  shardFileName,
  writeRunManifest,
  type ImageEntry,
  type RunManifest,
  type RunPartition,
  type ShardLine,
} from './shards.js';

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
  | { type: 'shard-written'; shard: number; file: string };

/** Options of {@link runInference}. */
export interface RunOptions {
  /** Images in run order; ids unique. The same list must be given to resume. */
  images: readonly ImageEntry[];
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
  /** Images per shard (default 64). */
  shardSize?: number;
  /** Images in flight at once (default {@link defaultConcurrency}). */
  concurrency?: number;
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

/**
 * Images in flight by default: 2 (one decoding while one is in the model, whose intra-op
 * threads already use every core), up to 4 on machines with more than 16 cores, where
 * single small-model calls stop scaling.
 */
export function defaultConcurrency(cores = availableParallelism()): number {
  return Math.max(2, Math.min(4, Math.floor(cores / 8)));
}

function validateImages(images: readonly ImageEntry[]): void {
  if (!Array.isArray(images)) throw new OmniTypeError('options.images', 'an array of { imageId, fileName }', images);
  const ids = new Set<number>();
  images.forEach((im, i) => {
    expectInteger(im?.imageId, `options.images[${i}].imageId`, 0);
    if (typeof im.fileName !== 'string' || im.fileName === '') throw new OmniTypeError(`options.images[${i}].fileName`, 'a non-empty string', im.fileName);
    if (ids.has(im.imageId)) throw new OmniRangeError(`options.images[${i}].imageId`, 'an id not used by an earlier image', im.imageId);
    ids.add(im.imageId);
  });
}

/** Loads `run.json` and checks it belongs to this run, or starts a fresh one. */
async function openRun(options: RunOptions, shardSize: number, partition: RunPartition): Promise<RunManifest> {
  const imagesHash = hashImageList(options.images);
  const shardCount = Math.ceil(options.images.length / shardSize);
  const existing = await readRunManifest(options.outDir);
  if (existing) {
    const mismatch =
      existing.fingerprint !== options.fingerprint ? `fingerprint ${JSON.stringify(existing.fingerprint)} ≠ ${JSON.stringify(options.fingerprint)}`
      : existing.imagesHash !== imagesHash ? 'the image list differs'
      : existing.shardSize !== shardSize ? `shardSize ${existing.shardSize} ≠ ${shardSize}`
      : existing.partition.index !== partition.index || existing.partition.count !== partition.count
        ? `partition ${existing.partition.index}/${existing.partition.count} ≠ ${partition.index}/${partition.count}`
      : null;
    if (mismatch) {
      throw new Error(`${join(options.outDir, 'run.json')}: this directory holds another run (${mismatch}); use a new output directory or the original arguments`);
    }
    return existing;
  }
  const fresh: RunManifest = { format: 'omnidistill-predictions', version: 1, fingerprint: options.fingerprint, imagesHash, total: options.images.length, shardSize, shardCount, partition, completed: [] };
  await writeRunManifest(options.outDir, fresh);
  return fresh;
}

/**
 * Predicts every image and appends the raw predictions to atomically written shards.
 * Killed at any point (even SIGKILL) and started again with the same options, it redoes
 * only unfinished shards and ends with the same files as an uninterrupted run: no image
 * lost or duplicated. Unreadable or corrupt images are reported (`image-skipped`), recorded
 * in their shard, and never retried.
 *
 * @example
 * await runInference({ images, imageRoot: 'data/unlabeled', outDir: 'run/predictions',
 *   fingerprint: 'teacher-v1/paper-plan', predict: (img) => predictor(img),
 *   onProgress: (p) => bar.update(p.done / p.total) });
 */
export async function runInference(options: RunOptions): Promise<RunSummary> {
  validateImages(options.images);
  const shardSize = options.shardSize ?? 64;
  expectInteger(shardSize, 'options.shardSize', 1);
  const concurrency = options.concurrency ?? defaultConcurrency();
  expectInteger(concurrency, 'options.concurrency', 1);
  if (typeof options.predict !== 'function') throw new OmniTypeError('options.predict', 'a function', options.predict);
  const partition = options.partition ?? { index: 0, count: 1 };
  expectInteger(partition.count, 'options.partition.count', 1);
  expectInteger(partition.index, 'options.partition.index', 0);
  if (partition.index >= partition.count) throw new OmniRangeError('options.partition.index', `an integer < count = ${partition.count}`, partition.index);
  const mine = (s: number) => s % partition.count === partition.index;

  await removeStaleTemps(options.outDir);
  const manifest = await openRun(options, shardSize, partition);
  const completed = new Set(manifest.completed);
  const resumedShards = completed.size;
  if (resumedShards > 0) options.onEvent?.({ type: 'resumed', completedShards: resumedShards, shardCount: manifest.shardCount });

  const shardLength = (s: number): number => Math.min(shardSize, options.images.length - s * shardSize);
  const myShards = [...Array(manifest.shardCount).keys()].filter(mine);
  const pendingShards = myShards.filter((s) => !completed.has(s));
  const total = myShards.reduce((sum, s) => sum + shardLength(s), 0);
  const queue = pendingShards.flatMap((s) => [...Array(shardLength(s)).keys()].map((j) => s * shardSize + j));
  const buffers = new Map<number, { lines: (ShardLine | undefined)[]; filled: number }>();

  const start = Date.now();
  let done = total - queue.length;
  let doneHere = 0;
  let skipped = 0;
  const report = () => {
    const elapsedMs = Date.now() - start;
    const etaMs = doneHere === 0 ? null : (elapsedMs / doneHere) * (total - done);
    options.onProgress?.({ done, total, skipped, elapsedMs, etaMs });
  };
  report();

  // Manifest updates are serialised: each shard write appends its index after its file is in place.
  let manifestChain: Promise<void> = Promise.resolve();
  const finishShard = (s: number, lines: ShardLine[]) => {
    manifestChain = manifestChain.then(async () => {
      const file = join(options.outDir, shardFileName(s));
      await writeFileAtomic(file, formatShard(lines));
      completed.add(s);
      manifest.completed = [...completed].sort((a, b) => a - b);
      await writeRunManifest(options.outDir, manifest);
      options.onEvent?.({ type: 'shard-written', shard: s, file });
    });
    return manifestChain;
  };

  let next = 0;
  let failed = false; // a model error stops every worker, not only the one that hit it
  const root = resolve(options.imageRoot);
  const worker = async () => {
    while (next < queue.length && !options.signal?.aborted && !failed) {
      const index = queue[next++];
      const entry = options.images[index];
      let line: ShardLine;
      try {
        line = await processImage(root, entry, options.predict);
      } catch (error) {
        failed = true;
        throw new Error(`image ${entry.imageId} (${entry.fileName}): ${(error as Error).message}`, { cause: error });
      }
      if ('skipped' in line) {
        skipped++;
        options.onEvent?.({ type: 'image-skipped', imageId: entry.imageId, fileName: entry.fileName, failure: line.skipped });
      }
      const s = Math.floor(index / shardSize);
      let buffer = buffers.get(s);
      if (!buffer) buffers.set(s, (buffer = { lines: new Array(shardLength(s)), filled: 0 }));
      buffer.lines[index - s * shardSize] = line;
      buffer.filled++;
      done++;
      doneHere++;
      if (buffer.filled === buffer.lines.length) {
        buffers.delete(s);
        await finishShard(s, buffer.lines as ShardLine[]);
      }
      report();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(queue.length, 1)) }, worker));
  await manifestChain;
  return {
    complete: myShards.every((s) => completed.has(s)),
    total,
    predicted: doneHere - skipped,
    skipped,
    shardCount: manifest.shardCount,
    resumedShards,
  };
}

async function processImage(root: string, entry: ImageEntry, predict: RunOptions['predict']): Promise<ShardLine> {
  const decoded = await decodeImage(join(root, entry.fileName));
  if (!decoded.ok) return { imageId: entry.imageId, fileName: entry.fileName, skipped: decoded.failure };
  const instances = await predict(decoded.image, entry);
  const record: RawImagePrediction = {
    imageId: entry.imageId,
    fileName: entry.fileName,
    width: decoded.image.width,
    height: decoded.image.height,
    instances,
  };
  // A NaN or a malformed instance is a model/predictor bug: fail here, naming the field,
  // rather than write a shard that selection would reject later.
  return validateRawImagePrediction(record, 'prediction');
}

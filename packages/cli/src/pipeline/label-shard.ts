// The map side's last step and the merge step of sharded labeling (DESIGN.md "Scale"): a
// finished shard writes its DONE record; merge checks every shard and runs the selection
// over all of them, streamed by image id.
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { SHARD_DONE, checkShards, countShard, mergeByImageId, sha256, writeShardDone } from '@omnidistill/infer';
import type { RunSummary, ShardDone } from '@omnidistill/infer';
import { writeSelection, type SelectionInputs, type SelectionOutput } from './label-select.js';

/** What {@link finishShard} records besides the counts it reads back and the labeled set's hash. */
export type ShardRecordInputs = Omit<ShardDone, 'format' | 'version' | 'counts' | 'selection'> & { selection: SelectionInputs; run: RunSummary };

/** Writes the shard's DONE record (counts read back from its predictions) and returns its path. */
export async function finishShard(dir: string, r: ShardRecordInputs): Promise<string> {
  const labeled = resolve(r.selection.labeled);
  const counts = await countShard(dir);
  const done: ShardDone = {
    format: 'omnidistill-shard-done',
    version: 1,
    shard: r.shard,
    manifestHash: r.manifestHash,
    teacherFingerprint: r.teacherFingerprint,
    runFingerprint: r.runFingerprint,
    plan: r.plan,
    chunkSize: r.chunkSize,
    selection: { ...r.selection, labeled, labeledHash: sha256(await readFile(labeled)) },
    counts: { images: r.run.total, predicted: counts.predicted, skipped: r.run.total - counts.predicted, candidates: counts.candidates },
  };
  await writeShardDone(dir, done);
  return join(dir, SHARD_DONE);
}

/** Options of {@link mergeShards}. */
export interface MergeOptions {
  outDir: string;
  /** Another path to the labeled set the shards recorded (e.g. another mount point); its content must match. */
  labeled?: string;
}

export interface MergeResult extends SelectionOutput {
  shards: number;
  images: number;
  candidates: number;
}

/**
 * Checks that every shard under `outDir/shards/` is DONE and consistent, then writes
 * `outDir/generated.json` and `outDir/calibration.json` from all shards' predictions,
 * merged by image id: the same bytes as a single-process run of the same inputs.
 */
export async function mergeShards(options: MergeOptions): Promise<MergeResult> {
  const { dirs, records } = await checkShards(options.outDir);
  const recorded = records[0].selection;
  const labeled = options.labeled ?? recorded.labeled;
  let labeledBytes: Buffer;
  try {
    labeledBytes = await readFile(labeled);
  } catch (error) {
    throw new MergeInputError(`labeled set ${labeled}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); pass --labeled FILE`);
  }
  if (sha256(labeledBytes) !== recorded.labeledHash) {
    throw new MergeInputError(`labeled set ${labeled}: its content differs from the one the shards recorded (${recorded.labeled}); pass the same file with --labeled`);
  }
  const selection: SelectionInputs = { task: recorded.task, labeled, ...(recorded.numKeypoints !== undefined ? { numKeypoints: recorded.numKeypoints } : {}) };
  const written = await writeSelection(() => mergeByImageId(dirs), selection, options.outDir);
  return {
    ...written,
    shards: dirs.length,
    images: records.reduce((s, r) => s + r.counts.images, 0),
    candidates: records.reduce((s, r) => s + r.counts.candidates, 0),
  };
}

/** Bad merge input (the CLI exits 2). */
export class MergeInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MergeInputError';
  }
}

// Which shard of a labeling map this process is: from flags, OMNIDISTILL_SHARD_INDEX/COUNT, or
// the variables of the batch engine running it (the table below; one module per engine).
// Flags win over OMNIDISTILL_* variables, which win over the engine's own.
import { awsBatch } from './engines/aws-batch.js';
import { cloudRun } from './engines/cloud-run.js';
import { kubernetes } from './engines/kubernetes.js';
import { slurm } from './engines/slurm.js';
import { ShardEnvError, intVar, type Env, type ShardEngine } from './engines/types.js';

export { ShardEnvError } from './engines/types.js';
export type { Env, ShardEngine, EngineShard } from './engines/types.js';

/** The engines whose array/indexed-job variables are read, in the order they are tried. */
export const SHARD_ENGINES: readonly ShardEngine[] = Object.freeze([kubernetes, slurm, awsBatch, cloudRun]);

/** This process's shard: `index` in 0…count-1, and a line saying where each came from. */
export interface ShardChoice {
  index: number;
  count: number;
  /** e.g. `shard 2 of 4 (index: Slurm job array SLURM_ARRAY_TASK_ID=2 …; count: --shard-count)` */
  description: string;
}

/** Values of --shard-index / --shard-count when given. */
export interface ShardFlags {
  index?: number;
  count?: number;
}

interface Found {
  value: number;
  from: string;
}

/**
 * Resolves the shard, or null when nothing asks for sharding (a single-process run).
 * Throws {@link ShardEnvError} for an index without a count, an index ≥ count, or a
 * malformed variable, naming where the value came from.
 *
 * @example
 * resolveShard({}, { SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_COUNT: '4' })
 * // { index: 2, count: 4, description: 'shard 2 of 4 (index and count: Slurm job array …)' }
 */
export function resolveShard(flags: ShardFlags, env: Env, engines: readonly ShardEngine[] = SHARD_ENGINES): ShardChoice | null {
  const index = flagOrVar(flags.index, '--shard-index', env, 'OMNIDISTILL_SHARD_INDEX');
  const count = flagOrVar(flags.count, '--shard-count', env, 'OMNIDISTILL_SHARD_COUNT');
  let engineIndex: Found | null = null;
  let engineCount: Found | null = null;
  if (index === null || count === null) {
    for (const engine of engines) {
      const found = engine.detect(env);
      if (!found) continue;
      const from = `${engine.name} (${found.evidence.join(', ')})`;
      engineIndex = { value: found.index, from };
      if (found.count !== null) engineCount = { value: found.count, from };
      break;
    }
  }
  const i = index ?? engineIndex;
  const n = count ?? engineCount;
  if (i === null && n === null) return null;
  if (i === null) {
    throw new ShardEnvError(`shard count ${n!.value} from ${n!.from} but no shard index: pass --shard-index I, set OMNIDISTILL_SHARD_INDEX, or run as an array task (${engines.map((e) => e.indexVariable).join(', ')})`);
  }
  if (n === null) {
    throw new ShardEnvError(`shard index ${i.value} from ${i.from} but no shard count: pass --shard-count N or set OMNIDISTILL_SHARD_COUNT`);
  }
  if (n.value < 1) throw new ShardEnvError(`shard count from ${n.from}: expected a positive integer, received ${n.value}`);
  if (i.value >= n.value) throw new ShardEnvError(`shard index ${i.value} from ${i.from} is not below the shard count ${n.value} from ${n.from}`);
  const description = i.from === n.from ? `index and count from ${i.from}` : `index from ${i.from}; count from ${n.from}`;
  return { index: i.value, count: n.value, description: `shard ${i.value} of ${n.value} (${description})` };
}

function flagOrVar(flag: number | undefined, flagName: string, env: Env, variable: string): Found | null {
  if (flag !== undefined) return { value: flag, from: flagName };
  const v = intVar(env, variable);
  return v === null ? null : { value: v, from: `${variable}=${v}` };
}

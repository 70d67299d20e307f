// Shard selection: one table over every engine's variable set, the precedence of flags over
// OMNIDISTILL_SHARD_* over the engine's variables, and the errors for incomplete settings.
import { describe, expect, it } from 'vitest';
import { SHARD_ENGINES, ShardEnvError, resolveShard, type Env } from '../src/shard/resolve.js';

interface Case {
  name: string;
  env: Env;
  flags?: { index?: number; count?: number };
  expected: { index: number; count: number; from: string } | null;
}

const CASES: Case[] = [
  { name: 'nothing set: a single-process run', env: { HOME: '/root' }, expected: null },
  { name: 'flags only', env: {}, flags: { index: 3, count: 8 }, expected: { index: 3, count: 8, from: 'index from --shard-index; count from --shard-count' } },
  { name: 'OMNIDISTILL_SHARD_*', env: { OMNIDISTILL_SHARD_INDEX: '1', OMNIDISTILL_SHARD_COUNT: '2' }, expected: { index: 1, count: 2, from: 'OMNIDISTILL_SHARD_INDEX=1' } },
  {
    name: 'Kubernetes Indexed Job, count from OMNIDISTILL_SHARD_COUNT',
    env: { JOB_COMPLETION_INDEX: '5', OMNIDISTILL_SHARD_COUNT: '6' },
    expected: { index: 5, count: 6, from: 'index from Kubernetes Indexed Job (JOB_COMPLETION_INDEX=5); count from OMNIDISTILL_SHARD_COUNT=6' },
  },
  { name: 'Kubernetes, count from the flag', env: { JOB_COMPLETION_INDEX: '0' }, flags: { count: 4 }, expected: { index: 0, count: 4, from: 'count from --shard-count' } },
  {
    name: 'Slurm array 0-3 with SLURM_ARRAY_TASK_COUNT',
    env: { SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_COUNT: '4', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_MAX: '3' },
    expected: { index: 2, count: 4, from: 'index and count from Slurm job array (SLURM_ARRAY_TASK_ID=2' },
  },
  { name: 'Slurm array 1-8 (MIN/MAX only)', env: { SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_MAX: '8' }, expected: { index: 0, count: 8, from: 'Slurm job array' } },
  {
    name: 'Slurm array 0-14:2 (stepped)',
    env: { SLURM_ARRAY_TASK_ID: '6', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_MAX: '14', SLURM_ARRAY_TASK_STEP: '2' },
    expected: { index: 3, count: 8, from: 'Slurm job array' },
  },
  { name: 'AWS Batch with AWS_BATCH_JOB_ARRAY_SIZE', env: { AWS_BATCH_JOB_ARRAY_INDEX: '7', AWS_BATCH_JOB_ARRAY_SIZE: '10' }, expected: { index: 7, count: 10, from: 'AWS Batch array job' } },
  { name: 'AWS Batch, count from the flag', env: { AWS_BATCH_JOB_ARRAY_INDEX: '7' }, flags: { count: 9 }, expected: { index: 7, count: 9, from: 'count from --shard-count' } },
  { name: 'Cloud Run job', env: { CLOUD_RUN_TASK_INDEX: '0', CLOUD_RUN_TASK_COUNT: '3' }, expected: { index: 0, count: 3, from: 'Cloud Run job (CLOUD_RUN_TASK_INDEX=0, CLOUD_RUN_TASK_COUNT=3)' } },
  {
    name: 'flags win over OMNIDISTILL_* and the engine',
    env: { OMNIDISTILL_SHARD_INDEX: '1', OMNIDISTILL_SHARD_COUNT: '2', SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_COUNT: '4' },
    flags: { index: 0 },
    expected: { index: 0, count: 2, from: 'index from --shard-index; count from OMNIDISTILL_SHARD_COUNT=2' },
  },
  {
    name: 'OMNIDISTILL_* win over the engine',
    env: { OMNIDISTILL_SHARD_INDEX: '1', SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_COUNT: '4' },
    expected: { index: 1, count: 4, from: 'index from OMNIDISTILL_SHARD_INDEX=1; count from Slurm job array' },
  },
];

describe('resolveShard', () => {
  it.each(CASES)('$name', ({ env, flags, expected }) => {
    const r = resolveShard(flags ?? {}, env);
    if (expected === null) {
      expect(r).toBeNull();
      return;
    }
    expect(r).not.toBeNull();
    expect({ index: r!.index, count: r!.count }).toEqual({ index: expected.index, count: expected.count });
    expect(r!.description).toContain(`shard ${expected.index} of ${expected.count} (`);
    expect(r!.description).toContain(expected.from);
  });

  it('every engine in the table is detected from its index variable alone (count from the flag)', () => {
    expect(SHARD_ENGINES.map((e) => e.indexVariable)).toEqual(['JOB_COMPLETION_INDEX', 'SLURM_ARRAY_TASK_ID', 'AWS_BATCH_JOB_ARRAY_INDEX', 'CLOUD_RUN_TASK_INDEX']);
    for (const engine of SHARD_ENGINES) {
      const r = resolveShard({ count: 5 }, { [engine.indexVariable]: '4' });
      expect(r?.index).toBe(4);
      expect(r?.description).toContain(engine.name);
    }
  });

  it.each([
    [{ JOB_COMPLETION_INDEX: '2' }, {}, 'shard index 2 from Kubernetes Indexed Job (JOB_COMPLETION_INDEX=2) but no shard count: pass --shard-count N or set OMNIDISTILL_SHARD_COUNT'],
    [{ OMNIDISTILL_SHARD_COUNT: '4' }, {}, 'shard count 4 from OMNIDISTILL_SHARD_COUNT=4 but no shard index'],
    [{ SLURM_ARRAY_TASK_ID: '4', SLURM_ARRAY_TASK_COUNT: '4' }, {}, 'shard index 4 from Slurm job array (SLURM_ARRAY_TASK_ID=4, SLURM_ARRAY_TASK_COUNT=4) is not below the shard count 4'],
    [{ CLOUD_RUN_TASK_INDEX: 'x' }, {}, 'CLOUD_RUN_TASK_INDEX: expected a non-negative integer, received "x"'],
    [{ SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_STEP: '2' }, { count: 4 }, 'SLURM_ARRAY_TASK_ID=3 is not on the array\'s grid'],
    [{}, { index: 0, count: 0 }, 'shard count from --shard-count: expected a positive integer, received 0'],
  ] as [Env, { index?: number; count?: number }, string][])('refuses %j %j', (env, flags, message) => {
    expect(() => resolveShard(flags, env)).toThrow(ShardEnvError);
    expect(() => resolveShard(flags, env)).toThrow(message);
  });
});

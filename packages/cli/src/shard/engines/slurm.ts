// Slurm job arrays (`sbatch --array=A-B[:S]`): the task id, mapped to 0…count-1 through the
// array's minimum and step, so `--array=1-8` works as well as `--array=0-7`.
import { ShardEnvError, evidenceOf, intVar, type ShardEngine } from './types.js';

const VARS = ['SLURM_ARRAY_TASK_ID', 'SLURM_ARRAY_TASK_COUNT', 'SLURM_ARRAY_TASK_MIN', 'SLURM_ARRAY_TASK_MAX', 'SLURM_ARRAY_TASK_STEP'];

export const slurm: ShardEngine = {
  name: 'Slurm job array',
  indexVariable: 'SLURM_ARRAY_TASK_ID',
  detect(env) {
    const id = intVar(env, 'SLURM_ARRAY_TASK_ID');
    if (id === null) return null;
    const min = intVar(env, 'SLURM_ARRAY_TASK_MIN') ?? 0;
    const max = intVar(env, 'SLURM_ARRAY_TASK_MAX');
    const step = intVar(env, 'SLURM_ARRAY_TASK_STEP') ?? 1;
    if (step < 1) throw new ShardEnvError(`SLURM_ARRAY_TASK_STEP: expected a positive integer, received ${step}`);
    if (id < min || (id - min) % step !== 0) {
      throw new ShardEnvError(`SLURM_ARRAY_TASK_ID=${id} is not on the array's grid (min ${min}, step ${step}); submit a regular range such as --array=0-7`);
    }
    const count = intVar(env, 'SLURM_ARRAY_TASK_COUNT') ?? (max === null ? null : Math.floor((max - min) / step) + 1);
    return { index: (id - min) / step, count, evidence: evidenceOf(env, VARS) };
  },
};

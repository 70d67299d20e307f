// Google Cloud Run jobs: every task gets its index and the task count.
import { evidenceOf, intVar, type ShardEngine } from './types.js';

export const cloudRun: ShardEngine = {
  name: 'Cloud Run job',
  indexVariable: 'CLOUD_RUN_TASK_INDEX',
  detect(env) {
    const index = intVar(env, 'CLOUD_RUN_TASK_INDEX');
    if (index === null) return null;
    return { index, count: intVar(env, 'CLOUD_RUN_TASK_COUNT'), evidence: evidenceOf(env, ['CLOUD_RUN_TASK_INDEX', 'CLOUD_RUN_TASK_COUNT']) };
  },
};

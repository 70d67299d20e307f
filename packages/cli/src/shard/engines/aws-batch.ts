// AWS Batch array jobs: AWS_BATCH_JOB_ARRAY_INDEX per child job. Batch does not publish the
// array size to the child; AWS_BATCH_JOB_ARRAY_SIZE is read when the job definition sets it.
import { evidenceOf, intVar, type ShardEngine } from './types.js';

export const awsBatch: ShardEngine = {
  name: 'AWS Batch array job',
  indexVariable: 'AWS_BATCH_JOB_ARRAY_INDEX',
  detect(env) {
    const index = intVar(env, 'AWS_BATCH_JOB_ARRAY_INDEX');
    if (index === null) return null;
    return { index, count: intVar(env, 'AWS_BATCH_JOB_ARRAY_SIZE'), evidence: evidenceOf(env, ['AWS_BATCH_JOB_ARRAY_INDEX', 'AWS_BATCH_JOB_ARRAY_SIZE']) };
  },
};

// Kubernetes Indexed Job: JOB_COMPLETION_INDEX per pod; the count (spec.completions) is not
// in the pod's environment, so the manifest passes it as OMNIDISTILL_SHARD_COUNT (deploy/k8s).
import { evidenceOf, intVar, type ShardEngine } from './types.js';

export const kubernetes: ShardEngine = {
  name: 'Kubernetes Indexed Job',
  indexVariable: 'JOB_COMPLETION_INDEX',
  detect(env) {
    const index = intVar(env, 'JOB_COMPLETION_INDEX');
    if (index === null) return null;
    return { index, count: null, evidence: evidenceOf(env, ['JOB_COMPLETION_INDEX']) };
  },
};

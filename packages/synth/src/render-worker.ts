// Worker-thread entry: runs image jobs sent by generateSplits (see image-job.ts) and answers
// each with its result or its error, tagged with the job's id.
import { parentPort } from 'node:worker_threads';
import { runImageJob, type ImageJob } from './image-job.js';

/** A request from the pool. */
export interface WorkerRequest {
  readonly id: number;
  readonly job: ImageJob;
}

const port = parentPort;
if (port !== null) {
  port.on('message', (msg: WorkerRequest) => {
    runImageJob(msg.job).then(
      (result) => port.postMessage({ id: msg.id, result }),
      (error: unknown) => port.postMessage({ id: msg.id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
    );
  });
}

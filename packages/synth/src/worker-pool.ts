// A small pool of worker threads running image jobs. Workers load the compiled package
// (dist/render-worker.js): Node cannot run the TypeScript sources in a worker, so from
// sources (tests, tsx) the pool refuses with a precise error instead of silently running
// in-process.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { OmniRangeError } from '@omnidistill/core';
import type { ImageJob, ImageJobResult } from './image-job.js';

interface Pending {
  resolve: (r: ImageJobResult) => void;
  reject: (e: Error) => void;
}

/** The compiled worker entry next to this module, or undefined when running from sources. */
export function workerEntry(): URL | undefined {
  const url = new URL('./render-worker.js', import.meta.url);
  return import.meta.url.endsWith('.js') && existsSync(fileURLToPath(url)) ? url : undefined;
}

/**
 * The parent's Node flags minus the `source` export condition: workers run the compiled
 * package, and that condition would point its workspace imports at TypeScript sources.
 */
export function withoutSourceCondition(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--conditions=source' || a === '-C=source') continue;
    if ((a === '--conditions' || a === '-C') && argv[i + 1] === 'source') {
      i++;
      continue;
    }
    out.push(a);
  }
  return out;
}

export class WorkerPool {
  private readonly workers: Worker[] = [];
  private readonly load: number[] = [];
  private readonly pending = new Map<number, Pending & { worker: number }>();
  private nextId = 0;
  private failure: Error | undefined;

  constructor(size: number) {
    const entry = workerEntry();
    if (entry === undefined) {
      throw new OmniRangeError('options.workers', '0 when running from TypeScript sources (worker threads need the built package: run `tsc -p tsconfig.build.json` in packages/synth)', size);
    }
    for (let i = 0; i < size; i++) {
      const w = new Worker(entry, { execArgv: withoutSourceCondition(process.execArgv) });
      w.on('message', (msg: { id: number; result?: ImageJobResult; error?: string }) => this.settle(msg));
      w.on('error', (e) => this.fail(e));
      w.on('exit', (code) => {
        if (code !== 0) this.fail(new Error(`synth worker ${i} exited with code ${code}`));
      });
      this.workers.push(w);
      this.load.push(0);
    }
  }

  /** Runs a job on the least busy worker. */
  run(job: ImageJob): Promise<ImageJobResult> {
    if (this.failure) return Promise.reject(this.failure);
    let best = 0;
    for (let i = 1; i < this.load.length; i++) if ((this.load[i] as number) < (this.load[best] as number)) best = i;
    const id = this.nextId++;
    this.load[best] = (this.load[best] as number) + 1;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, worker: best });
      (this.workers[best] as Worker).postMessage({ id, job });
    });
  }

  /** Stops every worker. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private settle(msg: { id: number; result?: ImageJobResult; error?: string }): void {
    const p = this.pending.get(msg.id);
    if (p === undefined) return;
    this.pending.delete(msg.id);
    this.load[p.worker] = (this.load[p.worker] as number) - 1;
    if (msg.result !== undefined) p.resolve(msg.result);
    else p.reject(new Error(`synth worker: ${msg.error ?? 'unknown error'}`));
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}

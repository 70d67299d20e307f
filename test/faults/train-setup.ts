// A tiny training setup for the fault suite: 24 synthetic 64 px keypoint images (a training
// step takes ~0.1 s on one thread), the built CLI run as a user runs it, and a runner that
// sends a signal when a condition on the output folder or stderr becomes true — so a test can
// interrupt at "the first checkpoint exists" or "half the steps are checkpointed".
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateSplits } from '@omnidistill/synth';
import { bin, cli as runCli } from './fixtures.js';
import type { CliResult } from './fixtures.js';

export type { CliResult };

export interface TrainData {
  annotations: string;
  images: string;
}

/** Writes the labeled split (24 images of 64 px) under `root`. */
export async function writeTrainData(root: string): Promise<TrainData> {
  const out = await generateSplits({ outDir: root, style: 'keypoints', imageSize: 64, counts: { labeled: 24 }, seed: 1 });
  const labeled = out.splits.labeled!;
  return { annotations: labeled.annotations, images: labeled.imagesDir };
}

/** `train` on `data` into `out`: one thread (reproducible sums), checkpoints every 10 steps. */
export function trainArgs(data: TrainData, out: string, steps: number, extra: string[] = []): string[] {
  return [
    'train', '--task', 'keypoints', '--labeled', data.annotations, '--images', data.images,
    '--steps', String(steps), '--batch', '4', '--threads', '1', '--checkpoint-every', '10', '--out', out, ...extra,
  ];
}

/** The suite's runner of the built CLI (fixtures.ts), with the train cases' default timeout. */
export function cli(args: string[], env: NodeJS.ProcessEnv = {}): CliResult {
  return runCli(args, { timeoutMs: 300_000, env });
}

export interface Interrupted extends CliResult {
  /** Milliseconds from the signal to the process's exit. */
  latencyMs: number;
}

/**
 * Starts the CLI and sends `signal` once `when(stderr)` is true (checked every 50 ms and on
 * every stderr chunk); resolves when the process has exited.
 */
export function cliInterrupted(args: string[], signal: NodeJS.Signals, when: (stderr: string) => boolean): Promise<Interrupted> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let sentAt: number | undefined;
    const poll = () => {
      if (sentAt === undefined && when(stderr)) {
        sentAt = performance.now();
        child.kill(signal);
      }
    };
    const timer = setInterval(poll, 50);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      poll();
    });
    child.on('error', reject);
    child.on('exit', (code, sig) => {
      clearInterval(timer);
      resolvePromise({ code, signal: sig, stdout, stderr, latencyMs: sentAt === undefined ? Number.NaN : performance.now() - sentAt });
    });
  });
}

/** The step of the latest checkpoint in `folder` (0 when there is none yet). */
export function latestStep(folder: string): number {
  try {
    return (JSON.parse(readFileSync(join(folder, 'latest.json'), 'utf8')) as { step: number }).step;
  } catch {
    return 0;
  }
}

export function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** The step a run printed it resumed from (`resuming from … at step N/M`), or undefined. */
export function resumedStep(stderr: string): number | undefined {
  const m = /resuming from \S+ at step (\d+)\//.exec(stderr);
  return m ? Number(m[1]) : undefined;
}

// The streaming labeling commands run in a child process that has the V8 young-generation
// cap they need. V8 sizes the young generation when the isolate is created: a cap given to
// v8.setFlagsFromString later is ignored, and the growth-factor heuristic set there
// (heap-policy.ts) does not stop the semi-space from doubling from 1 to 16 MiB in a long
// async run (measured: 8 → 32 MiB of new space from 1k to 20k images, most of the peak RSS
// growth). So the command starts itself once more with `--max-semi-space-size` (and
// `--expose-gc`, for old-gen-guard.ts) on node's command line, unless the user already chose
// those settings (node flags or NODE_OPTIONS), and with `MALLOC_ARENA_MAX` in its environment.
//
// The parent only relays: argv, stdio (inherited), exit code and signals.
// - First SIGINT/SIGTERM: forwarded, so the child stops at its safe point and keeps its work.
//   The child runs "supervised" (args.ts SUPERVISED_ENV): a Ctrl-C in a terminal reaches both
//   processes, and the child must not take the forwarded copy for a second Ctrl-C.
// - A second SIGINT/SIGTERM: the child is killed at once and the parent exits 130, as the
//   command does on a second Ctrl-C when it runs in one process.
// - The parent dies (SIGKILL, OOM killer): the child notices the closed IPC channel and
//   SIGKILLs itself, so a killed run never leaves a worker behind that still holds the
//   output folder's lock.
// - The child dies of a signal: the parent dies of the same signal (the caller sees what happened).
import { spawn } from 'node:child_process';
import { SUPERVISED_ENV } from '../commands/args.js';
import { userFlags } from './heap-policy.js';

/** Set (to the parent's pid) in the environment of the relaunched child; a set value never relaunches again. */
export const HEAP_CHILD_ENV = 'OMNIDISTILL_HEAP_CHILD';

/**
 * Node flags a streaming command runs under, by flag name (`true`: a switch, given bare):
 * - semi-spaces of at most 4 MiB (new space ≤ 8 MiB, what a 1k-image run reaches anyway).
 *   Smaller caps cost more scavenges.
 * - `--expose-gc`, for the old-generation guard (old-gen-guard.ts). (`--optimize-for-size`
 *   would cut V8's own growth step instead, but costs 8–13 % CPU per image: measured with
 *   tools/bench/label-overhead.)
 */
export const STREAMING_NODE_FLAGS: Readonly<Record<string, string | true>> = Object.freeze({
  'max-semi-space-size': '4',
  'expose-gc': true,
});

/**
 * Environment variables the child gets unless the user set them:
 * - `MALLOC_ARENA_MAX=2`: glibc gives each thread that allocates (libuv's pool decoding with
 *   sharp, onnxruntime's threads) an arena of its own, up to 8 per core, and each arena keeps
 *   its freed memory; two arenas hold less and creep less over a long run (measured, single
 *   run: peak RSS 114.5 → 109.6 MiB at 1k images, 128.8 → 121.1 at 20k; no CPU cost in
 *   tools/bench/label-overhead). Other C libraries ignore it.
 */
export const STREAMING_CHILD_ENV: Readonly<Record<string, string>> = Object.freeze({
  MALLOC_ARENA_MAX: '2',
});


/**
 * The node flags to relaunch with, or null when this process should run the command itself:
 * it is the relaunched child (or the user set {@link HEAP_CHILD_ENV} to opt out), or the
 * user gave every flag of {@link STREAMING_NODE_FLAGS} (their values win).
 */
export function relaunchFlags(execArgv: readonly string[], env: NodeJS.ProcessEnv): string[] | null {
  if (env[HEAP_CHILD_ENV] !== undefined) return null;
  const mine = userFlags(execArgv, env.NODE_OPTIONS);
  const missing = Object.entries(STREAMING_NODE_FLAGS).filter(([name]) => !mine.has(name));
  return missing.length === 0 ? null : missing.map(([name, value]) => nodeFlag(name, value));
}

/** A flag of {@link STREAMING_NODE_FLAGS} as it goes on node's command line. */
function nodeFlag(name: string, value: string | true): string {
  return value === true ? `--${name}` : `--${name}=${value}`;
}

/** The child's environment: `env`, {@link STREAMING_CHILD_ENV} where `env` lacks a variable, and the relaunch markers. */
export function childEnv(env: NodeJS.ProcessEnv, parentPid: number): NodeJS.ProcessEnv {
  const defaults = Object.fromEntries(Object.entries(STREAMING_CHILD_ENV).filter(([name]) => env[name] === undefined));
  return { ...env, ...defaults, [HEAP_CHILD_ENV]: String(parentPid), [SUPERVISED_ENV]: '1' };
}

const RELAYED_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/**
 * Runs this command line (`entry` + `argv`) in a child node process with `flags` added,
 * relays signals as the module comment says, and resolves to the exit code to use. When the
 * child dies of a signal this process re-raises it on itself (and so never resolves).
 */
export function runInHeapChild(entry: string, argv: readonly string[], flags: readonly string[]): Promise<number> {
  const child = spawn(process.execPath, [...process.execArgv, ...flags, entry, ...argv], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: childEnv(process.env, process.pid),
  });
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupts++;
    child.kill(interrupts === 1 ? signal : 'SIGKILL');
  };
  for (const s of RELAYED_SIGNALS) process.on(s, onSignal);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      for (const s of RELAYED_SIGNALS) process.off(s, onSignal);
      if (code !== null) return resolve(code);
      // Killed by a second interrupt: the exit code the command documents for that.
      if (interrupts > 1 && signal === 'SIGKILL') return resolve(130);
      process.kill(process.pid, signal ?? 'SIGKILL');
    });
  });
}

/**
 * In the relaunched child: dies with the parent. The IPC channel closes when the parent
 * exits for any reason; it is unreferenced so that it never keeps the child alive itself.
 */
export function followParent(): void {
  if (process.env[HEAP_CHILD_ENV] === undefined || process.channel === undefined) return;
  process.channel.unref();
  process.once('disconnect', () => process.kill(process.pid, 'SIGKILL'));
}

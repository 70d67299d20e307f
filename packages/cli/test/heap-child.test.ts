// The relaunch of streaming commands with their young-generation cap: when it happens, and
// that the parent relays exit codes and signals and never outlives (or is outlived by) the child.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HEAP_CHILD_ENV, STREAMING_CHILD_ENV, STREAMING_NODE_FLAGS, childEnv, relaunchFlags } from '../src/runtime/heap-child.js';

const heapChild = new URL('../src/runtime/heap-child.ts', import.meta.url).pathname;
// A stand-in for bin.ts: relaunches itself once; the child does what argv[2] says.
const entry = `
const { followParent, relaunchFlags, runInHeapChild } = await import(${JSON.stringify(heapChild)});
const [mode] = process.argv.slice(2);
const flags = relaunchFlags(process.execArgv, process.env);
if (flags !== null) {
  process.exitCode = await runInHeapChild(process.argv[1], [mode], flags);
} else {
  followParent();
  const env = Object.fromEntries(${JSON.stringify(Object.keys(STREAMING_CHILD_ENV))}.map((k) => [k, process.env[k] ?? null]));
  console.log(JSON.stringify({ pid: process.pid, execArgv: process.execArgv, env }));
  if (mode === 'exit-3') process.exitCode = 3;
  if (mode === 'stop-on-signal') {
    let signals = 0;
    process.on('SIGTERM', () => { signals++; setTimeout(() => { console.log('signals ' + signals); process.exit(0); }, 1000); });
    setInterval(() => {}, 1000);
  }
  if (mode === 'wait') setInterval(() => {}, 1000);
}`;

/** Writes the stand-in entry to a temp file (the relaunch needs a path to start again). */
function entryFile(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'omnidistill-heap-child-')), 'entry.mjs');
  writeFileSync(file, entry);
  return file;
}

function start(mode: string, env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', entryFile(), mode], { env: { ...process.env, ...env, [HEAP_CHILD_ENV]: undefined }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  const report = async () => {
    while (!stdout.includes('\n')) await new Promise((r) => setTimeout(r, 20));
    return JSON.parse(stdout.split('\n')[0]) as { pid: number; execArgv: string[]; env: Record<string, string | null> };
  };
  return { child, exited, report, output: () => stdout };
}

/** Whether a pid still runs (an exited process waiting to be reaped by init does not). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** The flags of {@link STREAMING_NODE_FLAGS} as the child's command line has them. */
const expectedFlags = Object.entries(STREAMING_NODE_FLAGS).map(([n, v]) => (v === true ? `--${n}` : `--${n}=${v}`));

describe('relaunch of streaming commands', () => {
  it('relaunches with the semi-space cap and --expose-gc unless the user chose them or this is the child', () => {
    expect(expectedFlags).toEqual(['--max-semi-space-size=4', '--expose-gc']);
    expect(relaunchFlags([], {})).toEqual(expectedFlags);
    // A flag the user gave (either spelling, on the command line or in NODE_OPTIONS) is left out; all given: no relaunch.
    expect(relaunchFlags(['--max-semi-space-size=16'], {})).toEqual(['--expose-gc']);
    expect(relaunchFlags([], { NODE_OPTIONS: '--expose_gc' })).toEqual(['--max-semi-space-size=4']);
    expect(relaunchFlags(['--expose-gc'], { NODE_OPTIONS: '--max_semi_space_size=16' })).toBeNull();
    expect(relaunchFlags([], { [HEAP_CHILD_ENV]: '1234' })).toBeNull();
  });

  it('gives the child MALLOC_ARENA_MAX=2 unless the user set it, and the relaunch markers', () => {
    expect(STREAMING_CHILD_ENV).toEqual({ MALLOC_ARENA_MAX: '2' });
    const env = childEnv({ PATH: '/bin' }, 42);
    expect(env).toMatchObject({ PATH: '/bin', MALLOC_ARENA_MAX: '2', [HEAP_CHILD_ENV]: '42' });
    expect(childEnv({ MALLOC_ARENA_MAX: '8' }, 42).MALLOC_ARENA_MAX).toBe('8');
  });

  it('runs the child with the flags and environment and passes its exit code on', async () => {
    const run = start('exit-3', { MALLOC_ARENA_MAX: undefined });
    const child = await run.report();
    expect(child.execArgv).toEqual(expect.arrayContaining(expectedFlags));
    expect(child.env).toEqual({ MALLOC_ARENA_MAX: '2' });
    expect(await run.exited).toEqual({ code: 3, signal: null });
    const own = start('exit-3', { MALLOC_ARENA_MAX: '4' });
    expect((await own.report()).env).toEqual({ MALLOC_ARENA_MAX: '4' });
    await own.exited;
  }, 30_000);

  it('forwards the first SIGTERM once (the child stops at its safe point); a second one ends it at once with 130', async () => {
    const graceful = start('stop-on-signal');
    await graceful.report();
    graceful.child.kill('SIGTERM');
    expect(await graceful.exited).toEqual({ code: 0, signal: null });
    expect(graceful.output()).toContain('signals 1');

    const twice = start('stop-on-signal');
    const { pid } = await twice.report();
    twice.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 100));
    twice.child.kill('SIGTERM');
    expect(await twice.exited).toEqual({ code: 130, signal: null });
    expect(twice.output()).not.toContain('signals');
    expect(running(pid)).toBe(false);
  }, 30_000);

  it('a child that dies of a signal takes the parent with it (same signal)', async () => {
    const run = start('wait');
    const { pid } = await run.report();
    process.kill(pid, 'SIGTERM');
    expect(await run.exited).toEqual({ code: null, signal: 'SIGTERM' });
  }, 30_000);

  it('a child whose parent is SIGKILLed ends too (nothing keeps holding the output folder)', async () => {
    const run = start('wait');
    const { pid } = await run.report();
    run.child.kill('SIGKILL');
    await run.exited;
    const deadline = Date.now() + 10_000;
    while (running(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(running(pid)).toBe(false);
  }, 30_000);
});

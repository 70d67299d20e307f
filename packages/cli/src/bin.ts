#!/usr/bin/env node
// Entry point of the `omnidistill` command (the commands themselves: cli.ts). It imports only
// what the relaunch of the streaming labeling commands needs, so that the relaying parent of
// those stays a bare node process (runtime/heap-child.ts); other commands (eval, whose whole
// run is a fraction of a second) do not load the relaunch and guard modules.
import { applyStreamingHeapPolicy, isStreamingCommand } from './runtime/heap-policy.js';

/**
 * Runs `omnidistill <argv>` in this process, or, for a streaming labeling command, in a child
 * started with the young-generation cap it needs (runtime/heap-child.ts). Only the process
 * entry sets V8 heuristics: a program calling dispatch() keeps its own.
 */
async function main(argv: string[]): Promise<number> {
  if (isStreamingCommand(argv)) {
    const [{ followParent, relaunchFlags, runInHeapChild }, { startOldGenerationGuard }] = await Promise.all([
      import('./runtime/heap-child.js'),
      import('./runtime/old-gen-guard.js'),
    ]);
    const flags = relaunchFlags(process.execArgv, process.env);
    if (flags !== null) return runInHeapChild(process.argv[1], argv, flags);
    followParent();
    applyStreamingHeapPolicy();
    startOldGenerationGuard();
  }
  const { dispatch } = await import('./cli.js');
  return dispatch(argv, { stdout: process.stdout, stderr: process.stderr });
}

process.exitCode = await main(process.argv.slice(2));

// The heap policy of the streaming labeling commands (label, label plan, label merge). Their
// live memory is bounded (DESIGN.md "Scale"), but V8's defaults let a long run's young
// generation double up to 2 × 16 MiB and its old generation fill with garbage up to about
// 4× the live size before a full collection, so a 100k-image run peaked ~1.5× higher than a
// 1k-image one for no data it held. The command sets two V8 heuristics for its own process
// (they are read at each resize, so setting them at start-up takes effect): the semi-space
// stays at the size start-up gave it, and the old generation grows 20 % over its live size
// between full collections. The price is more, smaller collections (tools/bench/label-scale
// prints the CPU time of each step). A user's own NODE_OPTIONS / node flags for the same
// settings win. The growth factor alone does not hold the young generation in a long async
// run (measured: it still doubles to 16 MiB semi-spaces), so these commands also run in a
// child started with a semi-space cap on node's command line (heap-child.ts).
import v8 from 'node:v8';

/** The V8 settings of the policy, by flag name. */
export const STREAMING_HEAP_FLAGS: Readonly<Record<string, string>> = Object.freeze({
  'semi-space-growth-factor': '1',
  'heap-growing-percent': '20',
});

/** Flags the user gave the process (node options or NODE_OPTIONS), normalised to dashes. */
export function userFlags(execArgv: readonly string[], nodeOptions: string | undefined): Set<string> {
  const given = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)];
  return new Set(given.filter((a) => a.startsWith('--')).map((a) => a.slice(2).split('=')[0].replace(/_/g, '-')));
}

/**
 * Applies {@link STREAMING_HEAP_FLAGS} to this process, except those the user set, and
 * returns the flags applied. Call it once, early, in a process that runs a streaming command.
 */
export function applyStreamingHeapPolicy(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS): string[] {
  const mine = userFlags(execArgv, nodeOptions);
  const applied: string[] = [];
  for (const [name, value] of Object.entries(STREAMING_HEAP_FLAGS)) {
    if (mine.has(name)) continue;
    const flag = `--${name}=${value}`;
    v8.setFlagsFromString(flag);
    applied.push(flag);
  }
  return applied;
}

/** Whether `omnidistill <argv>` runs a streaming labeling command (label, label plan, label merge). */
export function isStreamingCommand(argv: readonly string[]): boolean {
  return argv.find((a) => a !== '--debug') === 'label';
}

// A cap on the old generation's garbage in the streaming labeling commands. After each full
// collection V8 lets the old generation grow by max(20 % of the live size (heap-policy.ts),
// 8 MiB) before the next one, and keeps the pages it committed on the way. A 1k-image run
// ends before its first full collection; a 100k-image one runs at that limit, so most of
// its extra peak RSS was old-generation garbage: live 10.5–11.3 MiB, committed 16–19 MiB
// (measured, tools/bench/label-scale). `--optimize-for-size` would make V8's step 2 MiB but
// costs 8–13 % CPU per image (it also changes the compilers' choices); this guard does the
// same for the garbage alone: every 20 ms it reads the old space's size and runs a full
// collection once it holds 2 MiB more than the last collection left. Each collection of the
// ~11 MiB heap takes 15–30 ms on this machine; a run does a few per 1000 images.
// It needs `gc` (node --expose-gc, given to the relaunched child: heap-child.ts).
import v8 from 'node:v8';

/** Old-space bytes over what the last full collection left that trigger one (V8's own low-memory step). */
export const OLD_GENERATION_STEP = 2 << 20;
/** How often the guard looks (ms): often enough for the selection phase, which reads ~10k records a second. */
export const GUARD_INTERVAL_MS = 20;

/** Bytes of objects in V8's old space now. */
export function oldSpaceUsed(): number {
  return v8.getHeapSpaceStatistics().find((s) => s.space_name === 'old_space')?.space_used_size ?? 0;
}

/** The decision, apart from timers and V8 (tests drive it with their own readings). */
export class OldGenerationGuard {
  private base: number;
  /** Full collections this guard ran. */
  collections = 0;

  constructor(
    private readonly used: () => number,
    private readonly collect: () => void,
    private readonly step = OLD_GENERATION_STEP,
  ) {
    this.base = used();
  }

  /** Runs a full collection when the old space holds more than `step` bytes over the last one's result; returns whether it did. */
  check(): boolean {
    const now = this.used();
    if (now <= this.base) {
      // V8 collected on its own (or nothing grew): measure from there.
      this.base = now;
      return false;
    }
    if (now - this.base <= this.step) return false;
    this.collect();
    this.collections++;
    this.base = this.used();
    return true;
  }
}

/** Set to `0` to run without the guard (its collections cost throughput: README "Label millions of images"). */
export const GUARD_ENV = 'OMNIDISTILL_GC_GUARD';

/**
 * Starts the guard on an unreferenced timer (it never keeps the process alive) and returns
 * its stop function, or null when this process has no `gc` (not started with --expose-gc)
 * or {@link GUARD_ENV} is `0`.
 */
export function startOldGenerationGuard(gc: unknown = (globalThis as { gc?: unknown }).gc, env: NodeJS.ProcessEnv = process.env): (() => void) | null {
  if (typeof gc !== 'function' || env[GUARD_ENV] === '0') return null;
  const guard = new OldGenerationGuard(oldSpaceUsed, () => (gc as () => void)());
  const timer = setInterval(() => guard.check(), GUARD_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}

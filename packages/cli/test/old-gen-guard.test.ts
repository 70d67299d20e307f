// The old-generation guard of the streaming commands: when it collects (fake readings), and
// that in a real process started with --expose-gc it holds the old space near its live size
// where V8 alone lets garbage pile up.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { GUARD_ENV, OLD_GENERATION_STEP, OldGenerationGuard, startOldGenerationGuard } from '../src/runtime/old-gen-guard.js';

describe('old-generation guard', () => {
  it('collects once the old space holds more than the step over what the last collection left', () => {
    const MiB = 1 << 20;
    let used = 10 * MiB;
    let collections = 0;
    const guard = new OldGenerationGuard(() => used, () => { collections++; used = 10.5 * MiB; }, 2 * MiB);
    used = 12 * MiB; // exactly the step: not yet
    expect(guard.check()).toBe(false);
    used = 12.1 * MiB;
    expect(guard.check()).toBe(true);
    expect(collections).toBe(1);
    used = 12.4 * MiB; // 1.9 MiB over the collection's 10.5
    expect(guard.check()).toBe(false);
    used = 9 * MiB; // V8 collected on its own: the step counts from there
    expect(guard.check()).toBe(false);
    used = 11.5 * MiB;
    expect(guard.check()).toBe(true);
    expect(guard.collections).toBe(2);
  });

  it('does nothing without gc (a process not started with --expose-gc) or when switched off', () => {
    expect(startOldGenerationGuard(undefined)).toBeNull();
    expect(startOldGenerationGuard(() => {}, { [GUARD_ENV]: '0' })).toBeNull();
    const stop = startOldGenerationGuard(() => {}, {});
    expect(stop).toBeTypeOf('function');
    stop!();
  });

  it('keeps the old space near its live size in a real process, where V8 alone lets it grow', () => {
    const guardModule = new URL('../src/runtime/old-gen-guard.ts', import.meta.url).pathname;
    // Garbage that lives long enough to reach the old space: batches of ~120 KB kept over the
    // next 30 batches (~4 MiB live, past two scavenges of a 1 MiB semi-space), ~50 MiB in all.
    const script = (guarded: boolean) => `
      const { startOldGenerationGuard, oldSpaceUsed } = await import(${JSON.stringify(guardModule)});
      let calls = 0;
      const stop = ${guarded} ? startOldGenerationGuard(() => { calls++; globalThis.gc(); }) : () => {};
      globalThis.gc();
      const base = oldSpaceUsed();
      let peak = base;
      const kept = [];
      for (let round = 0; round < 400; round++) {
        kept.push(Array.from({ length: 2000 }, (_, i) => ({ i, s: 'x' + i })));
        if (kept.length > 30) kept.shift();
        peak = Math.max(peak, oldSpaceUsed());
        await new Promise((r) => setTimeout(r, 2));
      }
      stop();
      console.log(JSON.stringify({ calls, growth: peak - base }));`;
    const run = (guarded: boolean) => {
      // No memory reducer: on a loaded machine it may collect on its own when allocation slows down.
      const flags = ['--expose-gc', '--max-semi-space-size=1', '--no-memory-reducer'];
      const r = spawnSync(process.execPath, [...flags, '--import', 'tsx', '--input-type=module', '-e', script(guarded)], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(r.stderr);
      return JSON.parse(r.stdout) as { calls: number; growth: number };
    };
    const alone = run(false);
    const guarded = run(true);
    expect(guarded.calls).toBeGreaterThan(0);
    // The guard's bound: the kept batches, its step and what is promoted between two checks
    // (a few MiB on a loaded machine; measured here 7 MiB guarded, 35 MiB alone).
    expect(guarded.growth).toBeLessThan(4 * (1 << 20) + OLD_GENERATION_STEP + 6 * (1 << 20));
    expect(alone.growth).toBeGreaterThan(2 * guarded.growth);
  }, 60_000);
});

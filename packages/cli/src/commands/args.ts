// Flag parsing shared by the pipeline commands: node:util parseArgs plus typed readers
// whose errors name the flag, the expectation and the value received.
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { UsageError } from './types.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Parses `argv` strictly; unknown flags and missing values become usage errors. */
export function parseFlags(argv: string[], options: Options): Record<string, string | boolean | undefined> {
  try {
    return parseArgs({ args: argv, strict: true, allowPositionals: false, options }).values as Record<string, string | boolean | undefined>;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** A required string flag. */
export function required(values: Record<string, unknown>, flag: string): string {
  const v = values[flag];
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${flag} is required`);
  return v;
}

/** An optional positive-integer flag. */
export function positiveInt(values: Record<string, unknown>, flag: string, fallback: number): number {
  const v = values[flag];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (typeof v !== 'string' || !/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < 1) {
    throw new UsageError(`--${flag}: expected a positive integer, received ${JSON.stringify(v)}`);
  }
  return n;
}

/** An optional checkpoint interval flag: `N` optimizer steps or `Ns` seconds (e.g. `30s`). */
export function checkpointInterval(values: Record<string, unknown>, flag: string, fallback: { steps: number } | { seconds: number }): { steps: number } | { seconds: number } {
  const v = values[flag];
  if (v === undefined) return fallback;
  const m = typeof v === 'string' ? /^(\d+)(s?)$/.exec(v) : null;
  const n = m ? Number(m[1]) : Number.NaN;
  if (!m || !Number.isSafeInteger(n) || n < 1) {
    throw new UsageError(`--${flag}: expected a positive number of steps (e.g. 200) or seconds (e.g. 30s), received ${JSON.stringify(v)}`);
  }
  return m[2] === 's' ? { seconds: n } : { steps: n };
}

/** An optional number flag within [lo, hi]. */
export function numberIn(values: Record<string, unknown>, flag: string, fallback: number, lo: number, hi: number): number {
  const v = values[flag];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(n) || n < lo || n > hi) {
    throw new UsageError(`--${flag}: expected a number in [${lo}, ${hi}], received ${JSON.stringify(v)}`);
  }
  return n;
}

/** An optional flag restricted to a list of words. */
export function oneOf<T extends string>(values: Record<string, unknown>, flag: string, choices: readonly T[], fallback: T): T {
  const v = values[flag];
  if (v === undefined) return fallback;
  if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) {
    throw new UsageError(`--${flag}: expected one of ${choices.map((c) => JSON.stringify(c)).join(', ')}, received ${JSON.stringify(v)}`);
  }
  return v as T;
}

/** Set by the demo in the environment of the `omnidistill train` processes it runs. */
export const SUPERVISED_ENV = 'OMNIDISTILL_SUPERVISED';

/**
 * An AbortSignal fired by the first Ctrl-C (SIGINT/SIGTERM): long steps stop at a safe
 * point and keep what they finished. A second Ctrl-C exits at once (exit code 130), except
 * in a process the demo supervises (OMNIDISTILL_SUPERVISED=1): the terminal's signal and the
 * demo's forwarded copy arrive together, and the child must still reach its checkpoint.
 */
export function interruptSignal(log: (line: string) => void): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const supervised = process.env[SUPERVISED_ENV] === '1';
  const onSignal = () => {
    if (controller.signal.aborted) {
      if (!supervised) process.exit(130);
      return;
    }
    log('\ninterrupt: stopping at the next safe point (press Ctrl-C again to quit at once)');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

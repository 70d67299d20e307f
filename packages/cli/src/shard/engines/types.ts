// The contract of one batch engine whose array/indexed jobs we read the shard from.

/** Environment variables as a plain record (process.env or a test table). */
export type Env = Readonly<Record<string, string | undefined>>;

/** What one engine's variables say: the index always, the count when the engine publishes it. */
export interface EngineShard {
  index: number;
  /** Null when the engine does not publish the count (then --shard-count or OMNIDISTILL_SHARD_COUNT). */
  count: number | null;
  /** The variables read, `NAME=value`, for the line printed at start. */
  evidence: string[];
}

/** One engine: its name and a reader that returns null when its variables are absent. */
export interface ShardEngine {
  name: string;
  /** The variable whose presence means "running as one task of this engine". */
  indexVariable: string;
  detect(env: Env): EngineShard | null;
}

/** Reads a non-negative integer variable; null when unset; throws a ShardEnvError when malformed. */
export function intVar(env: Env, name: string): number | null {
  const raw = env[name];
  if (raw === undefined || raw === '') return null;
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(Number(raw))) {
    throw new ShardEnvError(`${name}: expected a non-negative integer, received ${JSON.stringify(raw)}`);
  }
  return Number(raw);
}

/** A shard setting that cannot be used (bad value, index without count, index ≥ count). */
export class ShardEnvError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShardEnvError';
  }
}

/** `NAME=value` for the variables that are set. */
export function evidenceOf(env: Env, names: readonly string[]): string[] {
  return names.filter((n) => env[n] !== undefined && env[n] !== '').map((n) => `${n}=${env[n]}`);
}

// Where a labeling run's time goes, per pipeline stage. Stages overlap (decoding the next
// images runs on libuv's pool while onnxruntime runs on its own threads), so each stage
// records its *busy* time: the wall time during which at least one of its calls was in
// flight (the union of its intervals, not their sum). A stage's busy share of the loop is
// then at most 100 %, and the shares of overlapped stages may add up to more.

/** The stages of the labeling loop, in pipeline order. */
export const STAGES = ['decode', 'transform', 'model', 'ensemble', 'write'] as const;

/**
 * - `decode`: reading and decoding the image file (sharp);
 * - `transform`: resize, flip, crop, normalise and pad into the model's input tensor;
 * - `model`: onnxruntime `session.run`;
 * - `ensemble`: merging the transforms' outputs and decoding them (NMS + box voting,
 *   heatmap averaging, instance fusion);
 * - `write`: formatting, hashing and atomically writing a finished shard, and appending its journal line.
 */
export type Stage = (typeof STAGES)[number];

/** Busy milliseconds per stage and the calls counted, at one moment. */
export interface StageTimes {
  busyMs: Record<Stage, number>;
  calls: Record<Stage, number>;
}

const zeros = (): Record<Stage, number> => Object.fromEntries(STAGES.map((s) => [s, 0])) as Record<Stage, number>;

/** Busy time per stage (see the file comment); cheap enough to time every call. */
export class StageClock {
  private readonly busy = zeros();
  private readonly calls = zeros();
  private readonly active = zeros();
  private readonly since = zeros();

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** A call of `stage` starts. Pair with {@link end}. */
  begin(stage: Stage): void {
    if (this.active[stage]++ === 0) this.since[stage] = this.now();
    this.calls[stage]++;
  }

  /** A call of `stage` ends. */
  end(stage: Stage): void {
    if (this.active[stage] === 0) throw new Error(`StageClock.end('${stage}') without a matching begin`);
    if (--this.active[stage] === 0) this.busy[stage] += this.now() - this.since[stage];
  }

  /** Runs `work` (sync or async) as one call of `stage`. */
  time<T>(stage: Stage, work: () => T): T {
    this.begin(stage);
    let result: T;
    try {
      result = work();
    } catch (error) {
      this.end(stage);
      throw error;
    }
    if (result instanceof Promise) {
      return result.finally(() => this.end(stage)) as T;
    }
    this.end(stage);
    return result;
  }

  /** Busy time so far, including calls still in flight. */
  snapshot(): StageTimes {
    const t = this.now();
    const busyMs = zeros();
    for (const s of STAGES) busyMs[s] = this.busy[s] + (this.active[s] > 0 ? t - this.since[s] : 0);
    return { busyMs, calls: { ...this.calls } };
  }
}

/** `work()` timed as `stage` when a clock is given, else just `work()`. */
export function timeStage<T>(clock: StageClock | undefined, stage: Stage, work: () => T): T {
  return clock ? clock.time(stage, work) : work();
}

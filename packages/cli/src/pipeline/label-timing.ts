// Where a label run's time goes: set-up (reading lists, opening and checking models), the
// prediction loop (images/s, and how much of it the model + ensembling kept busy), and the
// selection; inside the loop, the busy share of each pipeline stage (infer's StageClock:
// decode, transform, model, ensemble, write — they overlap) and of the JavaScript thread.
// Shown in the progress line and as two lines at the end of `omnidistill label`.
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { STAGES, StageClock, type ImagePredictor, type RunProgress, type StageTimes } from '@omnidistill/infer';
import { formatDuration } from './progress.js';

/** `3.2s` under a minute (short runs), else `1m05s`. */
function span(ms: number): string {
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)}s` : formatDuration(ms / 1000);
}

export class LabelTimings {
  private readonly started = performance.now();
  private loopStarted: number | null = null;
  private loopEnded: number | null = null;
  private selectionMs = 0;
  private predictMs = 0;
  private predicting = 0;
  private predictSince = 0;
  private predicted = 0;
  /** Images already done (resumed) when this process's loop began. */
  private doneAtStart: number | null = null;
  private loopElu: EventLoopUtilization | null = null;
  private stagesAtStart: StageTimes | null = null;
  private stagesAtEnd: StageTimes | null = null;
  /** CPU time of the whole process (every thread) over the loop, microseconds. */
  private loopCpu: NodeJS.CpuUsage | null = null;
  /** The stages' busy time: give it to the models (`withStageClock`) and to the runner. */
  readonly clock = new StageClock();

  /**
   * `predict`, timed: the model + ensembling busy time is the time during which at least one
   * image was in `predict` (the runner keeps several in flight, so their durations overlap).
   */
  timed(predict: ImagePredictor): ImagePredictor {
    return async (image, entry) => {
      if (this.predicting++ === 0) this.predictSince = performance.now();
      try {
        return await predict(image, entry);
      } finally {
        if (--this.predicting === 0) this.predictMs += performance.now() - this.predictSince;
        this.predicted++;
      }
    };
  }

  loopStart(): void {
    this.loopStarted = performance.now();
    this.loopElu = performance.eventLoopUtilization();
    this.loopCpu = process.cpuUsage();
    this.stagesAtStart = this.clock.snapshot();
  }

  loopEnd(): void {
    this.loopEnded = performance.now();
    if (this.loopElu) this.loopElu = performance.eventLoopUtilization(this.loopElu);
    if (this.loopCpu) this.loopCpu = process.cpuUsage(this.loopCpu);
    this.stagesAtEnd = this.clock.snapshot();
  }

  /** `, CPU 4.20 ms/image` (all threads of the process over the loop), once the loop ended. */
  private cpuPerImage(): string {
    if (this.loopEnded === null || this.loopCpu === null || this.predicted === 0) return '';
    return `, CPU ${((this.loopCpu.user + this.loopCpu.system) / 1000 / this.predicted).toFixed(2)} ms/image`;
  }

  /** Times the selection step. */
  async selection<T>(work: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await work();
    } finally {
      this.selectionMs += performance.now() - t0;
    }
  }

  /** Images per second of this process's loop so far (resumed images not counted). */
  rate(progress: RunProgress): number {
    this.doneAtStart ??= progress.done;
    const seconds = progress.elapsedMs / 1000;
    return seconds > 0 ? (progress.done - this.doneAtStart) / seconds : 0;
  }

  /**
   * The progress line's detail: `123 img/s` and, once stages were timed, their busy shares
   * of the loop so far: `· decode 30% transform 6% model 71% ensemble 9% write 1%`.
   */
  progressDetail(progress: RunProgress): string {
    const r = this.rate(progress);
    if (r <= 0) return '';
    const shares = stageShares(this.clock.snapshot(), this.stagesAtStart, progress.elapsedMs);
    return `${r >= 10 ? r.toFixed(0) : r.toFixed(1)} img/s${shares ? ` · ${shares}` : ''}`;
  }

  /**
   * One line: each stage's busy share of the prediction loop (overlapped stages add up to
   * more than 100 %) and how busy the JavaScript thread was. Empty when nothing was timed.
   */
  stageSummary(): string {
    const end = this.stagesAtEnd ?? this.clock.snapshot();
    const loopMs = (this.loopEnded ?? performance.now()) - (this.loopStarted ?? performance.now());
    const shares = stageShares(end, this.stagesAtStart, loopMs);
    if (!shares) return '';
    const js = this.loopElu && this.loopEnded !== null ? `; JavaScript thread busy ${Math.round(100 * this.loopElu.utilization)}%` : '';
    return `stages (busy share of the prediction loop; they overlap): ${shares}${js}`;
  }

  /** One line: where the time went. */
  summary(): string {
    const now = performance.now();
    const loopStart = this.loopStarted ?? now;
    const loopEnd = this.loopEnded ?? now;
    const loopMs = Math.max(0, loopEnd - loopStart);
    const setupMs = Math.max(0, loopStart - this.started);
    const totalMs = Math.max(1, now - this.started);
    const share = (ms: number) => `${Math.round((100 * ms) / totalMs)}%`;
    const parts = [
      `set-up ${span(setupMs)} (${share(setupMs)})`,
      `prediction ${span(loopMs)} (${share(loopMs)}; ${this.predicted} images, ${loopMs > 0 ? ((1000 * this.predicted) / loopMs).toFixed(1) : '0'} img/s${this.cpuPerImage()}; ` +
        `model + ensembling busy ${Math.round((100 * this.predictMs) / Math.max(1, loopMs))}% of it, decoding and writing overlapped)`,
      `selection ${span(this.selectionMs)} (${share(this.selectionMs)})`,
    ];
    return `time: ${parts.join(' · ')}`;
  }
}

/** `decode 30% transform 6% …` over `ms` of loop time: busy time since `start`; '' when nothing ran. */
function stageShares(now: StageTimes, start: StageTimes | null, ms: number): string {
  if (ms <= 0) return '';
  const busy = STAGES.map((s) => [s, now.busyMs[s] - (start?.busyMs[s] ?? 0), now.calls[s] - (start?.calls[s] ?? 0)] as const);
  if (busy.every(([, , calls]) => calls === 0)) return '';
  return busy
    .filter(([, , calls]) => calls > 0)
    .map(([s, b]) => `${s} ${Math.round((100 * b) / ms)}%`)
    .join(' ');
}

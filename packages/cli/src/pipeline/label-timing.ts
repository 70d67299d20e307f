// Where a label run's time goes: set-up (reading lists, opening and checking models), the
// prediction loop (images/s, and how much of it the model + ensembling kept busy), and the
// selection. Shown in the progress line and as one line at the end of `omnidistill label`.
import type { ImagePredictor, RunProgress } from '@omnidistill/infer';
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
  private predicted = 0;
  /** Images already done (resumed) when this process's loop began. */
  private doneAtStart: number | null = null;

  /** `predict`, timed: its calls add up to the model + ensembling busy time. */
  timed(predict: ImagePredictor): ImagePredictor {
    return async (image, entry) => {
      const t0 = performance.now();
      try {
        return await predict(image, entry);
      } finally {
        this.predictMs += performance.now() - t0;
        this.predicted++;
      }
    };
  }

  loopStart(): void {
    this.loopStarted = performance.now();
  }

  loopEnd(): void {
    this.loopEnded = performance.now();
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

  /** The progress line's detail: `123 img/s`. */
  progressDetail(progress: RunProgress): string {
    const r = this.rate(progress);
    return r > 0 ? `${r >= 10 ? r.toFixed(0) : r.toFixed(1)} img/s` : '';
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
      `prediction ${span(loopMs)} (${share(loopMs)}; ${this.predicted} images, ${loopMs > 0 ? ((1000 * this.predicted) / loopMs).toFixed(1) : '0'} img/s; ` +
        `model + ensembling busy ${Math.round((100 * this.predictMs) / Math.max(1, loopMs))}% of it, decoding and writing overlapped)`,
      `selection ${span(this.selectionMs)} (${share(this.selectionMs)})`,
    ];
    return `time: ${parts.join(' · ')}`;
  }
}

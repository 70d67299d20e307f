// Progress lines with ETA for every long step. On a terminal the line is redrawn in
// place; elsewhere (CI logs, pipes) one line is printed at most every few seconds.

export interface ProgressSink {
  write(text: string): unknown;
  isTTY?: boolean;
}

/** The progress sink of a command: its stderr, redrawn in place only on a terminal. */
export function stderrSink(io: { stderr: { write(text: string): unknown } }): ProgressSink {
  return { write: (t: string) => io.stderr.write(t), isTTY: Boolean((io.stderr as { isTTY?: boolean }).isTTY) };
}

/** Formats seconds as `1m05s` / `42s`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** A progress reporter for one step: `update(done, total, detail)` then `done()`. */
export class Progress {
  private readonly started = performance.now();
  private lastPrint = 0;
  private lastLine = '';

  constructor(
    private readonly sink: ProgressSink,
    private readonly label: string,
    private readonly intervalMs = sink.isTTY ? 200 : 5000,
  ) {}

  /** Seconds since this step began. */
  elapsed(): number {
    return (performance.now() - this.started) / 1000;
  }

  /** `detail` may be a function: it is then called only when a line is printed (updates come once per image). */
  update(done: number, total: number, detail: string | (() => string) = ''): void {
    const now = performance.now();
    if (done < total && now - this.lastPrint < this.intervalMs) return;
    this.lastPrint = now;
    if (typeof detail === 'function') detail = detail();
    const elapsed = this.elapsed();
    const eta = done > 0 ? (elapsed / done) * (total - done) : Number.NaN;
    const pct = total > 0 ? Math.floor((100 * done) / total) : 100;
    const width = 20;
    const filled = total > 0 ? Math.round((width * done) / total) : width;
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
    const line = `${this.label} ${bar} ${done}/${total} ${pct}% ${formatDuration(elapsed)} eta ${formatDuration(eta)}${detail ? ` ${detail}` : ''}`;
    if (this.sink.isTTY) this.sink.write(`\r${line.padEnd(this.lastLine.length)}`);
    else this.sink.write(`${line}\n`);
    this.lastLine = line;
  }

  /** Ends the step with a summary line. */
  done(summary: string): void {
    const line = `${this.label}: ${summary} (${formatDuration(this.elapsed())})`;
    if (this.sink.isTTY) this.sink.write(`\r${line.padEnd(this.lastLine.length)}\n`);
    else this.sink.write(`${line}\n`);
  }
}

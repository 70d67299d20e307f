// The end-of-run account of images a labeling run could not use: counts by reason for the
// log and the summary JSON, and the failure when too large a share of the images failed
// (a wrong --images folder must not pass as a run that labeled nothing).
import { InputFileError } from '@omnidistill/core';
import { IMAGE_FAILURE_REASONS } from '@omnidistill/infer';
import type { SkippedSummary } from '@omnidistill/infer';

/** Default of `--max-failed-fraction`: a run fails when more than 10 % of its images could not be used. */
export const DEFAULT_MAX_FAILED_FRACTION = 0.1;

/** What the summary JSON says about skipped images. */
export interface SkipReport {
  /** Images the run was given. */
  images: number;
  /** Images that could not be used, all reasons together, and their share of `images`. */
  skipped: number;
  fraction: number;
  /** Skipped images a rerun will try again (missing files, I/O and model errors). */
  retriedOnRerun: number;
  byReason: SkippedSummary['byReason'];
}

/** Too many images failed: most likely a wrong --images folder or a bad image set. */
export class TooManyFailedImagesError extends InputFileError {
  readonly report: SkipReport;
  constructor(imageDir: string, report: SkipReport, maxFraction: number) {
    super(
      imageDir,
      `${report.skipped} of ${report.images} images (${(100 * report.fraction).toFixed(1)}%) could not be used (${formatReasons(report.byReason)}), ` +
        `more than --max-failed-fraction ${maxFraction}; check --images ${imageDir} and the file names in --unlabeled ` +
        `(missing files and read errors are retried when the same command is run again)`,
    );
    this.name = 'TooManyFailedImagesError';
    this.report = report;
  }
}

/** `3 missing, 1 corrupt` in the fixed reason order. */
export function formatReasons(byReason: SkippedSummary['byReason']): string {
  return IMAGE_FAILURE_REASONS.filter((r) => (byReason[r] ?? 0) > 0).map((r) => `${byReason[r]} ${r}`).join(', ');
}

export function skipReport(summary: SkippedSummary, images: number): SkipReport {
  return { images, skipped: summary.total, fraction: images === 0 ? 0 : summary.total / images, retriedOnRerun: summary.transient, byReason: summary.byReason };
}

/** Log lines for the end of a run: one per reason with up to three examples. Empty when nothing was skipped. */
export function skipLogLines(summary: SkippedSummary, images: number): string[] {
  if (summary.total === 0) return [];
  const lines = [`skipped ${summary.total} of ${images} images: ${formatReasons(summary.byReason)}${summary.transient > 0 ? ` (${summary.transient} will be retried by the next run)` : ''}`];
  for (const reason of IMAGE_FAILURE_REASONS) for (const ex of summary.examples[reason] ?? []) lines.push(`  ${reason}: ${ex}`);
  return lines;
}

/** Throws {@link TooManyFailedImagesError} when the skipped share exceeds `maxFraction`. */
export function checkFailedFraction(report: SkipReport, maxFraction: number, imageDir: string): void {
  if (report.fraction > maxFraction) throw new TooManyFailedImagesError(imageDir, report, maxFraction);
}

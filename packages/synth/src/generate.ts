// Writes splits to disk: PNG images plus one COCO file per split, atomically, resumably.
// By default images render on the calling thread while PNG encodes run in sharp's thread pool
// (a few in flight); with `workers` > 0 whole image jobs run in worker threads. Results are
// consumed in index order either way, so the output does not depend on timing.
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expectInteger, expectOneOf, OmniRangeError, OmniTypeError } from '@omnidistill/core';
import { runImageJob, writeFileAtomic, type ImageJob, type ImageJobResult } from './image-job.js';
import {
  categoriesFor, imageFileName, SPLIT_INFO, SPLIT_NAMES, SYNTH_STYLES, ID_STRIDE,
  type SplitName, type SynthAnnotation, type SynthCategory, type SynthImage, type SynthStyle,
} from './sample.js';
import { OBJECT_CATEGORIES } from './object-scene.js';
import { WorkerPool } from './worker-pool.js';

/**
 * The two data settings measured in DEMO-NOTES.md: Q (quick) and B (full). `labeledLarge`
 * holds as many images as labeled + unlabeled together, for the "all labels" upper bound.
 */
export const DEMO_SETTINGS = {
  Q: { imageSize: 96, counts: { labeled: 200, labeledLarge: 1000, unlabeled: 800, val: 300 } },
  B: { imageSize: 128, counts: { labeled: 200, labeledLarge: 1700, unlabeled: 1500, val: 300 } },
} as const satisfies Record<string, { imageSize: number; counts: Record<SplitName, number> }>;

/** Bumped whenever the same options would produce different pixels or labels. */
export const GENERATOR_VERSION = 1;

/** Options of {@link generateSplits}. */
export interface GenerateOptions {
  /** Output folder; each split goes to `<outDir>/<split dir>/`. */
  readonly outDir: string;
  /** Default `'keypoints'`. */
  readonly style?: SynthStyle;
  /** Square side in pixels, or width and height. Default 96. */
  readonly imageSize?: number | { readonly width: number; readonly height: number };
  /** Images per split; splits left out (or 0) are not written. */
  readonly counts: Partial<Record<SplitName, number>>;
  /** Master seed (a 32-bit integer). Default 0. */
  readonly seed?: number;
  /** Instances per image drawn uniformly from [min, max] (0–6 for people) instead of the style default. */
  readonly instances?: { readonly min: number; readonly max: number };
  /** Also write the withheld labels of the unlabeled split (`annotations.hidden.json`, for diagnostics). Default true. */
  readonly hiddenLabels?: boolean;
  /** Images in flight (per worker when `workers` > 0). Default 4. */
  readonly concurrency?: number;
  /**
   * Worker threads rendering and encoding images (0 = the calling thread renders; default 0).
   * Needs the built package (dist/); from TypeScript sources it throws. Output is identical.
   */
  readonly workers?: number;
  /** Called after every image. */
  readonly onProgress?: (progress: GenerateProgress) => void;
  /** Stops the run between images (rejecting with the signal's reason); images written so far are kept and a re-run resumes. */
  readonly signal?: AbortSignal;
}

/** Progress of a run. */
export interface GenerateProgress {
  readonly split: SplitName;
  /** Images of this split handled so far (written or skipped). */
  readonly done: number;
  readonly total: number;
  /** Images already on disk with the right content, left untouched. */
  readonly skipped: number;
  /** Images handled over all splits / to handle over all splits. */
  readonly overallDone: number;
  readonly overallTotal: number;
}

/** Measured properties of a written split (over its full labels, also for the unlabeled split). */
export interface SplitStats {
  readonly images: number;
  readonly instances: number;
  readonly instancesPerImage: number;
  /** Fractions of instances by COCO area range: small < 32², medium < 96², large. */
  readonly areaFractions: { readonly small: number; readonly medium: number; readonly large: number };
  /** People styles: mean labeled keypoints (v > 0) per instance, of 17. */
  readonly meanLabeledKeypoints?: number;
  /** People styles: mean keypoints per instance by state before labeling. */
  readonly meanKeypointStates?: { readonly visible: number; readonly occluded: number; readonly outside: number };
  /** Objects style: instances per category name. */
  readonly categoryCounts?: Readonly<Record<string, number>>;
}

/** What was written for one split. Paths are absolute or relative as `outDir` was given. */
export interface SplitOutput {
  readonly split: SplitName;
  readonly dir: string;
  readonly imagesDir: string;
  /** The COCO file (for the unlabeled split: images and categories, no annotations). */
  readonly annotations: string;
  /** Unlabeled split only: the withheld labels, when `hiddenLabels`. */
  readonly hiddenAnnotations?: string;
  /** Images encoded and written in this run. */
  readonly written: number;
  /** Images found already written correctly and skipped. */
  readonly skipped: number;
  readonly stats: SplitStats;
}

/** The result of {@link generateSplits}. */
export interface GenerateResult {
  readonly outDir: string;
  /** `<outDir>/synth.json`: options and per-split stats. */
  readonly manifest: string;
  readonly splits: Partial<Record<SplitName, SplitOutput>>;
}

/** The COCO file written per split. */
export interface SynthCocoFile {
  info: { description: string; version: string; style: SynthStyle; seed: number; split: SplitName };
  licenses: [];
  images: SynthImage[];
  annotations: SynthAnnotation[];
  categories: SynthCategory[];
}

interface StateFile {
  version: number;
  /** file name → [sha1 of raw pixels, sha1 of the PNG file]. */
  files: Record<string, [string, string]>;
}

const STATE_FILE = '.synth-state.json';

function validateOptions(o: GenerateOptions): { style: SynthStyle; width: number; height: number; seed: number; concurrency: number; workers: number } {
  if (typeof o !== 'object' || o === null) throw new OmniTypeError('options', 'an object', o);
  if (typeof o.outDir !== 'string' || o.outDir === '') throw new OmniTypeError('options.outDir', 'a non-empty path string', o.outDir);
  const style = o.style === undefined ? 'keypoints' : expectOneOf(o.style, 'options.style', SYNTH_STYLES);
  let width = 96;
  let height = 96;
  if (typeof o.imageSize === 'number') {
    width = height = expectInteger(o.imageSize, 'options.imageSize', 16);
  } else if (o.imageSize !== undefined) {
    width = expectInteger(o.imageSize.width, 'options.imageSize.width', 16);
    height = expectInteger(o.imageSize.height, 'options.imageSize.height', 16);
  }
  if (typeof o.counts !== 'object' || o.counts === null) throw new OmniTypeError('options.counts', 'an object of split → image count', o.counts);
  for (const key of Object.keys(o.counts)) {
    const split = expectOneOf(key, 'options.counts', SPLIT_NAMES);
    const n = expectInteger(o.counts[split], `options.counts.${split}`, 0);
    if (n >= ID_STRIDE) throw new OmniRangeError(`options.counts.${split}`, `fewer than ${ID_STRIDE} images`, n);
  }
  const seed = o.seed === undefined ? 0 : expectInteger(o.seed, 'options.seed', 0);
  if (seed > 0xffffffff) throw new OmniRangeError('options.seed', 'a 32-bit unsigned integer', seed);
  if (o.instances !== undefined) {
    const max = style === 'objects' ? 12 : 6;
    const lo = expectInteger(o.instances.min, 'options.instances.min', 0);
    const hi = expectInteger(o.instances.max, 'options.instances.max', lo);
    if (hi > max) throw new OmniRangeError('options.instances.max', `at most ${max} for style '${style}'`, hi);
  }
  const concurrency = o.concurrency === undefined ? 4 : expectInteger(o.concurrency, 'options.concurrency', 1);
  const workers = o.workers === undefined ? 0 : expectInteger(o.workers, 'options.workers', 0);
  return { style, width, height, seed, concurrency, workers };
}

async function readState(path: string): Promise<StateFile> {
  try {
    const raw = JSON.parse(await readFile(path, 'utf8')) as StateFile;
    if (raw.version === GENERATOR_VERSION && typeof raw.files === 'object' && raw.files !== null) return raw;
  } catch {
    // Missing or unreadable state: start fresh (every image is then re-encoded and compared).
  }
  return { version: GENERATOR_VERSION, files: {} };
}

class StatsAccumulator {
  images = 0;
  instances = 0;
  small = 0;
  medium = 0;
  large = 0;
  labeled = 0;
  visible = 0;
  occluded = 0;
  outside = 0;
  readonly categories = new Map<number, number>();

  add(anns: readonly SynthAnnotation[], states: readonly (readonly number[])[] | undefined): void {
    this.images++;
    for (const a of anns) {
      this.instances++;
      if (a.area < 32 * 32) this.small++;
      else if (a.area < 96 * 96) this.medium++;
      else this.large++;
      this.labeled += a.num_keypoints ?? 0;
      this.categories.set(a.category_id, (this.categories.get(a.category_id) ?? 0) + 1);
    }
    for (const s of states ?? []) {
      for (const v of s) {
        if (v === 2) this.visible++;
        else if (v === 1) this.occluded++;
        else this.outside++;
      }
    }
  }

  result(style: SynthStyle): SplitStats {
    const n = Math.max(1, this.instances);
    const base = {
      images: this.images,
      instances: this.instances,
      instancesPerImage: this.images > 0 ? this.instances / this.images : 0,
      areaFractions: { small: this.small / n, medium: this.medium / n, large: this.large / n },
    };
    if (style === 'objects') {
      const categoryCounts: Record<string, number> = {};
      OBJECT_CATEGORIES.forEach((name, i) => (categoryCounts[name] = this.categories.get(i + 1) ?? 0));
      return { ...base, categoryCounts };
    }
    return {
      ...base,
      meanLabeledKeypoints: this.labeled / n,
      meanKeypointStates: { visible: this.visible / n, occluded: this.occluded / n, outside: this.outside / n },
    };
  }
}

/**
 * Generates the requested splits as PNG images and COCO files:
 * `<outDir>/<split>/images/<split>-000001.png` and `<outDir>/<split>/annotations.json`
 * (split folders: `labeled`, `labeled-large`, `unlabeled`, `val`), plus `<outDir>/synth.json`.
 * Every split draws from its own seed stream, so splits are disjoint and each is reproducible
 * on its own; the same options give byte-identical COCO files and identical pixels. Re-running
 * skips images already written correctly (checked by content hash), so an interrupted run resumes.
 *
 * @example
 * const out = await generateSplits({ outDir: 'data/q', imageSize: 96, seed: 1,
 *   counts: { labeled: 200, unlabeled: 800, val: 300 } });
 * out.splits.labeled?.annotations; // 'data/q/labeled/annotations.json'
 */
export async function generateSplits(options: GenerateOptions): Promise<GenerateResult> {
  const { style, width, height, seed, concurrency, workers } = validateOptions(options);
  options.signal?.throwIfAborted();
  const pool = workers > 0 ? new WorkerPool(workers) : undefined;
  try {
    return await writeSplits(options, { style, width, height, seed, inFlightLimit: concurrency * Math.max(1, workers) }, pool);
  } finally {
    await pool?.close();
  }
}

async function writeSplits(
  options: GenerateOptions,
  o: { style: SynthStyle; width: number; height: number; seed: number; inFlightLimit: number },
  pool: WorkerPool | undefined,
): Promise<GenerateResult> {
  const { style, width, height, seed } = o;
  const run = (job: ImageJob): Promise<ImageJobResult> => (pool ? pool.run(job) : runImageJob(job));
  const splits = SPLIT_NAMES.filter((s) => (options.counts[s] ?? 0) > 0);
  const overallTotal = splits.reduce((t, s) => t + (options.counts[s] ?? 0), 0);
  let overallDone = 0;
  const result: Partial<Record<SplitName, SplitOutput>> = {};
  const categories = categoriesFor(style);
  for (const split of splits) {
    const total = options.counts[split] ?? 0;
    const dir = join(options.outDir, SPLIT_INFO[split].dir);
    const imagesDir = join(dir, 'images');
    await mkdir(imagesDir, { recursive: true });
    const statePath = join(dir, STATE_FILE);
    const state = await readState(statePath);
    const images: SynthImage[] = [];
    const annotations: SynthAnnotation[] = [];
    const stats = new StatsAccumulator();
    let written = 0;
    let skipped = 0;
    let nextAnnId = SPLIT_INFO[split].stream * ID_STRIDE * 10 + 1;
    // Results are consumed strictly in index order (ids, JSON and progress do not depend on timing).
    const queue: Promise<ImageJobResult>[] = [];
    const consume = async (): Promise<void> => {
      let r: ImageJobResult;
      try {
        r = await (queue.shift() as Promise<ImageJobResult>);
      } catch (err) {
        // Let the images still in flight finish (or fail) before rejecting: no write of this
        // run may land after its promise has settled (a caller removing the folder raced them).
        await Promise.allSettled(queue.splice(0));
        throw err;
      }
      images.push(r.image);
      for (const a of r.annotations) {
        a.id = nextAnnId++;
        annotations.push(a);
      }
      stats.add(r.annotations, r.states);
      state.files[r.image.file_name] = r.entry;
      if (r.written) written++;
      else skipped++;
      overallDone++;
      options.onProgress?.({ split, done: images.length, total, skipped, overallDone, overallTotal });
    };
    const drain = async (): Promise<void> => {
      while (queue.length > 0) await consume();
    };
    for (let index = 0; index < total; index++) {
      if (options.signal?.aborted) {
        await drain();
        await writeFileAtomic(statePath, JSON.stringify(state));
        throw options.signal.reason;
      }
      const key = { style, width, height, seed, split, index, ...(options.instances ? { instances: options.instances } : {}) };
      const fileName = imageFileName(split, index);
      const recorded = state.files[fileName];
      const job = run({ key, path: join(imagesDir, fileName), ...(recorded ? { recorded } : {}) });
      // A failure surfaces when this job is consumed; until then it must not count as unhandled.
      job.catch(() => undefined);
      queue.push(job);
      if (queue.length >= o.inFlightLimit) await consume();
      // Checkpoint the state now and then so an interrupted run loses little.
      if (index % 500 === 499) await writeFileAtomic(statePath, JSON.stringify(state));
    }
    await drain();
    await writeFileAtomic(statePath, JSON.stringify(state));

    const info = { description: `omnidistill synthetic ${style} data`, version: String(GENERATOR_VERSION), style, seed, split };
    const annotationsPath = join(dir, 'annotations.json');
    let hiddenPath: string | undefined;
    if (split === 'unlabeled') {
      const visible: SynthCocoFile = { info, licenses: [], images, annotations: [], categories };
      await writeFileAtomic(annotationsPath, JSON.stringify(visible));
      if (options.hiddenLabels !== false) {
        hiddenPath = join(dir, 'annotations.hidden.json');
        const hidden: SynthCocoFile = { info, licenses: [], images, annotations, categories };
        await writeFileAtomic(hiddenPath, JSON.stringify(hidden));
      }
    } else {
      const coco: SynthCocoFile = { info, licenses: [], images, annotations, categories };
      await writeFileAtomic(annotationsPath, JSON.stringify(coco));
    }
    result[split] = {
      split, dir, imagesDir, annotations: annotationsPath, ...(hiddenPath ? { hiddenAnnotations: hiddenPath } : {}),
      written, skipped, stats: stats.result(style),
    };
  }
  const manifestPath = join(options.outDir, 'synth.json');
  await mkdir(options.outDir, { recursive: true });
  const manifest = {
    generator: '@omnidistill/synth',
    version: GENERATOR_VERSION,
    style, width, height, seed,
    ...(options.instances ? { instances: options.instances } : {}),
    splits: Object.fromEntries(splits.map((s) => {
      const r = result[s] as SplitOutput;
      return [s, {
        dir: SPLIT_INFO[s].dir,
        images: `${SPLIT_INFO[s].dir}/images`,
        annotations: `${SPLIT_INFO[s].dir}/annotations.json`,
        ...(r.hiddenAnnotations ? { hiddenAnnotations: `${SPLIT_INFO[s].dir}/annotations.hidden.json` } : {}),
        stats: r.stats,
      }];
    })),
  };
  await writeFileAtomic(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  return { outDir: options.outDir, manifest: manifestPath, splits: result };
}

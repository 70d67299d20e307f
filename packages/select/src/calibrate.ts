// Pass 1 of selection: read every raw score once and calibrate the thresholds
// (REFERENCE.md §1 step 4).
import { OmniRangeError, OmniTypeError, expectFiniteNumber, expectInteger, expectOneOf } from '@omnidistill/core';
import { countMatchScan } from './count-match-scan.js';
import type { ValueScan } from './order-statistic.js';
import { Scratch, type SpillColumn } from './spill.js';
import { passes } from './threshold.js';
import type { CountMatchOptions } from './threshold.js';
import type { Calibration, InstanceThreshold, LabeledTargets, RawImagePrediction, SelectionTask } from './types.js';
import { validateRawImagePrediction } from './validate.js';
import { calibrationWarnings } from './warnings.js';

/** A stream of raw predictions: any (async) iterable, e.g. infer's shard reader. */
export type PredictionSource = Iterable<RawImagePrediction> | AsyncIterable<RawImagePrediction>;

/** Options of {@link calibrate}. */
export interface CalibrateOptions extends CountMatchOptions {
  task: SelectionTask;
  /** Keypoint task: K. Defaults to the length of the first instance's keypoints / 3. */
  numKeypoints?: number;
  /**
   * Folder for the scratch files the scores are spilled to (8 bytes per score, removed at
   * the end); default the OS temp folder. The CLI uses the output folder.
   */
  scratchDir?: string;
  /**
   * Detection: `per-category` (default, the paper's rule: one threshold per category matching
   * that category's instances per image) or `shared` (one threshold over every category's
   * scores matching all instances per image; the ablation of the per-category rule).
   * Keypoints always use one threshold.
   */
  categoryThresholds?: CategoryThresholds;
}

/** How detection instance thresholds are chosen: one per category, or one for all. */
export type CategoryThresholds = 'per-category' | 'shared';
export const CATEGORY_THRESHOLDS: readonly CategoryThresholds[] = ['per-category', 'shared'];

/** Validates the targets for the task and returns them. */
export function validateTargets(targets: LabeledTargets, task: SelectionTask): LabeledTargets {
  if (typeof targets !== 'object' || targets === null) throw new OmniTypeError('targets', 'an object', targets);
  expectNonNegative(targets.instancesPerImage, 'targets.instancesPerImage');
  if (task === 'keypoints') {
    expectNonNegative(targets.keypointsPerInstance, 'targets.keypointsPerInstance');
  } else {
    if (!(targets.perCategory instanceof Map)) {
      throw new OmniTypeError('targets.perCategory', 'a Map from category id to instances per image (detection)', targets.perCategory);
    }
    for (const [id, v] of targets.perCategory) {
      expectInteger(id, `targets.perCategory key`, 0);
      expectNonNegative(v, `targets.perCategory.get(${id})`);
    }
  }
  return targets;
}

function expectNonNegative(value: unknown, path: string): number {
  const v = expectFiniteNumber(value, path);
  if (v < 0) throw new OmniRangeError(path, 'a number >= 0', v);
  return v;
}

/**
 * Every score of the source, spilled in one pass to scratch columns that count matching
 * scans (memory: one buffer per column, whatever the number of images).
 */
interface SpilledScores {
  images: number;
  /** All instances, every category. */
  instances: number;
  /** Detection: instance scores by category id. */
  byCategory: Map<number, SpillColumn>;
  /** Keypoint task: rows `[instance score, K keypoint scores]`; null until K is known. */
  keypoints: SpillColumn | null;
  numKeypoints: number;
}

async function spillScores(source: PredictionSource, task: SelectionTask, scratch: Scratch, numKeypoints?: number): Promise<SpilledScores> {
  const table: SpilledScores = { images: 0, instances: 0, byCategory: new Map(), keypoints: null, numKeypoints: numKeypoints ?? -1 };
  const ids = await ImageIdCheck.create(scratch);
  for await (const record of source) {
    const path = `predictions[${table.images}]`;
    if (task === 'keypoints' && table.numKeypoints < 0) table.numKeypoints = inferNumKeypoints(record, path);
    const pred = validateRawImagePrediction(record, path, task === 'keypoints' && table.numKeypoints >= 0 ? table.numKeypoints : undefined);
    await ids.add(pred.imageId, `${path}.imageId`);
    table.images++;
    for (const inst of pred.instances) {
      table.instances++;
      if (task === 'keypoints') {
        const rows = (table.keypoints ??= await scratch.column(1 + table.numKeypoints));
        rows.push(inst.score);
        for (let k = 0; k < table.numKeypoints; k++) rows.push(inst.keypoints![3 * k + 2]);
      } else {
        let column = table.byCategory.get(inst.categoryId);
        if (!column) table.byCategory.set(inst.categoryId, (column = await scratch.column(1)));
        column.push(inst.score);
      }
    }
    await table.keypoints?.flushIfFull();
    for (const column of table.byCategory.values()) await column.flushIfFull();
  }
  return table;
}

/**
 * Refuses a repeated image id. Sources in increasing id order (every source infer writes)
 * are checked against the previous id alone; the first id out of order loads the ids seen
 * so far (spilled) into a set, so only unordered sources pay memory per image.
 */
class ImageIdCheck {
  private last = -Infinity;
  private seen: Set<number> | null = null;
  private constructor(private readonly spilled: SpillColumn) {}

  static async create(scratch: Scratch): Promise<ImageIdCheck> {
    return new ImageIdCheck(await scratch.column(1));
  }

  async add(id: number, path: string): Promise<void> {
    if (this.seen === null && id <= this.last) {
      const seen = new Set<number>();
      await this.spilled.scanRows((rows, i) => void seen.add(rows[i]));
      this.seen = seen;
    }
    if (this.seen !== null) {
      if (this.seen.has(id)) throw new OmniRangeError(path, 'an image id not used by an earlier record', id);
      this.seen.add(id);
      return;
    }
    this.last = id;
    this.spilled.push(id);
    await this.spilled.flushIfFull();
  }
}

/** K from the first instance that carries keypoints (-1 while no instance has been seen). */
function inferNumKeypoints(record: unknown, path: string): number {
  const instances = (record as { instances?: unknown })?.instances;
  if (!Array.isArray(instances) || instances.length === 0) return -1;
  const kps = (instances[0] as { keypoints?: unknown })?.keypoints;
  if (!Array.isArray(kps) || kps.length === 0 || kps.length % 3 !== 0) {
    throw new OmniTypeError(`${path}.instances[0].keypoints`, 'a non-empty array of (x, y, score) triples', kps);
  }
  return kps.length / 3;
}

/**
 * Calibrates the selection thresholds on all raw predictions (one pass over `source`).
 *
 * - `keypoints`: one global instance threshold so kept instances per image match
 *   `targets.instancesPerImage`; then, over the kept instances, one keypoint-score
 *   threshold so kept keypoints per kept instance match `targets.keypointsPerInstance`.
 * - `detection`: one threshold per category so kept instances of that category per image
 *   match `targets.perCategory`. A category the labeled set lacks has target 0 (nothing
 *   kept); a labeled category without predictions is reported as `no-candidates`.
 *
 * Every image counts as a unit, including images with no prediction at all.
 */
export async function calibrate(source: PredictionSource, targets: LabeledTargets, options: CalibrateOptions): Promise<Calibration> {
  const task = expectOneOf(options?.task, 'options.task', ['keypoints', 'detection'] as const);
  validateTargets(targets, task);
  if (options.numKeypoints !== undefined) expectInteger(options.numKeypoints, 'options.numKeypoints', 1);
  const scratch = await Scratch.create(options.scratchDir);
  try {
    const table = await spillScores(source, task, scratch, options.numKeypoints);
    const curveOptions: CountMatchOptions = { curveSamples: options.curveSamples };
    const perCategory = task === 'detection' && expectOneOf(options.categoryThresholds ?? 'per-category', 'options.categoryThresholds', CATEGORY_THRESHOLDS) === 'per-category';
    const instanceThresholds = perCategory ? await perCategoryThresholds(table, targets, curveOptions) : [await globalThreshold(table, task, targets, curveOptions)];
    const totalKept = instanceThresholds.reduce((sum, t) => sum + t.kept, 0);
    const perImage = (count: number) => (table.images === 0 ? 0 : count / table.images);
    const calibration = {
      task,
      images: table.images,
      instanceThresholds,
      keypointThreshold: task === 'keypoints' ? await keypointThreshold(table, instanceThresholds[0], targets, curveOptions) : null,
      instancesPerImage: { target: targets.instancesPerImage, before: perImage(table.instances), after: perImage(totalKept) },
    };
    return { ...calibration, warnings: calibrationWarnings(calibration) };
  } finally {
    await scratch.dispose();
  }
}

/** The values of column 0 of a scratch column (none when the column was never made). */
function firstColumn(column: SpillColumn | null | undefined): ValueScan {
  return (visit) => column?.scanRows((rows, i) => visit(rows[i])) ?? Promise.resolve();
}

/** Every instance score of every category (detection), column after column. */
function allCategories(table: SpilledScores): ValueScan {
  return async (visit) => {
    for (const column of table.byCategory.values()) await firstColumn(column)(visit);
  };
}

/** One instance threshold over all instances (keypoints: their one category; detection `shared`: every category). */
function globalThreshold(table: SpilledScores, task: SelectionTask, targets: LabeledTargets, options: CountMatchOptions): Promise<InstanceThreshold> {
  const scores = task === 'keypoints' ? firstColumn(table.keypoints) : allCategories(table);
  return countMatchScan(scores, table.images, targets.instancesPerImage, options).then((choice) => ({ categoryId: null, ...choice }));
}

async function perCategoryThresholds(table: SpilledScores, targets: LabeledTargets, options: CountMatchOptions): Promise<InstanceThreshold[]> {
  const ids = [...new Set([...targets.perCategory!.keys(), ...table.byCategory.keys()])].sort((a, b) => a - b);
  const out: InstanceThreshold[] = [];
  for (const id of ids) {
    const choice = await countMatchScan(firstColumn(table.byCategory.get(id)), table.images, targets.perCategory!.get(id) ?? 0, options);
    out.push({ categoryId: id, ...choice });
  }
  return out;
}

/** Keypoint threshold over the keypoints of the instances kept by `instance`. */
async function keypointThreshold(table: SpilledScores, instance: InstanceThreshold, targets: LabeledTargets, options: CountMatchOptions) {
  const k = Math.max(table.numKeypoints, 0);
  const rows = table.keypoints;
  let keptInstances = 0;
  await rows?.scanRows((r, i) => {
    if (passes(r[i], instance.threshold)) keptInstances++;
  });
  const keptKeypoints: ValueScan = (visit) =>
    rows?.scanRows((r, i) => {
      if (!passes(r[i], instance.threshold)) return;
      for (let j = 1; j <= k; j++) visit(r[i + j]);
    }) ?? Promise.resolve();
  return countMatchScan(keptKeypoints, keptInstances, targets.keypointsPerInstance!, options);
}

// Pass 1 of selection: read every raw score once and calibrate the thresholds
// (REFERENCE.md §1 step 4).
import { OmniRangeError, OmniTypeError, expectFiniteNumber, expectInteger, expectOneOf } from '@omnidistill/core';
import { countMatchThreshold, passes } from './threshold.js';
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
}

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

/** Every instance score of the source, gathered in one pass. */
interface ScoreTable {
  images: number;
  instanceScores: number[];
  categoryIds: number[];
  /** Keypoint task: `K` scores per instance, instance-major. */
  keypointScores: number[];
  numKeypoints: number;
}

async function gatherScores(source: PredictionSource, task: SelectionTask, numKeypoints?: number): Promise<ScoreTable> {
  const table: ScoreTable = { images: 0, instanceScores: [], categoryIds: [], keypointScores: [], numKeypoints: numKeypoints ?? -1 };
  const seenIds = new Set<number>();
  for await (const record of source) {
    const path = `predictions[${table.images}]`;
    if (task === 'keypoints' && table.numKeypoints < 0) table.numKeypoints = inferNumKeypoints(record, path);
    const pred = validateRawImagePrediction(record, path, task === 'keypoints' && table.numKeypoints >= 0 ? table.numKeypoints : undefined);
    if (seenIds.has(pred.imageId)) throw new OmniRangeError(`${path}.imageId`, 'an image id not used by an earlier record', pred.imageId);
    seenIds.add(pred.imageId);
    table.images++;
    for (const inst of pred.instances) {
      table.instanceScores.push(inst.score);
      table.categoryIds.push(inst.categoryId);
      if (task === 'keypoints') {
        for (let k = 0; k < table.numKeypoints; k++) table.keypointScores.push(inst.keypoints![3 * k + 2]);
      }
    }
  }
  return table;
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
  const table = await gatherScores(source, task, options.numKeypoints);
  const curveOptions: CountMatchOptions = { curveSamples: options.curveSamples };
  const instanceThresholds = task === 'keypoints' ? [globalThreshold(table, targets, curveOptions)] : perCategoryThresholds(table, targets, curveOptions);
  const totalKept = instanceThresholds.reduce((sum, t) => sum + t.kept, 0);
  const perImage = (count: number) => (table.images === 0 ? 0 : count / table.images);
  const calibration = {
    task,
    images: table.images,
    instanceThresholds,
    keypointThreshold: task === 'keypoints' ? keypointThreshold(table, instanceThresholds[0], targets, curveOptions) : null,
    instancesPerImage: { target: targets.instancesPerImage, before: perImage(table.instanceScores.length), after: perImage(totalKept) },
  };
  return { ...calibration, warnings: calibrationWarnings(calibration) };
}

function globalThreshold(table: ScoreTable, targets: LabeledTargets, options: CountMatchOptions): InstanceThreshold {
  return { categoryId: null, ...countMatchThreshold(table.instanceScores, table.images, targets.instancesPerImage, options) };
}

function perCategoryThresholds(table: ScoreTable, targets: LabeledTargets, options: CountMatchOptions): InstanceThreshold[] {
  const byCategory = new Map<number, number[]>();
  for (const id of targets.perCategory!.keys()) byCategory.set(id, []);
  table.categoryIds.forEach((id, i) => {
    let scores = byCategory.get(id);
    if (!scores) byCategory.set(id, (scores = []));
    scores.push(table.instanceScores[i]);
  });
  return [...byCategory.keys()]
    .sort((a, b) => a - b)
    .map((id) => ({ categoryId: id, ...countMatchThreshold(byCategory.get(id)!, table.images, targets.perCategory!.get(id) ?? 0, options) }));
}

/** Keypoint threshold over the keypoints of the instances kept by `instance`. */
function keypointThreshold(table: ScoreTable, instance: InstanceThreshold, targets: LabeledTargets, options: CountMatchOptions) {
  const k = Math.max(table.numKeypoints, 0);
  const scores: number[] = [];
  let keptInstances = 0;
  table.instanceScores.forEach((s, i) => {
    if (!passes(s, instance.threshold)) return;
    keptInstances++;
    for (let j = 0; j < k; j++) scores.push(table.keypointScores[i * k + j]);
  });
  return countMatchThreshold(scores, keptInstances, targets.keypointsPerInstance!, options);
}

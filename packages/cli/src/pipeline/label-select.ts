// The global step of labeling: count-matched selection over a stream of raw predictions and
// the two files it writes. One code path for a single-process run and for `label merge`, so
// both write the same bytes from the same predictions.
import { readCocoDataset } from '@omnidistill/coco';
import { calibrate, targetsFromDataset, writeCalibrationRecord, writeGeneratedLabelsStreaming } from '@omnidistill/select';
import type { Calibration, GeneratedCounts, PredictionSource } from '@omnidistill/select';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';

/** The figures of a calibration that the demo table and the report show. */
export interface CalibrationSummary {
  instanceThresholds: { categoryId: number | null; threshold: number | null; status: string }[];
  keypointThreshold: number | null;
  instancesPerImage: { target: number; before: number; after: number };
  keypointsPerInstance?: { target: number; before: number; after: number };
  generatedImages: number;
  generatedInstances: number;
  /** Selection outcomes that are not a real count match (no predictions, tied scores). */
  warnings: string[];
}

/**
 * How kept instances and keypoints are chosen. `count-matched`: the paper's rule (REFERENCE.md
 * §1 step 4; detection: one threshold per category). `count-matched-shared`: detection, one
 * count-matched threshold over all categories together (the same as `count-matched` for
 * keypoints, which have one category). `fixed`: one score threshold for instances and
 * keypoints alike (a common hand-picked default). `none`: every prediction the teacher made is kept.
 */
export type SelectionRule = { kind: 'count-matched' } | { kind: 'count-matched-shared' } | { kind: 'fixed'; threshold: number } | { kind: 'none' };

/** The rule's name in file names and tables: `count-matched`, `count-matched-shared`, `fixed-0.5`, `none`. */
export function selectionRuleName(rule: SelectionRule): string {
  return rule.kind === 'fixed' ? `fixed-${rule.threshold}` : rule.kind;
}

/**
 * The calibration with the rule's thresholds in place of the count-matched ones (the
 * curves and targets stay, so the report still shows where count matching would be).
 * Scores are probabilities in [0, 1], so threshold 0 keeps every prediction.
 */
function applyRule(calibration: Calibration, rule: SelectionRule): Calibration {
  if (rule.kind === 'count-matched' || rule.kind === 'count-matched-shared') return calibration;
  const threshold = rule.kind === 'fixed' ? rule.threshold : 0;
  return {
    ...calibration,
    instanceThresholds: calibration.instanceThresholds.map((t) => ({ ...t, threshold })),
    keypointThreshold: calibration.keypointThreshold ? { ...calibration.keypointThreshold, threshold } : null,
  };
}

/** What selection needs besides the predictions. */
export interface SelectionInputs {
  task: 'keypoints' | 'detection';
  /** The labeled COCO file whose statistics are matched (and whose categories are written). */
  labeled: string;
  /** Keypoint task: K. */
  numKeypoints?: number;
  /** Default count-matched. */
  rule?: SelectionRule;
}

export interface SelectionOutput {
  generated: string;
  calibration: string;
  summary: CalibrationSummary;
}

/**
 * Calibrates on every prediction of `openSource()` (opened twice: calibration, then
 * generation), writes `outDir/generated.json` and `outDir/calibration.json`.
 */
export async function writeSelection(openSource: () => PredictionSource, inputs: SelectionInputs, outDir: string): Promise<SelectionOutput> {
  const labeled = await readCocoDataset(inputs.labeled);
  const options = {
    task: inputs.task,
    categories: labeled.categories,
    ...(inputs.numKeypoints !== undefined ? { numKeypoints: inputs.numKeypoints } : {}),
  };
  const rule = inputs.rule ?? { kind: 'count-matched' };
  // Scores are spilled next to the outputs (the folder has room for the predictions), not to /tmp;
  // the folder may not exist yet when a caller (an experiment variant) selects into a new one.
  await mkdir(outDir, { recursive: true });
  const categoryThresholds = rule.kind === 'count-matched-shared' ? 'shared' : 'per-category';
  const calibration = applyRule(await calibrate(openSource(), targetsFromDataset(labeled), { ...options, scratchDir: outDir, categoryThresholds }), rule);
  const generated = join(outDir, 'generated.json');
  const calibrationPath = join(outDir, 'calibration.json');
  // Streamed: the generated dataset is written while it is selected, never held whole.
  const counts = await writeGeneratedLabelsStreaming(generated, openSource, calibration, options);
  await writeCalibrationRecord(calibrationPath, calibration);
  const summary = summarise(calibration, counts);
  // A fixed or no threshold keeps other counts than the calibration's: report what was written.
  if (rule.kind === 'fixed' || rule.kind === 'none') {
    summary.instancesPerImage = { ...summary.instancesPerImage, after: calibration.images === 0 ? 0 : counts.annotations / calibration.images };
    if (summary.keypointsPerInstance) summary.keypointsPerInstance = { ...summary.keypointsPerInstance, after: await keptKeypointsPerInstance(generated) };
  }
  return { generated, calibration: calibrationPath, summary };
}

/** Labeled keypoints (v > 0) per annotation of a written generated-labels file. */
async function keptKeypointsPerInstance(file: string): Promise<number> {
  const { annotations } = await readCocoDataset(file);
  let kept = 0;
  for (const a of annotations) for (let j = 2; j < (a.keypoints?.length ?? 0); j += 3) if (a.keypoints![j] > 0) kept++;
  return annotations.length === 0 ? 0 : kept / annotations.length;
}

export function emptySummary(): CalibrationSummary {
  return { instanceThresholds: [], keypointThreshold: null, instancesPerImage: { target: 0, before: 0, after: 0 }, generatedImages: 0, generatedInstances: 0, warnings: [] };
}

function summarise(calibration: Calibration, counts: GeneratedCounts): CalibrationSummary {
  const k = calibration.keypointThreshold;
  return {
    instanceThresholds: calibration.instanceThresholds.map((t) => ({ categoryId: t.categoryId, threshold: t.threshold, status: t.status })),
    keypointThreshold: k?.threshold ?? null,
    instancesPerImage: calibration.instancesPerImage,
    ...(k ? { keypointsPerInstance: { target: k.target, before: k.before, after: k.after } } : {}),
    generatedImages: counts.images,
    generatedInstances: counts.annotations,
    warnings: calibration.warnings,
  };
}

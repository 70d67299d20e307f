// The global step of labeling: count-matched selection over a stream of raw predictions and
// the two files it writes. One code path for a single-process run and for `label merge`, so
// both write the same bytes from the same predictions.
import { readCocoDataset } from '@omnidistill/coco';
import { calibrate, targetsFromDataset, writeCalibrationRecord, writeGeneratedLabelsStreaming } from '@omnidistill/select';
import type { Calibration, GeneratedCounts, PredictionSource } from '@omnidistill/select';
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

/** What selection needs besides the predictions. */
export interface SelectionInputs {
  task: 'keypoints' | 'detection';
  /** The labeled COCO file whose statistics are matched (and whose categories are written). */
  labeled: string;
  /** Keypoint task: K. */
  numKeypoints?: number;
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
  const calibration = await calibrate(openSource(), targetsFromDataset(labeled), options);
  const generated = join(outDir, 'generated.json');
  const calibrationPath = join(outDir, 'calibration.json');
  // Streamed: the generated dataset is written while it is selected, never held whole.
  const counts = await writeGeneratedLabelsStreaming(generated, openSource, calibration, options);
  await writeCalibrationRecord(calibrationPath, calibration);
  return { generated, calibration: calibrationPath, summary: summarise(calibration, counts) };
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

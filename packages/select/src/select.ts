// Both passes of selection in one call, for callers that can open the predictions twice.
import { calibrate } from './calibrate.js';
import type { CalibrateOptions, PredictionSource } from './calibrate.js';
import type { GeneratedDataset } from './coco-shape.js';
import { generateLabels } from './generate.js';
import type { GenerateOptions } from './generate.js';
import type { Calibration, LabeledTargets } from './types.js';

export type SelectOptions = CalibrateOptions & GenerateOptions;

export interface SelectionResult {
  dataset: GeneratedDataset;
  calibration: Calibration;
}

/**
 * Calibrates on all raw predictions, then generates the labels. `openSource` is called
 * twice (once per pass), so predictions larger than memory stream from disk both times.
 *
 * @example
 * const { dataset, calibration } = await selectLabels(() => readPredictions(dir), targetsFromDataset(labeled),
 *   { task: 'keypoints', categories: labeled.categories });
 */
export async function selectLabels(
  openSource: () => PredictionSource,
  targets: LabeledTargets,
  options: SelectOptions,
): Promise<SelectionResult> {
  const calibration = await calibrate(openSource(), targets, options);
  const dataset = await generateLabels(openSource(), calibration, options);
  return { dataset, calibration };
}

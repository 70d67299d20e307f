// Count-matched confidence thresholds and generated-label writing.
export { countMatchThreshold, passes } from './threshold.js';
export type { CountMatchOptions } from './threshold.js';
export { countMatchScan } from './count-match-scan.js';
export { arrayScan, kthLargest } from './order-statistic.js';
export type { RankedValue, ValueScan } from './order-statistic.js';
export { calibrate, validateTargets, CATEGORY_THRESHOLDS } from './calibrate.js';
export type { CalibrateOptions, CategoryThresholds, PredictionSource } from './calibrate.js';
export { generateLabels, writeGeneratedLabelsStreaming } from './generate.js';
export type { GenerateOptions, GeneratedCounts } from './generate.js';
export { selectLabels } from './select.js';
export type { SelectOptions, SelectionResult } from './select.js';
export { targetsFromDataset, targetsFromStatistics } from './targets.js';
export { toCocoResults } from './results.js';
export type { ResultsOptions } from './results.js';
export { validateRawImagePrediction } from './validate.js';
export { calibrationWarnings } from './warnings.js';
export { writeGeneratedLabels, writeCalibrationRecord } from './write.js';
export type {
  RawInstance,
  RawImagePrediction,
  SelectionTask,
  LabeledTargets,
  ThresholdStatus,
  ThresholdCurve,
  ThresholdChoice,
  InstanceThreshold,
  Calibration,
} from './types.js';
export type { GeneratedAnnotation, GeneratedDataset } from './coco-shape.js';

// COCO dataset/results types, validated streaming IO and an exact COCOeval for boxes and keypoints.
export type { CocoBox, CocoImage, CocoCategory, CocoAnnotation, CocoDataset, CocoResult, IouType } from './types.js';
export { validateDataset, validateResults, CocoValidationError } from './validate.js';
export type { CocoProblem, ResultsRequirements } from './validate.js';
export { createParams, linspace, COCO_PERSON_OKS_SIGMAS } from './params.js';
export type { EvalParams } from './params.js';
export type { CocoEvalResult } from './eval-types.js';
export { evaluateReference } from './eval-reference.js';
export { evaluate } from './eval.js';
export { summarize, perCategoryAP, formatFixed3 } from './summarize.js';
export type { CocoSummary, CategoryAP } from './summarize.js';
export { readCocoDataset, readCocoResults, writeCocoDataset, writeCocoResults, WHOLE_TEXT_LIMIT_BYTES } from './io.js';
export type { ReadOptions } from './io.js';
export { writeAtomically, writeFileAtomic, writeFully } from './atomic.js';
export type { Push, WriteTarget } from './atomic.js';
export { datasetStatistics } from './stats.js';
export type { DatasetStatistics, CategoryStatistics, CountDistribution } from './stats.js';
export { TopLevelSplitter, JsonSplitError } from './json-split.js';
export type { SplitSink } from './json-split.js';

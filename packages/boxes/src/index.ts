// IoU, the NMS family (hard, batched, soft, OKS), box voting, weighted boxes fusion,
// non-maximum weighted and the detection-distillation merge, on typed arrays.
export { iouMatrix } from './iou.js';
export type { IouOptions } from './iou.js';
export { nms, batchedNms, NMS_STRATEGIES, GRID_MIN_BOXES } from './nms.js';
export type { NmsOptions, NmsStrategy } from './nms.js';
export { softNms } from './softnms.js';
export type { SoftNmsOptions, SoftNmsResult } from './softnms.js';
export { boxVoting, VOTE_SCORINGS } from './voting.js';
export type { VotingOptions, VoteScoring, ScoredBoxes, VotedBoxes } from './voting.js';
export { weightedBoxesFusion, WBF_CONFIDENCE_TYPES } from './wbf.js';
export type { WbfOptions, WbfConfidence } from './wbf.js';
export { nonMaximumWeighted } from './nmw.js';
export type { NmwOptions } from './nmw.js';
export type { FusedDetections } from './prepare.js';
export { oksNms, oksPair } from './oks.js';
export type { OksNmsOptions, KeypointInstances } from './oks.js';
export { mergeDetections } from './merge.js';
export type { MergeOptions, MergedDetections, TransformDetections } from './merge.js';
export type { DescendingSort } from './tieorder.js';
export { nmsReference, batchedNmsReference, mergeDetectionsReference } from './reference.js';
export type { MergeReferenceOptions } from './reference.js';

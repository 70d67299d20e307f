// IoU, the NMS family (hard, batched, soft, OKS), box voting, weighted boxes fusion,
// non-maximum weighted and the detection-distillation merge, on typed arrays (plain
// number[][] accepted). One convention: f(detections, options) — the detections first (one
// { boxes, scores, labels? } set, or an array of them, one per model/transform), then one
// options object holding everything else (thresholds, the image size, which boxes to refine).
export { iouMatrix } from './iou.js';
export type { IouOptions } from './iou.js';
export { nms, batchedNms, NMS_STRATEGIES, GRID_MIN_BOXES } from './nms.js';
export type { NmsOptions, NmsStrategy } from './nms.js';
export { softNms } from './softnms.js';
export type { SoftNmsOptions, SoftNmsResult } from './softnms.js';
export { boxVoting, VOTE_SCORINGS } from './voting.js';
export type { BoxVotingOptions, VotingOptions, VoteScoring, ScoredBoxes, VotedBoxes } from './voting.js';
export { weightedBoxesFusion, WBF_CONFIDENCE_TYPES } from './wbf.js';
export type { WbfOptions, WbfConfidence } from './wbf.js';
export { nonMaximumWeighted } from './nmw.js';
export type { NmwOptions } from './nmw.js';
export type { FusedDetections, FusionOptions } from './prepare.js';
export { oksNms, oksPair } from './oks.js';
export type { OksNmsOptions, KeypointInstances } from './oks.js';
export { mergeDetections } from './merge.js';
export type { MergeOptions, MergedDetections, TransformDetections, TransformDetectionsInput } from './merge.js';
export { TIE_ORDERS } from './tieorder.js';
export type { DescendingSort, TieOrder } from './tieorder.js';
export { numpyArgsort, numpyArgsortDesc } from './numpy-argsort.js';
export type { BoxesInput, ScoresInput, LabelsInput, ScoredBoxesInput, DetectionsInput } from './inputs.js';
export { PIXEL_CONVENTIONS } from '@omnidistill/transforms';
export type { PixelConvention } from '@omnidistill/transforms';
export type { PixelConventionInput } from './validate.js';
export { nmsReference, batchedNmsReference, mergeDetectionsReference } from './reference.js';
export type { MergeReferenceOptions } from './reference.js';

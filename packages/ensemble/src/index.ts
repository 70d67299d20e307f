// Heatmap ensembling across transforms and Mask R-CNN keypoint decoding (TS reference + native backends).
export { ensembleHeatmaps, decodeHeatmaps, ensembleAndDecode } from './api.js';
export type { RunOptions, EnsembleResult, DecodeResult } from './api.js';
export { backends, selectBackend, BackendUnavailableError, BACKEND_PRIORITY } from './backends.js';
export type { Backend, BackendRequest, BackendStatus, BackendSelection } from './backends.js';
export { referenceEnsemble, referenceDecode, referenceEnsembleAndDecode, cubicAxis } from './reference.js';
export type { DecodedKeypoints } from './reference.js';
export { checkEnsemble, checkDecode, checkBatch, checkRois, MAX_ROI_SIDE } from './validate.js';
export type { EnsembleOptions, DecodeOptions, EnsembleMode, EnsembleJob, DecodeJob } from './validate.js';

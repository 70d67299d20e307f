// onnxruntime-node sessions, model manifests, image decoding and multi-transform inference.
export { MANIFEST_FORMAT, MANIFEST_VERSION, RESIZE_KERNELS, parseManifest, loadManifest } from './manifest.js';
export type { ModelRole, ResizeKernel, PixelSpec, KeypointSpec, DetectorManifest, KeypointManifest, ModelManifest } from './manifest.js';
export { createModelSession, checkSession, defaultThreads } from './session.js';
export type { Dim, TensorSignature, ModelSession, DetectorSession, KeypointSession, SessionOptions } from './session.js';
export { SUPPORTED_FORMATS, decodeImage, resizeImage, inputSizeFor, toInputTensor } from './image.js';
export type { DecodedImage, DecodeResult, ImageFailure, ImageFailureReason } from './image.js';
export { prepareInput, runDetector, runKeypointModel } from './run-model.js';
export type { RawDetections } from './run-model.js';
export { predictKeypoints, defaultEnsemble, detectRois, detectAllTransforms, predictDetections, isSinglePass } from './multi.js';
export type {
  EnsembleAndDecode,
  EnsembleRequest,
  KeypointInferenceOptions,
  DetectionInferenceOptions,
  RoiOptions,
  Rois,
} from './multi.js';
export { keypointPredictor, detectionPredictor } from './predictor.js';
export type { RoiSource, ImagePredictor } from './predictor.js';
export { runInference, defaultConcurrency, listImages, IMAGE_EXTENSIONS } from './runner.js';
export type { RunOptions, RunProgress, RunEvent, RunSummary } from './runner.js';
export { readPredictions, readSkipped, readRunManifest, runFingerprint, shardFileName, hashImageList, RUN_MANIFEST } from './shards.js';
export type { ImageEntry, SkippedImage, ShardLine, RunManifest, RunPartition } from './shards.js';

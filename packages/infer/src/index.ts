// onnxruntime-node sessions, model manifests, image decoding and multi-transform inference.
export { MANIFEST_FORMAT, MANIFEST_VERSION, RESIZE_KERNELS, parseManifest, loadManifest } from './manifest.js';
export type { ModelRole, ResizeKernel, PixelSpec, KeypointSpec, DetectorManifest, KeypointManifest, ModelManifest, TensorNames } from './manifest.js';
export { LAYOUTS, LAYOUT_NAMES, DEFAULT_LAYOUT, layoutAdapter, layoutOf } from './layouts/index.js';
export type { LayoutName } from './layouts/index.js';
export type {
  LayoutAdapter,
  Layout,
  LayoutTraits,
  LayoutOptions,
  YoloOptions,
  CropOptions,
  TensorExpectation,
  TensorRoles,
  RegressedInstances,
  KeypointRunner,
} from './layouts/types.js';
export { createModelSession, checkSession, defaultThreads, modelThreadByDefault, withStageClock } from './session.js';
export { STAGES, StageClock, timeStage } from './stage-clock.js';
export type { Stage, StageTimes } from './stage-clock.js';
export type { Dim, TensorSignature, ModelSession, DetectorSession, KeypointSession, SessionOptions } from './session.js';
export { SUPPORTED_FORMATS, DEFAULT_MAX_PIXELS, IMAGE_FAILURE_REASONS, decodeImage, resizeImage, inputSizeFor, toInputTensor } from './image.js';
export type { DecodedImage, DecodeResult, DecodeOptions, ImageFailure, ImageFailureReason } from './image.js';
export { hashFile, imageIdentity, containedPath, findEscapingImage } from './integrity.js';
export { lockDirectory, DirLockedError, LOCK_FILE } from './lock.js';
export type { DirLock, LockHolder } from './lock.js';
export type { ShardRecord } from './integrity.js';
export { prepareInput, withInput, runDetector, runKeypointModel } from './run-model.js';
export type { RawDetections } from './run-model.js';
export { predictKeypoints, keypointRunner, detectOnce, detectRois, detectAllTransforms, predictDetections, isSinglePass, transformBatchNote, probeTransformBatch } from './multi.js';
export type { DetectionInferenceOptions, RoiOptions, Rois } from './multi.js';
export { defaultEnsemble } from './keypoint-options.js';
export type { EnsembleAndDecode, EnsembleRequest, KeypointInferenceOptions } from './keypoint-options.js';
export { predictRegressedKeypoints, fuseInstances } from './regressed.js';
export type { RegressedInferenceOptions, KeypointInstances } from './regressed.js';
export { InputCanvas } from './sampling.js';
export type { AxisMap, OutputWindow, Border } from './sampling.js';
export { CROP_BATCH, cropFrame, cropMap } from './person-crop.js';
export { MAX_TRANSFORM_BATCH, transformBatchOf, batchRefusal, isBatchShapeFailure, BatchShapeError, consecutiveBatches } from './transform-batch.js';
export type { CropFrame } from './person-crop.js';
export { letterbox } from './layouts/yolo.js';
export type { Letterbox } from './layouts/yolo.js';
export { keypointPredictor, detectionPredictor } from './predictor.js';
export type { RoiSource, ImagePredictor } from './predictor.js';
export { runInference, defaultConcurrency, DEFAULT_PREFETCH, listImages, IMAGE_EXTENSIONS, RunMismatchError } from './runner.js';
export type { RunOptions, RunProgress, RunEvent, RunSummary } from './runner.js';
export { readPredictions, readSkipped, summariseSkipped, readRunManifest, runFingerprint, shardFileName, hashImageList, RUN_MANIFEST, CHUNK_JOURNAL, DamagedRunFileError } from './shards.js';
export type { ImageEntry, SkippedImage, SkippedSummary, ShardLine, RunManifest, RunHeader, ChunkEntry, RunPartition } from './shards.js';
export { modelInfo, fixedInputSize } from './model-info.js';
export type { ModelInfo, TensorInfo, RoiAlignInfo, InputResizeInfo } from './model-info.js';
export { guessLayout, LAYOUT_RECOGNISERS } from './layout-guess.js';
export type { LayoutGuess } from './layout-guess.js';
export {
  IMAGE_MANIFEST,
  SHARD_DONE,
  SHARDS_DIR,
  ShardPlanError,
  freezeImageList,
  freezeImageManifest,
  freezeImageStream,
  shardDir,
  writeShardDone,
  readShardDone,
  countShard,
  checkShards,
  mergeByImageId,
  sha256,
} from './shard-plan.js';
export type { FrozenImageList, FrozenImageFile, ShardDone, CheckedShards } from './shard-plan.js';
export { arrayImageList, readImageLines, sortImagesById } from './image-list.js';
export type { ImageList } from './image-list.js';

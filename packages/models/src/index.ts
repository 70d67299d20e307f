// Reference teacher/student architectures (keypoints, detector) built with @omnidistill/artifacts.
export { ParamInit, convBnRelu, convBias, reshapeKeep, dimOf, rangeOf } from './layers.js';
export type { ConvSpec } from './layers.js';
export { roiAlign, roiAlignReference } from './roi-align.js';
export type { RoiAlignOptions } from './roi-align.js';
export {
  defineKeypointModel,
  resolveKeypointConfig,
  DEFAULT_KEYPOINT_BACKBONE,
  KEYPOINT_TENSORS,
  KEYPOINT_FEATURE_STRIDE,
  unshuffledCellIndex,
} from './keypoint-model.js';
export type { KeypointModelConfig, KeypointGraphShape } from './keypoint-model.js';
export { keypointTargets, writeKeypointTargets, writeKeypointTargetsRect } from './keypoint-targets.js';
export type { KeypointTargets } from './keypoint-targets.js';
export { loadCocoSource, decodeRgb, ImageWriter, DEFAULT_PIXELS } from './data.js';
export type { CocoSource, LoadedImage, LoadedDataset, PixelNormalisation } from './data.js';
export { exportDynamicModel, keypointManifest, detectorManifest, manifestPixels, writeModel } from './export.js';
export { KeypointBatchBuilder, trainKeypointModel, exportKeypointModel, inputSizeOf } from './keypoint-train.js';
export { DEFAULT_CHECKPOINT_SECONDS } from './run-training.js';
export { perturbStrongly, PERTURBATIONS } from './perturb.js';
export type { Perturbation } from './perturb.js';
export type { SharedTrainOptions } from './run-training.js';
export type { KeypointBatchOptions, TrainKeypointOptions, TrainedModel } from './keypoint-train.js';
export { evaluateKeypointModel, inputTensor } from './evaluate.js';
export type { EvaluationResult, EvaluateOptions } from './evaluate.js';
export { defineDetector, resolveDetectorConfig, detectorFeatureSize, DETECTOR_TENSORS, DETECTOR_STRIDE } from './detector-model.js';
export type { DetectorConfig, DetectorGraphShape } from './detector-model.js';
export { trainDetector, evaluateDetector, exportDetector, DetectorBatchBuilder, gaussianRadius, writeDetectorTargets, labeledBoxes } from './detector-train.js';
export type { TrainDetectorOptions, LabeledBox } from './detector-train.js';
export { trainOnnxStudent, TopDownBatchBuilder, heatmapTargets, simccTargets, loadOnnxModel, cropSizeOf, reinitialised } from './onnx-student.js';
export type { DetectorStudentSpec } from './onnx-detector-student.js';
export { YoloBatchBuilder, writeYoloTargets } from './onnx-yolo-student.js';
export type { YoloStudentSpec, YoloTargetPlanes } from './onnx-yolo-student.js';
export { defaultBatchNormMode, hasInitialBatchNormStatistics } from './batch-norm-default.js';
export { CROP_AUGMENTATION_DEFAULTS, CROP_AUGMENTATION_PRESETS, MMPOSE_CROP_AUGMENTATION, NO_CROP_AUGMENTATION, resolveCropAugmentation, sampleCropPose, cropToImage, invertAffine, keypointsInCrop } from './crop-augment.js';
export type { CropAugmentation, CropPose, CropSize, Affine } from './crop-augment.js';
export type { TrainOnnxStudentOptions, TopDownStudentSpec, RoisStudentSpec, SimccStudentSpec, StudentSpec, StudentPixels, CropTargets } from './onnx-student.js';

// ONNX graph builder, reverse-mode autodiff and ONNX Runtime training-artifact writer.
export { GraphBuilder } from './graph.js';
export type {
  Value,
  Phase,
  Lowering,
  ParamInfo,
  GraphBuilderOptions,
  ConvOptions,
  ConvTransposeOptions,
  PoolOptions,
  ResizeOptions,
  BatchNormOptions,
  NodeMeta,
} from './graph.js';
export { encodeModel, DTYPE_CODE } from './onnx.js';
export { nchwcConvolutions, NCHWC_DOMAIN } from './nchwc.js';
export type { DType, ModelDef, NodeDef, TensorData, ValueInfo, AttributeValue, TensorType, SequenceType, OpsetImport } from './onnx.js';
export { numel, broadcastShapes } from './shapes.js';
export { attr } from './graph.js';
export { buildGradients, unbroadcast, interpolationMatrix, DIFFERENTIABLE_OPS, IM2COL_MAX_ELEMENTS, DEFAULT_CONV_WEIGHT_GRADIENT } from './autodiff.js';
export type { GradientOptions, ConvWeightGradient } from './autodiff.js';
export { spatialSoftmaxCrossEntropy, softLabelCrossEntropy, mseLoss, l1Loss, smoothL1Loss, sigmoidFocalLoss } from './losses.js';
export type { FocalLossOptions } from './losses.js';
export { centerNetLoss, centerNetFocalLoss, CENTERNET_TARGETS } from './centernet-loss.js';
export type { CenterNetLossOptions } from './centernet-loss.js';
export { yoloLoss, yoloAnchorGrid, generalizedIou, YOLO_TARGETS } from './yolo-loss.js';
export type { YoloLossOptions, YoloAnchorGrid, YoloScores } from './yolo-loss.js';
export { instantiate, buildGradientGraph, gradientModel, gradientOutputName } from './gradient-graph.js';
export type { ModelParts, ModelDefinition, GradientGraph } from './gradient-graph.js';
export { writeCheckpoint, readCheckpoint, validateCheckpoint, CHECKPOINT_VERSION } from './checkpoint.js';
export type { CheckpointState, CheckpointTensor, OptimizerGroupState, ParameterOptimizerState } from './checkpoint.js';
export { resolveSchedule, learningRateFactor, emitScheduleFactor } from './schedule.js';
export type { LearningRateSchedule, ResolvedSchedule } from './schedule.js';
export { resolveOptimizer, effectiveLearningRate, ortOptimizerModel, ORT_FED_LEARNING_RATE } from './optimizer.js';
export type { OptimizerConfig, AdamWConfig, SgdConfig, ResolvedAdamW, ResolvedSgd } from './optimizer.js';
export { buildTrainingArtifacts, validateArtifactGraphs, LAZY_RESET_GRAD } from './artifacts.js';
export type { TrainingArtifacts, TrainingArtifactsOptions, ArtifactParam } from './artifacts.js';
export { buildTrainingStep, updatedName, STEP_INPUT, LEARNING_RATE_OUTPUT } from './step.js';
export type { TrainingStepModel, TrainingStepOptions, StateTensor, StepSection } from './step.js';
export { decodeOnnxModel, defaultOpset, feedInputs, allNodes, tensorValues, OnnxReadError, ONNX_DTYPE_NAMES } from './onnx-read.js';
export type { ReadModel, ReadGraph, ReadNode, ReadAttribute, ReadTensor, ReadValueInfo, ReadType, ReadDim } from './onnx-read.js';
export { importOnnxGraph, resolveInputShapes, checkImportable, nodesFor, namePattern, IMPORT_OPSETS } from './onnx-import.js';
export type { ImportOptions, ImportedGraph } from './onnx-import.js';
export { OnnxImportError, tensorData } from './onnx-tensor.js';
export { SUPPORTED_OPS as IMPORTABLE_OPS } from './ops/index.js';
export type { OpImporter, OpContext, OpOutput, Folded, BatchNormMode } from './ops/index.js';
export { replaceInitializers } from './onnx-reweight.js';
export { studentDefinition, lossTensors, lossTargetInputs, centerNetHeads, HEATMAP_TARGET_INPUT, HEATMAP_WEIGHT_INPUT, SIMCC_TARGET_X_INPUT, SIMCC_TARGET_Y_INPUT, SIMCC_WEIGHT_INPUT } from './onnx-student.js';
export type { StudentLoss, StudentOptions, CenterNetHeads } from './onnx-student.js';

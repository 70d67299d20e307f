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
export type { DType, ModelDef, NodeDef, TensorData, ValueInfo, AttributeValue, TensorType, SequenceType, OpsetImport } from './onnx.js';
export { numel, broadcastShapes } from './shapes.js';

// Training engines over generated ORT artifacts: loop, mixed-source sampler, checkpoints, export.
export { Rng } from './rng.js';
export type { RngState } from './rng.js';
export { MixedSourceSampler, DEFAULT_LABELED_PROBABILITY, rhoMix, rhoIterations } from './sampler.js';
export type { SampleSource, SampleRef, MixedSamplerOptions, MixedSamplerState, SourceCursor } from './sampler.js';
export { checkFeed } from './engine.js';
export type {
  EngineName,
  EngineInfo,
  EngineState,
  FeedData,
  FeedTensor,
  Feeds,
  ParameterSpec,
  StepResult,
  TrainingEngine,
} from './engine.js';
export { createNativeEngine, nativeProviderAvailability, spinningFromEnvironment } from './native-engine.js';
export type { NativeStepArtifacts, NativeStateSlot, NativeEngineOptions, NativeProvider } from './native-engine.js';
export {
  loadWasmTrainingRuntime,
  resolveOrtWebDist,
  describeWasmException,
  canDecodeWasmExceptions,
  stackFreeWorkaroundInstalled,
  toWasmRuntimeError,
  callWasm,
  WasmRuntimeError,
  ORT_WEB_TRAINING_VERSION,
} from './ort-web.js';
export type { WasmTrainingRuntime, WasmRuntimeOptions, OrtWebModule } from './ort-web.js';
export { saveCheckpoint, loadCheckpoint, latestCheckpoint, checkIdentity, CheckpointMismatchError } from './checkpoint.js';
export type { TrainingCheckpoint, CheckpointIdentity, IdentityChange } from './checkpoint.js';
export { trainLoop, formatProgress, printProgress, TrainingDivergedError, TrainingInterruptedError } from './loop.js';
export type { TrainLoopOptions, TrainProgress, TrainResult, TrainTiming, CheckpointOptions } from './loop.js';
export { createWasmEngine } from './wasm-engine.js';
export type { WasmTrainingArtifacts, WasmEngineOptions } from './wasm-engine.js';
export { exportInferenceModel, evalModelWithParameterInputs } from './export.js';
export type { ExportOptions } from './export.js';
export { profileNativeStep } from './profile.js';
export type { NativeStepProfile, NodeTime, OpTime, ProfileOptions } from './profile.js';
export { engineFactory, wasmTrainingArtifacts, nativeStepArtifacts, learningRateOf, nchwcFromEnvironment, weightGradConvFromEnvironment } from './setup.js';
export type { TrainingSetup, EngineChoice, EngineFactoryOptions, NativeStepOptions } from './setup.js';
export { nchwcBlockSize } from './nchwc-probe.js';

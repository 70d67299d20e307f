// From one model definition and one training setup (optimizer + schedule) to either engine:
// the ORT training artifacts for 'wasm', the standard-op step for 'native', and an engine
// factory that picks explicitly or walks the priority list (native first), reporting every
// engine it could not use.

import {
  STEP_INPUT,
  buildTrainingArtifacts,
  buildTrainingStep,
  effectiveLearningRate,
  writeCheckpoint,
  encodeModel,
  ortOptimizerModel,
  ORT_FED_LEARNING_RATE,
  type GradientOptions,
  type LearningRateSchedule,
  type Lowering,
  type ModelDefinition,
  type OptimizerConfig,
} from '@omnidistill/artifacts';
import { OmniRangeError, expectInteger, expectOneOf } from '@omnidistill/core';
import type { EngineName, EngineState, ParameterSpec, TrainingEngine } from './engine.js';
import { evalModelWithParameterInputs } from './export.js';
import { createNativeEngine, nativeProviderAvailability, type NativeProvider, type NativeStateSlot, type NativeStepArtifacts } from './native-engine.js';
import { nchwcBlockSize } from './nchwc-probe.js';
import { createWasmEngine, type WasmTrainingArtifacts } from './wasm-engine.js';

/** How a model is trained: optimizer, learning-rate schedule, gradient lowering of the wasm graphs. */
export interface TrainingSetup {
  readonly optimizer: OptimizerConfig;
  readonly schedule: LearningRateSchedule;
  /** Gradient lowering of the wasm training graph (default 'ort': ORT's grad kernels, faster there). */
  readonly lowering?: Lowering;
}

/**
 * The wasm engine's artifacts for `define`. `resumeStep` > 0 makes the optimizer model continue
 * the schedule from that step (the session itself restarts its optimizer; see the README).
 */
export function wasmTrainingArtifacts(define: ModelDefinition, setup: TrainingSetup, resumeStep = 0): WasmTrainingArtifacts {
  expectInteger(resumeStep, 'resumeStep', 0);
  const a = buildTrainingArtifacts(define, { optimizer: setup.optimizer, schedule: setup.schedule, lowering: setup.lowering ?? 'ort' });
  const loss = 'loss';
  if (!a.trainOutputs.includes(loss)) throw new OmniRangeError('artifacts.trainOutputs', 'an output named "loss"', a.trainOutputs.join(', '));
  return {
    checkpoint: a.checkpoint,
    trainingModel: a.trainingModel,
    evalModel: a.evalModel,
    optimizerModel: resumeStep > 0 ? encodeModel(ortOptimizerModel(setup.optimizer, setup.schedule, { stepOffset: resumeStep }).toModel()) : a.optimizerModel,
    parameters: a.params,
    userInputs: Object.fromEntries(a.trainInputs.map((i) => [i.name, i.shape])),
    evalUserInputs: a.evalInputs.map((i) => i.name),
    lossOutput: loss,
  };
}

const ROLE: Record<string, NativeStateSlot['role']> = { param: 'param', 'running-stat': 'param', momentum0: 'm', momentum1: 'v' };

/**
 * The native engine's artifacts for `define`: @omnidistill/artifacts' standard-op training step
 * (forward, backward, schedule, optimizer update) and the eval graph with parameters as inputs.
 */
export function nativeStepArtifacts(define: ModelDefinition, setup: TrainingSetup, options: NativeStepOptions = {}): NativeStepArtifacts {
  const nchwcBlock = options.nchwcBlock ?? 0;
  // Weight gradients as convolutions pay only as NCHWc Convs (see GradientOptions.convWeightGradient).
  const convWeightGradient = options.gradient?.convWeightGradient ?? (nchwcBlock > 0 && weightGradConvFromEnvironment() ? 'conv' : 'classic');
  const step = buildTrainingStep(define, {
    optimizer: setup.optimizer,
    schedule: setup.schedule,
    ...(nchwcBlock > 0 ? { nchwcBlock } : {}),
    gradient: { ...options.gradient, convWeightGradient },
  });
  const state: NativeStateSlot[] = step.state.map((s) => {
    const role = ROLE[s.kind];
    if (!role) throw new OmniRangeError(`training step state ${s.input}.kind`, 'param, running-stat, momentum0 or momentum1', s.kind);
    // A running statistic is its own (frozen) parameter.
    return { input: s.input, output: s.output, parameter: s.kind === 'running-stat' ? s.input : s.param, role };
  });
  // Parameters the step reads but never updates (frozen ones) are fed unchanged every step.
  for (const p of step.params) {
    if (!state.some((s) => s.role === 'param' && s.parameter === p.name)) state.push({ input: p.name, parameter: p.name, role: 'param' });
  }
  const ev = evalModelWithParameterInputs(define);
  return {
    stepModel: step.model,
    evalModel: ev.bytes,
    parameters: step.params,
    userInputs: Object.fromEntries(step.dataInputs.map((i) => [i.name, i.shape])),
    stepInput: STEP_INPUT,
    stepDtype: 'int64',
    lossOutput: 'loss',
    state,
    evalUserInputs: ev.userInputs,
    nodeSections: step.nodeSections,
    ...(nchwcBlock > 0 ? { nchwcBlock } : {}),
  };
}

/** Options of {@link nativeStepArtifacts}. */
export interface NativeStepOptions {
  /**
   * Convolutions in ORT's NCHWc layout with this block size ({@link nchwcBlockSize}); 0 or
   * absent: plain ONNX convolutions (any provider).
   */
  readonly nchwcBlock?: number;
  /**
   * Choices of the backward pass's lowering. Default: the measured-fastest forms; with NCHWc
   * convolutions that includes weight gradients as convolutions (`convWeightGradient: 'conv'`)
   * unless `OMNIDISTILL_NATIVE_WEIGHT_GRAD_CONV=0`.
   */
  readonly gradient?: GradientOptions;
}

/**
 * Whether NCHWc steps compute weight gradients as convolutions: `OMNIDISTILL_NATIVE_WEIGHT_GRAD_CONV`
 * = 0/false/off/no turns it off (for A/B; the gradients are the same).
 */
export function weightGradConvFromEnvironment(env: NodeJS.ProcessEnv = process.env): boolean {
  return onUnlessOff(env, 'OMNIDISTILL_NATIVE_WEIGHT_GRAD_CONV');
}

/** The default of {@link EngineFactoryOptions.nchwc}: `OMNIDISTILL_NATIVE_NCHWC` = 0/false/off/no turns it off. */
export function nchwcFromEnvironment(env: NodeJS.ProcessEnv = process.env): boolean {
  return onUnlessOff(env, 'OMNIDISTILL_NATIVE_NCHWC');
}

/** An on/off environment switch that defaults to on; any value but 1/true/on/yes/0/false/off/no is an error naming it. */
function onUnlessOff(env: NodeJS.ProcessEnv, name: string): boolean {
  const v = env[name];
  if (v === undefined || v === '' || /^(1|true|on|yes)$/i.test(v)) return true;
  if (/^(0|false|off|no)$/i.test(v)) return false;
  throw new OmniRangeError(name, '1/true/on/yes or 0/false/off/no', v);
}

function hasMoments(state: EngineState): boolean {
  return state.moments !== undefined && [...state.moments.values()].some((m) => m.length > 0);
}

/** An ORT checkpoint with the state's parameters and its moments + step in optimizer group `group0`. */
function checkpointWithMoments(parameters: readonly ParameterSpec[], state: EngineState): Uint8Array {
  const tensor = (p: ParameterSpec) => {
    const data = state.parameters.get(p.name);
    if (!data) throw new OmniRangeError(`initialState.parameters.${p.name}`, 'a value for every parameter', undefined);
    return { name: p.name, dims: p.shape, data };
  };
  const trainable = parameters.filter((p) => p.trainable);
  return writeCheckpoint({
    trainable: trainable.map(tensor),
    frozen: parameters.filter((p) => !p.trainable).map(tensor),
    optimizerGroups: [
      {
        groupName: 'group0',
        step: state.step,
        initialLearningRate: ORT_FED_LEARNING_RATE,
        states: trainable.map((p) => ({
          paramName: p.name,
          momentums: (state.moments!.get(p.name) ?? []).map((m, i) => ({ name: `momentum${i}`, dims: p.shape, data: m })),
        })),
      },
    ],
  });
}

/**
 * The learning rate the optimizer applies at a 0-based step under `setup` (the graphs compute it
 * from the step; this mirror feeds the progress line: `trainLoop({ learningRate: learningRateOf(setup) })`).
 */
export function learningRateOf(setup: TrainingSetup): (step: number) => number {
  return (step) => effectiveLearningRate(step + 1, setup.optimizer, setup.schedule);
}

/** Which engine to use: one by name, or 'auto' (native first, then wasm). */
export type EngineChoice = EngineName | 'auto';

/** Options of {@link engineFactory}. */
export interface EngineFactoryOptions {
  /** Default 'auto'. */
  readonly engine?: EngineChoice;
  /** Native execution provider (default: 'cuda' when onnxruntime-node has it, else 'cpu'). */
  readonly provider?: NativeProvider;
  /** Native intra-op threads (default all cores). */
  readonly threads?: number;
  /** Native: let idle ORT threads spin (default true unless OMNIDISTILL_NATIVE_SPINNING=0; see NativeEngineOptions.spinning). */
  readonly spinning?: boolean;
  /**
   * Native CPU: run the step's convolutions in ORT's blocked NCHWc layout when the runtime has
   * NCHWc kernels (x86 with AVX2/AVX-512; probed once). Default true unless
   * `OMNIDISTILL_NATIVE_NCHWC=0`. Reference keypoint model / detector, 1 thread, in-process A/B
   * (loaded 2-core machine): ~15 % less CPU per step.
   */
  readonly nchwc?: boolean;
  /** Wasm threads (default 1). */
  readonly wasmThreads?: number;
  /**
   * Initial weights instead of the definition's fresh initialisation (e.g. a teacher's, on
   * request; the paper re-initialises the student, which is the default).
   */
  readonly initialParameters?: ReadonlyMap<string, Float32Array>;
  /** Where engine-selection notes go (an engine skipped and why). Default: stderr. */
  readonly log?: (line: string) => void;
}

function freshParameters(define: ModelDefinition, setup: TrainingSetup): Map<string, Float32Array> {
  const a = buildTrainingArtifacts(define, { optimizer: setup.optimizer, schedule: setup.schedule, lowering: 'standard' });
  return new Map(a.params.map((p, i) => [p.name, a.initialValues[i]]));
}

/**
 * Returns the `createEngine` of {@link trainLoop} for a model definition. With 'auto' it tries
 * native first and falls back to wasm, logging why native was skipped; an explicit choice never
 * falls back.
 *
 * @example
 * const createEngine = engineFactory(defineKeypointNet, { optimizer: { type: 'adamw', learningRate: 2e-3 }, schedule: { totalSteps: 800 } });
 * await trainLoop({ createEngine, ... });
 */
export function engineFactory(
  define: ModelDefinition,
  setup: TrainingSetup,
  options: EngineFactoryOptions = {},
): (initial: EngineState | undefined) => Promise<TrainingEngine> {
  const choice = expectOneOf(options.engine ?? 'auto', 'options.engine', ['auto', 'native', 'wasm'] as const);
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  let initialParameters: ReadonlyMap<string, Float32Array> | undefined = options.initialParameters;
  const startState = (initial: EngineState | undefined): EngineState | undefined => {
    if (initial) return initial;
    if (!options.initialParameters) return undefined;
    return { step: 0, parameters: options.initialParameters, moments: undefined };
  };
  const native = async (initial: EngineState | undefined) => {
    initialParameters ??= freshParameters(define, setup);
    const provider = options.provider ?? (nativeProviderAvailability('cuda').available ? 'cuda' : 'cpu');
    const nchwcBlock = provider === 'cpu' && (options.nchwc ?? nchwcFromEnvironment()) ? await nchwcBlockSize() : 0;
    return createNativeEngine(nativeStepArtifacts(define, setup, { nchwcBlock }), {
      initialParameters,
      provider,
      ...(options.threads !== undefined ? { threads: options.threads } : {}),
      ...(options.spinning !== undefined ? { spinning: options.spinning } : {}),
      ...(startState(initial) ? { initialState: startState(initial) } : {}),
    });
  };
  const wasm = async (initial: EngineState | undefined) => {
    const start = startState(initial);
    if (start && hasMoments(start)) {
      // Moments from a native checkpoint: ORT loads them and the step from its checkpoint, so
      // the session continues that optimizer (and the schedule) without an offset.
      const base = wasmTrainingArtifacts(define, setup, 0);
      return createWasmEngine(
        { ...base, checkpoint: checkpointWithMoments(base.parameters, start) },
        { numThreads: options.wasmThreads ?? 1, initialState: start, momentsInCheckpoint: true },
      );
    }
    return createWasmEngine(wasmTrainingArtifacts(define, setup, start?.step ?? 0), {
      numThreads: options.wasmThreads ?? 1,
      ...(start ? { initialState: start } : {}),
    });
  };
  if (choice === 'native') return native;
  if (choice === 'wasm') return wasm;
  return async (initial) => {
    try {
      return await native(initial);
    } catch (nativeError) {
      log(`engine auto: native engine unavailable (${(nativeError as Error).message}); using the wasm engine`);
      try {
        return await wasm(initial);
      } catch (wasmError) {
        throw new Error(
          `no training engine could start: native: ${(nativeError as Error).message}; wasm: ${(wasmError as Error).message}`,
        );
      }
    }
  };
}

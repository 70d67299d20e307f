// The wasm engine: the four ORT training artifacts run by the onnxruntime-web 1.19.2 training
// session. One step = runTrainStep (forward + backward into the gradient accumulators),
// runOptimizerStep, then lazyResetGrad — without the reset ORT would silently keep adding
// stale gradients into the next step.
//
// This ORT cannot read optimizer moments back, so its state() has none and a resumed run
// restarts them (exact for SGD without momentum; AdamW restarts its moments).

import { OmniRangeError, OmniTypeError } from '@omnidistill/core';
import type * as OrtWeb from 'onnxruntime-web';
import {
  checkFeed,
  type EngineInfo,
  type EngineState,
  type FeedTensor,
  type Feeds,
  type ParameterSpec,
  type StepResult,
  type TrainingEngine,
} from './engine.js';
import { callWasm, loadWasmTrainingRuntime, type OrtWebModule } from './ort-web.js';

/** The four ORT training artifacts plus what the engine needs to know about them. */
export interface WasmTrainingArtifacts {
  /** Checkpoint (flatbuffer, version 2): the parameters the session starts from. */
  readonly checkpoint: Uint8Array;
  readonly trainingModel: Uint8Array;
  readonly evalModel: Uint8Array;
  readonly optimizerModel: Uint8Array;
  /** Every parameter (trainable and frozen) in the training graph's input order. */
  readonly parameters: readonly ParameterSpec[];
  /** Shapes of the training graph's user inputs, by name. */
  readonly userInputs: Readonly<Record<string, readonly number[]>>;
  /** Names of the eval graph's user inputs. */
  readonly evalUserInputs: readonly string[];
  /** Name of the loss output of the training graph. */
  readonly lossOutput: string;
}

/** Options of {@link createWasmEngine}. */
export interface WasmEngineOptions {
  /** Wasm threads (default 1; see {@link loadWasmTrainingRuntime}). */
  readonly numThreads?: number;
  /**
   * Resume state: its parameters are loaded into the session and its step becomes the engine's
   * step count. Moments can only enter through `artifacts.checkpoint` (see `momentsInCheckpoint`);
   * otherwise the optimizer model must continue the learning-rate schedule from this step.
   */
  readonly initialState?: EngineState;
  /** Set when `artifacts.checkpoint` carries the resumed optimizer moments and step (reported in `info`). */
  readonly momentsInCheckpoint?: boolean;
}

type WebTensor = OrtWeb.Tensor;

function toWebTensor(ort: OrtWebModule, name: string, feed: FeedTensor): WebTensor {
  const d = feed.data;
  if (d instanceof Float32Array) return new ort.Tensor('float32', d, [...feed.dims]);
  if (d instanceof BigInt64Array) return new ort.Tensor('int64', d, [...feed.dims]);
  if (d instanceof Int32Array) return new ort.Tensor('int32', d, [...feed.dims]);
  if (d instanceof Uint8Array) return new ort.Tensor('bool', d, [...feed.dims]);
  throw new OmniTypeError(`feeds.${name}.data`, 'a Float32Array, BigInt64Array, Int32Array or Uint8Array', d);
}

function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

class WasmEngine implements TrainingEngine {
  readonly info: EngineInfo;
  readonly parameters: readonly ParameterSpec[];
  private stepCount: number;

  constructor(
    private readonly ort: OrtWebModule,
    private readonly session: OrtWeb.TrainingSession,
    private readonly artifacts: WasmTrainingArtifacts,
    startStep: number,
    numThreads: number,
    momentsRestored: boolean,
  ) {
    this.parameters = artifacts.parameters;
    this.stepCount = startStep;
    this.info = {
      name: 'wasm',
      description: `wasm (onnxruntime-web ${ort.env.versions.web}, ${numThreads} thread${numThreads === 1 ? '' : 's'})`,
      keepsMoments: false,
      momentsRestored,
    };
  }

  private feeds(names: Iterable<string>, feeds: Feeds, shapes?: Readonly<Record<string, readonly number[]>>): Record<string, WebTensor> {
    const out: Record<string, WebTensor> = {};
    for (const name of names) out[name] = toWebTensor(this.ort, name, checkFeed(name, feeds[name], shapes?.[name]));
    return out;
  }

  async step(feeds: Feeds): Promise<StepResult> {
    const a = this.artifacts;
    // onnxruntime-web 1.19.2 takes the feeds by position (key order), not by name.
    const inputs = this.feeds(this.session.trainingInputNames, feeds, a.userInputs);
    const t0 = performance.now();
    const out = await callWasm('runTrainStep', () => this.session.runTrainStep(inputs));
    const t1 = performance.now();
    await callWasm('runOptimizerStep', () => this.session.runOptimizerStep());
    const t2 = performance.now();
    // The loop owns the reset: without it the next step adds onto this step's gradients.
    await callWasm('lazyResetGrad', () => this.session.lazyResetGrad());
    const t3 = performance.now();
    const runtimeMs = t3 - t0;
    this.stepCount++;
    const lossTensor = out[a.lossOutput];
    if (!lossTensor) throw new OmniRangeError('artifacts.lossOutput', `an output of the training graph (${Object.keys(out).join(', ')})`, a.lossOutput);
    return {
      loss: Number((lossTensor.data as Float32Array)[0]),
      runtimeMs,
      detail: { trainStep: t1 - t0, optimizerStep: t2 - t1, lazyResetGrad: t3 - t2 },
    };
  }

  async evaluate(feeds: Feeds): Promise<Record<string, Float32Array>> {
    const inputs = this.feeds(this.session.evalInputNames, feeds);
    const out = await callWasm('runEvalStep', () => this.session.runEvalStep(inputs));
    // onnxruntime-web 1.19.2 names runEvalStep's results with the *training* graph's output
    // names (same positions); the values come in eval-output order, so rename them by position.
    const names = this.session.evalOutputNames;
    const values = Object.values(out);
    if (values.length !== names.length) {
      throw new OmniRangeError('runEvalStep', `${names.length} outputs (${names.join(', ')})`, values.length);
    }
    const result: Record<string, Float32Array> = {};
    values.forEach((v, i) => (result[names[i]] = Float32Array.from(v.data as Float32Array)));
    return result;
  }

  async state(): Promise<EngineState> {
    const flat = await callWasm('getContiguousParameters', () => this.session.getContiguousParameters(false));
    const data = flat.data as Float32Array;
    const parameters = new Map<string, Float32Array>();
    let offset = 0;
    for (const p of this.parameters) {
      const n = numel(p.shape);
      parameters.set(p.name, data.slice(offset, offset + n));
      offset += n;
    }
    if (offset !== data.length) {
      throw new OmniRangeError('getContiguousParameters', `${offset} floats for the declared parameters`, data.length);
    }
    return { step: this.stepCount, parameters, moments: undefined };
  }

  async release(): Promise<void> {
    await callWasm('release', () => this.session.release());
  }
}

/** Packs parameters in the artifacts' order into one buffer, as loadParametersBuffer wants. */
function packParameters(specs: readonly ParameterSpec[], values: ReadonlyMap<string, Float32Array>): Uint8Array {
  const total = specs.reduce((s, p) => s + numel(p.shape), 0);
  const flat = new Float32Array(total);
  let offset = 0;
  for (const p of specs) {
    const v = values.get(p.name);
    const n = numel(p.shape);
    if (!v) throw new OmniRangeError(`initialState.parameters.${p.name}`, 'a value for every parameter', undefined);
    if (v.length !== n) throw new OmniRangeError(`initialState.parameters.${p.name}.length`, `${n}`, v.length);
    flat.set(v, offset);
    offset += n;
  }
  return new Uint8Array(flat.buffer);
}

/**
 * Creates the wasm engine from the four ORT training artifacts.
 *
 * @example
 * const engine = await createWasmEngine(artifacts.wasm);
 * const { loss } = await engine.step({ image, target });
 */
export async function createWasmEngine(artifacts: WasmTrainingArtifacts, options: WasmEngineOptions = {}): Promise<TrainingEngine> {
  const runtime = await loadWasmTrainingRuntime({ numThreads: options.numThreads ?? 1 });
  const { ort } = runtime;
  const session = await callWasm('TrainingSession.create', () =>
    ort.TrainingSession.create({
      checkpointState: artifacts.checkpoint,
      trainModel: artifacts.trainingModel,
      evalModel: artifacts.evalModel,
      optimizerModel: artifacts.optimizerModel,
    }, { logSeverityLevel: 3 }), // 3 = errors only: SGDOptimizerV2 warns on every step about its flag's shape
  );
  const initial = options.initialState;
  if (initial) {
    const buf = packParameters(artifacts.parameters, initial.parameters);
    await callWasm('loadParametersBuffer', () => session.loadParametersBuffer(buf, false));
  }
  return new WasmEngine(ort, session, artifacts, initial?.step ?? 0, runtime.numThreads, options.momentsInCheckpoint ?? false);
}

// The native engine: runs the whole training step, expressed in standard ONNX ops (forward,
// backward, optimizer update; parameters and moments in → updated parameters and moments out),
// on onnxruntime-node. Parameters and moments live in two sets of ORT tensors that swap roles
// every step (inputs read from one, outputs written into the other through pre-allocated
// fetches), so nothing is copied outside ORT between steps.

import { availableParallelism } from 'node:os';
import * as ortNode from 'onnxruntime-node';
import { OmniRangeError, OmniTypeError, expectInteger } from '@omnidistill/core';
import {
  checkFeed,
  type EngineInfo,
  type EngineState,
  type Feeds,
  type ParameterSpec,
  type StepResult,
  type TrainingEngine,
} from './engine.js';

/** One tensor carried from step to step: a parameter or one of its optimizer moments. */
export interface NativeStateSlot {
  /** Input name in the step graph. */
  readonly input: string;
  /** Output name in the step graph holding the updated value; absent for a tensor the step only reads (a frozen parameter). */
  readonly output?: string;
  /** The parameter this slot belongs to. */
  readonly parameter: string;
  /** `param` for the parameter itself, `m`/`v` for its first/second moment. */
  readonly role: 'param' | 'm' | 'v';
}

/**
 * What the native engine needs from the artifacts: the standard-op training step and the eval
 * model (parameters as inputs after the user inputs, as in ORT's eval artifact).
 */
export interface NativeStepArtifacts {
  /** The training step graph in standard ONNX ops. */
  readonly stepModel: Uint8Array;
  /** The eval graph: user inputs, then the parameters in parameter order, as inputs. */
  readonly evalModel: Uint8Array;
  readonly parameters: readonly ParameterSpec[];
  /** Shapes of the user inputs of the step graph, by name. */
  readonly userInputs: Readonly<Record<string, readonly number[]>>;
  /** Name of the step input; the engine feeds the 1-based index of the update (ORT's convention). */
  readonly stepInput: string;
  /** Element type of the step input. */
  readonly stepDtype: 'int64' | 'float32';
  /** Name of the scalar (or [1]) loss output. */
  readonly lossOutput: string;
  /** Every tensor carried between steps. */
  readonly state: readonly NativeStateSlot[];
  /** Names of the eval model's user inputs (the parameters follow them). */
  readonly evalUserInputs: readonly string[];
  /** Part of the step (forward, backward, optimizer) each step-graph node belongs to, by name; for profiles. */
  readonly nodeSections?: Readonly<Record<string, 'forward' | 'backward' | 'optimizer'>>;
  /** NCHWc block size the step's convolutions were rewritten for (absent: plain convolutions). */
  readonly nchwcBlock?: number;
}

/** Execution providers the native engine can ask onnxruntime-node for. */
export type NativeProvider = 'cpu' | 'cuda';

/** Options of {@link createNativeEngine}. */
export interface NativeEngineOptions {
  /** Execution provider (default 'cpu'). 'cuda' fails with the reason when the installed onnxruntime-node lacks it. */
  readonly provider?: NativeProvider;
  /** Intra-op threads (default: all cores). Bit-exact resume needs the same count. */
  readonly threads?: number;
  /**
   * Let ORT's idle worker threads spin between parallel sections (ORT's own default). Default:
   * true, unless the environment sets `OMNIDISTILL_NATIVE_SPINNING=0`. On cores the training has
   * to itself spinning saves the wake-up of a sleeping worker for each of the step's ~660 nodes
   * (reference keypoint model, 2 threads, idle machine: 96 vs 101 ms per step in train.bench);
   * on cores shared with other busy processes it wastes their time slices and doubled the step
   * time here (load 5–30: 662 vs 368 ms), so turn it off there.
   */
  readonly spinning?: boolean;
  /**
   * Inter-op threads: above 1, ORT's parallel executor runs independent nodes of the step at the
   * same time (a layer's input- and weight-gradient convolutions), each on `threads` intra-op
   * threads. Default 1: one node at a time. Measured in-process (train-ab.bench 'inter-op',
   * 2 inter-op × 1 intra-op against 2 intra-op threads): 0.73–0.80× on an otherwise idle
   * 2-core machine, 0.85–1.17× under load, where `spinning: false` did far better (1.6–1.7×).
   */
  readonly interOpThreads?: number;
  /**
   * Extra ONNX Runtime session configuration entries by their full key (e.g.
   * `'session.dynamic_block_base': '4'`), for experiments; they override the engine's own.
   */
  readonly sessionConfig?: Readonly<Record<string, string>>;
  /** Starting state; default: the artifacts' initial parameters, zero moments, step 0. */
  readonly initialState?: EngineState;
  /** Initial parameter values when no `initialState` is given, by name. */
  readonly initialParameters: ReadonlyMap<string, Float32Array>;
  /**
   * Profile the step session with ORT's per-node profiler, writing `<prefix>_<time>.json` when
   * the engine is released (see {@link profileNativeStep}).
   */
  readonly profileFilePrefix?: string;
}

/** The default of {@link NativeEngineOptions.spinning}: `OMNIDISTILL_NATIVE_SPINNING` = 0/false/off turns it off. */
export function spinningFromEnvironment(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env.OMNIDISTILL_NATIVE_SPINNING;
  if (v === undefined || v === '') return true;
  if (/^(1|true|on|yes)$/i.test(v)) return true;
  if (/^(0|false|off|no)$/i.test(v)) return false;
  throw new OmniRangeError('OMNIDISTILL_NATIVE_SPINNING', '1/true/on/yes or 0/false/off/no', v);
}

/** Whether onnxruntime-node reports a usable provider, and why not. */
export function nativeProviderAvailability(provider: NativeProvider): { available: boolean; reason: string } {
  const backends = ortNode.listSupportedBackends();
  const entry = backends.find((b) => b.name === provider);
  if (!entry) return { available: false, reason: `onnxruntime-node ${ortNode.env.versions.node} does not list the ${provider} backend` };
  if (provider === 'cuda' && !entry.bundled) {
    return {
      available: false,
      reason:
        `onnxruntime-node ${ortNode.env.versions.node} was installed without its CUDA provider library ` +
        '(libonnxruntime_providers_cuda.so is downloaded by the package install script, which this workspace disables)',
    };
  }
  return { available: true, reason: `${provider} is available` };
}

type OrtTensor = ortNode.Tensor;

function toNodeTensor(name: string, feed: { data: Float32Array | BigInt64Array | Int32Array | Uint8Array; dims: readonly number[] }): OrtTensor {
  const d = feed.data;
  const type = d instanceof Float32Array ? 'float32' : d instanceof BigInt64Array ? 'int64' : d instanceof Int32Array ? 'int32' : 'bool';
  if (!(d instanceof Float32Array || d instanceof BigInt64Array || d instanceof Int32Array || d instanceof Uint8Array)) {
    throw new OmniTypeError(`feeds.${name}.data`, 'a Float32Array, BigInt64Array, Int32Array or Uint8Array', d);
  }
  return new ortNode.Tensor(type, d as never, [...feed.dims]);
}

class NativeEngine implements TrainingEngine {
  readonly info: EngineInfo;
  readonly parameters: readonly ParameterSpec[];
  private current: OrtTensor[];
  private next: OrtTensor[];
  private stepCount: number;
  private readonly stepTensor: OrtTensor;

  constructor(
    private readonly session: ortNode.InferenceSession,
    private readonly evalSession: ortNode.InferenceSession,
    private readonly artifacts: NativeStepArtifacts,
    start: { tensors: Float32Array[]; step: number },
    description: string,
    private readonly profiling: boolean,
  ) {
    this.parameters = artifacts.parameters;
    this.info = { name: 'native', description, keepsMoments: true };
    const shapes = artifacts.state.map((s) => this.shapeOf(s.parameter));
    this.current = start.tensors.map((t, i) => new ortNode.Tensor('float32', t, [...shapes[i]]));
    // A slot without an output is read-only: both buffers are the same tensor, so swapping is a no-op.
    this.next = start.tensors.map((t, i) =>
      artifacts.state[i].output ? new ortNode.Tensor('float32', new Float32Array(t.length), [...shapes[i]]) : this.current[i],
    );
    this.stepCount = start.step;
    this.stepTensor =
      artifacts.stepDtype === 'int64'
        ? new ortNode.Tensor('int64', new BigInt64Array(1), [1])
        : new ortNode.Tensor('float32', new Float32Array(1), [1]);
  }

  private shapeOf(parameter: string): readonly number[] {
    const p = this.parameters.find((q) => q.name === parameter);
    if (!p) throw new OmniRangeError('artifacts.state[].parameter', 'the name of a parameter', parameter);
    return p.shape;
  }

  async step(feeds: Feeds): Promise<StepResult> {
    const a = this.artifacts;
    const inputs: Record<string, OrtTensor> = {};
    for (const [name, shape] of Object.entries(a.userInputs)) inputs[name] = toNodeTensor(name, checkFeed(name, feeds[name], shape));
    // The 1-based index of the update being computed, as ORT feeds its optimizer.
    if (a.stepDtype === 'int64') (this.stepTensor.data as BigInt64Array)[0] = BigInt(this.stepCount + 1);
    else (this.stepTensor.data as Float32Array)[0] = this.stepCount + 1;
    inputs[a.stepInput] = this.stepTensor;
    const fetches: Record<string, OrtTensor | null> = { [a.lossOutput]: null };
    a.state.forEach((slot, i) => {
      inputs[slot.input] = this.current[i];
      if (slot.output) fetches[slot.output] = this.next[i];
    });
    const t0 = performance.now();
    const out = await this.session.run(inputs, fetches);
    const runtimeMs = performance.now() - t0;
    [this.current, this.next] = [this.next, this.current];
    this.stepCount++;
    const loss = Number((out[a.lossOutput].data as Float32Array)[0]);
    return { loss, runtimeMs };
  }

  async evaluate(feeds: Feeds): Promise<Record<string, Float32Array>> {
    const inputs: Record<string, OrtTensor> = {};
    for (const name of this.artifacts.evalUserInputs) inputs[name] = toNodeTensor(name, checkFeed(name, feeds[name], undefined));
    this.artifacts.state.forEach((slot, i) => {
      if (slot.role === 'param') inputs[slot.parameter] = this.current[i];
    });
    const out = await this.evalSession.run(inputs);
    const result: Record<string, Float32Array> = {};
    for (const [k, v] of Object.entries(out)) result[k] = Float32Array.from(v.data as Float32Array);
    return result;
  }

  async state(): Promise<EngineState> {
    const parameters = new Map<string, Float32Array>();
    const moments = new Map<string, Float32Array[]>();
    for (const p of this.parameters) moments.set(p.name, []);
    this.artifacts.state.forEach((slot, i) => {
      const copy = Float32Array.from(this.current[i].data as Float32Array);
      if (slot.role === 'param') parameters.set(slot.parameter, copy);
      else moments.get(slot.parameter)![slot.role === 'm' ? 0 : 1] = copy;
    });
    const ordered = new Map(this.parameters.filter((p) => parameters.has(p.name)).map((p) => [p.name, parameters.get(p.name)!]));
    return { step: this.stepCount, parameters: ordered, moments };
  }

  async release(): Promise<void> {
    if (this.profiling) this.session.endProfiling();
    await this.session.release();
    await this.evalSession.release();
  }
}

/** Builds the starting tensors of every state slot from a state (or initial values + zero moments). */
function startingTensors(artifacts: NativeStepArtifacts, options: NativeEngineOptions): { tensors: Float32Array[]; step: number } {
  const st = options.initialState;
  const tensors = artifacts.state.map((slot) => {
    const spec = artifacts.parameters.find((p) => p.name === slot.parameter);
    if (!spec) throw new OmniRangeError(`artifacts.state (${slot.input}).parameter`, 'a known parameter', slot.parameter);
    const n = spec.shape.reduce((a, b) => a * b, 1);
    let src: Float32Array | undefined;
    if (slot.role === 'param') src = (st?.parameters ?? options.initialParameters).get(slot.parameter);
    else src = st?.moments?.get(slot.parameter)?.[slot.role === 'm' ? 0 : 1];
    if (slot.role === 'param' && !src) throw new OmniRangeError(`parameters.${slot.parameter}`, 'a value for every parameter', undefined);
    if (src && src.length !== n) throw new OmniRangeError(`parameters.${slot.parameter}.length`, `${n}`, src.length);
    // Moments start at zero when the state has none (fresh run, or a checkpoint from the wasm engine).
    return src ? Float32Array.from(src) : new Float32Array(n);
  });
  return { tensors, step: st?.step ?? 0 };
}

/**
 * Creates the native engine on onnxruntime-node.
 *
 * @example
 * const engine = await createNativeEngine(artifacts.native, { initialParameters });
 * const { loss } = await engine.step({ image, target });
 */
export async function createNativeEngine(artifacts: NativeStepArtifacts, options: NativeEngineOptions): Promise<TrainingEngine> {
  const provider = options.provider ?? 'cpu';
  if (provider !== 'cpu' && provider !== 'cuda') throw new OmniTypeError('options.provider', '"cpu" or "cuda"', provider);
  const availability = nativeProviderAvailability(provider);
  if (!availability.available) throw new Error(`native engine: provider ${provider} unavailable: ${availability.reason}`);
  const threads = expectInteger(options.threads ?? availableParallelism(), 'options.threads', 1);
  const spinning = options.spinning ?? spinningFromEnvironment();
  const interOp = expectInteger(options.interOpThreads ?? 1, 'options.interOpThreads', 1);
  const sessionOptions: ortNode.InferenceSession.SessionOptions = {
    executionProviders: [provider],
    intraOpNumThreads: threads,
    interOpNumThreads: interOp,
    executionMode: interOp > 1 ? 'parallel' : 'sequential',
    graphOptimizationLevel: 'all',
    extra: {
      'session.intra_op.allow_spinning': spinning ? '1' : '0',
      'session.inter_op.allow_spinning': spinning ? '1' : '0',
      ...options.sessionConfig,
    },
  };
  const start = startingTensors(artifacts, options);
  const profiling = options.profileFilePrefix !== undefined;
  const session = await ortNode.InferenceSession.create(
    artifacts.stepModel,
    profiling ? { ...sessionOptions, enableProfiling: true, profileFilePrefix: options.profileFilePrefix } : sessionOptions,
  );
  const evalSession = await ortNode.InferenceSession.create(artifacts.evalModel, sessionOptions);
  // Spinning only concerns pools with workers (more than one thread).
  const intra = threads === 1 ? '1 thread' : `${threads} threads`;
  const nodesAtOnce = interOp > 1 ? `${interOp} nodes at once × ` : '';
  const pool = threads === 1 && interOp === 1 ? intra : `${nodesAtOnce}${intra}, ${spinning ? 'spinning' : 'no spinning'}`;
  const layout = artifacts.nchwcBlock ? `, NCHWc ${artifacts.nchwcBlock} convolutions` : '';
  const description = `native (onnxruntime-node ${ortNode.env.versions.node}, ${provider}, ${pool}${layout})`;
  return new NativeEngine(session, evalSession, artifacts, start, description, profiling);
}

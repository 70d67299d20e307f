// The contract every training engine fulfils, so that one loop, one sampler, one checkpoint
// format and one export path serve both: 'wasm' (onnxruntime-web training session) and
// 'native' (onnxruntime-node running the standard-op training step).

/** A named engine. */
export type EngineName = 'wasm' | 'native';

/** Element arrays a feed may carry. */
export type FeedData = Float32Array | BigInt64Array | Int32Array | Uint8Array;

/** An engine-neutral tensor: each engine wraps it in its own runtime's tensor type. */
export interface FeedTensor {
  readonly data: FeedData;
  readonly dims: readonly number[];
}

/** One minibatch: user inputs of the training graph (images, targets, weights…) by name. */
export type Feeds = Readonly<Record<string, FeedTensor>>;

/** A parameter's name and shape, in the artifacts' parameter order. */
export interface ParameterSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly trainable: boolean;
}

/** Parameters (and, where the engine can read them, optimizer moments) at a given step. */
export interface EngineState {
  /** Optimizer steps taken so far. */
  readonly step: number;
  /** Parameter values by name, in parameter order. */
  readonly parameters: ReadonlyMap<string, Float32Array>;
  /**
   * Optimizer moments by parameter name (`[m]` for SGD with momentum, `[m, v]` for AdamW);
   * undefined when the engine cannot read them back (wasm).
   */
  readonly moments: ReadonlyMap<string, readonly Float32Array[]> | undefined;
}

/** What one training step reports. */
export interface StepResult {
  /** The loss of this minibatch, before the update. */
  readonly loss: number;
  /** Milliseconds spent inside the runtime for this step (forward, backward, optimizer). */
  readonly runtimeMs: number;
  /** Split of `runtimeMs` where the engine can measure it (wasm: train step, optimizer step, gradient reset). */
  readonly detail?: Readonly<Record<string, number>>;
}

/** Describes an engine for the progress line and for reports. */
export interface EngineInfo {
  readonly name: EngineName;
  /** e.g. `wasm (onnxruntime-web 1.19.2, 1 thread)` or `native (onnxruntime-node 1.30.0, cpu, 2 threads)`. */
  readonly description: string;
  /** Whether checkpoints of this engine keep optimizer moments (exact resume). */
  readonly keepsMoments: boolean;
  /** Whether this engine started from optimizer moments given to it (a resume that restored them). */
  readonly momentsRestored?: boolean;
}

/**
 * A training engine: owns the runtime session, the parameters and the optimizer state. The loop
 * calls {@link TrainingEngine.step} once per minibatch; each engine runs forward, backward and the
 * optimizer update (and, for wasm, resets the gradient accumulators) inside it.
 */
export interface TrainingEngine {
  readonly info: EngineInfo;
  readonly parameters: readonly ParameterSpec[];
  /** One optimizer step on a minibatch. */
  step(feeds: Feeds): Promise<StepResult>;
  /** Runs the eval graph with the current parameters; returns its outputs by name. */
  evaluate(feeds: Feeds): Promise<Record<string, Float32Array>>;
  /** Snapshot of parameters (copies) and, where possible, optimizer moments. */
  state(): Promise<EngineState>;
  /** Frees the runtime session. */
  release(): Promise<void>;
}

/** Checks a feed against the expected shape and element count, naming the feed on error. */
export function checkFeed(name: string, feed: FeedTensor | undefined, shape: readonly number[] | undefined): FeedTensor {
  if (feed === undefined || feed === null || typeof feed !== 'object') {
    throw new TypeError(`feeds.${name}: expected a tensor {data, dims}, received ${String(feed)}`);
  }
  const n = feed.dims.reduce((a, b) => a * b, 1);
  if (feed.data.length !== n) {
    throw new RangeError(`feeds.${name}: data has ${feed.data.length} elements but dims [${feed.dims.join(', ')}] need ${n}`);
  }
  if (shape && (shape.length !== feed.dims.length || shape.some((d, i) => d !== feed.dims[i]))) {
    throw new RangeError(`feeds.${name}.dims: expected [${shape.join(', ')}], received [${feed.dims.join(', ')}]`);
  }
  return feed;
}

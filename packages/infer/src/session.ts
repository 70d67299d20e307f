// onnxruntime-node sessions from a model + manifest, checked against the model's real
// inputs and outputs (names, ranks, dtypes, fixed dimensions) before any image is read.
import { availableParallelism } from 'node:os';
import { InferenceSession } from 'onnxruntime-node';
import type { Tensor } from 'onnxruntime-node';
import { expectInteger } from '@omnidistill/core';
import type { DetectorManifest, KeypointManifest, ModelManifest } from './manifest.js';
import { layoutOf } from './layouts/index.js';
import type { TensorExpectation } from './layouts/types.js';
import { createThreadSession } from './session-thread.js';
import type { StageClock } from './stage-clock.js';

/** A model dimension: a fixed size, or null when symbolic/unknown (dynamic). */
export type Dim = number | null;

/** One checked tensor of the model. */
export interface TensorSignature {
  name: string;
  type: Tensor.Type;
  dims: Dim[];
}

/** A live session with its validated manifest and the signatures it was checked against. */
export interface ModelSession<M extends ModelManifest = ModelManifest> {
  session: InferenceSession;
  manifest: M;
  /** Where the model came from (for error messages). */
  source: string;
  inputs: Record<string, TensorSignature>;
  outputs: Record<string, TensorSignature>;
  /**
   * Times this model's stages (transform, model, ensemble) when set; see
   * {@link withStageClock}, which also times `session.run`.
   */
  clock?: StageClock;
}

export type DetectorSession = ModelSession<DetectorManifest>;
export type KeypointSession = ModelSession<KeypointManifest>;

/** Options of {@link createModelSession}. */
export interface SessionOptions {
  /**
   * Intra-op threads. Default: every core (`os.availableParallelism()`), because the runner
   * keeps one model call in flight at a time and overlaps it with image decoding, which
   * runs on libuv's pool.
   */
  threads?: number;
  /**
   * onnxruntime execution providers in priority order (default `['cpu']`; the CUDA
   * provider needs onnxruntime-node's CUDA binaries, which this workspace does not install).
   */
  executionProviders?: InferenceSession.SessionOptions['executionProviders'];
  /**
   * Run the model on a worker thread of its own (default false). onnxruntime-node's `run`
   * blocks the calling thread for the whole model call; on its own thread the model runs
   * while the main thread decodes, prepares and ensembles other images (the labeling runner
   * keeps two images in flight for this). Outputs are the same either way.
   */
  ownThread?: boolean;
  /**
   * Let idle intra-op threads spin (busy-wait) for the next parallel section (default false:
   * they sleep). Spinning saves microseconds per call on an idle machine but burns cores that
   * decoding, ensembling and other processes need; on a loaded 2-core machine it made the
   * reference detector ~6× slower (tools/bench/label-overhead.bench.ts).
   */
  spinning?: boolean;
  /**
   * The model's name in error messages when `model` is bytes (e.g. the file they were read
   * from). Default `<N-byte model>`; a path given as `model` names itself.
   */
  source?: string;
}

/**
 * Whether a labeling run puts the model on its own thread ({@link SessionOptions.ownThread})
 * when the user does not say: only with more than 2 cores. On 2 cores onnxruntime's intra-op
 * threads already fill both, and the thread's message copies and wake-ups cost CPU for no clear
 * wall gain: the reference detector's labeling loop took 4–15 % more CPU per image on its own
 * thread (96 and 320 px, flip and scale plans), images/s within the load's noise
 * (tools/bench/label-overhead.bench.ts runs both). Above 2 cores the thread lets decoding, input preparation and ensembling of other
 * images run while the model does (not measured here: this machine has 2 cores).
 */
export function modelThreadByDefault(cores = availableParallelism()): boolean {
  return cores > 2;
}

/** The default intra-op thread count: all cores of this machine. */
export function defaultThreads(): number {
  return Math.max(1, availableParallelism());
}

interface Expectation extends TensorExpectation {
  role: string;
}

/** The layout's expectations keyed by the model's tensor names. */
function expectationsOf(manifest: ModelManifest): { inputs: Record<string, Expectation>; outputs: Record<string, Expectation> } {
  const exp = layoutOf(manifest).expectations(manifest);
  const byName = (names: Readonly<Record<string, string>>, roles: Record<string, TensorExpectation>) =>
    Object.fromEntries(Object.entries(roles).map(([role, e]) => [names[role], { ...e, role }]));
  return { inputs: byName(manifest.inputs, exp.inputs), outputs: byName(manifest.outputs, exp.outputs) };
}

function describeSignature(meta: InferenceSession.ValueMetadata): string {
  if (!meta.isTensor) return `${meta.name} (not a tensor)`;
  return `${meta.name} ${meta.type} [${meta.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : `'${d}'`)).join(', ')}]`;
}

function toDims(shape: ReadonlyArray<number | string>): Dim[] {
  return shape.map((d) => (typeof d === 'number' && d >= 0 ? d : null));
}

/**
 * Checks one side (inputs or outputs) of a model against the manifest's expectations.
 * Errors name the model, the manifest field and what the model really has.
 */
function checkSide(
  source: string,
  side: 'input' | 'output',
  actual: readonly InferenceSession.ValueMetadata[],
  expected: Record<string, Expectation>,
): Record<string, TensorSignature> {
  const listing = actual.map(describeSignature).join('; ') || 'none';
  const result: Record<string, TensorSignature> = {};
  for (const [name, exp] of Object.entries(expected)) {
    const field = `manifest.${side}s.${exp.role}`;
    const meta = actual.find((a) => a.name === name);
    if (!meta) throw new Error(`${source}: ${field} names ${side} "${name}", but the model has no such ${side}; its ${side}s are: ${listing}`);
    if (!meta.isTensor) throw new Error(`${source}: ${side} "${name}" (${field}) is not a tensor`);
    if (!exp.types.includes(meta.type)) {
      throw new Error(`${source}: ${side} "${name}" (${exp.role}) must be ${exp.types.join(' or ')}, but the model declares ${meta.type}`);
    }
    const dims = toDims(meta.shape);
    // An empty shape means "unknown rank" to onnxruntime; accept it and trust the run.
    if (meta.shape.length !== 0) {
      if (dims.length !== exp.rank) {
        throw new Error(`${source}: ${side} "${name}" (${exp.role}) must have rank ${exp.rank}, but the model declares ${describeSignature(meta)}`);
      }
      exp.dims.forEach((want, i) => {
        if (want !== null && dims[i] !== null && dims[i] !== want) {
          throw new Error(`${source}: ${side} "${name}" (${exp.role}) dimension ${i} must be ${want}, but the model declares ${describeSignature(meta)}`);
        }
      });
    }
    result[exp.role] = { name, type: meta.type, dims: meta.shape.length === 0 ? new Array<Dim>(exp.rank).fill(null) : dims };
  }
  if (side === 'input') {
    const extra = actual.filter((a) => !(a.name in expected));
    if (extra.length > 0) {
      throw new Error(`${source}: the model has inputs the manifest does not name (${extra.map(describeSignature).join('; ')}); it cannot be fed`);
    }
  }
  return result;
}

/**
 * Checks a live session against a manifest and wraps both. Throws an Error naming the
 * mismatch (missing name, wrong dtype, rank or fixed dimension, unfed extra input).
 */
export function checkSession<M extends ModelManifest>(session: InferenceSession, manifest: M, source: string): ModelSession<M> {
  const exp = expectationsOf(manifest);
  const checked: ModelSession<M> = {
    session,
    manifest,
    source,
    inputs: checkSide(source, 'input', session.inputMetadata, exp.inputs),
    outputs: checkSide(source, 'output', session.outputMetadata, exp.outputs),
  };
  layoutOf(manifest).check?.(checked);
  return checked;
}

/**
 * Creates an onnxruntime-node session for `model` (a file path or the ONNX bytes) and checks
 * it against `manifest`.
 *
 * @example
 * const kp = await createModelSession('kp.onnx', await loadManifest('kp.json'));
 */
export async function createModelSession<M extends ModelManifest>(
  model: string | Uint8Array,
  manifest: M,
  options: SessionOptions = {},
): Promise<ModelSession<M>> {
  const threads = options.threads ?? defaultThreads();
  expectInteger(threads, 'options.threads', 1);
  const source = typeof model === 'string' ? model : (options.source ?? `<${model.byteLength}-byte model>`);
  const sessionOptions: InferenceSession.SessionOptions = {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionProviders: options.executionProviders ?? ['cpu'],
    graphOptimizationLevel: 'all',
    ...(options.spinning === true ? {} : { extra: { session: { intra_op: { allow_spinning: '0' } } } }),
  };
  let session: InferenceSession;
  try {
    if (options.ownThread === true) session = await createThreadSession(model, sessionOptions);
    else session = typeof model === 'string' ? await InferenceSession.create(model, sessionOptions) : await InferenceSession.create(model, sessionOptions);
  } catch (error) {
    throw new Error(`${source}: onnxruntime could not load the model (${(error as Error).message})`, { cause: error });
  }
  try {
    return checkSession(session, manifest, source);
  } catch (error) {
    await session.release();
    throw error;
  }
}

/**
 * The same model with its stages timed on `clock`: every `session.run` counts as `model`,
 * and the layouts time their input preparation (`transform`) and output merging
 * (`ensemble`) on it. The session itself is shared, not copied.
 */
export function withStageClock<M extends ModelManifest>(model: ModelSession<M>, clock: StageClock): ModelSession<M> {
  const session = model.session;
  // A view of the live session whose run is timed; everything else is the session's own.
  const timed: InferenceSession = Object.create(session, {
    run: { value: (...args: Parameters<InferenceSession['run']>) => clock.time('model', () => session.run(...args)) },
  });
  return { ...model, session: timed, clock };
}

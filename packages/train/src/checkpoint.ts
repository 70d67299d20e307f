// Training checkpoints: one folder per saved step, written under a temporary name and renamed
// into place, then published through `latest.json` (written atomically), so a crash or a
// diverging run never leaves a half-written checkpoint where resume would find it.
//
// A checkpoint folder holds `checkpoint.ckpt` — an ONNX Runtime training checkpoint (flatbuffer
// v2, written by @omnidistill/artifacts): parameters and, when the engine can read them, the
// optimizer moments and step in optimizer group `group0` — and `state.json`: the loop's own
// state (step, engine, sampler and RNG state, parameter order, last loss).

import { existsSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '@omnidistill/coco';
import { InputFileError, OmniRangeError, OmniTypeError, expectInteger } from '@omnidistill/core';
import { readCheckpoint, writeCheckpoint, type CheckpointState, type CheckpointTensor } from '@omnidistill/artifacts';
import type { EngineName, EngineState, ParameterSpec } from './engine.js';
import type { RngState } from './rng.js';
import type { MixedSamplerState } from './sampler.js';

/** Everything needed to continue a run. */
export interface TrainingCheckpoint {
  /** Engine state: step, parameters and (native engine) optimizer moments. */
  readonly engine: EngineState;
  /** The engine that wrote it. */
  readonly engineName: EngineName;
  /** Names, shapes and trainability of the parameters, in parameter order. */
  readonly parameters: readonly ParameterSpec[];
  /** Sampler state, when the run uses the mixed-source sampler. */
  readonly sampler?: MixedSamplerState;
  /** The loop's RNG (augmentation), so batches after resume are the uninterrupted run's. */
  readonly rng: RngState;
  /** The last finite loss before the save. */
  readonly loss: number;
  /** Free-form JSON the caller wants back on resume (e.g. the run configuration). */
  readonly extra?: unknown;
  /** What the run was made from (see {@link CheckpointIdentity}). */
  readonly identity?: CheckpointIdentity;
}

/**
 * What a run is made from, as named values: content hashes of its data, its settings. A
 * checkpoint records it; resuming with a different identity is refused (see {@link checkIdentity}).
 */
export type CheckpointIdentity = Readonly<Record<string, string>>;

/** One difference between a checkpoint's identity and the run's. */
export interface IdentityChange {
  readonly key: string;
  /** The checkpoint's value (undefined: it did not record this key). */
  readonly before: string | undefined;
  /** The run's value (undefined: the run does not have this key). */
  readonly after: string | undefined;
}

/** A checkpoint folder holds a run made from other inputs than the one asked to resume. */
export class CheckpointMismatchError extends Error {
  readonly dir: string;
  readonly changes: readonly IdentityChange[];
  constructor(dir: string, changes: readonly IdentityChange[]) {
    const shown = (v: string | undefined) => (v === undefined ? 'unset' : v === '' ? '(none)' : v.length > 16 ? `${v.slice(0, 12)}…` : v);
    const what = changes.map((c) => `${c.key} ${shown(c.before)} → ${shown(c.after)}`).join(', ');
    super(`${dir}: the checkpoints there come from a run with other inputs (changed: ${what}); rerun with the original inputs, or delete ${dir} to start over`);
    this.name = 'CheckpointMismatchError';
    this.dir = dir;
    this.changes = changes;
  }
}

/** Throws a {@link CheckpointMismatchError} unless `recorded` (from a checkpoint in `dir`) equals `current`. */
export function checkIdentity(dir: string, recorded: CheckpointIdentity | undefined, current: CheckpointIdentity): void {
  const before = recorded ?? {};
  const keys = [...new Set([...Object.keys(current), ...Object.keys(before)])];
  const changes = keys.filter((k) => before[k] !== current[k]).map((key) => ({ key, before: before[key], after: current[key] }));
  if (changes.length > 0) throw new CheckpointMismatchError(dir, changes);
}

interface StateFile {
  format: 'omnidistill-train-checkpoint';
  version: 2;
  step: number;
  engine: EngineName;
  loss: number;
  /** Whether checkpoint.ckpt carries the optimizer moments. */
  hasMoments: boolean;
  parameters: ParameterSpec[];
  sampler?: MixedSamplerState;
  rng: RngState;
  extra?: unknown;
  identity?: CheckpointIdentity;
}

/** ORT's fed learning rate; the checkpoint's value is ignored by ORT (the schedule lives in the graph). */
const ORT_INITIAL_LR = 0.001;

function ortCheckpoint(ckpt: TrainingCheckpoint): { bytes: Uint8Array; hasMoments: boolean } {
  const { engine, parameters } = ckpt;
  const tensor = (p: ParameterSpec): CheckpointTensor => {
    const data = engine.parameters.get(p.name);
    if (!data) throw new OmniRangeError(`checkpoint.engine.parameters.${p.name}`, 'a value for every parameter', undefined);
    return { name: p.name, dims: p.shape, data };
  };
  const trainable = parameters.filter((p) => p.trainable);
  // Moments go into ORT's optimizer group (momentum0 = m, momentum1 = v) when the engine has any.
  const hasMoments = engine.moments !== undefined && trainable.some((p) => (engine.moments!.get(p.name)?.length ?? 0) > 0);
  const state: CheckpointState = {
    trainable: trainable.map(tensor),
    frozen: parameters.filter((p) => !p.trainable).map(tensor),
    ...(hasMoments
      ? {
          optimizerGroups: [
            {
              groupName: 'group0',
              step: engine.step,
              initialLearningRate: ORT_INITIAL_LR,
              states: trainable.map((p) => ({
                paramName: p.name,
                momentums: (engine.moments!.get(p.name) ?? []).map((m, i) => ({ name: `momentum${i}`, dims: p.shape, data: m })),
              })),
            },
          ],
        }
      : {}),
  };
  return { bytes: writeCheckpoint(state), hasMoments };
}

const LATEST = 'latest.json';

function stepFolder(step: number): string {
  return `step-${String(step).padStart(8, '0')}`;
}

/**
 * Writes a checkpoint of `ckpt` into `dir` and publishes it as the latest; keeps the newest
 * `keep` checkpoints. Returns the checkpoint folder. Every file goes through the project's
 * atomic write path (@omnidistill/coco writeFileAtomic: every byte, fsync, rename, a
 * FileWriteError naming the file on a full disk); the folder is filled under a temporary name
 * and renamed into place before `latest.json` names it, so resume never sees half a checkpoint.
 */
export async function saveCheckpoint(dir: string, ckpt: TrainingCheckpoint, keep = 2): Promise<string> {
  expectInteger(keep, 'keep', 1);
  const { engine } = ckpt;
  const { bytes, hasMoments } = ortCheckpoint(ckpt);
  const state: StateFile = {
    format: 'omnidistill-train-checkpoint',
    version: 2,
    step: engine.step,
    engine: ckpt.engineName,
    loss: ckpt.loss,
    hasMoments,
    parameters: ckpt.parameters.map((p) => ({ name: p.name, shape: [...p.shape], trainable: p.trainable })),
    ...(ckpt.sampler ? { sampler: ckpt.sampler } : {}),
    rng: ckpt.rng,
    ...(ckpt.extra !== undefined ? { extra: ckpt.extra } : {}),
    ...(ckpt.identity !== undefined ? { identity: ckpt.identity } : {}),
  };
  const final = join(dir, stepFolder(engine.step));
  const tmp = join(dir, `.tmp-${stepFolder(engine.step)}-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  await writeFileAtomic(join(tmp, 'checkpoint.ckpt'), bytes);
  await writeFileAtomic(join(tmp, 'state.json'), JSON.stringify(state, null, 1));
  rmSync(final, { recursive: true, force: true });
  renameSync(tmp, final);
  await writeFileAtomic(join(dir, LATEST), JSON.stringify({ checkpoint: stepFolder(engine.step), step: engine.step }));
  pruneCheckpoints(dir, keep);
  return final;
}

/** Parses a checkpoint's JSON file; a damaged one is an InputFileError saying how to start over. */
function readJson(path: string, dir: string): unknown {
  const text = readFileSync(path, 'utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InputFileError(path, `${path}: not valid JSON (${(err as Error).message}); delete ${dir} to start the training over`, { cause: err });
  }
}

function pruneCheckpoints(dir: string, keep: number): void {
  const folders = readdirSync(dir)
    .filter((f) => /^step-\d{8}$/.test(f))
    .sort();
  for (const f of folders.slice(0, Math.max(0, folders.length - keep))) rmSync(join(dir, f), { recursive: true, force: true });
}

/** The folder of the latest published checkpoint in `dir`, or undefined when there is none. */
export function latestCheckpoint(dir: string): string | undefined {
  const path = join(dir, LATEST);
  if (!existsSync(path)) return undefined;
  const latest = readJson(path, dir) as { checkpoint?: unknown };
  if (typeof latest.checkpoint !== 'string' || !/^step-\d{8}$/.test(latest.checkpoint)) {
    throw new OmniTypeError(`${path}: checkpoint`, 'a step-######## folder name', latest.checkpoint);
  }
  return join(dir, latest.checkpoint);
}

/** Reads a checkpoint folder written by {@link saveCheckpoint}. */
export function loadCheckpoint(folder: string): TrainingCheckpoint {
  const statePath = join(folder, 'state.json');
  const state = readJson(statePath, folder) as StateFile;
  if (state.format !== 'omnidistill-train-checkpoint') throw new OmniTypeError(`${statePath}: format`, '"omnidistill-train-checkpoint"', state.format);
  if (state.version !== 2) throw new OmniTypeError(`${statePath}: version`, '2', state.version);
  const ort = readCheckpoint(new Uint8Array(readFileSync(join(folder, 'checkpoint.ckpt'))));
  const byName = new Map([...ort.trainable, ...ort.frozen].map((t) => [t.name, t.data]));
  const parameters = new Map<string, Float32Array>();
  for (const p of state.parameters) {
    const data = byName.get(p.name);
    if (!data) throw new OmniRangeError(`${folder}/checkpoint.ckpt`, `parameter ${p.name} (listed in state.json)`, 'missing');
    parameters.set(p.name, data);
  }
  let moments: Map<string, Float32Array[]> | undefined;
  if (state.hasMoments) {
    const group = ort.optimizerGroups?.find((g) => g.groupName === 'group0');
    if (!group) throw new OmniRangeError(`${folder}/checkpoint.ckpt`, 'optimizer group "group0" with the moments', 'none');
    moments = new Map(group.states.map((s) => [s.paramName, s.momentums.map((m) => m.data)]));
  }
  return {
    engine: { step: state.step, parameters, moments },
    engineName: state.engine,
    parameters: state.parameters,
    ...(state.sampler ? { sampler: state.sampler } : {}),
    rng: state.rng,
    loss: state.loss,
    ...(state.extra !== undefined ? { extra: state.extra } : {}),
    ...(state.identity !== undefined ? { identity: state.identity } : {}),
  };
}

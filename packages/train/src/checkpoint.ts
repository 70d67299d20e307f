// Training checkpoints: one folder per saved step, written under a temporary name and renamed
// into place, then published through `latest.json` (also written by rename), so a crash or a
// diverging run never leaves a half-written checkpoint where resume would find it.
//
// A checkpoint folder holds `state.json` (step, engine, sampler and RNG state, parameter
// layout) and `tensors.bin` (the parameters and, when the engine can read them, the optimizer
// moments, as little-endian float32 in the order listed in state.json).

import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { OmniRangeError, OmniTypeError, expectInteger } from '@omnidistill/core';
import type { EngineName, EngineState } from './engine.js';
import type { RngState } from './rng.js';
import type { MixedSamplerState } from './sampler.js';

/** Everything needed to continue a run. */
export interface TrainingCheckpoint {
  /** Engine state: step, parameters and (native engine) optimizer moments. */
  readonly engine: EngineState;
  /** The engine that wrote it. */
  readonly engineName: EngineName;
  /** Sampler state, when the run uses the mixed-source sampler. */
  readonly sampler?: MixedSamplerState;
  /** The loop's RNG (augmentation), so batches after resume are the uninterrupted run's. */
  readonly rng: RngState;
  /** The last finite loss before the save. */
  readonly loss: number;
  /** Free-form JSON the caller wants back on resume (e.g. the run configuration). */
  readonly extra?: unknown;
}

interface TensorEntry {
  name: string;
  kind: 'param' | 'm' | 'v';
  shape: number[];
  offset: number;
  length: number;
}

interface StateFile {
  format: 'omnidistill-train-checkpoint';
  version: 1;
  step: number;
  engine: EngineName;
  loss: number;
  hasMoments: boolean;
  tensors: TensorEntry[];
  sampler?: MixedSamplerState;
  rng: RngState;
  extra?: unknown;
}

const LATEST = 'latest.json';

function stepFolder(step: number): string {
  return `step-${String(step).padStart(8, '0')}`;
}

function writeFileSynced(path: string, chunks: readonly Uint8Array[]): void {
  const fd = openSync(path, 'w');
  try {
    for (const c of chunks) {
      let off = 0;
      while (off < c.byteLength) off += writeSync(fd, c, off);
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function fsyncDir(path: string): void {
  try {
    const fd = openSync(path, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some file systems refuse fsync on directories; the renames are still atomic.
  }
}

function tensorBytes(t: Float32Array): Uint8Array {
  return new Uint8Array(t.buffer, t.byteOffset, t.byteLength);
}

/**
 * Writes a checkpoint of `ckpt` into `dir` atomically and publishes it as the latest; keeps the
 * newest `keep` checkpoints. Returns the checkpoint folder.
 */
export function saveCheckpoint(dir: string, ckpt: TrainingCheckpoint, keep = 2): string {
  expectInteger(keep, 'keep', 1);
  mkdirSync(dir, { recursive: true });
  const { engine } = ckpt;
  const tensors: TensorEntry[] = [];
  const chunks: Uint8Array[] = [];
  let offset = 0;
  const add = (name: string, kind: TensorEntry['kind'], shape: readonly number[], data: Float32Array) => {
    tensors.push({ name, kind, shape: [...shape], offset, length: data.length });
    chunks.push(tensorBytes(data));
    offset += data.length;
  };
  for (const [name, data] of engine.parameters) add(name, 'param', [data.length], data);
  if (engine.moments) {
    for (const [name, ms] of engine.moments) ms.forEach((m, i) => m && add(name, i === 0 ? 'm' : 'v', [m.length], m));
  }
  const state: StateFile = {
    format: 'omnidistill-train-checkpoint',
    version: 1,
    step: engine.step,
    engine: ckpt.engineName,
    loss: ckpt.loss,
    hasMoments: engine.moments !== undefined,
    tensors,
    ...(ckpt.sampler ? { sampler: ckpt.sampler } : {}),
    rng: ckpt.rng,
    ...(ckpt.extra !== undefined ? { extra: ckpt.extra } : {}),
  };
  const final = join(dir, stepFolder(engine.step));
  const tmp = join(dir, `.tmp-${stepFolder(engine.step)}-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  writeFileSynced(join(tmp, 'tensors.bin'), chunks);
  writeFileSynced(join(tmp, 'state.json'), [new TextEncoder().encode(JSON.stringify(state, null, 1))]);
  fsyncDir(tmp);
  rmSync(final, { recursive: true, force: true });
  renameSync(tmp, final);
  const latestTmp = join(dir, `.${LATEST}.${process.pid}`);
  writeFileSynced(latestTmp, [new TextEncoder().encode(JSON.stringify({ checkpoint: stepFolder(engine.step), step: engine.step }))]);
  renameSync(latestTmp, join(dir, LATEST));
  fsyncDir(dir);
  pruneCheckpoints(dir, keep);
  return final;
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
  const latest = JSON.parse(readFileSync(path, 'utf8')) as { checkpoint?: unknown };
  if (typeof latest.checkpoint !== 'string' || !/^step-\d{8}$/.test(latest.checkpoint)) {
    throw new OmniTypeError(`${path}: checkpoint`, 'a step-######## folder name', latest.checkpoint);
  }
  return join(dir, latest.checkpoint);
}

/** Reads a checkpoint folder written by {@link saveCheckpoint}. */
export function loadCheckpoint(folder: string): TrainingCheckpoint {
  const statePath = join(folder, 'state.json');
  const state = JSON.parse(readFileSync(statePath, 'utf8')) as StateFile;
  if (state.format !== 'omnidistill-train-checkpoint') throw new OmniTypeError(`${statePath}: format`, '"omnidistill-train-checkpoint"', state.format);
  if (state.version !== 1) throw new OmniTypeError(`${statePath}: version`, '1', state.version);
  const raw = readFileSync(join(folder, 'tensors.bin'));
  const all = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  const parameters = new Map<string, Float32Array>();
  const moments = state.hasMoments ? new Map<string, Float32Array[]>() : undefined;
  for (const t of state.tensors) {
    if (t.offset + t.length > all.length) {
      throw new OmniRangeError(`${folder}/tensors.bin`, `at least ${t.offset + t.length} floats for ${t.name}`, all.length);
    }
    const data = all.slice(t.offset, t.offset + t.length);
    if (t.kind === 'param') parameters.set(t.name, data);
    else {
      const list = moments!.get(t.name) ?? [];
      list[t.kind === 'm' ? 0 : 1] = data;
      moments!.set(t.name, list);
    }
  }
  return {
    engine: { step: state.step, parameters, moments },
    engineName: state.engine,
    ...(state.sampler ? { sampler: state.sampler } : {}),
    rng: state.rng,
    loss: state.loss,
    ...(state.extra !== undefined ? { extra: state.extra } : {}),
  };
}

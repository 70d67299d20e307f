// Splits a native training step into forward, backward and optimizer time: the fused step graph
// cannot be timed per part, so the same definition's forward-only graph, forward+backward graph
// and full step graph are timed on the same runtime settings, interleaved run by run so that
// load from other processes affects all three alike.

import { gradientModel, instantiate, type ModelDefinition } from '@omnidistill/artifacts';
import { expectInteger } from '@omnidistill/core';
import * as ortNode from 'onnxruntime-node';
import type { Feeds } from './engine.js';
import { evalModelWithParameterInputs } from './export.js';
import { spinningFromEnvironment } from './native-engine.js';
import { nativeStepArtifacts, type TrainingSetup } from './setup.js';

/** Milliseconds per run of the forward-only, forward+backward and full training-step graphs. */
export interface NativeSplit {
  readonly forwardMs: number;
  readonly forwardBackwardMs: number;
  readonly stepMs: number;
}

function toTensor(feed: Feeds[string]): ortNode.Tensor {
  const d = feed.data;
  const type = d instanceof Float32Array ? 'float32' : d instanceof BigInt64Array ? 'int64' : d instanceof Int32Array ? 'int32' : 'bool';
  return new ortNode.Tensor(type, d as never, [...feed.dims]);
}

/**
 * Times the forward-only, forward+backward and full step graphs of `define` on onnxruntime-node
 * (CPU, `threads` intra-op threads, spinning as the native engine's default), `repeats` interleaved runs each after two warm-up runs.
 */
export async function profileNativeSplit(
  define: ModelDefinition,
  setup: TrainingSetup,
  feeds: Feeds,
  threads: number,
  repeats = 10,
  spinning = spinningFromEnvironment(),
): Promise<NativeSplit> {
  expectInteger(threads, 'threads', 1);
  expectInteger(repeats, 'repeats', 1);
  const opts: ortNode.InferenceSession.SessionOptions = {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    extra: { session: { intra_op: { allow_spinning: spinning ? '1' : '0' } } },
  };
  const ev = evalModelWithParameterInputs(define);
  const gm = gradientModel(define, 'standard');
  const st = nativeStepArtifacts(define, setup);
  const params: Record<string, ortNode.Tensor> = {};
  const shapes = new Map<string, readonly number[]>();
  for (const p of instantiate(define, 'eval', 'standard').g.params) {
    params[p.name] = new ortNode.Tensor('float32', p.init, [...p.shape]);
    shapes.set(p.name, p.shape);
  }
  const user = (names: Iterable<string>) => Object.fromEntries([...names].map((n) => [n, toTensor(feeds[n])]));
  const stepFeeds: Record<string, ortNode.Tensor> = { ...user(Object.keys(st.userInputs)), step: new ortNode.Tensor('int64', BigInt64Array.of(1n), [1]) };
  for (const slot of st.state) {
    const shape = shapes.get(slot.parameter)!;
    stepFeeds[slot.input] = slot.role === 'param' ? params[slot.parameter] : new ortNode.Tensor('float32', new Float32Array(shape.reduce((a, b) => a * b, 1)), [...shape]);
  }
  const runs = [
    { session: await ortNode.InferenceSession.create(ev.bytes, opts), feeds: { ...user(ev.userInputs), ...params }, ms: 0 },
    { session: await ortNode.InferenceSession.create(gm.bytes, opts), feeds: { ...user(Object.keys(gm.inputShapes)), ...params }, ms: 0 },
    { session: await ortNode.InferenceSession.create(st.stepModel, opts), feeds: stepFeeds, ms: 0 },
  ];
  for (let i = 0; i < 2; i++) for (const r of runs) await r.session.run(r.feeds);
  for (let i = 0; i < repeats; i++) {
    for (const r of runs) {
      const t0 = performance.now();
      await r.session.run(r.feeds);
      r.ms += performance.now() - t0;
    }
  }
  for (const r of runs) await r.session.release();
  return { forwardMs: runs[0].ms / repeats, forwardBackwardMs: runs[1].ms / repeats, stepMs: runs[2].ms / repeats };
}

// Splits a native training step into forward, backward and optimizer time: the fused step graph
// cannot be timed per part, so the same definition's forward-only graph and forward+backward
// graph are timed separately on the same runtime settings (the rest is the optimizer update).

import { gradientModel, instantiate, type ModelDefinition } from '@omnidistill/artifacts';
import { expectInteger } from '@omnidistill/core';
import * as ortNode from 'onnxruntime-node';
import type { Feeds } from './engine.js';
import { evalModelWithParameterInputs } from './export.js';

/** Milliseconds per run of the forward-only and forward+backward graphs. */
export interface NativeSplit {
  readonly forwardMs: number;
  readonly forwardBackwardMs: number;
}

function toTensor(feed: Feeds[string]): ortNode.Tensor {
  const d = feed.data;
  const type = d instanceof Float32Array ? 'float32' : d instanceof BigInt64Array ? 'int64' : d instanceof Int32Array ? 'int32' : 'bool';
  return new ortNode.Tensor(type, d as never, [...feed.dims]);
}

/**
 * Times the forward-only and forward+backward graphs of `define` on onnxruntime-node (CPU) with
 * `threads` intra-op threads, `repeats` runs each after two warm-up runs.
 */
export async function profileNativeSplit(define: ModelDefinition, feeds: Feeds, threads: number, repeats = 10): Promise<NativeSplit> {
  expectInteger(threads, 'threads', 1);
  expectInteger(repeats, 'repeats', 1);
  const opts: ortNode.InferenceSession.SessionOptions = { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' };
  const ev = evalModelWithParameterInputs(define);
  const gm = gradientModel(define, 'standard');
  const params: Record<string, ortNode.Tensor> = {};
  for (const p of instantiate(define, 'eval', 'standard').g.params) params[p.name] = new ortNode.Tensor('float32', p.init, [...p.shape]);
  const user = (names: Iterable<string>) => Object.fromEntries([...names].map((n) => [n, toTensor(feeds[n])]));
  const fwd = await ortNode.InferenceSession.create(ev.bytes, opts);
  const fb = await ortNode.InferenceSession.create(gm.bytes, opts);
  const time = async (run: () => Promise<unknown>) => {
    for (let i = 0; i < 2; i++) await run();
    const t0 = performance.now();
    for (let i = 0; i < repeats; i++) await run();
    return (performance.now() - t0) / repeats;
  };
  const fwdFeeds = { ...user(ev.userInputs), ...params };
  const fbFeeds = { ...user(Object.keys(gm.inputShapes).filter((n) => !(n in params))), ...params };
  const forwardMs = await time(() => fwd.run(fwdFeeds));
  const forwardBackwardMs = await time(() => fb.run(fbFeeds));
  await fwd.release();
  await fb.release();
  return { forwardMs, forwardBackwardMs };
}

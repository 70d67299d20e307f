// Backend selection: explicit requests run where asked or fail saying why; `auto` walks
// cuda -> cpu -> wasm -> ts and reports every backend it passed over. Native work runs off the event loop.
import { describe, expect, it } from 'vitest';
import { BACKEND_PRIORITY, BackendUnavailableError, backends, decodeHeatmaps, ensembleAndDecode, selectBackend } from '@omnidistill/ensemble';
import { randomCase } from './helpers.js';

const statuses = backends();
const cuda = statuses.find((s) => s.backend === 'cuda')!;

describe('backends()', () => {
  it('lists cuda, cpu, wasm, ts in priority order; ts, wasm and cpu are usable; unusable ones say why', () => {
    expect(statuses.map((s) => s.backend)).toEqual([...BACKEND_PRIORITY]);
    expect(BACKEND_PRIORITY).toEqual(['cuda', 'cpu', 'wasm', 'ts']);
    expect(statuses.find((s) => s.backend === 'ts')!.usable).toBe(true);
    expect(statuses.find((s) => s.backend === 'wasm')).toEqual({ backend: 'wasm', usable: true, detail: 'WebAssembly SIMD kernel, 1 thread' });
    expect(statuses.find((s) => s.backend === 'cpu')!.usable).toBe(true);
    for (const s of statuses) if (!s.usable) expect(s.reason).toBeTruthy();
  });
});

describe('selectBackend', () => {
  it('auto picks the first usable backend and records each skipped one with its reason', () => {
    const selection = selectBackend('auto');
    const firstUsable = statuses.find((s) => s.usable)!.backend;
    expect(selection.backend).toBe(firstUsable);
    const skipped = statuses.slice(0, statuses.findIndex((s) => s.usable));
    expect(selection.skipped).toEqual(skipped.map((s) => ({ backend: s.backend, reason: s.reason })));
  });

  it('an explicit request runs there with nothing skipped', () => {
    expect(selectBackend('ts')).toEqual({ requested: 'ts', backend: 'ts', skipped: [] });
    expect(selectBackend('cpu')).toEqual({ requested: 'cpu', backend: 'cpu', skipped: [] });
    expect(selectBackend('wasm')).toEqual({ requested: 'wasm', backend: 'wasm', skipped: [] });
  });

  it('rejects an unknown backend name', () => {
    expect(() => selectBackend('gpu' as never)).toThrow(/^options\.backend: expected one of "auto", "cuda", "cpu", "wasm", "ts"/);
  });

  it.skipIf(cuda.usable)('asking for cuda where it cannot run is an error that says which (no device / not compiled)', async () => {
    expect(() => selectBackend('cuda')).toThrow(BackendUnavailableError);
    expect(() => selectBackend('cuda')).toThrow(cuda.reason!);
    const c = randomCase(5);
    const error = await ensembleAndDecode({ data: c.heatmaps, t: c.t, n: c.n, k: c.k, m: c.m }, c.rois, {
      mode: c.mode,
      flipped: c.flipped,
      flipPairs: c.flipPairs,
      backend: 'cuda',
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect((error as BackendUnavailableError).code).toBe('OMNI_BACKEND_UNAVAILABLE');
    expect((error as Error).message).toMatch(/^backend "cuda" is not available: (compiled but no device: |not compiled)/);
  });

  it('results report the backend that ran and the selection', async () => {
    const maps = { data: new Float32Array(16).fill(1), t: 1, n: 1, k: 1, m: 4 };
    const auto = await decodeHeatmaps(maps, Float32Array.of(0, 0, 4, 4));
    expect(auto.backend).toBe(selectBackend('auto').backend);
    expect(auto.selection.requested).toBe('auto');
    const ts = await decodeHeatmaps(maps, Float32Array.of(0, 0, 4, 4), { backend: 'ts' });
    expect(ts).toMatchObject({ backend: 'ts', selection: { requested: 'ts', backend: 'ts', skipped: [] } });
    expect(ts.timing).toBeUndefined();
    const wasm = await decodeHeatmaps(maps, Float32Array.of(0, 0, 4, 4), { backend: 'wasm' });
    expect(wasm).toMatchObject({ backend: 'wasm', selection: { requested: 'wasm', backend: 'wasm', skipped: [] } });
    expect(Array.from(wasm.keypoints.data)).toEqual(Array.from(ts.keypoints.data));
    const cpu = await decodeHeatmaps(maps, Float32Array.of(0, 0, 4, 4), { backend: 'cpu' });
    expect(cpu.timing!.kernelMs).toBeGreaterThanOrEqual(0);
  });
});

describe('the cpu backend computes off the event loop', () => {
  it('timers keep firing while a large native call is in flight', async () => {
    // A heavy call (large RoIs); if the work ran on the main thread, no macrotask could run
    // before the promise settles. The assertion is on ordering only, never on durations.
    const t = 4, n = 32, k = 17, m = 56;
    const data = new Float32Array(t * n * k * m * m).map((_, i) => Math.sin(i));
    const rois = new Float32Array(n * 4).map((_, i) => (i % 4 < 2 ? 0 : 600));
    let settled = false;
    const call = ensembleAndDecode({ data, t, n, k, m }, rois, { mode: 'avg', flipped: [false, true, false, true], flipPairs: [], backend: 'cpu', threads: 1 }).then(
      (r) => {
        settled = true;
        return r;
      },
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    await call;
    expect(settled).toBe(true);
  });
});

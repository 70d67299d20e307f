// The addon's own contract: loading, backend reporting, argument checks that throw instead of
// crashing. Kernel results are compared against the TypeScript reference in @omnidistill/ensemble.
import { describe, expect, it } from 'vitest';
import {
  describeNativeLoad,
  loadNative,
  loadNativeFrom,
  nativeCandidates,
  NATIVE_PATH_ENV,
  NativeLoadError,
  platformKey,
  prebuiltPackageName,
} from '@omnidistill/native';

const native = loadNative();

describe('loader', () => {
  it('tries only the env override when it is set, and says what it tried', () => {
    const env = { [NATIVE_PATH_ENV]: '/nonexistent/omnidistill_native.node' };
    expect(nativeCandidates(env)).toEqual([{ origin: 'env', path: '/nonexistent/omnidistill_native.node' }]);
    let error: unknown;
    try {
      loadNativeFrom(env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(NativeLoadError);
    const message = (error as Error).message;
    expect(message).toContain('/nonexistent/omnidistill_native.node');
    expect(message).toContain(NATIVE_PATH_ENV);
  });

  it('falls back through the local Release and Debug builds, then the platform package', () => {
    const candidates = nativeCandidates({});
    expect(candidates.map((c) => c.origin)).toEqual(['local build', 'local build', 'prebuilt']);
    expect(candidates[0].path).toMatch(/build\/Release\/omnidistill_native\.node$/);
    expect(candidates[1].path).toMatch(/build\/Debug\/omnidistill_native\.node$/);
    expect(candidates[2].package).toBe(prebuiltPackageName());
    expect(prebuiltPackageName()).toBe(`@omnidistill/native-${platformKey()}`);
  });

  it('names the platform key the way the platform packages are named', () => {
    expect(platformKey('linux', 'x64', 'gnu')).toBe('linux-x64-gnu');
    expect(platformKey('linux', 'arm64', 'musl')).toBe('linux-arm64-musl');
    expect(platformKey('darwin', 'arm64', null)).toBe('darwin-arm64');
  });

  it('says which binary it loaded and where from', () => {
    const loaded = loadNativeFrom({});
    expect(loaded.origin).toBe('local build');
    expect(describeNativeLoad(loaded)).toContain(loaded.path);
    const prebuilt = describeNativeLoad({ origin: 'prebuilt', path: '/x/omnidistill_native.node', package: prebuiltPackageName() });
    expect(prebuilt).toBe(`the prebuilt binary for ${platformKey()} from ${prebuiltPackageName()}: /x/omnidistill_native.node`);
  });
});

describe('backends()', () => {
  it('reports cpu as usable and cuda with a reason whenever it is not usable', () => {
    const b = native.backends();
    expect(b.cpu).toMatchObject({ compiled: true, usable: true });
    expect(b.cpu.threads).toBeGreaterThan(0);
    if (!b.cuda.usable) expect(b.cuda.reason).toMatch(b.cuda.compiled ? /^compiled but no device: / : /^not compiled/);
    expect(native.buildInfo().cuda).toBe(b.cuda.compiled);
  });

  it('rejects a cuda call with an error naming the cause when cuda cannot run', () => {
    const b = native.backends();
    if (b.cuda.usable) return; // exercised by the cuda test suite instead
    const a = new Float32Array(4);
    expect(() => native.triad(a, a, a, 1, { backend: 'cuda' })).toThrow(b.cuda.reason!);
  });
});

describe('triad', () => {
  it('computes a = b + s * c on every element, honouring byteOffset', async () => {
    const buffer = new Float32Array(10_003 + 7);
    const a = buffer.subarray(7); // a view at a non-zero byteOffset
    const b = Float32Array.from({ length: a.length }, (_, i) => i);
    const c = Float32Array.from({ length: a.length }, (_, i) => 2 * i + 1);
    const r = await native.triad(a, b, c, 0.5, { backend: 'cpu', threads: 3 });
    expect(r.a).toBe(a);
    for (let i = 0; i < a.length; i += 997) expect(a[i]).toBe(Math.fround(i + Math.fround(0.5 * (2 * i + 1))));
    expect(buffer[6]).toBe(0);
    expect(r.kernelMs).toBeGreaterThanOrEqual(0);
  });
});

describe('readSum', () => {
  it('sums every element of a view at a non-zero byteOffset, split over threads', async () => {
    const buffer = new Float32Array(10_003 + 5).fill(1000); // the 5 values before the view must not count
    const a = buffer.subarray(5);
    for (let i = 0; i < a.length; i++) a[i] = i; // integers: every partial sum is exact in float32
    const r = await native.readSum!(a, { threads: 3 });
    expect(r.sum[0]).toBe((a.length * (a.length - 1)) / 2);
    expect(r.kernelMs).toBeGreaterThanOrEqual(0);
  });

  it('rejects a non-Float32Array and a bad thread count', () => {
    expect(() => native.readSum!(new Float64Array(4) as never, {})).toThrow(/^a: expected a Float32Array/);
    expect(() => native.readSum!(new Float32Array(4), { threads: 0 })).toThrow(/^options\.threads: /);
  });
});

describe('argument checks in C++ (the TS layer is bypassed here on purpose)', () => {
  const shape = { t: 1, n: 1, k: 2, m: 2 };
  const ok = { backend: 'cpu' as const, mode: 'avg' as const, flipped: new Uint8Array(1), perm: Int32Array.of(0, 1) };
  const heat = new Float32Array(8);
  const cases: [string, () => unknown, RegExp, ErrorConstructor][] = [
    ['wrong heatmaps type', () => native.ensembleHeatmaps(new Float64Array(8) as never, shape, ok), /^heatmaps: expected a Float32Array/, TypeError],
    ['wrong heatmaps length', () => native.ensembleHeatmaps(new Float32Array(7), shape, ok), /^heatmaps: expected 8 elements/, RangeError],
    ['zero T', () => native.ensembleHeatmaps(heat, { ...shape, t: 0 }, ok), /^shape\.t: expected an integer in \[1,/, RangeError],
    ['fractional N', () => native.ensembleHeatmaps(heat, { ...shape, n: 1.5 }, ok), /^shape\.n: expected a positive integer/, TypeError],
    ['bad mode', () => native.ensembleHeatmaps(heat, shape, { ...ok, mode: 'mean' as never }), /^options\.mode: expected one of/, TypeError],
    ['bad backend', () => native.ensembleHeatmaps(heat, shape, { ...ok, backend: 'gpu' as never }), /^options\.backend: expected one of/, TypeError],
    ['perm out of range', () => native.ensembleHeatmaps(heat, shape, { ...ok, perm: Int32Array.of(0, 2) }), /^options\.perm\[1\]: expected a channel in \[0, 1\]/, RangeError],
    ['perm not an involution', () => native.ensembleHeatmaps(new Float32Array(12), { ...shape, k: 3 }, { ...ok, perm: Int32Array.of(1, 2, 0) }), /^options\.perm\[0\]/, RangeError],
    ['negative weight', () => native.ensembleHeatmaps(heat, shape, { ...ok, weights: Float32Array.of(-1) }), /^options\.weights\[0\]: expected a finite number >= 0/, RangeError],
    ['mask leaves a RoI empty', () => native.ensembleHeatmaps(heat, shape, { ...ok, mask: Uint8Array.of(0) }), /^options\.mask: expected at least one transform for RoI 0/, RangeError],
    ['inverted RoI', () => native.decodeHeatmaps(heat, { n: 1, k: 2, m: 2 }, Float32Array.of(5, 0, 4, 3), { backend: 'cpu' }), /^rois\[0\]: expected x2 >= x1/, RangeError],
    ['non-finite RoI', () => native.decodeHeatmaps(heat, { n: 1, k: 2, m: 2 }, Float32Array.of(0, NaN, 4, 3), { backend: 'cpu' }), /^rois\[0\]: expected finite/, RangeError],
    ['output overlapping the input', () => native.ensembleHeatmaps(heat, shape, { ...ok, output: heat }), /^options\.output: expected a buffer that does not overlap heatmaps/, RangeError],
    ['output of wrong length', () => native.ensembleHeatmaps(heat, shape, { ...ok, output: new Float32Array(7) }), /^options\.output: expected 8 elements/, RangeError],
    ['missing options', () => native.decodeHeatmaps(heat, { n: 1, k: 2, m: 2 }, Float32Array.of(0, 0, 4, 3), undefined as never), /^options: expected an object, received undefined/, TypeError],
  ];
  it.each(cases)('%s', (_name, call, message, kind) => {
    expect(call).toThrow(kind);
    expect(call).toThrow(message);
  });

  it('rejects (not crashes) when a heatmap value is non-finite, naming the first flat index', async () => {
    const bad = new Float32Array(8);
    bad[5] = Number.POSITIVE_INFINITY;
    bad[6] = Number.NaN;
    await expect(native.ensembleHeatmaps(bad, shape, ok)).rejects.toThrow(/^heatmaps\[5\]: expected a finite number, received Infinity \(number\)$/);
    await expect(native.decodeHeatmaps(bad, { n: 1, k: 2, m: 2 }, Float32Array.of(0, 0, 4, 3), { backend: 'cpu' })).rejects.toThrow(RangeError);
  });
});

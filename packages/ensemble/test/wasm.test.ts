// The wasm backend's module and its fallback: the shipped binary is the compile of its source,
// and a runtime that cannot instantiate it gets the ts backend with the reason, never a crash.
// (Its results are tested with every other backend in kernels.test.ts.)
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';
import { describe, expect, it } from 'vitest';
import { KERNEL_WASM_URL, instantiateKernel } from '../src/wasm.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

describe('the wasm kernel module', () => {
  it('wasm/kernel.wasm is what asconfig.json compiles assembly/kernel.ts into (rebuild: pnpm build:wasm)', async () => {
    const config = JSON.parse(readFileSync(join(root, 'asconfig.json'), 'utf8'));
    const { outFile: _outFile, ...options } = config.options;
    const source = readFileSync(join(root, 'assembly', 'kernel.ts'), 'utf8');
    const result = await asc.compileString({ 'kernel.ts': source }, options);
    expect(result.error, result.stderr.toString()).toBeNull();
    expect(Buffer.from(result.binary!).equals(readFileSync(KERNEL_WASM_URL))).toBe(true);
  }, 120_000);

  it('instantiates here (Node >= 20 has wasm SIMD)', () => {
    expect(instantiateKernel()).toMatchObject({ usable: true });
  });

  it('bytes this runtime cannot compile give the reason instead of throwing', () => {
    // The wasm header followed by a section id that does not exist.
    const status = instantiateKernel(Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x7f));
    expect(status.usable).toBe(false);
    if (!status.usable) expect(status.reason).toMatch(/^cannot instantiate the WebAssembly SIMD kernel \(a runtime without wasm SIMD\?\): /);
  });
});

describe('a runtime without WebAssembly (node --jitless), addon not loadable', () => {
  it('auto selection walks cuda -> cpu -> wasm -> ts, gives each skipped backend its reason, and ts decodes like the reference', () => {
    const script = `
      import { backends, ensembleAndDecode, referenceEnsembleAndDecode, checkEnsemble, checkDecode } from '@omnidistill/ensemble';
      const data = new Float32Array(2 * 3 * 2 * 25).map((_, i) => Math.sin(i * 1.7));
      const rois = Float32Array.of(0, 0, 9, 7, 2, 2, 30, 11, 5, 1, 6, 40);
      const options = { mode: 'avg', flipped: [false, true], flipPairs: [[0, 1]] };
      const batch = { data, t: 2, n: 3, k: 2, m: 5 };
      const r = await ensembleAndDecode(batch, rois, options);
      const ref = referenceEnsembleAndDecode(checkEnsemble(batch, options), checkDecode({}, 3, rois));
      console.log(JSON.stringify({ typeofWasm: typeof WebAssembly, backend: r.backend, skipped: r.selection.skipped, same: r.keypoints.data.every((v, i) => v === ref.keypoints[i]), statuses: backends() }));
    `;
    const child = spawnSync(process.execPath, ['--jitless', '--conditions=source', '--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, OMNIDISTILL_NATIVE_PATH: join(root, 'no-such-addon.node') },
    });
    expect(child.status, child.stderr).toBe(0);
    const out = JSON.parse(child.stdout.trim().split('\n').pop()!);
    expect(out.typeofWasm).toBe('undefined');
    expect(out.backend).toBe('ts');
    expect(out.same).toBe(true);
    expect(out.skipped.map((s: { backend: string }) => s.backend)).toEqual(['cuda', 'cpu', 'wasm']);
    expect(out.skipped[2].reason).toBe('this runtime has no WebAssembly');
    expect(out.statuses.find((s: { backend: string }) => s.backend === 'wasm')).toEqual({ backend: 'wasm', usable: false, reason: 'this runtime has no WebAssembly' });
  }, 120_000);
});

// Child of heatmaps.bench.ts: one fused ensemble + decode on the `ts` backend in a process started
// with `node --jitless`, the setting in which `auto` actually falls back to `ts` (no JIT, so no
// WebAssembly; the addon may still load there, the bench forces `ts`). Reads the workload the
// bench wrote for the peers and prints {"wall_ms", "cpu_ms", "keypoints"} as one JSON line.
// Run: node --jitless --import tsx --conditions=source ts-jitless.ts <dir> <t> <n> <k> <m>
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { COCO_PERSON } from '@omnidistill/core';
import { ensembleAndDecode } from '@omnidistill/ensemble';

function floats(file: string): Float32Array {
  const bytes = readFileSync(file);
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

async function main(): Promise<void> {
  const [dir, t, n, k, m] = [process.argv[2], ...process.argv.slice(3, 7).map(Number)];
  const heatmaps = floats(join(dir, 'heatmaps.f32'));
  const rois = floats(join(dir, 'rois.f32'));
  const flipped = Array.from(readFileSync(join(dir, 'flipped.u8')), (b) => b === 1);
  const options = { mode: 'avg' as const, flipped, flipPairs: COCO_PERSON.flipPairs, threads: 1, backend: 'ts' as const };
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const out = await ensembleAndDecode({ data: heatmaps, t, n, k, m }, rois, options);
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  process.stdout.write(`${JSON.stringify({ wall_ms: [wall], cpu_ms: [(c.user + c.system) / 1000], keypoints: Array.from(out.keypoints.data) })}\n`);
}

await main();

// Loading a COCO file the size of train2017 person keypoints (~240 MB): time and peak RSS
// of readCocoDataset (parse + validate + keypoints into Float64Arrays) next to a bare
// JSON.parse of the same file, each in a fresh child process so peaks do not mix.
// The file is generated once into the OS temp folder (OMNIDISTILL_BENCH_DIR overrides).
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCocoDataset, writeCocoDataset } from '@omnidistill/coco';
import type { CocoAnnotation, CocoDataset } from '@omnidistill/coco';
import { rng } from '../../packages/coco/test/generate.js';

const dir = process.env.OMNIDISTILL_BENCH_DIR ?? join(tmpdir(), 'omnidistill-bench');
const file = join(dir, 'person_keypoints_like_train2017.json');

/** 64 115 images / 262 465 person annotations with polygons and integer keypoints, like the real file. */
async function generate(): Promise<void> {
  const r = rng(7);
  const images = [];
  const annotations: CocoAnnotation[] = [];
  const round2 = (v: number): number => Math.round(v * 100) / 100;
  for (let i = 0; i < 64115; i++) {
    images.push({ id: 100000 + i, width: 640, height: 480, file_name: `${String(100000 + i).padStart(12, '0')}.jpg`, license: 1, coco_url: `http://images.cocodataset.org/train2017/${String(100000 + i).padStart(12, '0')}.jpg`, date_captured: '2013-11-14 11:18:45' });
  }
  for (let a = 0; a < 262465; a++) {
    const x = r() * 500, y = r() * 350, w = 10 + r() * 130, h = 20 + r() * 120;
    const poly: number[] = [];
    for (let p = 0; p < 42; p++) poly.push(round2(x + r() * w), round2(y + r() * h));
    const kps: number[] = [];
    let labeled = 0;
    for (let k = 0; k < 17; k++) {
      const v = r() < 0.45 ? 0 : r() < 0.3 ? 1 : 2;
      if (v > 0) labeled++;
      kps.push(v ? Math.round(x + r() * w) : 0, v ? Math.round(y + r() * h) : 0, v);
    }
    annotations.push({
      segmentation: [poly],
      num_keypoints: labeled,
      area: round2(w * h * 0.6),
      iscrowd: 0,
      keypoints: kps as unknown as Float64Array,
      image_id: 100000 + Math.floor(r() * 64115),
      bbox: [round2(x), round2(y), round2(w), round2(h)],
      category_id: 1,
      id: 200000 + a,
    });
  }
  const names = ['nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder', 'right_shoulder', 'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist', 'left_hip', 'right_hip', 'left_knee', 'right_knee', 'left_ankle', 'right_ankle'];
  const ds: CocoDataset = { info: { description: 'generated' }, images, annotations, categories: [{ id: 1, name: 'person', supercategory: 'person', keypoints: names, skeleton: [[16, 14], [14, 12], [17, 15], [15, 13], [12, 13]] }] };
  await writeCocoDataset(file, ds);
}

async function child(mode: string): Promise<void> {
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  // keep the loaded dataset alive until the heap is measured
  const ds: CocoDataset = mode === 'json' ? (JSON.parse(readFileSync(file, 'utf8')) as CocoDataset) : await readCocoDataset(file);
  const n = ds.annotations.length;
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const c1 = process.cpuUsage(c0);
  const cpu = (c1.user + c1.system) / 1e6;
  global.gc?.();
  (globalThis as Record<string, unknown>).kept = ds;
  const heapAfterMiB = (process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers) / 2 ** 20;
  console.log(JSON.stringify({ mode, annotations: n, seconds: s, cpu, peakRssMiB: process.resourceUsage().maxRSS / 1024, heapAfterMiB }));
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') return child(process.argv[3]);
  mkdirSync(dir, { recursive: true });
  if (!existsSync(file)) {
    console.log(`generating ${file} ...`);
    await generate();
  }
  console.log(`file: ${file} (${(statSync(file).size / 1e6).toFixed(0)} MB)`);
  const runs: Record<string, { seconds: number; cpu: number; peakRssMiB: number; heapAfterMiB: number }> = {};
  for (const mode of ['json', 'read']) {
    const out = spawnSync(process.execPath, ['--expose-gc', '--max-old-space-size=8192', '--import', 'tsx', '--conditions=source', fileURLToPath(import.meta.url), '--child', mode], { encoding: 'utf8' });
    if (out.status !== 0) throw new Error(`child ${mode} failed: ${out.stderr}`);
    runs[mode] = JSON.parse(out.stdout.trim().split('\n').pop()!);
  }
  const j = runs.json, rd = runs.read;
  console.log(`bare JSON.parse   ${j.seconds.toFixed(2)} s (cpu ${j.cpu.toFixed(2)} s)  peak RSS ${j.peakRssMiB.toFixed(0)} MiB  retained ${j.heapAfterMiB.toFixed(0)} MiB`);
  console.log(`readCocoDataset   ${rd.seconds.toFixed(2)} s (cpu ${rd.cpu.toFixed(2)} s)  peak RSS ${rd.peakRssMiB.toFixed(0)} MiB  retained ${rd.heapAfterMiB.toFixed(0)} MiB`);
  console.log(`ratios (read / bare): time ${(rd.seconds / j.seconds).toFixed(2)}x  cpu ${(rd.cpu / j.cpu).toFixed(2)}x  peak RSS ${(rd.peakRssMiB / j.peakRssMiB).toFixed(2)}x  retained ${(rd.heapAfterMiB / j.heapAfterMiB).toFixed(2)}x`);
}

await main();

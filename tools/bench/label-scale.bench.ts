// Labeling at scale: peak RSS and images/s of `omnidistill label` (the built CLI, one child
// process per measurement) at two dataset sizes, single-process and as 2 shards + merge.
// Tiny 8×8 PNGs (16 distinct contents, hard-linked N times, so setup is instant and decode
// is cheap) and a tiny detector whose two boxes' scores depend on the image, so the figures
// are the pipeline's own cost and memory, not a model's. Prints peak RSS per step and the
// ratio large/small (flat memory = a ratio near 1) for each step, with the CPU time of each
// child and the load average, per round (BENCH_ROUNDS, default 1: each round reruns every
// size into fresh output folders, so rounds interleave the sizes).
// Env: BENCH_SIZES (default "1000,100000"), BENCH_ROUNDS, BENCH_KEEP=1 keeps the work folder.
import { spawnSync } from 'node:child_process';
import { link, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { GraphBuilder } from '@omnidistill/artifacts';

const SIZES = (process.env.BENCH_SIZES ?? '1000,100000').split(',').map(Number);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const DISTINCT = 16;
const bin = resolve(dirname(fileURLToPath(import.meta.url)), '../../packages/cli/dist/bin.js');
// Printed by each process at exit: its peak resident set (KiB on Linux), CPU time (µs) and
// role: the label commands relaunch themselves with their heap flags (cli runtime/heap-child.ts),
// so a step is a small relaying parent plus the child that does the work. (No '?' or '#' in a data: URL.)
const RSS_HOOK = `data:text/javascript,process.on('exit',()=>{const u=process.resourceUsage();process.stderr.write('MAXRSS '+u.maxRSS+' CPU '+(u.userCPUTime+u.systemCPUTime)+' ROLE '+((process.env.OMNIDISTILL_HEAP_CHILD&&'worker')||'entry')+'\\n')})`;

/** Two fixed boxes; scores = mean red and mean green of the (padded) input; labels 0 and 1. */
function tinyDetector(): Uint8Array {
  const g = new GraphBuilder({ name: 'tiny_det' });
  const image = g.input('image', 'float32', [1, 3, 8, 8]);
  const channelMean = (c: number) => g.reshape(g.mul(g.reduceSum(g.slice(image, [c], [c + 1], [1]), [0, 1, 2, 3], false), 1 / 64), [1]);
  const zero = g.mul(g.reduceSum(image, [0, 1, 2, 3], false), 0);
  g.output(g.add(g.floats([0, 0, 4, 4, 2, 2, 8, 8], [2, 4]), zero), 'boxes');
  g.output(g.concat([channelMean(0), channelMean(1)], 0), 'scores');
  g.output(g.int64s([0, 1]), 'labels');
  return g.toModelBytes();
}

async function writeProblem(dir: string, n: number): Promise<Record<string, string>> {
  const images = join(dir, 'images');
  await mkdir(images, { recursive: true });
  const bases: string[] = [];
  for (let k = 0; k < DISTINCT; k++) {
    const px = new Uint8Array(8 * 8 * 3).map((_, i) => ((i % 3) * 37 + k * 13 + (i >> 4) * 5) % 256);
    const base = join(dir, `base-${k}.png`);
    await sharp(px, { raw: { width: 8, height: 8, channels: 3 } }).png().toFile(base);
    bases.push(base);
  }
  const entries: string[] = [];
  for (let i = 1; i <= n; i++) {
    const name = `img-${String(i).padStart(7, '0')}.png`;
    await link(bases[i % DISTINCT], join(images, name));
    entries.push(`{"id":${i},"file_name":"${name}","width":8,"height":8}`);
  }
  const categories = '[{"id":1,"name":"a"},{"id":2,"name":"b"}]';
  await writeFile(join(dir, 'unlabeled.json'), `{"images":[${entries.join(',\n')}],"annotations":[],"categories":${categories}}`);
  const labeled = {
    images: [1, 2, 3, 4].map((id) => ({ id, file_name: 'x.png', width: 8, height: 8 })),
    annotations: [1, 2, 3, 4, 5].map((id) => ({ id, image_id: 1 + (id % 4), category_id: 1 + (id % 2), bbox: [0, 0, 4, 4], area: 16, iscrowd: 0 })),
    categories: JSON.parse(categories),
  };
  await writeFile(join(dir, 'labeled.json'), JSON.stringify(labeled));
  await writeFile(join(dir, 'teacher.onnx'), tinyDetector());
  const manifest = { format: 'omnidistill-model', version: 1, role: 'detector', inputs: { image: 'image' }, outputs: { boxes: 'boxes', scores: 'scores', labels: 'labels' }, pixels: { scale: 255, resizeKernel: 'nearest' }, categoryIds: [1, 2] };
  await writeFile(join(dir, 'teacher.json'), JSON.stringify(manifest));
  return { teacher: join(dir, 'teacher.onnx'), unlabeled: join(dir, 'unlabeled.json'), images, labeled: join(dir, 'labeled.json') };
}

interface Step {
  /** Peak RSS of the process that did the work (the relaunched child, or the only process). */
  rssMiB: number;
  /** Peak RSS of the relaying parent, when the command relaunched itself. */
  parentRssMiB: number | null;
  seconds: number;
  /** CPU time of both processes. */
  cpuSeconds: number;
}

function run(args: string[]): Step {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--import', RSS_HOOK, bin, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`omnidistill ${args.slice(0, 2).join(' ')} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  const procs = [...r.stderr.matchAll(/MAXRSS (\d+) CPU (\d+) ROLE (\w+)/g)].map((m) => ({ rssMiB: Number(m[1]) / 1024, cpuSeconds: Number(m[2]) / 1e6, role: m[3] }));
  const worker = procs.find((p) => p.role === 'worker');
  const entry = procs.find((p) => p.role === 'entry')!;
  const cpuSeconds = procs.reduce((sum, p) => sum + p.cpuSeconds, 0);
  return { rssMiB: (worker ?? entry).rssMiB, parentRssMiB: worker ? entry.rssMiB : null, seconds, cpuSeconds };
}

const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
const work = await mkdtemp(join(tmpdir(), 'omnidistill-label-scale-'));
type Row = { n: number; single: Step; shard: Step; merge: Step };
const STEPS = ['single', 'shard', 'merge'] as const;
try {
  console.log(`load average at start: ${load()}`);
  const problems = new Map<number, Record<string, string>>();
  for (const n of SIZES) problems.set(n, await writeProblem(join(work, `n${n}`), n));
  for (let round = 1; round <= ROUNDS; round++) {
    const rows: Row[] = [];
    for (const n of SIZES) {
      const p = problems.get(n)!;
      const out = join(work, `n${n}`, `round${round}`);
      const base = ['label', '--task', 'detection', '--teacher', p.teacher, '--unlabeled', p.unlabeled, '--images', p.images, '--labeled', p.labeled, '--plan', 'single'];
      const single = run([...base, '--out', join(out, 'single')]);
      const shardOut = join(out, 'sharded');
      const shard = run([...base, '--out', shardOut, '--shard-index', '0', '--shard-count', '2']);
      run([...base, '--out', shardOut, '--shard-index', '1', '--shard-count', '2']);
      const merge = run(['label', 'merge', '--out', shardOut]);
      rows.push({ n, single, shard, merge });
      const parent = (s: Step) => (s.parentRssMiB === null ? '' : ` (relaying parent ${s.parentRssMiB.toFixed(1)} MiB)`);
      const cell = (s: Step) => `${s.rssMiB.toFixed(1)} MiB peak${parent(s)}, ${s.seconds.toFixed(1)} s, CPU ${s.cpuSeconds.toFixed(1)} s`;
      console.log(`round ${round}, ${String(n).padStart(7)} images: single run ${cell(single)} (${(n / single.seconds).toFixed(0)} images/s incl. start-up); shard 0 of 2 ${cell(shard)}; merge ${cell(merge)}; load ${load()}`);
    }
    if (rows.length >= 2) {
      const [a, b] = [rows[0], rows[rows.length - 1]];
      const ratio = (k: (typeof STEPS)[number]) => `${k} ${(b[k].rssMiB / a[k].rssMiB).toFixed(3)} (CPU ${(b[k].cpuSeconds / a[k].cpuSeconds).toFixed(1)}×)`;
      console.log(`round ${round}: peak RSS ratio ${b.n}/${a.n} images: ${STEPS.map(ratio).join(', ')} (1.000 = flat)`);
    }
  }
  console.log(`load average at end: ${load()}`);
} finally {
  if (process.env.BENCH_KEEP !== '1') await rm(work, { recursive: true, force: true });
  else console.log(`kept ${work}`);
}

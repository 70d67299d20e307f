// How `omnidistill label` (the built CLI, child processes) scales on one machine:
// (b) with intra-op threads (--threads) and with processes (shards of one run started
//     together, then `label merge`), on procedural 96 px object images with the reference
//     detector (two training steps: the architecture's real cost) under identity + flip;
//     configurations interleaved round by round, each with its wall rate, the CPU time of
//     every process, and the load average;
// (c) how the time grows with the number of images: the prediction loop's time per image
//     (label's own `time:` line) and the whole command's, on N hard links of the same
//     200 images (decode and model cost per image as in (b); the list, shards and selection
//     grow with N). Linear growth = the same time per image at every N.
// Env: BENCH_IMAGES (b, default 200), BENCH_ROUNDS (default 3), BENCH_GROWTH (c, default
// "1000,10000"; "" skips it), BENCH_THREADS (default "1,2"), BENCH_PROCESSES (default "1,2").
import { spawn } from 'node:child_process';
import { link, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { trainDetector } from '@omnidistill/models';
import { generateSplits } from '@omnidistill/synth';

const IMAGES = Number(process.env.BENCH_IMAGES ?? 200);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const GROWTH = (process.env.BENCH_GROWTH ?? '1000,10000').split(',').filter(Boolean).map(Number);
const THREADS = (process.env.BENCH_THREADS ?? '1,2').split(',').map(Number);
const PROCESSES = (process.env.BENCH_PROCESSES ?? '1,2').split(',').map(Number);
const bin = resolve(dirname(fileURLToPath(import.meta.url)), '../../packages/cli/dist/bin.js');
// Printed by each process at exit: the CPU time of all its threads (µs).
const CPU_HOOK = `data:text/javascript,process.on('exit',()=>{const u=process.cpuUsage();process.stderr.write('CPUUS '+(u.user+u.system)+'\\n')})`;

interface Child {
  stderr: string;
  cpuMs: number;
}

/** Runs the CLI in a child process; rejects with its stderr tail on failure. */
function cli(args: string[]): Promise<Child> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, ['--import', CPU_HOOK, bin, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', rej);
    child.on('exit', (code) => {
      if (code !== 0) return rej(new Error(`omnidistill ${args[0]} failed (${code}): ${stderr.slice(-2000)}`));
      // `label` relaunches itself with its heap flags (cli runtime/heap-child.ts): both processes print.
      const cpuUs = [...stderr.matchAll(/CPUUS (\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
      res({ stderr, cpuMs: cpuUs > 0 ? cpuUs / 1000 : NaN });
    });
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const work = await mkdtemp(join(tmpdir(), 'omnidistill-label-scaling-'));
try {
  const splits = await generateSplits({ outDir: work, style: 'objects', imageSize: 96, counts: { labeled: 16, unlabeled: IMAGES }, seed: 5, hiddenLabels: false });
  const labeled = splits.splits.labeled!;
  const unlabeled = splits.splits.unlabeled!;
  const teacher = await trainDetector({ train: { coco: labeled.annotations, imageDir: labeled.imagesDir }, steps: 2, batch: 2, outDir: join(work, 'teacher'), name: 'teacher' });
  const labelArgs = (list: string, images: string, out: string) =>
    ['label', '--task', 'detection', '--teacher', teacher.onnxPath, '--unlabeled', list, '--images', images, '--labeled', labeled.annotations, '--plan', 'flip', '--no-check', '--out', out];

  // (b) threads × processes, interleaved rounds.
  console.log(`(b) ${IMAGES} images of 96 px, reference detector, identity + flip, ${ROUNDS} interleaved rounds, ${availableParallelism()} cores`);
  const configs = THREADS.flatMap((threads) => PROCESSES.map((processes) => ({ threads, processes })));
  const results = new Map<string, { rate: number[]; cpu: number[]; load: number[] }>();
  let run = 0;
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of configs) {
      const out = join(work, `b-${run++}`);
      const base = [...labelArgs(unlabeled.annotations, unlabeled.imagesDir, out), '--threads', String(c.threads)];
      const t0 = performance.now();
      const children =
        c.processes === 1 ? [await cli(base)] : await Promise.all([...Array(c.processes).keys()].map((i) => cli([...base, '--shard-index', String(i), '--shard-count', String(c.processes)])));
      if (c.processes > 1) children.push(await cli(['label', 'merge', '--out', out]));
      const seconds = (performance.now() - t0) / 1000;
      const key = `${c.threads}×${c.processes}`;
      const r = results.get(key) ?? { rate: [], cpu: [], load: [] };
      r.rate.push(IMAGES / seconds);
      r.cpu.push(children.reduce((s, ch) => s + ch.cpuMs, 0) / IMAGES);
      r.load.push(loadavg()[0]);
      results.set(key, r);
      await rm(out, { recursive: true, force: true });
    }
  }
  const baseRate = median(results.get(`${THREADS[0]}×${PROCESSES[0]}`)!.rate);
  console.log('  threads × processes | images/s (whole command, incl. start-up + merge) | speed-up | CPU ms/image (all processes) | load (1 min)');
  for (const [key, r] of results) {
    console.log(`  ${key.padEnd(19)} | ${median(r.rate).toFixed(1).padStart(8)} | ${(median(r.rate) / baseRate).toFixed(2)}× | ${median(r.cpu).toFixed(2)} | ${r.load.map((l) => l.toFixed(1)).join(', ')}`);
  }

  // (c) growth: N hard links of the same images, one run per N (largest last).
  if (GROWTH.length > 0) {
    console.log(`(c) time per image as the image count grows (hard links of the ${IMAGES} images above; --threads ${THREADS.at(-1)})`);
    const source = JSON.parse(await readFile(unlabeled.annotations, 'utf8')) as { images: { file_name: string; width: number; height: number }[]; categories: unknown[] };
    const rows: { n: number; loopMsPerImage: number; wallMsPerImage: number }[] = [];
    for (const n of GROWTH) {
      const dir = join(work, `c-${n}`);
      const images = join(dir, 'images');
      await mkdir(images, { recursive: true });
      const entries: string[] = [];
      for (let i = 1; i <= n; i++) {
        const src = source.images[(i - 1) % source.images.length];
        const name = `img-${String(i).padStart(7, '0')}.png`;
        await link(join(unlabeled.imagesDir, src.file_name), join(images, name));
        entries.push(JSON.stringify({ id: i, file_name: name, width: src.width, height: src.height }));
      }
      const list = join(dir, 'unlabeled.json');
      await writeFile(list, `{"images":[${entries.join(',\n')}],"annotations":[],"categories":${JSON.stringify(source.categories)}}`);
      const t0 = performance.now();
      const child = await cli([...labelArgs(list, images, join(dir, 'out')), '--threads', String(THREADS.at(-1))]);
      const wallMsPerImage = (performance.now() - t0) / n;
      const m = /prediction ([\d.]+)s/.exec(child.stderr) ?? /prediction (\d+)m(\d+)s/.exec(child.stderr);
      const loopSeconds = m && m.length === 3 ? Number(m[1]) * 60 + Number(m[2]) : Number(m?.[1]);
      rows.push({ n, loopMsPerImage: (1000 * loopSeconds) / n, wallMsPerImage });
      console.log(`  ${String(n).padStart(7)} images: prediction loop ${(loopSeconds).toFixed(1)} s = ${((1000 * loopSeconds) / n).toFixed(2)} ms/image · whole command ${wallMsPerImage.toFixed(2)} ms/image · load ${loadavg()[0].toFixed(1)}`);
      console.log(`          ${/^time: .*$/m.exec(child.stderr)?.[0] ?? ''}`);
      await rm(dir, { recursive: true, force: true });
    }
    const [first, last] = [rows[0], rows.at(-1)!];
    console.log(`  RATIO time per image ${last.n} / ${first.n} images: loop ${(last.loopMsPerImage / first.loopMsPerImage).toFixed(2)}, whole command ${(last.wallMsPerImage / first.wallMsPerImage).toFixed(2)} (1.00 = linear)`);
  }
} finally {
  await rm(work, { recursive: true, force: true });
}

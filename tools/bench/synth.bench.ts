// Synthetic data generation throughput: the full pipeline (render on this thread while PNG
// encodes run in sharp's thread pool, `concurrency` 4) next to the same pipeline one image at a
// time (`concurrency` 1: render, encode, write, in turn), plus render alone, per style and size;
// best of two runs each, since the machine is shared; images per CPU-second (all threads) is
// the figure least disturbed by other processes. Also prints the data statistics the demo
// relies on. SYNTH_BENCH_BIG=1 adds a 10 000-image run on the calling thread next to the same
// run in 2 worker threads (built package; workers pay a start-up cost, so only large runs tell).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
// Imported by path (like cocoeval.bench.ts does for its generator) so this bench needs no lockfile change.
import { generateSplits, renderSample, type GenerateResult, type SynthStyle } from '@omnidistill/synth';

const N = 300;

function rate(n: number, t0: bigint): number {
  return n / (Number(process.hrtime.bigint() - t0) / 1e9);
}

// Worker threads need the compiled package (they cannot load .ts sources).
const distUrl = new URL('../../packages/synth/dist/index.js', import.meta.url);
const dist = existsSync(fileURLToPath(distUrl)) ? ((await import(distUrl.href)) as typeof import('@omnidistill/synth')) : undefined;
if (dist === undefined) console.log('(worker-thread runs skipped: build packages/synth first, e.g. pnpm build)');

/** CPU seconds (user + system, all threads of this process) since `c0`. */
function cpuSeconds(c0: NodeJS.CpuUsage): number {
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1e6;
}

async function pipeline(style: SynthStyle, size: number, concurrency: number): Promise<{ rate: number; perCpuSecond: number; result: GenerateResult }> {
  const dir = await mkdtemp(join(tmpdir(), 'synth-bench-'));
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const result = await generateSplits({ outDir: dir, style, imageSize: size, seed: 1, counts: { val: N }, concurrency });
  const r = rate(N, t0);
  const perCpuSecond = N / cpuSeconds(c0);
  await rm(dir, { recursive: true, force: true });
  return { rate: r, perCpuSecond, result };
}

async function measure(style: SynthStyle, size: number): Promise<void> {
  const key = { style, width: size, height: size, seed: 1, split: 'val' as const };
  for (let i = 0; i < 20; i++) renderSample({ ...key, index: 1000 + i }); // warm-up
  let render = 0;
  let sequential = 0;
  let fast = 0;
  let perCpu = 0;
  let result: GenerateResult | undefined;
  for (let rep = 0; rep < 2; rep++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) renderSample({ ...key, index: i });
    render = Math.max(render, rate(N, t0));
    sequential = Math.max(sequential, (await pipeline(style, size, 1)).rate);
    const p = await pipeline(style, size, 4);
    fast = Math.max(fast, p.rate);
    perCpu = Math.max(perCpu, p.perCpuSecond);
    result = p.result;
  }
  const s = result!.splits.val!.stats;
  const extra = s.meanLabeledKeypoints !== undefined ? ` | labeled kps/inst ${s.meanLabeledKeypoints.toFixed(2)}` : '';
  console.log(
    `${style.padEnd(9)} ${size}px | pipelined ${fast.toFixed(0).padStart(4)} img/s | baseline one at a time ${sequential.toFixed(0).padStart(4)} img/s | ` +
      `ratio ${(fast / sequential).toFixed(2)}x | render only ${render.toFixed(0).padStart(4)} img/s | ${perCpu.toFixed(0)} img per CPU-second | ` +
      `inst/img ${s.instancesPerImage.toFixed(2)} | small/medium/large ${s.areaFractions.small.toFixed(2)}/${s.areaFractions.medium.toFixed(2)}/${s.areaFractions.large.toFixed(3)}${extra}`,
  );
}

for (const style of ['keypoints', 'shifted', 'objects'] as const) {
  for (const size of [96, 128]) await measure(style, size);
}

async function big(workers: number): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'synth-bench-big-'));
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const gen = workers > 0 ? dist!.generateSplits : generateSplits;
  const r = await gen({ outDir: dir, imageSize: 96, seed: 1, counts: { labeled: 200, unlabeled: 9500, val: 300 }, workers });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = cpuSeconds(c0);
  console.log(`10 000 keypoint images at 96 px, ${workers > 0 ? `${workers} workers` : 'calling thread'}: ${seconds.toFixed(1)} s (${(10000 / seconds).toFixed(0)} img/s), ${cpu.toFixed(1)} CPU-s; unlabeled split stats ${JSON.stringify(r.splits.unlabeled!.stats)}`);
  await rm(dir, { recursive: true, force: true });
}

if (process.env.SYNTH_BENCH_BIG === '1') {
  await big(0);
  if (dist) await big(2);
}

// Throughput of `omnidistill label` against a bare onnxruntime-node loop running the same
// model over the same transformed inputs (identity + flip tensors prepared beforehand, one
// session.run after the other), on procedural object images (96 px by default) with the reference
// detector (two training steps: the architecture's real cost, not a useful model).
// Rounds are interleaved (bare, bare with onnxruntime's default spinning threads, label) so
// that a shared machine's load hits all of them alike; each prints wall rate, CPU time per
// image (all threads) and the load average. label's figures are its prediction loop's, from
// its own `time:` line (start-up and selection left out; the whole command is shown too).
// Env: BENCH_IMAGES (default 200), BENCH_ROUNDS (default 3), BENCH_SIZE (image side, default 96).
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createModelSession, decodeImage, inputSizeFor, parseManifest, toInputTensor, type DetectorManifest, type DetectorSession } from '@omnidistill/infer';
import { trainDetector } from '@omnidistill/models';
import { generateSplits } from '@omnidistill/synth';

const IMAGES = Number(process.env.BENCH_IMAGES ?? 200);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SIZE = Number(process.env.BENCH_SIZE ?? 96);
const bin = resolve(dirname(fileURLToPath(import.meta.url)), '../../packages/cli/dist/bin.js');
// onnxruntime-node is a dependency of packages/infer (not of this package): resolve it there.
const ort = createRequire(new URL('../../packages/infer/package.json', import.meta.url))('onnxruntime-node') as typeof import('onnxruntime-node');

interface Sample {
  rate: number;
  cpuMsPerImage: number;
  load: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The bare loop: only session.run over the prepared tensors, one call after the other. */
async function bareLoop(model: DetectorSession, feeds: Record<string, import('onnxruntime-node').Tensor>[]): Promise<Sample> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (const feed of feeds) await model.session.run(feed);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { rate: IMAGES / seconds, cpuMsPerImage: (cpu.user + cpu.system) / 1000 / IMAGES, load: loadavg()[0] };
}

const work = await mkdtemp(join(tmpdir(), 'omnidistill-label-overhead-'));
try {
  const splits = await generateSplits({ outDir: work, style: 'objects', imageSize: SIZE, counts: { labeled: 16, unlabeled: IMAGES }, seed: 5, hiddenLabels: false });
  const labeled = splits.splits.labeled!;
  const unlabeled = splits.splits.unlabeled!;
  const teacher = await trainDetector({ train: { coco: labeled.annotations, imageDir: labeled.imagesDir }, steps: 2, batch: 2, outDir: join(work, 'teacher'), name: 'teacher' });

  // Every image decoded and turned into its two input tensors first.
  const manifest = parseManifest(JSON.parse(await readFile(teacher.manifestPath, 'utf8'))) as DetectorManifest;
  const bytes = new Uint8Array(await readFile(teacher.onnxPath));
  const model = await createModelSession(bytes, manifest); // label's session options (intra-op threads sleep when idle)
  const spinning = await createModelSession(bytes, manifest, { spinning: true }); // onnxruntime's defaults
  const coco = JSON.parse(await readFile(unlabeled.annotations, 'utf8')) as { images: { file_name: string }[] };
  const feeds: Record<string, import('onnxruntime-node').Tensor>[] = [];
  for (const im of coco.images) {
    const decoded = await decodeImage(join(unlabeled.imagesDir, im.file_name));
    if (!decoded.ok) throw new Error(`${im.file_name}: ${decoded.failure.reason}`);
    const size = { width: decoded.image.width, height: decoded.image.height };
    const padded = inputSizeFor(size, model.inputs.image.dims, manifest.pixels.sizeDivisor);
    for (const flip of [false, true]) {
      feeds.push({ [model.inputs.image.name]: new ort.Tensor('float32', toInputTensor(decoded.image, manifest.pixels, flip, padded), [1, 3, padded.height, padded.width]) });
    }
  }
  await model.session.run(feeds[0]); // warm-up
  await spinning.session.run(feeds[0]);

  const labelRun = (round: number): Sample & { wallRate: number; time: string; stages: string } => {
    const t1 = performance.now();
    const r = spawnSync(
      process.execPath,
      [bin, 'label', '--task', 'detection', '--teacher', teacher.onnxPath, '--unlabeled', unlabeled.annotations, '--images', unlabeled.imagesDir, '--labeled', labeled.annotations, '--plan', 'flip', '--out', join(work, `labels-${round}`)],
      { encoding: 'utf8' },
    );
    const wallRate = IMAGES / ((performance.now() - t1) / 1000);
    if (r.status !== 0) throw new Error(`label failed: ${r.stderr.slice(-2000)}`);
    const time = /^time: .*$/m.exec(r.stderr)?.[0] ?? '';
    const stages = /^stages .*$/m.exec(r.stderr)?.[0] ?? '';
    const m = /prediction [^;]*; \d+ images, ([\d.]+) img\/s, CPU ([\d.]+) ms\/image/.exec(time);
    if (!m) throw new Error(`no prediction figures in label's time line: ${time}`);
    return { rate: Number(m[1]), cpuMsPerImage: Number(m[2]), load: loadavg()[0], wallRate, time, stages };
  };

  const rows: { bare: Sample; spin: Sample; label: ReturnType<typeof labelRun> }[] = [];
  console.log(`${IMAGES} images of ${SIZE} px, reference detector, identity + flip (2 model runs per image), ${ROUNDS} interleaved rounds`);
  for (let round = 0; round < ROUNDS; round++) {
    const bare = await bareLoop(model, feeds);
    const spin = await bareLoop(spinning, feeds);
    const label = labelRun(round);
    rows.push({ bare, spin, label });
    console.log(
      `  round ${round + 1}: bare ${bare.rate.toFixed(1)} img/s (CPU ${bare.cpuMsPerImage.toFixed(2)} ms/img) · bare, spinning threads ${spin.rate.toFixed(1)} img/s (CPU ${spin.cpuMsPerImage.toFixed(2)}) · ` +
        `label loop ${label.rate.toFixed(1)} img/s (CPU ${label.cpuMsPerImage.toFixed(2)}) → overhead ${((bare.rate / label.rate - 1) * 100).toFixed(0)} % · load ${label.load.toFixed(1)}`,
    );
  }
  const med = (pick: (r: (typeof rows)[number]) => number) => median(rows.map(pick));
  const overhead = med((r) => r.bare.rate / r.label.rate - 1);
  console.log(`  median bare onnxruntime-node loop (prepared tensors, session.run only): ${med((r) => r.bare.rate).toFixed(1)} images/s, CPU ${med((r) => r.bare.cpuMsPerImage).toFixed(2)} ms/image`);
  console.log(`  median bare loop with onnxruntime's spinning intra-op threads:         ${med((r) => r.spin.rate).toFixed(1)} images/s, CPU ${med((r) => r.spin.cpuMsPerImage).toFixed(2)} ms/image`);
  console.log(`  median omnidistill label, prediction loop:                            ${med((r) => r.label.rate).toFixed(1)} images/s, CPU ${med((r) => r.label.cpuMsPerImage).toFixed(2)} ms/image`);
  console.log(`  RATIO label overhead vs bare loop (median of per-round ratios): ${(overhead * 100).toFixed(0)} % wall, ${((med((r) => r.label.cpuMsPerImage / r.bare.cpuMsPerImage) - 1) * 100).toFixed(0)} % CPU (target ≤ 20 %)`);
  console.log(`  omnidistill label, whole command incl. start-up and selection: ${med((r) => r.label.wallRate).toFixed(1)} images/s`);
  console.log(`  load average (1 min) over the rounds: ${rows.map((r) => r.label.load.toFixed(1)).join(', ')} on ${(await import('node:os')).availableParallelism()} cores`);
  console.log(`  last round: ${rows.at(-1)!.label.time}`);
  console.log(`              ${rows.at(-1)!.label.stages}`);
} finally {
  await rm(work, { recursive: true, force: true });
}

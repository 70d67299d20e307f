// Transform batching: the same yolo detector exported with batch 1 and with a dynamic batch
// dimension (packages/infer/test/layouts/yolo-detect{,-batch}.onnx, tools/layouts/dynamic_batch.py:
// identical weights, fixed 96 × 128 letterboxed input), on procedural 96 px object images.
// Interleaved rounds of:
//   - bare, batch 1: one session.run per transform over prepared [1, 3, 96, 128] tensors;
//   - bare, batched: one session.run per image over a prepared [T, 3, 96, 128] tensor;
//   - omnidistill label with each model as the teacher (the dynamic one runs an image's
//     transforms in one call; the batch-1 one a call per transform), whose generated.json must
//     be identical (checked every round).
// The bare loops' tensors hold a fixed pattern, not letterboxed images: a convolution network's
// cost does not depend on the pixel values. Each line gives wall rate, CPU time per image (all
// threads) and the load average; ratios are medians of per-round ratios.
// Env: BENCH_IMAGES (default 200), BENCH_ROUNDS (default 3), BENCH_SCALES (e.g. `0.75,1.25`: the
// plan is identity, flip and these relative scales ± flip; default identity + flip).
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tensor } from 'onnxruntime-node';
import { createModelSession, loadManifest, type DetectorManifest, type DetectorSession } from '@omnidistill/infer';
import { customPlan, relativePlan } from '@omnidistill/transforms';
import { generateSplits } from '@omnidistill/synth';
import { measureImages, median, type Sample } from './images-sample.js';

const IMAGES = Number(process.env.BENCH_IMAGES ?? 200);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SCALES = process.env.BENCH_SCALES ? process.env.BENCH_SCALES.split(',').map(Number) : null;
const PLAN = SCALES ? relativePlan({ factors: SCALES }) : customPlan([{ flip: true }]);
const PLAN_FLAGS = SCALES ? ['--scales', SCALES.map((f) => `${f}x`).join(',')] : ['--plan', 'flip'];
const T = PLAN.transforms.length;
const HERE = dirname(fileURLToPath(import.meta.url));
const bin = resolve(HERE, '../../packages/cli/dist/bin.js');
const FIXTURES = resolve(HERE, '../../packages/infer/test/layouts');
const [H, W] = [96, 128];

/** Rate, CPU per image and load of `work` over the IMAGES images. */
const measure = (work: () => Promise<void>): Promise<Sample> => measureImages(IMAGES, work);

/** A `[n, 3, H, W]` input holding a fixed pattern (normalised 0..1 values). */
function patternInput(n: number): Tensor {
  return new Tensor('float32', Float32Array.from({ length: n * 3 * H * W }, (_, i) => (i % 251) / 251), [n, 3, H, W]);
}

async function open(name: string): Promise<DetectorSession> {
  const manifest = (await loadManifest(join(FIXTURES, `${name}.json`))) as DetectorManifest;
  return createModelSession(join(FIXTURES, `${name}.onnx`), manifest); // label's session options
}

const work = await mkdtemp(join(tmpdir(), 'omnidistill-label-batch-'));
try {
  const splits = await generateSplits({ outDir: work, style: 'objects', imageSize: 96, counts: { labeled: 16, unlabeled: IMAGES }, seed: 5, hiddenLabels: false });
  const labeled = splits.splits.labeled!;
  const unlabeled = splits.splits.unlabeled!;
  const one = await open('yolo-detect');
  const many = await open('yolo-detect-batch');
  const single = patternInput(1);
  const stacked = patternInput(T);
  await one.session.run({ [one.inputs.image.name]: single }); // warm-up
  await many.session.run({ [many.inputs.image.name]: stacked });

  const bareOne = () =>
    measure(async () => {
      for (let i = 0; i < IMAGES * T; i++) await one.session.run({ [one.inputs.image.name]: single });
    });
  const bareMany = () =>
    measure(async () => {
      for (let i = 0; i < IMAGES; i++) await many.session.run({ [many.inputs.image.name]: stacked });
    });
  const label = (teacher: string, out: string): Sample => {
    const r = spawnSync(
      process.execPath,
      [bin, 'label', '--task', 'detection', '--teacher', join(FIXTURES, `${teacher}.onnx`), '--unlabeled', unlabeled.annotations, '--images', unlabeled.imagesDir, '--labeled', labeled.annotations, ...PLAN_FLAGS, '--out', join(work, out)],
      { encoding: 'utf8' },
    );
    if (r.status !== 0) throw new Error(`label failed: ${r.stderr.slice(-2000)}`);
    const time = /^time: .*$/m.exec(r.stderr)?.[0] ?? '';
    const m = /prediction [^;]*; \d+ images, ([\d.]+) img\/s, CPU ([\d.]+) ms\/image/.exec(time);
    if (!m) throw new Error(`no prediction figures in label's time line: ${time}`);
    return { rate: Number(m[1]), cpuMsPerImage: Number(m[2]), load: loadavg()[0] };
  };

  const rows: { bareOne: Sample; bareMany: Sample; labelOne: Sample; labelMany: Sample; same: boolean }[] = [];
  const fmt = (s: Sample) => `${s.rate.toFixed(1)} img/s (CPU ${s.cpuMsPerImage.toFixed(2)} ms/img)`;
  console.log(`${IMAGES} images of 96 px, yolo-detect fixture (96 × 128 letterbox), ${PLAN.transforms.map((t) => t.name).join(' + ')} (${T} transforms), ${ROUNDS} interleaved rounds on ${availableParallelism()} cores`);
  for (let round = 0; round < ROUNDS; round++) {
    const row = {
      bareOne: await bareOne(),
      bareMany: await bareMany(),
      labelOne: label('yolo-detect', `one-${round}`),
      labelMany: label('yolo-detect-batch', `many-${round}`),
      same: false,
    };
    const generated = (dir: string) => readFile(join(work, dir, 'generated.json'), 'utf8');
    row.same = (await generated(`one-${round}`)) === (await generated(`many-${round}`));
    rows.push(row);
    console.log(
      `  round ${round + 1}: bare batch 1 ${fmt(row.bareOne)} · bare batched ${fmt(row.bareMany)} · label, batch-1 model ${fmt(row.labelOne)} · ` +
        `label, dynamic-batch model ${fmt(row.labelMany)} · generated.json ${row.same ? 'identical' : 'DIFFERENT'} · load ${row.labelMany.load.toFixed(1)}`,
    );
  }
  type Row = (typeof rows)[number];
  const med = (pick: (r: Row) => number) => median(rows.map(pick));
  const line = (name: string, pick: (r: Row) => Sample) =>
    console.log(`  median ${name.padEnd(52)} ${med((r) => pick(r).rate).toFixed(1).padStart(6)} images/s, CPU ${med((r) => pick(r).cpuMsPerImage).toFixed(2)} ms/image`);
  line(`bare loop, batch-1 model (${T} calls per image):`, (r) => r.bareOne);
  line('bare loop, dynamic-batch model (1 call per image):', (r) => r.bareMany);
  line('omnidistill label, batch-1 model:', (r) => r.labelOne);
  line('omnidistill label, dynamic-batch model:', (r) => r.labelMany);
  const pct = (ratio: number) => `${(ratio * 100 - 100).toFixed(0)} %`;
  const over = (pick: (r: Row) => Sample, base: (r: Row) => Sample) =>
    `${pct(med((r) => base(r).rate / pick(r).rate))} wall, ${pct(med((r) => pick(r).cpuMsPerImage / base(r).cpuMsPerImage))} CPU`;
  console.log(`  RATIO bare batched vs bare batch 1 (time per image):       ${over((r) => r.bareMany, (r) => r.bareOne)}`);
  console.log(`  RATIO label dynamic-batch vs label batch-1 model:          ${over((r) => r.labelMany, (r) => r.labelOne)}`);
  console.log(`  RATIO label batch-1 model overhead vs its bare loop:       ${over((r) => r.labelOne, (r) => r.bareOne)}`);
  console.log(`  RATIO label dynamic-batch overhead vs bare batch-1 loop:   ${over((r) => r.labelMany, (r) => r.bareOne)}`);
  console.log(`  RATIO label dynamic-batch overhead vs bare batched loop:   ${over((r) => r.labelMany, (r) => r.bareMany)}`);
  console.log(`  generated.json identical in ${rows.filter((r) => r.same).length} / ${rows.length} rounds; load average (1 min): ${rows.map((r) => r.labelMany.load.toFixed(1)).join(', ')}`);
  await one.session.release();
  await many.session.release();
} finally {
  await rm(work, { recursive: true, force: true });
}

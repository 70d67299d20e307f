// Throughput of `omnidistill label` against bare onnxruntime-node loops running the same
// model over the same transformed inputs, on procedural object images (96 px by default) with
// the reference detector (two training steps: the architecture's real cost, not a useful model).
// Two bare loops, because "the same transformed inputs" can be read two ways:
//   - bare: the issue's definition — every transform's input tensor prepared beforehand, one
//     session.run after the other (no file read, no decoding, no resizing or tensor filling);
//   - bare + decode: each image read and decoded once (sharp), its tensors filled (resized per
//     scale, flipped, normalised, as label does), then the session.run calls — the least any
//     labeling program has to do per image.
// label runs with its default model thread choice (auto: off on ≤ 2 cores) and with
// --model-thread on, to show what the thread costs here.
// Rounds are interleaved (bare, bare + decode, bare with onnxruntime's default spinning
// threads, label, label with the model thread) so that a shared machine's load hits all of
// them alike; each prints wall rate, CPU time per image (all threads) and the load average.
// label's figures are its prediction loop's, from its own `time:` line (start-up and selection
// left out; the whole command is shown too).
// Per round it also times, in this process, the pieces label adds to the bare loop, each alone:
// reading + decoding, filling the input tensors, merging the transforms' detections (NMS + box voting).
// Env: BENCH_IMAGES (default 200), BENCH_ROUNDS (default 3), BENCH_SIZE (image side, default 96),
// BENCH_SCALES (e.g. `0.75,1.25`: the plan is then identity, flip and these relative scales ± flip,
// label's `--scales 0.75x,1.25x`; default: identity + flip, label's `--plan flip`),
// BENCH_BASELINE_BIN (another build's packages/cli/dist/bin.js, e.g. of a git worktree at an
// older commit: its label runs in the same rounds, for a before/after ratio under the same load).
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mergeDetections, type TransformDetections } from '@omnidistill/boxes';
import { createModelSession, decodeImage, detectAllTransforms, parseManifest, prepareInput, type DecodedImage, type DetectorManifest, type DetectorSession } from '@omnidistill/infer';
import { customPlan, relativePlan, resolvePlan, type TransformPlan } from '@omnidistill/transforms';
import { trainDetector } from '@omnidistill/models';
import { generateSplits } from '@omnidistill/synth';
import { measureImages, median, type Sample } from './images-sample.js';

const IMAGES = Number(process.env.BENCH_IMAGES ?? 200);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SIZE = Number(process.env.BENCH_SIZE ?? 96);
const bin = resolve(dirname(fileURLToPath(import.meta.url)), '../../packages/cli/dist/bin.js');
const baselineBin = process.env.BENCH_BASELINE_BIN ? resolve(process.env.BENCH_BASELINE_BIN) : null;
const SCALES = process.env.BENCH_SCALES ? process.env.BENCH_SCALES.split(',').map(Number) : null;
/** The plan of the in-process loops, and the same plan as label's flags. */
const PLAN: TransformPlan = SCALES ? relativePlan({ factors: SCALES }) : customPlan([{ flip: true }]);
const PLAN_FLAGS = SCALES ? ['--scales', SCALES.map((f) => `${f}x`).join(',')] : ['--plan', 'flip'];

/** Rate, CPU per image and load of `work` over the IMAGES images. */
const measure = (work: () => Promise<void>): Promise<Sample> => measureImages(IMAGES, work);

type Feed = Record<string, import('onnxruntime-node').Tensor>;

/** The bare loop: only session.run over the prepared tensors, one call after the other. */
function bareLoop(model: DetectorSession, feeds: Feed[]): Promise<Sample> {
  return measure(async () => {
    for (const feed of feeds) await model.session.run(feed);
  });
}

/** The input tensors of one decoded image under every transform of the plan (resized, flipped, normalised, padded as label does). */
async function transformedFeeds(model: DetectorSession, image: DecodedImage): Promise<Feed[]> {
  const feeds: Feed[] = [];
  for (const g of resolvePlan(PLAN, image)) feeds.push({ [model.inputs.image.name]: await prepareInput(model, image, g) });
  return feeds;
}

/** Decodes one image file (a bench failure if it does not decode). */
async function decoded(file: string): Promise<DecodedImage> {
  const d = await decodeImage(file);
  if (!d.ok) throw new Error(`${file}: ${d.failure.reason}`);
  return d.image;
}

/** The bare loop with decoding: each image read and decoded once, its tensors filled, then the model calls. */
function bareDecodeLoop(model: DetectorSession, files: readonly string[]): Promise<Sample> {
  return measure(async () => {
    for (const file of files) for (const feed of await transformedFeeds(model, await decoded(file))) await model.session.run(feed);
  });
}

/** Reading and decoding alone. */
function decodeLoop(files: readonly string[]): Promise<Sample> {
  return measure(async () => {
    for (const file of files) await decoded(file);
  });
}

/** Filling the input tensors alone (resize, flip, normalise, pad), from decoded images. */
function tensorLoop(model: DetectorSession, images: readonly DecodedImage[]): Promise<Sample> {
  return measure(async () => {
    for (const image of images) await transformedFeeds(model, image);
  });
}

/** label's merge of the transforms' detections alone (NMS + box voting, its default settings). */
function mergeLoop(perImage: readonly TransformDetections[][]): Promise<Sample> {
  return measure(async () => {
    for (const transforms of perImage) mergeDetections(transforms, { convention: 'continuous' });
  });
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
  const files = coco.images.map((im) => join(unlabeled.imagesDir, im.file_name));
  const feeds: Feed[] = [];
  const perImage: TransformDetections[][] = [];
  const images: DecodedImage[] = [];
  for (const file of files) {
    const image = await decoded(file);
    images.push(image);
    feeds.push(...(await transformedFeeds(model, image)));
    perImage.push(await detectAllTransforms(model, image, PLAN));
  }
  await model.session.run(feeds[0]); // warm-up
  await spinning.session.run(feeds[0]);

  const labelRun = (name: string, extra: string[] = [], cli = bin): Sample & { wallRate: number; time: string; stages: string } => {
    const t1 = performance.now();
    const r = spawnSync(
      process.execPath,
      [cli, 'label', '--task', 'detection', '--teacher', teacher.onnxPath, '--unlabeled', unlabeled.annotations, '--images', unlabeled.imagesDir, '--labeled', labeled.annotations, ...PLAN_FLAGS, '--out', join(work, name), ...extra],
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

  type LabelSample = ReturnType<typeof labelRun>;
  const rows: { bare: Sample; decode: Sample; spin: Sample; decodeOnly: Sample; tensors: Sample; merge: Sample; label: LabelSample; threaded: LabelSample; baseline: LabelSample | null }[] = [];
  const pct = (ratio: number) => `${(ratio * 100 - 100).toFixed(0)} %`;
  const cores = availableParallelism();
  const runs = PLAN.transforms.length;
  console.log(`${IMAGES} images of ${SIZE} px, reference detector, ${PLAN.transforms.map((t) => t.name).join(' + ')} (${runs} model runs per image), ${ROUNDS} interleaved rounds on ${cores} cores`);
  for (let round = 0; round < ROUNDS; round++) {
    const bare = await bareLoop(model, feeds);
    const decode = await bareDecodeLoop(model, files);
    const spin = await bareLoop(spinning, feeds);
    const label = labelRun(`labels-${round}`);
    const threaded = labelRun(`labels-thread-${round}`, ['--model-thread', 'on']);
    const baseline = baselineBin ? labelRun(`labels-baseline-${round}`, [], baselineBin) : null;
    const decodeOnly = await decodeLoop(files);
    const tensors = await tensorLoop(model, images);
    const merge = await mergeLoop(perImage);
    rows.push({ bare, decode, spin, decodeOnly, tensors, merge, label, threaded, baseline });
    const fmt = (s: Sample) => `${s.rate.toFixed(1)} img/s (CPU ${s.cpuMsPerImage.toFixed(2)} ms/img)`;
    console.log(
      `  round ${round + 1}: bare ${fmt(bare)} · bare + decode ${fmt(decode)} · bare, spinning threads ${fmt(spin)} · ` +
        `label loop ${fmt(label)} · label, model thread on ${fmt(threaded)}${baseline ? ` · baseline build's label ${fmt(baseline)}` : ''} · load ${label.load.toFixed(1)}`,
    );
  }
  const med = (pick: (r: (typeof rows)[number]) => number) => median(rows.map(pick));
  const line = (name: string, pick: (r: (typeof rows)[number]) => Sample) =>
    console.log(`  median ${name.padEnd(62)} ${med((r) => pick(r).rate).toFixed(1).padStart(6)} images/s, CPU ${med((r) => pick(r).cpuMsPerImage).toFixed(2)} ms/image`);
  line('bare onnxruntime-node loop (prepared tensors, session.run only):', (r) => r.bare);
  line('bare loop + decoding each image once and filling its tensors:', (r) => r.decode);
  line("bare loop with onnxruntime's spinning intra-op threads:", (r) => r.spin);
  line(`omnidistill label, prediction loop (model thread ${cores > 2 ? 'on' : 'off'}: auto):`, (r) => r.label);
  line('omnidistill label --model-thread on, prediction loop:', (r) => r.threaded);
  if (baselineBin) line(`baseline build's label (${baselineBin}):`.slice(0, 62), (r) => r.baseline!);
  // Where label's CPU goes beyond the model (medians, ms per image; the pieces are timed alone).
  const cpu = (pick: (r: (typeof rows)[number]) => Sample) => med((r) => pick(r).cpuMsPerImage);
  const rest = med((r) => r.label.cpuMsPerImage - r.decode.cpuMsPerImage - r.merge.cpuMsPerImage);
  console.log(
    `  CPU per image: model ${cpu((r) => r.bare).toFixed(2)} ms (${runs} runs) · read + decode ${cpu((r) => r.decodeOnly).toFixed(2)} · input tensors ${cpu((r) => r.tensors).toFixed(2)} ` +
      `· merge ${cpu((r) => r.merge).toFixed(2)} · the rest of label's loop ${rest.toFixed(2)} (label − bare + decode − merge: runner, shards, GC, pipelining)`,
  );
  // Overhead = extra time (wall) or CPU per image over the baseline: median of the per-round ratios.
  const over = (pick: (r: (typeof rows)[number]) => Sample, base: (r: (typeof rows)[number]) => Sample) =>
    `${pct(med((r) => base(r).rate / pick(r).rate))} wall, ${pct(med((r) => pick(r).cpuMsPerImage / base(r).cpuMsPerImage))} CPU`;
  console.log(`  RATIO label overhead vs bare loop (issue's definition, prepared tensors): ${over((r) => r.label, (r) => r.bare)} (target ≤ 20 %)`);
  console.log(`  RATIO label overhead vs bare loop + decoding:                            ${over((r) => r.label, (r) => r.decode)}`);
  console.log(`  RATIO label --model-thread on vs label (auto):                          ${over((r) => r.threaded, (r) => r.label)}`);
  if (baselineBin) {
    console.log(`  RATIO baseline build's label vs bare loop (issue's definition):         ${over((r) => r.baseline!, (r) => r.bare)}`);
    console.log(`  RATIO baseline build's label vs bare loop + decoding:                    ${over((r) => r.baseline!, (r) => r.decode)}`);
    console.log(`  RATIO this build's label vs the baseline build's:                        ${over((r) => r.label, (r) => r.baseline!)}`);
  }
  console.log(`  omnidistill label, whole command incl. start-up and selection: ${med((r) => r.label.wallRate).toFixed(1)} images/s`);
  console.log(`  load average (1 min) over the rounds: ${rows.map((r) => r.label.load.toFixed(1)).join(', ')} on ${cores} cores`);
  console.log(`  last round: ${rows.at(-1)!.label.time}`);
  console.log(`              ${rows.at(-1)!.label.stages}`);
} finally {
  await rm(work, { recursive: true, force: true });
}

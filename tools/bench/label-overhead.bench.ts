// Throughput of `omnidistill label` against bare onnxruntime-node loops running the same
// model over the same transformed inputs, on procedural object images.
// Two teachers:
//   - the reference detector (default; two training steps: the architecture's real cost, not a
//     useful model) on 96 px PNGs: a model run costs about as much as decoding the image, the
//     worst case for label's share;
//   - BENCH_MODEL=mobilenet-320 (or mobilenet): a torchvision Faster R-CNN MobileNetV3-FPN
//     exported by torch.onnx (export_teacher.py; seeded random weights, 100 candidates per
//     image as a labeling teacher gives) on 640×480 JPEGs: a realistic teacher. It is exported
//     once into a cache folder (BENCH_CACHE, default ~/.cache/omnidistill/bench-teachers; the
//     ONNX file is ~75 MB, so it is not committed); without /usr/bin/python3 + torch the run
//     says so and stops (exit 0).
// Two bare loops, because "the same transformed inputs" can be read two ways:
//   - bare: the issue's definition — every transform's input tensor prepared beforehand (the
//     exact tensors the model's layout passes to session.run, recorded once), one session.run
//     after the other (no file read, no decoding, no resizing or tensor filling);
//   - bare + decode: each image read and decoded once (sharp), then the layout's own pass over
//     the plan (tensors resized per scale, flipped, normalised, then session.run, outputs read),
//     the least any labeling program has to do per image.
// label runs with its default model thread choice (auto: off on ≤ 2 cores) and with
// --model-thread on, to show what the thread costs here. All loops use label's session options
// (intra-op threads: every core, sleeping when idle), so they compare like with like.
// Rounds are interleaved (bare, bare + decode, bare with onnxruntime's default spinning
// threads, label, label with the model thread) so that a shared machine's load hits all of
// them alike; each prints wall rate, CPU time per image (all threads) and the load average.
// label's figures are its prediction loop's, from its own `time:` line (start-up and selection
// left out; the whole command is shown too).
// Per round it also times, in this process, the pieces label adds to the bare loop, each alone:
// reading + decoding, the layout's input tensors and output reading (model calls answered from a
// recording), merging the transforms' detections (NMS + box voting).
// Env: BENCH_IMAGES (default 200; 30 with BENCH_MODEL), BENCH_ROUNDS (default 3), BENCH_SIZE
// (image side or WxH, default 96; 640x480 with BENCH_MODEL), BENCH_FORMAT (png or jpeg: how the
// unlabeled images are stored; default png, jpeg with BENCH_MODEL), BENCH_MODEL (see above),
// BENCH_SCALES (e.g. `0.75,1.25`: the plan is then identity, flip and these relative scales ± flip,
// label's `--scales 0.75x,1.25x`; default: identity + flip, label's `--plan flip`),
// BENCH_THREADS (onnxruntime intra-op threads of every loop and of label's `--threads`; default:
// label's default, every core),
// BENCH_BASELINE_BIN (another build's packages/cli/dist/bin.js, e.g. of a git worktree at an
// older commit: its label runs in the same rounds, for a before/after ratio under the same load).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { availableParallelism, homedir, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { mergeDetections, type TransformDetections } from '@omnidistill/boxes';
import { writeFileAtomic } from '@omnidistill/coco';
import { createModelSession, decodeImage, detectAllTransforms, parseManifest, type DecodedImage, type DetectorManifest, type DetectorSession } from '@omnidistill/infer';
import { customPlan, relativePlan, type TransformPlan } from '@omnidistill/transforms';
import { trainDetector } from '@omnidistill/models';
import { generateSplits } from '@omnidistill/synth';
import { measureImages, median, type Sample } from './images-sample.js';

const here = dirname(fileURLToPath(import.meta.url));
/** Exported teachers (export_teacher.py) by BENCH_MODEL name. */
const EXPORTED_MODELS = ['mobilenet-320', 'mobilenet'] as const;
const MODEL = process.env.BENCH_MODEL ?? null;
if (MODEL !== null && !(EXPORTED_MODELS as readonly string[]).includes(MODEL)) throw new Error(`BENCH_MODEL=${MODEL}: one of ${EXPORTED_MODELS.join(', ')} (or unset: the reference detector)`);
const IMAGES = Number(process.env.BENCH_IMAGES ?? (MODEL ? 30 : 200));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SIZE = parseSize(process.env.BENCH_SIZE ?? (MODEL ? '640x480' : '96'));
const FORMAT = process.env.BENCH_FORMAT ?? (MODEL ? 'jpeg' : 'png');
if (FORMAT !== 'png' && FORMAT !== 'jpeg') throw new Error(`BENCH_FORMAT=${FORMAT}: png or jpeg`);
const THREADS = process.env.BENCH_THREADS ? Number(process.env.BENCH_THREADS) : null;
/** The same intra-op threads in this process's sessions and in label's. */
const THREAD_OPTIONS = THREADS === null ? {} : { threads: THREADS };
const THREAD_FLAGS = THREADS === null ? [] : ['--threads', String(THREADS)];
const PYTHON = process.env.BENCH_PYTHON ?? '/usr/bin/python3';
const CACHE = process.env.BENCH_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'omnidistill', 'bench-teachers');
const bin = resolve(here, '../../packages/cli/dist/bin.js');
const baselineBin = process.env.BENCH_BASELINE_BIN ? resolve(process.env.BENCH_BASELINE_BIN) : null;
const SCALES = process.env.BENCH_SCALES ? process.env.BENCH_SCALES.split(',').map(Number) : null;
/** The plan of the in-process loops, and the same plan as label's flags. */
const PLAN: TransformPlan = SCALES ? relativePlan({ factors: SCALES }) : customPlan([{ flip: true }]);
const PLAN_FLAGS = SCALES ? ['--scales', SCALES.map((f) => `${f}x`).join(',')] : ['--plan', 'flip'];

/** `96` → 96 × 96, `640x480` → 640 × 480. */
function parseSize(text: string): { width: number; height: number } {
  const m = /^(\d+)(?:x(\d+))?$/.exec(text);
  if (!m) throw new Error(`BENCH_SIZE=${text}: a side (96) or width x height (640x480)`);
  return { width: Number(m[1]), height: Number(m[2] ?? m[1]) };
}

/** Rate, CPU per image and load of `work` over the IMAGES images. */
const measure = (work: () => Promise<void>): Promise<Sample> => measureImages(IMAGES, work);

type Feed = Record<string, Tensor>;
type Outputs = InferenceSession.ReturnType;
/** One model call as the layout made it: its feeds (copied) and what the model returned. */
interface ModelCall {
  feed: Feed;
  outputs: Outputs;
}

/** The model whose session answers `run` with `answer` (everything else is the live session's). */
function withRun(model: DetectorSession, answer: (feed: Feed) => Promise<Outputs>): DetectorSession {
  const session: InferenceSession = Object.create(model.session, { run: { value: (feed: Feed) => answer(feed) } });
  return { ...model, session };
}

/**
 * The model calls the layout makes for one image under the plan, recorded: feeds copied (the
 * layouts fill reused input buffers) so that the bare loop can replay exactly these tensors.
 */
async function recordCalls(model: DetectorSession, image: DecodedImage): Promise<{ calls: ModelCall[]; transforms: TransformDetections[] }> {
  const calls: ModelCall[] = [];
  const recording = withRun(model, async (feed) => {
    const copy: Feed = {};
    for (const [name, t] of Object.entries(feed)) copy[name] = new (t.constructor as typeof Tensor)(t.type, (t.data as Float32Array).slice(), t.dims);
    const outputs = await model.session.run(feed);
    calls.push({ feed: copy, outputs });
    return outputs;
  });
  const transforms = await detectAllTransforms(recording, image, PLAN);
  return { calls, transforms };
}

/** The bare loop: only session.run over the recorded tensors, one call after the other. */
function bareLoop(model: DetectorSession, feeds: Feed[]): Promise<Sample> {
  return measure(async () => {
    for (const feed of feeds) await model.session.run(feed);
  });
}

/** Decodes one image file (a bench failure if it does not decode). */
async function decoded(file: string): Promise<DecodedImage> {
  const d = await decodeImage(file);
  if (!d.ok) throw new Error(`${file}: ${d.failure.reason}`);
  return d.image;
}

/** The bare loop with decoding: each image read and decoded once, then the layout's pass over the plan (tensors, model calls, outputs). */
function bareDecodeLoop(model: DetectorSession, files: readonly string[]): Promise<Sample> {
  return measure(async () => {
    for (const file of files) await detectAllTransforms(model, await decoded(file), PLAN);
  });
}

/** Reading and decoding alone. */
function decodeLoop(files: readonly string[]): Promise<Sample> {
  return measure(async () => {
    for (const file of files) await decoded(file);
  });
}

/** The layout's input tensors (resize, flip, normalise, pad) and output reading alone: its model calls answered from the recording. */
function tensorLoop(model: DetectorSession, images: readonly DecodedImage[], calls: readonly ModelCall[][]): Promise<Sample> {
  return measure(async () => {
    for (let i = 0; i < images.length; i++) {
      let call = 0;
      await detectAllTransforms(withRun(model, async () => calls[i][call++].outputs), images[i], PLAN);
    }
  });
}

/** label's merge of the transforms' detections alone (NMS + box voting, its default settings). */
function mergeLoop(perImage: readonly TransformDetections[][]): Promise<Sample> {
  return measure(async () => {
    for (const transforms of perImage) mergeDetections(transforms, { convention: 'continuous' });
  });
}

/** A teacher's files (ONNX + manifest) and what it is, for the report. */
interface BenchTeacher {
  onnxPath: string;
  manifestPath: string;
  description: string;
}

/**
 * The exported teacher `name`, from the cache or exported into it now (export_teacher.py), or
 * null, with the reason printed, when no Python with torch is there to export it.
 */
async function exportedTeacher(name: string): Promise<BenchTeacher | null> {
  // Keyed by the script's contents: an edited export_teacher.py exports again.
  const script = join(here, 'export_teacher.py');
  const dir = join(CACHE, `${name}-${createHash('sha256').update(await readFile(script)).digest('hex').slice(0, 12)}`);
  const teacher = { onnxPath: join(dir, 'teacher.onnx'), manifestPath: join(dir, 'teacher.json'), description: `torchvision Faster R-CNN ${name} (export_teacher.py, ${dir})` };
  if (existsSync(teacher.onnxPath) && existsSync(teacher.manifestPath)) return teacher;
  const probe = spawnSync(PYTHON, ['-c', 'import torch, torchvision'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    console.log(`skipped: BENCH_MODEL=${name} is exported by ${PYTHON} with torch + torchvision (export_teacher.py), which this machine lacks (${(probe.error?.message ?? probe.stderr).trim().split('\n').at(-1)}); set BENCH_PYTHON, or run without BENCH_MODEL`);
    return null;
  }
  console.log(`exporting ${name} into ${dir} (once; ~75 MB)`);
  const partial = `${dir}.partial-${process.pid}`;
  const r = spawnSync('nice', ['-n', '10', PYTHON, script, partial, name], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`export_teacher.py ${name} failed: ${r.stderr.slice(-2000)}`);
  await rename(partial, dir);
  return teacher;
}

/** Converts the images of a COCO split to JPEG (quality 90) next to the PNGs and returns the rewritten COCO file. */
async function asJpeg(annotations: string, imagesDir: string): Promise<string> {
  const coco = JSON.parse(await readFile(annotations, 'utf8')) as { images: { file_name: string }[] };
  for (const im of coco.images) {
    const jpg = im.file_name.replace(/\.png$/, '.jpg');
    await writeFileAtomic(join(imagesDir, jpg), await sharp(join(imagesDir, im.file_name)).jpeg({ quality: 90 }).toBuffer());
    im.file_name = jpg;
  }
  const out = annotations.replace(/\.json$/, '.jpeg.json');
  await writeFileAtomic(out, JSON.stringify(coco));
  return out;
}

const work = await mkdtemp(join(tmpdir(), 'omnidistill-label-overhead-'));
try {
  const splits = await generateSplits({ outDir: work, style: 'objects', imageSize: SIZE, counts: { labeled: 16, unlabeled: IMAGES }, seed: 5, hiddenLabels: false });
  const labeled = splits.splits.labeled!;
  const unlabeled = splits.splits.unlabeled!;
  const unlabeledCoco = FORMAT === 'jpeg' ? await asJpeg(unlabeled.annotations, unlabeled.imagesDir) : unlabeled.annotations;
  const referenceTeacher = async (): Promise<BenchTeacher> => {
    const trained = await trainDetector({ train: { coco: labeled.annotations, imageDir: labeled.imagesDir }, steps: 2, batch: 2, outDir: join(work, 'teacher'), name: 'teacher' });
    return { onnxPath: trained.onnxPath, manifestPath: trained.manifestPath, description: 'reference detector' };
  };
  const teacher = MODEL === null ? await referenceTeacher() : await exportedTeacher(MODEL);
  if (teacher === null) {
    await rm(work, { recursive: true, force: true });
    process.exit(0);
  }

  // Every image decoded and its model calls recorded first.
  const manifest = parseManifest(JSON.parse(await readFile(teacher.manifestPath, 'utf8'))) as DetectorManifest;
  const bytes = new Uint8Array(await readFile(teacher.onnxPath));
  const model = await createModelSession(bytes, manifest, THREAD_OPTIONS); // label's session options (intra-op threads sleep when idle)
  const spinning = await createModelSession(bytes, manifest, { ...THREAD_OPTIONS, spinning: true }); // onnxruntime's defaults
  const coco = JSON.parse(await readFile(unlabeledCoco, 'utf8')) as { images: { file_name: string }[] };
  const files = coco.images.map((im) => join(unlabeled.imagesDir, im.file_name));
  const feeds: Feed[] = [];
  const calls: ModelCall[][] = [];
  const perImage: TransformDetections[][] = [];
  const images: DecodedImage[] = [];
  for (const file of files) {
    const image = await decoded(file);
    images.push(image);
    const recorded = await recordCalls(model, image);
    calls.push(recorded.calls);
    feeds.push(...recorded.calls.map((c) => c.feed));
    perImage.push(recorded.transforms);
  }
  await model.session.run(feeds[0]); // warm-up
  await spinning.session.run(feeds[0]);

  const labelRun = (name: string, extra: string[] = [], cli = bin): Sample & { wallRate: number; time: string; stages: string } => {
    const t1 = performance.now();
    const r = spawnSync(
      process.execPath,
      [cli, 'label', '--task', 'detection', '--teacher', teacher.onnxPath, '--unlabeled', unlabeledCoco, '--images', unlabeled.imagesDir, '--labeled', labeled.annotations, ...PLAN_FLAGS, ...THREAD_FLAGS, '--out', join(work, name), ...extra],
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
  console.log(`${IMAGES} ${FORMAT === 'jpeg' ? 'JPEG' : 'PNG'} images of ${SIZE.width}×${SIZE.height} px, ${teacher.description}, ${PLAN.transforms.map((t) => t.name).join(' + ')} (${runs} model runs per image), ${THREADS ?? cores} intra-op threads, ${ROUNDS} interleaved rounds on ${cores} cores`);
  for (let round = 0; round < ROUNDS; round++) {
    const bare = await bareLoop(model, feeds);
    const decode = await bareDecodeLoop(model, files);
    const spin = await bareLoop(spinning, feeds);
    const label = labelRun(`labels-${round}`);
    const threaded = labelRun(`labels-thread-${round}`, ['--model-thread', 'on']);
    const baseline = baselineBin ? labelRun(`labels-baseline-${round}`, [], baselineBin) : null;
    const decodeOnly = await decodeLoop(files);
    const tensors = await tensorLoop(model, images, calls);
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
    `  CPU per image: model ${cpu((r) => r.bare).toFixed(2)} ms (${runs} runs) · read + decode ${cpu((r) => r.decodeOnly).toFixed(2)} · input tensors + output reading ${cpu((r) => r.tensors).toFixed(2)} ` +
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

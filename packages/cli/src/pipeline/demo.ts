// `omnidistill demo`: the whole data-distillation loop on the built-in synthetic data —
// generate → teacher on the small labeled split → label the unlabeled split with
// multi-transform inference → count-matched selection → student on labeled ∪ generated
// → evaluation — plus the supervised baseline trained with the student's schedule (so a
// reader can tell distillation from training longer) and, on request, the upper bound.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createModelSession, detectRois, hashFile, loadManifest } from '@omnidistill/infer';
import type { DetectorManifest, DetectorSession, KeypointManifest, Rois } from '@omnidistill/infer';
import { DEMO_SETTINGS, generateSplits } from '@omnidistill/synth';
import type { SplitName } from '@omnidistill/synth';
import { TrainingInterruptedError } from '@omnidistill/train';
import type { TrainProgress } from '@omnidistill/train';
import { customPlan } from '@omnidistill/transforms';
import type { TransformPlan } from '@omnidistill/transforms';
import { boxAp, keypointAp } from './evaluate.js';
import type { ApResult, EvalRois, SplitPaths } from './evaluate.js';
import { generateLabels } from './label.js';
import type { CalibrationSummary } from './label.js';
import { formatDuration, Progress } from './progress.js';
import type { ProgressSink } from './progress.js';
import { SUPERVISED_ENV } from '../commands/args.js';
import { UsageError } from '../commands/types.js';
import { StageBook } from './stages.js';
import { trainWithCheckpoints } from './train-run.js';


export type DemoTask = 'keypoints' | 'detection';

/**
 * Keypoints: where the teacher's RoIs on unlabeled images come from. `detector` (the
 * paper's pipeline, DESIGN.md "Faithful pipeline"): a person detector teacher trained on
 * the same labeled split, run under the same plan. `gt`: the hidden ground-truth boxes
 * (a measurement device: labels leak into the unlabeled split).
 */
export type DemoRois = 'detector' | 'gt';

/** Everything that shapes a demo run; a re-run with the same settings resumes. */
export interface DemoSettings {
  task: DemoTask;
  imageSize: number;
  counts: { labeled: number; unlabeled: number; val: number; labeledLarge: number };
  teacherSteps: number;
  /** The student's (longer) schedule; the supervised baseline uses it too. */
  studentSteps: number;
  batch: number;
  /** AdamW learning rate (the detector trains better at 3e-3, measured in @omnidistill/models). */
  lr: number;
  seed: number;
  /** Shorter-side multipliers of the test-time plan besides the identity (each ± flip). */
  planScales: number[];
  upperBound: boolean;
  /** Probability of a labeled sample in a student minibatch (the paper: 0.6). */
  labeledProbability: number;
  /** Keypoints only: the RoI source on unlabeled images (and the end-to-end AP columns). */
  rois: DemoRois;
  /** Keypoints with `rois: 'detector'`: the person detector teacher's steps and learning rate. */
  detectorSteps: number;
  detectorLr: number;
  /**
   * Keypoints: the user's own model (`omnidistill demo --model`) instead of the reference
   * keypoint model, trained through `omnidistill train --model` (the ONNX import path).
   */
  model?: DemoModel;
}

/**
 * A user's keypoint model in the demo: the teacher starts from its weights (`teacherInit:
 * 'weights'`) or re-initialised; the student, the supervised baseline and the upper bound are
 * always re-initialised (the paper's student).
 */
export interface DemoModel {
  /** The ONNX file and its model manifest (absolute paths). */
  onnx: string;
  manifest: string;
  teacherInit: 'weights' | 'reinit';
}

/**
 * `--quick` ≈ DEMO-NOTES setting Q, the default ≈ setting B (keypoints). The detector
 * needs more labels and steps to become a useful teacher (box AP 1.3 after 400 steps on
 * 200 images), so detection uses 500 labeled images and twice the steps.
 */
export function demoSettings(task: DemoTask, quick: boolean, overrides: Partial<DemoSettings> = {}): DemoSettings {
  const base = quick ? DEMO_SETTINGS.Q : DEMO_SETTINGS.B;
  const detection = task === 'detection';
  const labeled = detection ? 500 : base.counts.labeled;
  const unlabeled = detection ? (quick ? 1200 : 2000) : base.counts.unlabeled;
  const settings: DemoSettings = {
    task,
    imageSize: base.imageSize,
    counts: { labeled, unlabeled, val: base.counts.val, labeledLarge: labeled + unlabeled },
    teacherSteps: (quick ? 400 : 1000) * (detection ? 2 : 1),
    studentSteps: (quick ? 800 : 2000) * (detection ? 2 : 1),
    batch: 16,
    lr: detection ? 3e-3 : 2e-3,
    seed: 1,
    planScales: [0.75, 1.25, 1.5],
    upperBound: false,
    labeledProbability: 0.6,
    rois: 'detector',
    // The detector needs twice the keypoint teacher's steps (as the detection demo).
    detectorSteps: 2 * (quick ? 400 : 1000),
    detectorLr: 3e-3,
    ...overrides,
  };
  return settings;
}

/** The demo's test-time plan: identity, flip, and each scale ± flip. */
export function demoPlan(settings: DemoSettings): TransformPlan {
  const specs: { shortSide?: number | null; flip?: boolean }[] = [{ shortSide: null, flip: true }];
  for (const s of settings.planScales) {
    const side = Math.round(s * settings.imageSize);
    specs.push({ shortSide: side, flip: false }, { shortSide: side, flip: true });
  }
  return customPlan(specs);
}

export const SINGLE_PASS: TransformPlan = customPlan([]);

/** One row of the results table. */
export interface DemoRow {
  name: string;
  trainedOn: string;
  steps: number;
  single: number;
  multi: number;
  singleStats: number[];
  multiStats: number[];
  /** Keypoints with the detector: AP with the detector teacher's boxes as RoIs (single pass / plan). */
  endToEnd?: { single: number; multi: number };
  trainSeconds: number;
  history: { step: number; loss: number }[];
}

export interface DemoResult {
  settings: DemoSettings;
  outDir: string;
  rows: DemoRow[];
  calibration: CalibrationSummary;
  generated: string;
  calibrationFile: string;
  /** The unlabeled split, with `hidden`: its ground-truth annotations (null when not written), for measuring. */
  unlabeled: SplitPaths & { hidden: string | null };
  /** Keypoints with `rois: 'detector'`: the person detector teacher and its box AP. */
  detector?: DetectorSummary;
  seconds: number;
  engine: string;
}

export interface DetectorSummary {
  steps: number;
  /** Box AP on the validation split (single pass / plan). */
  single: number;
  multi: number;
  trainSeconds: number;
}

export interface DemoIO {
  log: (line: string) => void;
  progress: ProgressSink;
  signal?: AbortSignal;
}

/** Stops the pipeline between steps when the user pressed Ctrl-C. */
export class Interrupted extends Error {
  constructor() {
    super('interrupted: finished steps are kept; run the same command again to resume');
    this.name = 'Interrupted';
  }
}

/** Runs (or resumes) the demo in `outDir`. */
export async function runDemo(settings: DemoSettings, outDirArg: string, io: DemoIO): Promise<DemoResult> {
  const t0 = performance.now();
  const outDir = resolve(outDirArg);
  const book = await StageBook.open(outDir);
  // A user's model is part of every stage's identity by its content, not just its path.
  const userModel = settings.model ? { onnx: await fileHash(settings.model.onnx), manifest: await fileHash(settings.model.manifest) } : null;
  const fp = (...parts: unknown[]) => createHash('sha256').update(JSON.stringify([settings, userModel, ...parts])).digest('hex').slice(0, 16);
  const skip = (name: string) => io.log(`${name}: already done (resuming)`);
  const check = () => {
    if (io.signal?.aborted) throw new Interrupted();
  };
  const plan = demoPlan(settings);
  io.log(
    `omnidistill demo --task ${settings.task}${settings.model ? ` --model ${settings.model.onnx}` : ''}: ${settings.imageSize}px, ${settings.counts.labeled} labeled / ${settings.counts.unlabeled} unlabeled / ${settings.counts.val} val; ` +
      `teacher ${settings.teacherSteps} steps, student ${settings.studentSteps}; test-time plan ${plan.transforms.length} transforms; output ${outDir}`,
  );

  // 1. Data.
  const style = settings.task === 'keypoints' ? 'keypoints' : 'objects';
  const data = await book.run('data', fp('data'), async () => {
    const counts: Partial<Record<SplitName, number>> = { labeled: settings.counts.labeled, unlabeled: settings.counts.unlabeled, val: settings.counts.val };
    if (settings.upperBound) counts.labeledLarge = settings.counts.labeledLarge;
    const p = new Progress(io.progress, 'generate data');
    const out = await generateSplits({
      outDir: join(outDir, 'data'),
      style,
      imageSize: settings.imageSize,
      counts,
      seed: settings.seed,
      signal: io.signal,
      onProgress: (e) => p.update(e.overallDone, e.overallTotal),
    });
    check();
    const split = (name: SplitName) => {
      const s = out.splits[name];
      return s ? { annotations: s.annotations, imageDir: s.imagesDir, hidden: s.hiddenAnnotations ?? null } : null;
    };
    p.done(`${Object.values(out.splits).reduce((a, s) => a + (s?.written ?? 0) + (s?.skipped ?? 0), 0)} images`);
    return { labeled: split('labeled')!, unlabeled: split('unlabeled')!, val: split('val')!, labeledLarge: split('labeledLarge') };
  }, skip);

  let engine = '';
  /** The model a training produces: the demo task's (the user's, with --model), or the person detector teacher. */
  const mainModel: ModelKind = { task: settings.task, lr: settings.lr, ...(settings.model ? { user: settings.model } : {}) };
  const detectorModel: ModelKind = { task: 'detection', lr: settings.detectorLr };
  const faithful = settings.task === 'keypoints' && settings.rois === 'detector';
  /**
   * Trains one model (or reuses a finished stage) and evaluates it. `threads` caps the
   * engine's intra-op threads; `child` runs the training in a child `omnidistill train`
   * process, so two trainings can use both cores at once (in one process they serialise).
   */
  const train = async (
    name: string,
    trainSplit: SplitPaths,
    steps: number,
    generated?: string,
    run: { threads?: number; child?: boolean; lines?: boolean; model?: ModelKind } = {},
  ): Promise<TrainRecord> => {
    const model = run.model ?? mainModel;
    return book.run(`train-${name}`, fp('train', name, generated ?? null), async () => {
      check();
      // A user's model trains through `omnidistill train --model` in a child process.
      if (run.child || model.user) return trainInChild(name, trainSplit, steps, generated, run.child ? (run.threads ?? 1) : run.threads, model);
      const p = new Progress(run.lines ? { write: io.progress.write.bind(io.progress), isTTY: false } : io.progress, `train ${name}`);
      const onProgress = (e: TrainProgress) => {
        engine = e.engine;
        p.update(e.step, e.iterations, `loss ${e.loss.toFixed(3)} lr ${e.learningRate.toExponential(1)} ${e.samplesPerSecond.toFixed(0)} img/s [${e.engine}]`);
      };
      const settingsOfRun = {
        task: model.task,
        train: { coco: trainSplit.annotations, imageDir: trainSplit.imageDir },
        ...(generated ? { generated: { coco: generated, imageDir: data.unlabeled.imageDir }, labeledProbability: settings.labeledProbability } : {}),
        steps,
        batch: settings.batch,
        lr: model.lr,
        seed: settings.seed,
        outDir: join(outDir, 'models'),
        name,
        checkpointEvery: { seconds: 30 },
        ...(run.threads !== undefined ? { threads: run.threads } : {}),
      };
      let trained;
      try {
        trained = await trainWithCheckpoints(settingsOfRun, { log: (line) => io.log(`[${name}] ${line}`), onProgress, ...(io.signal ? { signal: io.signal } : {}) });
      } catch (err) {
        if (err instanceof TrainingInterruptedError) throw new Interrupted();
        throw err;
      }
      p.done(`${trained.parameterCount} params, ${trained.stepsPerSecond.toFixed(2)} steps/s on ${trained.engine}`);
      return { onnxPath: trained.onnxPath, manifestPath: trained.manifestPath, history: [...trained.history], seconds: trained.seconds, engine: trained.engine };
    }, skip);
  };

  /** Trains (or reuses) one keypoint/demo-task model and evaluates it into a table row. */
  const trainRow = async (
    name: string,
    trainSplit: SplitPaths,
    steps: number,
    generated?: string,
    run: { threads?: number; child?: boolean; lines?: boolean } = {},
  ): Promise<DemoRow> => rowOf(name, await train(name, trainSplit, steps, generated, run), trainSplit, steps, generated);

  /** Evaluates a trained demo-task model into a table row. */
  const rowOf = async (name: string, record: TrainRecord, trainSplit: SplitPaths, steps: number, generated?: string): Promise<DemoRow> => {
    engine = engine || record.engine;
    check();
    const [single, multi, e2eSingle, e2eMulti] = await evaluateModel(name, record.onnxPath, record.manifestPath);
    return {
      name,
      trainedOn: generated ? 'labeled ∪ generated' : trainSplit === data.labeled ? 'labeled' : 'all labels',
      steps,
      single: single.stats[0],
      multi: multi.stats[0],
      singleStats: single.stats,
      multiStats: multi.stats,
      ...(e2eSingle && e2eMulti ? { endToEnd: { single: e2eSingle.stats[0], multi: e2eMulti.stats[0] } } : {}),
      trainSeconds: record.seconds,
      history: record.history,
    };
  };

  /** `threads` undefined: the child's default (all cores). */
  const trainInChild = async (name: string, trainSplit: SplitPaths, steps: number, generated: string | undefined, threads: number | undefined, model: ModelKind): Promise<TrainRecord> => {
    const entry = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? '../bin.ts' : '../bin.js', import.meta.url));
    const args = [
      ...process.execArgv,
      entry,
      'train',
      ...(model.user ? userModelFlags(model.user, name) : ['--task', model.task]),
      ...['--labeled', trainSplit.annotations, '--images', trainSplit.imageDir],
      ...['--steps', String(steps), '--batch', String(settings.batch), '--lr', String(model.lr), '--seed', String(settings.seed)],
      ...(threads !== undefined ? ['--threads', String(threads)] : []),
      ...['--out', join(outDir, 'models'), '--name', name],
      ...(generated ? ['--generated', generated, '--generated-images', data.unlabeled.imageDir, '--labeled-fraction', String(settings.labeledProbability)] : []),
    ];
    // Supervised: the child ignores a repeated Ctrl-C (the terminal's and the forwarded one).
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, [SUPERVISED_ENV]: '1' } });
    const onAbort = () => child.kill('SIGINT');
    io.signal?.addEventListener('abort', onAbort, { once: true });
    let stdout = '';
    let tail: string[] = [];
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    let pending = '';
    child.stderr.on('data', (d: Buffer) => {
      pending += d.toString();
      const lines = pending.split(/\r?\n|\r/);
      pending = lines.pop() ?? '';
      for (const line of lines.filter((l) => l.trim() !== '')) {
        io.log(`[${name}] ${line}`);
        tail = [...tail.slice(-9), line];
      }
    });
    const code = await new Promise<number | null>((resolveExit) => child.on('close', (c) => resolveExit(c)));
    io.signal?.removeEventListener('abort', onAbort);
    if (io.signal?.aborted) throw new Interrupted();
    // Exit 2: the child's one-line message says which input to fix; pass it on as such.
    if (code === 2) throw new UsageError(`training ${name}: ${tail.at(-1) ?? 'bad input'}`);
    if (code !== 0) throw new Error(`training ${name} in a child process failed (exit code ${code}):\n${tail.join('\n')}`);
    const out = JSON.parse(stdout) as { onnx: string; manifest: string; history: { step: number; loss: number }[]; seconds: number; engine: string };
    engine = engine || out.engine;
    return { onnxPath: out.onnx, manifestPath: out.manifest, history: out.history, seconds: out.seconds, engine: out.engine };
  };

  /**
   * The detector teacher's person boxes on each validation image, per plan, computed once
   * and shared by every row's end-to-end evaluation.
   */
  const valRois = (detectorSession: DetectorSession, categoryId: number, p: TransformPlan): EvalRois => {
    const cache = new Map<number, Promise<Rois>>();
    return (imageId, image) => {
      let r = cache.get(imageId);
      if (!r) {
        r = detectRois(detectorSession, image, { categoryIds: [categoryId], plan: p });
        cache.set(imageId, r);
      }
      return r;
    };
  };
  let endToEnd: { single: EvalRois; multi: EvalRois; fingerprint: string } | null = null;

  /** Single pass and plan AP (keypoints with a detector: also end to end with its boxes). */
  const evaluateModel = async (name: string, onnxPath: string, manifestPath: string, task: DemoTask = settings.task): Promise<ApResult[]> => {
    const e2e = task === 'keypoints' ? endToEnd : null;
    return book.run(`eval-${name}`, fp('eval', name, await fileHash(onnxPath), e2e?.fingerprint ?? null), async () => {
      const manifest = await loadManifest(manifestPath);
      const passes: [string, TransformPlan, EvalRois | undefined][] = [
        ['single pass', SINGLE_PASS, undefined],
        [`${plan.transforms.length} transforms`, plan, undefined],
      ];
      if (e2e) passes.push(['single pass, detector boxes', SINGLE_PASS, e2e.single], [`${plan.transforms.length} transforms, detector boxes`, plan, e2e.multi]);
      const results: ApResult[] = [];
      for (const [label, p, rois] of passes) {
        check();
        const progress = new Progress(io.progress, `evaluate ${name} (${label})`);
        const tick = (d: number, t: number) => {
          check();
          progress.update(d, t);
        };
        const r =
          task === 'keypoints'
            ? await keypointAp(await createModelSession(onnxPath, manifest as KeypointManifest), data.val, p, tick, rois)
            : await boxAp(await createModelSession(onnxPath, manifest as DetectorManifest), data.val, p, tick);
        progress.done(`AP ${(100 * r.stats[0]).toFixed(1)}`);
        results.push(r);
      }
      return results;
    }, skip);
  };

  // 2. Teacher on the small labeled split; in the faithful pipeline also the person detector
  // teacher on the same split's boxes, at the same time (one core each, as below).
  // Alone, a training uses every core (train.bench: 8.1 steps/s on 2 threads vs 6.3 on one).
  const [teacherRecord, detectorRecord] = faithful
    ? await allSettledOrThrow([
        train('teacher', data.labeled, settings.teacherSteps, undefined, { threads: 1, lines: true }),
        train('detector', data.labeled, settings.detectorSteps, undefined, { threads: 1, child: true, model: detectorModel }),
      ] as const)
    : [await train('teacher', data.labeled, settings.teacherSteps), null];
  engine = engine || teacherRecord.engine;
  const detector = detectorRecord ? await loadDetector(detectorRecord) : null;
  let detectorSummary: DetectorSummary | undefined;
  if (detector && detectorRecord) {
    const person = ((await loadManifest(teacherRecord.manifestPath)) as KeypointManifest).keypoints.categoryId;
    endToEnd = { single: valRois(detector.session, person, SINGLE_PASS), multi: valRois(detector.session, person, plan), fingerprint: detector.fingerprint };
    const [single, multi] = await evaluateModel('detector', detectorRecord.onnxPath, detectorRecord.manifestPath, 'detection');
    detectorSummary = { steps: settings.detectorSteps, single: single.stats[0], multi: multi.stats[0], trainSeconds: detectorRecord.seconds };
  }
  const teacher = await rowOf('teacher', teacherRecord, data.labeled, settings.teacherSteps);

  // 3–6. Label the unlabeled split with the teacher under the plan, then select.
  const labelDir = join(outDir, 'labels');
  const teacherOnnx = join(outDir, 'models', 'teacher.onnx');
  const labels = await book.run('label', fp('label', await fileHash(teacherOnnx), detector?.fingerprint ?? null), async () => {
    check();
    const manifest = await loadManifest(join(outDir, 'models', 'teacher.json'));
    const p = new Progress(io.progress, `label ${settings.counts.unlabeled} unlabeled images (${plan.transforms.length} transforms)`);
    const r = await generateLabels({
      task: settings.task,
      ...(settings.task === 'keypoints'
        ? { keypoints: { model: await createModelSession(teacherOnnx, manifest as KeypointManifest), rois: detector ? { kind: 'detector' as const, detector: detector.session, fingerprint: detector.fingerprint, plan } : { kind: 'boxes' as const, annotations: data.unlabeled.hidden! } } }
        : { detector: await createModelSession(teacherOnnx, manifest as DetectorManifest) }),
      unlabeled: data.unlabeled.annotations,
      imageDir: data.unlabeled.imageDir,
      labeled: data.labeled.annotations,
      plan,
      outDir: labelDir,
      teacherFingerprint: await fileHash(teacherOnnx),
      onProgress: (e) => p.update(e.done, e.total),
      signal: io.signal,
    });
    if (!r.complete) throw new Interrupted();
    p.done(`${r.summary.generatedInstances} instances kept on ${r.summary.generatedImages} images`);
    return r;
  }, skip);

  // 7. Student (re-initialised) on labeled ∪ generated, the longer schedule; the supervised
  // baseline with the same schedule; the upper bound on request.
  // The two long trainings are independent: one core each, at the same time.
  // Both are awaited before a failure or Ctrl-C is reported, so the child has written its
  // checkpoint and exited by the time the demo exits.
  const [student, supervised] = await allSettledOrThrow([
    trainRow('student', data.labeled, settings.studentSteps, labels.generated, { threads: 1, lines: true }),
    trainRow('supervised-long', data.labeled, settings.studentSteps, undefined, { threads: 1, child: true }),
  ] as const);
  const rows = [teacher, supervised, student];
  if (settings.upperBound && data.labeledLarge) rows.push(await trainRow('upper-bound', data.labeledLarge, settings.studentSteps));

  const result: DemoResult = {
    settings,
    outDir,
    rows,
    calibration: labels.summary,
    generated: labels.generated,
    calibrationFile: labels.calibration,
    unlabeled: data.unlabeled,
    ...(detectorSummary ? { detector: detectorSummary } : {}),
    seconds: (performance.now() - t0) / 1000,
    engine,
  };
  return result;
}

/** The task and learning rate of one training; `user`: the user's model instead of the reference one. */
interface ModelKind {
  task: DemoTask;
  lr: number;
  user?: DemoModel;
}

/** `train --model` flags for one of the demo's trainings of a user's model: only the teacher may keep its weights. */
function userModelFlags(model: DemoModel, name: string): string[] {
  const reinit = name !== 'teacher' || model.teacherInit === 'reinit';
  return ['--model', model.onnx, '--manifest', model.manifest, ...(reinit ? ['--reinit'] : [])];
}

/** A finished training as stages.json records it. */
interface TrainRecord {
  onnxPath: string;
  manifestPath: string;
  history: { step: number; loss: number }[];
  seconds: number;
  engine: string;
}

/** Like Promise.all, but waits for every promise to settle before throwing the first failure. */
async function allSettledOrThrow<T extends readonly Promise<unknown>[]>(promises: T): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const settled = await Promise.allSettled(promises);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as { -readonly [K in keyof T]: Awaited<T[K]> };
}

/** The person detector teacher's session and the digest that identifies it in resumes. */
async function loadDetector(record: TrainRecord): Promise<{ session: DetectorSession; fingerprint: string }> {
  const manifest = (await loadManifest(record.manifestPath)) as DetectorManifest;
  return { session: await createModelSession(record.onnxPath, manifest), fingerprint: await fileHash(record.onnxPath) };
}

/** The 16-hex fingerprint the demo's stage records use: infer's streaming file hash, shortened. */
async function fileHash(path: string): Promise<string> {
  return (await hashFile(path)).slice(0, 16);
}

/** The results table, shaped like the paper's Tables 1a/3 (keypoints) and 4a (boxes). */
export function formatTable(result: DemoResult): string {
  const metric = result.settings.task === 'keypoints' ? 'keypoint AP' : 'box AP';
  const n = demoPlan(result.settings).transforms.length;
  const endToEnd = result.detector !== undefined;
  const gtNote = result.settings.task === 'keypoints' ? ', GT boxes' : '';
  const header = [
    'model',
    'trained on',
    'steps',
    `${metric} (single pass${gtNote})`,
    `${metric} (${n} transforms${gtNote})`,
    ...(endToEnd ? ['end to end (single pass)', `end to end (${n} transforms)`] : []),
  ];
  const pct = (x: number | undefined) => (x === undefined ? '—' : (100 * x).toFixed(1));
  const body = result.rows.map((r) => [
    r.name,
    r.trainedOn,
    String(r.steps),
    pct(r.single),
    pct(r.multi),
    ...(endToEnd ? [pct(r.endToEnd?.single), pct(r.endToEnd?.multi)] : []),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i >= 2 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
  const c = result.calibration;
  const thresholds = c.instanceThresholds
    .map((t) => `${t.categoryId === null ? 'instances' : `category ${t.categoryId}`} ≥ ${t.threshold === null ? '—' : t.threshold.toFixed(3)}`)
    .join(', ');
  return [
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...body.map(line),
    '',
    `selection: ${thresholds}${c.keypointThreshold !== null ? `, keypoints ≥ ${c.keypointThreshold.toFixed(3)}` : ''}; ` +
      `instances/image ${c.instancesPerImage.before.toFixed(2)} → ${c.instancesPerImage.after.toFixed(2)} (labeled: ${c.instancesPerImage.target.toFixed(2)})` +
      (c.keypointsPerInstance
        ? `; keypoints/instance ${c.keypointsPerInstance.before.toFixed(2)} → ${c.keypointsPerInstance.after.toFixed(2)} (labeled: ${c.keypointsPerInstance.target.toFixed(2)})`
        : ''),
    ...(result.detector ? [detectorLine(result.detector, n)] : result.settings.task === 'keypoints' ? ['RoIs on unlabeled images: the ground-truth person boxes (--rois gt)'] : []),
    ...(result.settings.model ? [modelLine(result.settings.model)] : []),
    `total ${formatDuration(result.seconds)} on ${result.engine || 'the native engine'}`,
  ].join('\n');
}

/** Which model the keypoint rows are, with --model. */
export function modelLine(m: DemoModel): string {
  const teacher = m.teacherInit === 'weights' ? 'fine-tuned from its own weights' : 're-initialised';
  return `keypoint model: ${m.onnx} (omnidistill train --model; teacher ${teacher}; supervised baseline and student re-initialised)`;
}

/** The person detector teacher under the table: its box AP and why the end-to-end columns exist. */
export function detectorLine(d: DetectorSummary, transforms: number): string {
  return (
    `person detector teacher (labeled split, ${d.steps} steps, ${formatDuration(d.trainSeconds)}): box AP ${(100 * d.single).toFixed(1)} single pass / ${(100 * d.multi).toFixed(1)} with ${transforms} transforms; ` +
    'its boxes are the RoIs on unlabeled images (generated labels carry them) and in the end-to-end columns'
  );
}

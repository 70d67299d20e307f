// The stages of a distillation run on the built-in synthetic data — data, training (in this
// process or a child `omnidistill train`), evaluation, labeling — each a resumable record
// in one StageBook. `omnidistill demo` strings them together once; `omnidistill experiment`
// runs many variants over the same stages, so a teacher trained for one is reused by all.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCocoDataset } from '@omnidistill/coco';
import { createModelSession, detectRois, hashFile, loadManifest } from '@omnidistill/infer';
import type { DetectorManifest, DetectorSession, KeypointManifest, Rois } from '@omnidistill/infer';
import type { CocoSource, Perturbation } from '@omnidistill/models';
import { generateSplits } from '@omnidistill/synth';
import type { SplitName, SynthStyle } from '@omnidistill/synth';
import { TrainingInterruptedError } from '@omnidistill/train';
import type { TrainProgress } from '@omnidistill/train';
import { customPlan } from '@omnidistill/transforms';
import type { TransformPlan } from '@omnidistill/transforms';
import { interruptSignal, SUPERVISED_ENV } from '../commands/args.js';
import { EXIT, UsageError } from '../commands/types.js';
import { boxAp, keypointAp } from './evaluate.js';
import type { ApResult, EvalRois, SplitPaths } from './evaluate.js';
import { generateLabels } from './label.js';
import type { LabelResult } from './label.js';
import { selectionRuleName } from './label-select.js';
import type { SelectionRule } from './label-select.js';
import { Progress } from './progress.js';
import type { ProgressSink } from './progress.js';
import { StageBook } from './stages.js';
import { trainWithCheckpoints } from './train-run.js';

export type DemoTask = 'keypoints' | 'detection';

export const SINGLE_PASS: TransformPlan = customPlan([]);

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

/**
 * Runs a pipeline command with Ctrl-C wired to its abort signal: an Interrupted pipeline
 * logs how to resume and becomes exit code 130.
 */
export async function runUntilInterrupted(log: (line: string) => void, work: (signal: AbortSignal) => Promise<number>): Promise<number> {
  const { signal, dispose } = interruptSignal(log);
  try {
    return await work(signal);
  } catch (err) {
    if (err instanceof Interrupted) {
      log(err.message);
      return EXIT.INTERRUPTED;
    }
    throw err;
  } finally {
    dispose();
  }
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

/** The task and learning rate of one training; `user`: the user's model instead of the reference one. */
export interface ModelKind {
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
export interface TrainRecord {
  onnxPath: string;
  manifestPath: string;
  history: { step: number; loss: number }[];
  seconds: number;
  engine: string;
}

/** A generated split on disk, with its hidden ground truth (null when not written). */
export type HiddenSplit = SplitPaths & { hidden: string | null };

/** The splits of the data stage. */
export interface BenchData {
  labeled: HiddenSplit;
  unlabeled: HiddenSplit;
  val: HiddenSplit;
  labeledLarge: HiddenSplit | null;
}

/** What a data stage generates: a synth style, an image size, a seed and split counts. */
export interface DataSpec {
  style: SynthStyle;
  imageSize: number;
  seed: number;
  counts: Partial<Record<SplitName, number>>;
}

/** How one training runs: the data mix and where it runs. */
export interface TrainRun {
  /** The student's generated split, mixed in with this probability of a labeled sample. */
  generated?: CocoSource;
  labeledProbability?: number;
  /** `strong`: the generated samples are perturbed (the `beyond` experiment). */
  perturbation?: Perturbation;
  /** Intra-op threads of the engine (default all cores). */
  threads?: number;
  /** In a child `omnidistill train` process (so two trainings use both cores at once). */
  child?: boolean;
  /** Progress as lines (two trainings at once would fight over one progress bar). */
  lines?: boolean;
  model: ModelKind;
}

/** One evaluation pass: a test-time plan and the RoI source (ground-truth boxes when absent). */
export interface EvalPass {
  label: string;
  plan: TransformPlan;
  rois?: EvalRois;
  /** Identifies the RoI source in the stage fingerprint (a detector's digest). */
  roisFingerprint?: string;
}

/** Where the keypoint teacher's RoIs on unlabeled images come from when labeling. */
export type LabelRois = { kind: 'detector'; detector: LoadedDetector; plan: TransformPlan } | { kind: 'gt' };

export interface LabelJob {
  task: DemoTask;
  teacher: TrainRecord;
  unlabeled: HiddenSplit;
  labeled: SplitPaths;
  plan: TransformPlan;
  /** Keypoints: the RoI source. */
  rois?: LabelRois;
  /** Another rule than count matching writes its labels into `dir/<rule name>`, beside the shared predictions. */
  selection?: SelectionRule;
  /** Output folder of predictions and (count-matched) generated labels. */
  dir: string;
}

/** A loaded person detector and the digest that identifies it in resumes. */
export interface LoadedDetector {
  session: DetectorSession;
  fingerprint: string;
}

/**
 * The stage runner of one working directory. `scope` is part of every fingerprint: settings
 * that shape every stage (the demo passes all its settings, so any change redoes the run).
 */
export class Bench {
  /** The training engine's name, once a training has reported it. */
  engine = '';

  private constructor(
    readonly outDir: string,
    readonly book: StageBook,
    private readonly scope: unknown,
    readonly io: DemoIO,
  ) {}

  static async open(outDir: string, scope: unknown, io: DemoIO): Promise<Bench> {
    return new Bench(outDir, await StageBook.open(outDir), scope, io);
  }

  /** A stage fingerprint: the scope plus the stage's own inputs. */
  fp(...parts: unknown[]): string {
    return createHash('sha256').update(JSON.stringify([this.scope, ...parts])).digest('hex').slice(0, 16);
  }

  /** Throws Interrupted when the user pressed Ctrl-C. */
  check(): void {
    if (this.io.signal?.aborted) throw new Interrupted();
  }

  private readonly skip = (name: string) => this.io.log(`${name}: already done (resuming)`);

  /** Runs a named stage once (resuming a finished one with the same inputs). */
  stage<T>(name: string, inputs: unknown[], fn: () => Promise<T>): Promise<T> {
    return this.book.run(name, this.fp(...inputs), fn, this.skip);
  }

  /** Generates synthetic splits into `dir` (resumable image by image). */
  data(name: string, dir: string, spec: DataSpec): Promise<BenchData> {
    return this.stage(name, ['data', spec], async () => {
      const p = new Progress(this.io.progress, `generate data (${name})`);
      const out = await generateSplits({
        outDir: dir,
        style: spec.style,
        imageSize: spec.imageSize,
        counts: spec.counts,
        seed: spec.seed,
        signal: this.io.signal,
        onProgress: (e) => p.update(e.overallDone, e.overallTotal),
      });
      this.check();
      const split = (s: SplitName): HiddenSplit | null => {
        const o = out.splits[s];
        return o ? { annotations: o.annotations, imageDir: o.imagesDir, hidden: o.hiddenAnnotations ?? null } : null;
      };
      p.done(`${Object.values(out.splits).reduce((a, s) => a + (s?.written ?? 0) + (s?.skipped ?? 0), 0)} images`);
      return { labeled: split('labeled')!, unlabeled: split('unlabeled')!, val: split('val')!, labeledLarge: split('labeledLarge') };
    });
  }

  /** Trains one model into OUT/models/<name> (or reuses a finished stage). */
  train(name: string, trainSplit: SplitPaths, steps: number, settings: { batch: number; seed: number }, run: TrainRun): Promise<TrainRecord> {
    // The perturbation joins the fingerprint only when set: stages finished before it existed resume.
    const perturbed = run.perturbation && run.perturbation !== 'none' ? { perturbation: run.perturbation } : {};
    const mix = run.generated ? { generated: run.generated, labeledProbability: run.labeledProbability ?? 0.6, ...perturbed } : null;
    return this.stage(`train-${name}`, ['train', name, steps, run.model, mix], async () => {
      this.check();
      // A user's model trains through `omnidistill train --model` in a child process.
      if (run.child || run.model.user) return this.trainInChild(name, trainSplit, steps, settings, run);
      const p = new Progress(run.lines ? { write: this.io.progress.write.bind(this.io.progress), isTTY: false } : this.io.progress, `train ${name}`);
      const onProgress = (e: TrainProgress) => {
        this.engine = e.engine;
        p.update(e.step, e.iterations, `loss ${e.loss.toFixed(3)} lr ${e.learningRate.toExponential(1)} ${e.samplesPerSecond.toFixed(0)} img/s [${e.engine}]`);
      };
      const settingsOfRun = {
        task: run.model.task,
        train: { coco: trainSplit.annotations, imageDir: trainSplit.imageDir },
        ...(run.generated ? { generated: run.generated, labeledProbability: run.labeledProbability ?? 0.6, ...perturbed } : {}),
        steps,
        batch: settings.batch,
        lr: run.model.lr,
        seed: settings.seed,
        outDir: join(this.outDir, 'models'),
        name,
        checkpointEvery: { seconds: 30 },
        ...(run.threads !== undefined ? { threads: run.threads } : {}),
      };
      let trained;
      try {
        trained = await trainWithCheckpoints(settingsOfRun, { log: (line) => this.io.log(`[${name}] ${line}`), onProgress, ...(this.io.signal ? { signal: this.io.signal } : {}) });
      } catch (err) {
        if (err instanceof TrainingInterruptedError) throw new Interrupted();
        throw err;
      }
      p.done(`${trained.parameterCount} params, ${trained.stepsPerSecond.toFixed(2)} steps/s on ${trained.engine}`);
      return { onnxPath: trained.onnxPath, manifestPath: trained.manifestPath, history: [...trained.history], seconds: trained.seconds, engine: trained.engine };
    });
  }

  private async trainInChild(name: string, trainSplit: SplitPaths, steps: number, settings: { batch: number; seed: number }, run: TrainRun): Promise<TrainRecord> {
    const entry = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? '../bin.ts' : '../bin.js', import.meta.url));
    const args = [
      ...process.execArgv,
      entry,
      'train',
      ...(run.model.user ? userModelFlags(run.model.user, name) : ['--task', run.model.task]),
      ...['--labeled', trainSplit.annotations, '--images', trainSplit.imageDir],
      ...['--steps', String(steps), '--batch', String(settings.batch), '--lr', String(run.model.lr), '--seed', String(settings.seed)],
      // In a child on request: one core unless told; a user's model run in a child only for the import path: the child's default (all cores).
      ...(run.child ? ['--threads', String(run.threads ?? 1)] : run.threads !== undefined ? ['--threads', String(run.threads)] : []),
      ...['--out', join(this.outDir, 'models'), '--name', name],
      ...(run.generated ? ['--generated', run.generated.coco, '--generated-images', run.generated.imageDir, '--labeled-fraction', String(run.labeledProbability ?? 0.6)] : []),
      ...(run.generated && run.perturbation && run.perturbation !== 'none' ? ['--perturb-generated', run.perturbation] : []),
    ];
    // Supervised: the child ignores a repeated Ctrl-C (the terminal's and the forwarded one).
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, [SUPERVISED_ENV]: '1' } });
    const signal = this.io.signal;
    const onAbort = () => child.kill('SIGINT');
    signal?.addEventListener('abort', onAbort, { once: true });
    let stdout = '';
    let tail: string[] = [];
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    let pending = '';
    child.stderr.on('data', (d: Buffer) => {
      pending += d.toString();
      const lines = pending.split(/\r?\n|\r/);
      pending = lines.pop() ?? '';
      for (const line of lines.filter((l) => l.trim() !== '')) {
        this.io.log(`[${name}] ${line}`);
        tail = [...tail.slice(-9), line];
      }
    });
    const code = await new Promise<number | null>((resolveExit) => child.on('close', (c) => resolveExit(c)));
    signal?.removeEventListener('abort', onAbort);
    if (signal?.aborted) throw new Interrupted();
    // Exit 2: the child's one-line message says which input to fix; pass it on as such.
    if (code === 2) throw new UsageError(`training ${name}: ${tail.at(-1) ?? 'bad input'}`);
    if (code !== 0) throw new Error(`training ${name} in a child process failed (exit code ${code}):\n${tail.join('\n')}`);
    const out = JSON.parse(stdout) as { onnx: string; manifest: string; history: { step: number; loss: number }[]; seconds: number; engine: string };
    this.engine = this.engine || out.engine;
    return { onnxPath: out.onnx, manifestPath: out.manifest, history: out.history, seconds: out.seconds, engine: out.engine };
  }

  /** AP of a trained model on `val` for each pass (keypoint AP, or box AP for a detector). */
  async evaluate(name: string, record: TrainRecord, task: DemoTask, val: SplitPaths, passes: EvalPass[]): Promise<ApResult[]> {
    const digest = await fileHash(record.onnxPath);
    const shape = passes.map((p) => [p.label, p.plan, p.roisFingerprint ?? null]);
    return this.stage(`eval-${name}`, ['eval', name, digest, task, val.annotations, shape], async () => {
      const manifest = await loadManifest(record.manifestPath);
      const results: ApResult[] = [];
      for (const pass of passes) {
        this.check();
        const progress = new Progress(this.io.progress, `evaluate ${name} (${pass.label})`);
        const tick = (d: number, t: number) => {
          this.check();
          progress.update(d, t);
        };
        const r =
          task === 'keypoints'
            ? await keypointAp(await createModelSession(record.onnxPath, manifest as KeypointManifest), val, pass.plan, tick, pass.rois)
            : await boxAp(await createModelSession(record.onnxPath, manifest as DetectorManifest), val, pass.plan, tick);
        progress.done(`AP ${(100 * r.stats[0]).toFixed(1)}`);
        results.push(r);
      }
      return results;
    });
  }

  /** Labels the unlabeled split with a teacher under a plan, then selects (the `label` stage). */
  async label(name: string, job: LabelJob): Promise<LabelResult> {
    const teacherDigest = await fileHash(job.teacher.onnxPath);
    const detector = job.rois?.kind === 'detector' ? job.rois.detector : null;
    const inputs = ['label', teacherDigest, detector?.fingerprint ?? null, job.rois?.kind === 'detector' ? job.rois.plan : null, job.plan, job.unlabeled.annotations, job.dir, job.selection ?? null];
    return this.stage(name, inputs, async () => {
      this.check();
      const manifest = await loadManifest(job.teacher.manifestPath);
      const images = (await readCocoDataset(job.unlabeled.annotations)).images.length;
      const p = new Progress(this.io.progress, `label ${images} unlabeled images (${job.plan.transforms.length} transforms)`);
      const r = await generateLabels({
        task: job.task,
        ...(job.task === 'keypoints'
          ? {
              keypoints: {
                model: await createModelSession(job.teacher.onnxPath, manifest as KeypointManifest),
                rois: job.rois?.kind === 'detector'
                  ? { kind: 'detector' as const, detector: job.rois.detector.session, fingerprint: job.rois.detector.fingerprint, plan: job.rois.plan }
                  : { kind: 'boxes' as const, annotations: job.unlabeled.hidden! },
              },
            }
          : { detector: await createModelSession(job.teacher.onnxPath, manifest as DetectorManifest) }),
        unlabeled: job.unlabeled.annotations,
        imageDir: job.unlabeled.imageDir,
        labeled: job.labeled.annotations,
        plan: job.plan,
        outDir: job.dir,
        teacherFingerprint: teacherDigest,
        ...(job.selection && job.selection.kind !== 'count-matched' ? { selection: job.selection, selectionDir: join(job.dir, selectionRuleName(job.selection)) } : {}),
        onProgress: (e) => p.update(e.done, e.total),
        signal: this.io.signal,
      });
      if (!r.complete) throw new Interrupted();
      p.done(`${r.summary.generatedInstances} instances kept on ${r.summary.generatedImages} images`);
      return r;
    });
  }
}

/**
 * The detector teacher's person boxes on each validation image, per plan, computed once and
 * shared by every evaluation that uses them (end-to-end keypoint AP).
 */
export function detectorRois(detector: DetectorSession, categoryId: number, plan: TransformPlan): EvalRois {
  const cache = new Map<number, Promise<Rois>>();
  return (imageId, image) => {
    let r = cache.get(imageId);
    if (!r) {
      r = detectRois(detector, image, { categoryIds: [categoryId], plan });
      cache.set(imageId, r);
    }
    return r;
  };
}

/** Like Promise.all, but waits for every promise to settle before throwing the first failure. */
export async function allSettledOrThrow<T extends readonly Promise<unknown>[]>(promises: T): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const settled = await Promise.allSettled(promises);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as { -readonly [K in keyof T]: Awaited<T[K]> };
}

/** The person detector teacher's session and the digest that identifies it in resumes. */
export async function loadDetector(record: TrainRecord): Promise<LoadedDetector> {
  const manifest = (await loadManifest(record.manifestPath)) as DetectorManifest;
  return { session: await createModelSession(record.onnxPath, manifest), fingerprint: await fileHash(record.onnxPath) };
}

/** The 16-hex fingerprint stage records use: infer's streaming file hash, shortened. */
export async function fileHash(path: string): Promise<string> {
  return (await hashFile(path)).slice(0, 16);
}

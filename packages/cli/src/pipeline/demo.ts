// `omnidistill demo`: the whole data-distillation loop on the built-in synthetic data —
// generate → teacher on the small labeled split → label the unlabeled split with
// multi-transform inference → count-matched selection → student on labeled ∪ generated
// → evaluation — plus the supervised baseline trained with the student's schedule (so a
// reader can tell distillation from training longer) and, on request, the upper bound.
// The stages themselves live in bench.ts (shared with `omnidistill experiment`).
import { join, resolve } from 'node:path';
import { loadManifest } from '@omnidistill/infer';
import type { KeypointManifest } from '@omnidistill/infer';
import { DEMO_SETTINGS } from '@omnidistill/synth';
import type { SplitName } from '@omnidistill/synth';
import { customPlan } from '@omnidistill/transforms';
import type { TransformPlan } from '@omnidistill/transforms';
import { allSettledOrThrow, Bench, detectorRois, fileHash, loadDetector, SINGLE_PASS } from './bench.js';
import type { DemoIO, DemoModel, DemoTask, EvalPass, ModelKind, TrainRecord, TrainRun } from './bench.js';
import type { EvalRois, SplitPaths } from './evaluate.js';
import type { CalibrationSummary } from './label.js';
import { formatDuration } from './progress.js';

export { Interrupted, SINGLE_PASS } from './bench.js';
export type { DemoIO, DemoModel, DemoTask } from './bench.js';


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

/** Runs (or resumes) the demo in `outDir`. */
export async function runDemo(settings: DemoSettings, outDirArg: string, io: DemoIO): Promise<DemoResult> {
  const t0 = performance.now();
  const outDir = resolve(outDirArg);
  // A user's model is part of every stage's identity by its content, not just its path.
  const userModel = settings.model ? { onnx: await fileHash(settings.model.onnx), manifest: await fileHash(settings.model.manifest) } : null;
  const bench = await Bench.open(outDir, [settings, userModel], io);
  const plan = demoPlan(settings);
  io.log(
    `omnidistill demo --task ${settings.task}${settings.model ? ` --model ${settings.model.onnx}` : ''}: ${settings.imageSize}px, ${settings.counts.labeled} labeled / ${settings.counts.unlabeled} unlabeled / ${settings.counts.val} val; ` +
      `teacher ${settings.teacherSteps} steps, student ${settings.studentSteps}; test-time plan ${plan.transforms.length} transforms; output ${outDir}`,
  );

  // 1. Data.
  const counts: Partial<Record<SplitName, number>> = { labeled: settings.counts.labeled, unlabeled: settings.counts.unlabeled, val: settings.counts.val };
  if (settings.upperBound) counts.labeledLarge = settings.counts.labeledLarge;
  const data = await bench.data('data', join(outDir, 'data'), { style: settings.task === 'keypoints' ? 'keypoints' : 'objects', imageSize: settings.imageSize, counts, seed: settings.seed });

  /** The model a training produces: the demo task's (the user's, with --model), or the person detector teacher. */
  const mainModel: ModelKind = { task: settings.task, lr: settings.lr, ...(settings.model ? { user: settings.model } : {}) };
  const detectorModel: ModelKind = { task: 'detection', lr: settings.detectorLr };
  const faithful = settings.task === 'keypoints' && settings.rois === 'detector';
  const schedule = { batch: settings.batch, seed: settings.seed };
  const generatedSource = (coco: string) => ({ coco, imageDir: data.unlabeled.imageDir });
  let endToEnd: { single: EvalRois; multi: EvalRois; fingerprint: string } | null = null;

  /** Single pass and plan AP (keypoints with a detector: also end to end with its boxes). */
  const passesOf = (task: DemoTask): EvalPass[] => {
    const n = plan.transforms.length;
    const passes: EvalPass[] = [
      { label: 'single pass', plan: SINGLE_PASS },
      { label: `${n} transforms`, plan },
    ];
    if (task === 'keypoints' && endToEnd) {
      passes.push(
        { label: 'single pass, detector boxes', plan: SINGLE_PASS, rois: endToEnd.single, roisFingerprint: endToEnd.fingerprint },
        { label: `${n} transforms, detector boxes`, plan, rois: endToEnd.multi, roisFingerprint: endToEnd.fingerprint },
      );
    }
    return passes;
  };

  /** Evaluates a trained demo-task model into a table row. */
  const rowOf = async (name: string, record: TrainRecord, trainSplit: SplitPaths, steps: number, generated?: string): Promise<DemoRow> => {
    bench.engine = bench.engine || record.engine;
    bench.check();
    const [single, multi, e2eSingle, e2eMulti] = await bench.evaluate(name, record, settings.task, data.val, passesOf(settings.task));
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

  /** Trains (or reuses) one demo-task model and evaluates it into a table row. */
  const trainRow = async (name: string, trainSplit: SplitPaths, steps: number, generated?: string, run: Omit<TrainRun, 'model'> = {}): Promise<DemoRow> =>
    rowOf(name, await bench.train(name, trainSplit, steps, schedule, { ...run, model: mainModel, ...(generated ? { generated: generatedSource(generated), labeledProbability: settings.labeledProbability } : {}) }), trainSplit, steps, generated);

  // 2. Teacher on the small labeled split; in the faithful pipeline also the person detector
  // teacher on the same split's boxes, at the same time (one core each, as below).
  // Alone, a training uses every core (train.bench: 8.1 steps/s on 2 threads vs 6.3 on one).
  const [teacherRecord, detectorRecord] = faithful
    ? await allSettledOrThrow([
        bench.train('teacher', data.labeled, settings.teacherSteps, schedule, { threads: 1, lines: true, model: mainModel }),
        bench.train('detector', data.labeled, settings.detectorSteps, schedule, { threads: 1, child: true, model: detectorModel }),
      ] as const)
    : [await bench.train('teacher', data.labeled, settings.teacherSteps, schedule, { model: mainModel }), null];
  bench.engine = bench.engine || teacherRecord.engine;
  const detector = detectorRecord ? await loadDetector(detectorRecord) : null;
  let detectorSummary: DetectorSummary | undefined;
  if (detector && detectorRecord) {
    const person = ((await loadManifest(teacherRecord.manifestPath)) as KeypointManifest).keypoints.categoryId;
    endToEnd = { single: detectorRois(detector.session, person, SINGLE_PASS), multi: detectorRois(detector.session, person, plan), fingerprint: detector.fingerprint };
    const [single, multi] = await bench.evaluate('detector', detectorRecord, 'detection', data.val, passesOf('detection'));
    detectorSummary = { steps: settings.detectorSteps, single: single.stats[0], multi: multi.stats[0], trainSeconds: detectorRecord.seconds };
  }
  const teacher = await rowOf('teacher', teacherRecord, data.labeled, settings.teacherSteps);

  // 3–6. Label the unlabeled split with the teacher under the plan, then select.
  const labels = await bench.label('label', {
    task: settings.task,
    teacher: teacherRecord,
    unlabeled: data.unlabeled,
    labeled: data.labeled,
    plan,
    ...(settings.task === 'keypoints' ? { rois: detector ? { kind: 'detector' as const, detector, plan } : { kind: 'gt' as const } } : {}),
    dir: join(outDir, 'labels'),
  });

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
    engine: bench.engine,
  };
  return result;
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

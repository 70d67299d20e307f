// `omnidistill demo`: the whole data-distillation loop on the built-in synthetic data.
import { access, readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { writeAtomically } from '@omnidistill/coco';
import { layoutAdapter } from '@omnidistill/infer';
import { runUntilInterrupted } from '../pipeline/bench.js';
import { demoSettings, formatTable, runDemo } from '../pipeline/demo.js';
import type { DemoModel, DemoRois, DemoTask } from '../pipeline/demo.js';
import { prepareOutputFolder } from '../pipeline/out-dir.js';
import { stderrSink } from '../pipeline/progress.js';
import { buildReport } from '../report/html.js';
import { numberIn, oneOf, parseFlags, positiveInt, required } from './args.js';
import { studentSpecFromManifest } from './train-student.js';
import { flipOnlyReason } from './plan-flags.js';
import { EXIT, UsageError } from './types.js';
import type { CommandIO, CommandModule } from './types.js';

const HELP = `Usage: omnidistill demo [--task keypoints|detection] [--quick] [--model M.onnx --manifest M.json] [--out DIR] [options]

Runs data distillation end to end on built-in synthetic data: generate → train the teacher
(keypoints: and a person detector teacher) on the small labeled split → label the unlabeled
split with multi-transform inference (keypoints: RoIs from the detector under the same plan) →
count-matched selection → train the student (re-initialised) on labeled ∪ generated with
the longer schedule → evaluate. Prints one table (teacher, supervised baseline with the
student's schedule, student; single pass and multi-transform; keypoints: with ground-truth
boxes and end to end with the detector's boxes) and writes DIR/report.html.

Options:
  --task TASK           keypoints (default; keypoint AP) or detection (box AP, per-category thresholds)
  --quick               the small setting (keypoints: 96 px, 200/800/300 images, 400/800 steps,
                        about 5 minutes on 2 cores) instead of the default (128 px, 200/1500/300,
                        1000/2000 steps). Detection uses 500 labeled / 1200 (2000) unlabeled
                        images and twice the steps (a useful detector teacher needs them)
  --rois SOURCE         keypoints: where the RoIs on unlabeled images come from: detector (default;
                        the paper's pipeline: a person detector teacher trained on the labeled split,
                        run under the plan; generated labels carry its boxes) or gt (the hidden
                        ground-truth boxes: isolates the keypoint model, but labels leak)
  --detector-steps N    keypoints with --rois detector: the detector teacher's steps
                        (default twice the teacher's: 800 quick, 2000)
  --out DIR             working/output folder (default runs/demo-<task>[-gt][-quick]); a re-run resumes
  --model M.onnx --manifest M.json
                        keypoints: your own keypoint model (layouts topdown-heatmap, simcc, rois; see
                        omnidistill train --model --help) instead of the reference one: teacher, supervised
                        baseline and student train through 'omnidistill train --model'; the student (and
                        the baseline) re-initialised, as in the paper
  --teacher-init MODE   with --model: weights (default: the teacher fine-tunes your model's weights)
                        or reinit (the teacher starts from fresh weights too)
  --upper-bound         also train on all labels (labeled + the unlabeled split's true labels)
  --seed N              data and training seed (default 1)
  --teacher-steps N     override the teacher's steps
  --student-steps N     override the student's (and the supervised baseline's) steps
  --labeled N, --unlabeled N, --val N, --image-size PX   override split sizes / image size
  --labeled-fraction P  probability of a labeled sample in student minibatches (default 0.6)
  --json                print the results as one JSON object instead of the table
  -h, --help            show this help

Ctrl-C stops at a safe point; the same command resumes. Exit codes: 0 success, 1 failure,
2 bad usage, 130 interrupted.
`;

/**
 * `--model`/`--manifest`/`--teacher-init`, checked before anything runs: both files readable,
 * the manifest one that `train --model` takes (its field named in the error), keypoints only.
 */
async function userModel(v: Record<string, unknown>, task: DemoTask): Promise<(DemoModel & { layout: string }) | undefined> {
  if (v.model === undefined) {
    if (v.manifest !== undefined || v['teacher-init'] !== undefined) throw new UsageError('--manifest and --teacher-init go with --model M.onnx');
    return undefined;
  }
  if (task !== 'keypoints') throw new UsageError('--model takes a keypoint model (--task keypoints); the detection demo trains the reference detector');
  const onnx = resolve(required(v, 'model'));
  const manifest = resolve(required(v, 'manifest'));
  try {
    await access(onnx);
  } catch {
    throw new UsageError(`--model ${onnx}: no such file`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(manifest, 'utf8'));
  } catch (err) {
    throw new UsageError(`--manifest ${manifest}: ${(err as Error).message}`);
  }
  let layout: string | undefined;
  try {
    layout = studentSpecFromManifest(parsed, manifest).layout;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  // train --model also takes detector manifests; the keypoint demo's --model does not.
  if (layout === 'detector') throw new UsageError(`${manifest}.role: expected "keypoints" (demo --model takes a keypoint model), received "detector"`);
  return { onnx, manifest, teacherInit: oneOf(v, 'teacher-init', ['weights', 'reinit'] as const, 'weights'), layout: layout ?? 'topdown-heatmap' };
}

export const demoCommand: CommandModule = {
  async run(argv: string[], io: CommandIO): Promise<number> {
    const v = parseFlags(argv, {
      task: { type: 'string' },
      quick: { type: 'boolean', default: false },
      out: { type: 'string' },
      'upper-bound': { type: 'boolean', default: false },
      seed: { type: 'string' },
      'teacher-steps': { type: 'string' },
      rois: { type: 'string' },
      'detector-steps': { type: 'string' },
      'student-steps': { type: 'string' },
      labeled: { type: 'string' },
      unlabeled: { type: 'string' },
      val: { type: 'string' },
      'image-size': { type: 'string' },
      'labeled-fraction': { type: 'string' },
      model: { type: 'string' },
      manifest: { type: 'string' },
      'teacher-init': { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    });
    if (v.help) {
      io.stdout.write(HELP);
      return EXIT.OK;
    }
    const task = oneOf<DemoTask>(v, 'task', ['keypoints', 'detection'], 'keypoints');
    const quick = v.quick === true;
    if (task === 'detection' && (v.rois !== undefined || v['detector-steps'] !== undefined)) {
      throw new UsageError('--rois and --detector-steps apply to --task keypoints only (the detection demo\'s teacher is itself the detector); drop them');
    }
    const user = await userModel(v, task);
    const model: DemoModel | undefined = user ? { onnx: user.onnx, manifest: user.manifest, teacherInit: user.teacherInit } : undefined;
    // As label's --plan auto: a model that crops each person gets identity ± flip, no image scales
    // (measured on a top-down demo teacher: single 9.5, flip 11.3, the 8-transform plan 0.6 AP).
    const flipOnly = user ? flipOnlyReason(layoutAdapter(user.layout).traits) : null;
    const base = demoSettings(task, quick);
    const teacherSteps = positiveInt(v, 'teacher-steps', base.teacherSteps);
    const settings = demoSettings(task, quick, {
      seed: positiveInt(v, 'seed', base.seed),
      teacherSteps,
      rois: oneOf<DemoRois>(v, 'rois', ['detector', 'gt'], base.rois),
      // The detector teacher trains twice the keypoint teacher's steps, also when --teacher-steps changes them.
      detectorSteps: positiveInt(v, 'detector-steps', 2 * teacherSteps),
      studentSteps: positiveInt(v, 'student-steps', base.studentSteps),
      imageSize: positiveInt(v, 'image-size', base.imageSize),
      upperBound: v['upper-bound'] === true,
      labeledProbability: numberIn(v, 'labeled-fraction', base.labeledProbability, 0, 1),
      counts: {
        labeled: positiveInt(v, 'labeled', base.counts.labeled),
        unlabeled: positiveInt(v, 'unlabeled', base.counts.unlabeled),
        val: positiveInt(v, 'val', base.counts.val),
        labeledLarge: positiveInt(v, 'labeled', base.counts.labeled) + positiveInt(v, 'unlabeled', base.counts.unlabeled),
      },
      ...(model ? { model } : {}),
      ...(flipOnly !== null ? { planScales: [] } : {}),
    });
    const modelPart = model ? `-${basename(model.onnx, '.onnx')}` : '';
    const outDir = await prepareOutputFolder('--out', typeof v.out === 'string' ? v.out : join('runs', `demo-${task}${modelPart}${settings.rois === 'gt' && task === 'keypoints' ? '-gt' : ''}${quick ? '-quick' : ''}`));
    const log = (line: string) => io.stderr.write(`${line}\n`);
    if (flipOnly !== null) log(`test-time plan: original ± flip, as ${flipOnly}`);
    return runUntilInterrupted(log, async (signal) => {
      const result = await runDemo(settings, outDir, {
        log,
        progress: stderrSink(io),
        signal,
      });
      const json = `${JSON.stringify(result, null, 2)}\n`;
      await writeAtomically(join(result.outDir, 'results.json'), (push) => push(json));
      const html = await buildReport(result);
      await writeAtomically(join(result.outDir, 'report.html'), (push) => push(html));
      if (v.json) io.stdout.write(json);
      else io.stdout.write(`\n${formatTable(result)}\nreport: ${join(result.outDir, 'report.html')}\n`);
      return EXIT.OK;
    });
  },
};


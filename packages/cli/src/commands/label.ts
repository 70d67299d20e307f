// `omnidistill label`: a teacher on unlabeled images under a transform plan → raw
// prediction shards (resumable) → count-matched selection → generated COCO labels.
import { ShardPlanError, layoutAdapter, modelThreadByDefault, probeTransformBatch, transformBatchNote } from '@omnidistill/infer';
import { DEFAULT_CHUNK_SIZE, generateLabels } from '../pipeline/label.js';
import { LabelTimings } from '../pipeline/label-timing.js';
import { Progress, stderrSink } from '../pipeline/progress.js';
import { ShardEnvError, resolveShard } from '../shard/resolve.js';
import type { ShardChoice } from '../shard/resolve.js';
import { interruptSignal, oneOf, parseFlags, positiveInt, required } from './args.js';
import { labelMergeCommand } from './label-merge.js';
import { labelPlanCommand } from './label-plan.js';
import { labeledImageSizes } from './labeled-sizes.js';
import { PLAN_FLAGS, PLAN_HELP, planFromFlags } from './plan-flags.js';
import { CHECK_FLAGS, CHECK_HELP, checkBeforeLabel } from './teacher-check.js';
import { openTeacher } from './teacher-models.js';
import { EXIT, UsageError } from './types.js';
import type { CommandIO, CommandModule } from './types.js';

const HELP = `Usage: omnidistill label --task keypoints|detection --teacher MODEL.onnx --unlabeled U.json
                         --images DIR --labeled L.json --out DIR [options]
       omnidistill label plan --unlabeled U.json --out DIR     (freeze the image list)
       omnidistill label merge --out DIR                       (merge a sharded run)

Runs the teacher on every unlabeled image under a transform plan, ensembles the
predictions (keypoints: heatmap averaging in each RoI's frame; detection: union → NMS →
box voting), calibrates the score thresholds by count matching against the labeled set,
and writes DIR/generated.json (COCO) and DIR/calibration.json. Raw predictions are kept in
DIR/predictions/ (crash-safe shards): a killed run resumes with the same command.

Options:
  --task TASK           keypoints or detection
  --teacher FILE        the teacher ONNX model; its manifest is FILE with .json (or --teacher-manifest)
  --teacher-manifest F  the teacher's manifest
  --unlabeled FILE      COCO file listing the unlabeled images (annotations ignored)
  --images DIR          folder the unlabeled file_names are relative to
  --labeled FILE        the labeled COCO set whose statistics selection matches
  --out DIR             output folder
${PLAN_HELP}
  keypoints only:
  --detector FILE       detector ONNX whose boxes (one identity pass) are the RoIs
  --boxes FILE          or: a COCO file of the same images whose boxes are the RoIs
                        (neither for teachers that find the people themselves: layouts
                        torchvision-detection (keypointrcnn) and yolo (pose))
  the check before the run (see omnidistill check-model):
${CHECK_HELP}
  sharded runs (one of many jobs; then 'omnidistill label merge --out DIR'):
  --shard-index I       this job's shard, 0…N-1 (or OMNIDISTILL_SHARD_INDEX, or read from
                        JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID, AWS_BATCH_JOB_ARRAY_INDEX,
                        CLOUD_RUN_TASK_INDEX); flags win over variables
  --shard-count N       number of shards (or OMNIDISTILL_SHARD_COUNT, SLURM_ARRAY_TASK_COUNT,
                        CLOUD_RUN_TASK_COUNT, AWS_BATCH_JOB_ARRAY_SIZE)
                        A shard predicts its share of the frozen list DIR/images.jsonl into
                        DIR/shards/shard-I-of-N/ and writes DONE.json there (no selection).
  --chunk-size N        images per resumable chunk of predictions (default 64); a killed run
                        redoes at most one chunk per worker; every shard must use the same
  speed:
  --threads N           onnxruntime intra-op threads per model (default: every core). For many
                        cores, several processes (--shard-index/--shard-count on one machine,
                        then merge) can beat one process with all threads on small models
  --model-thread WHEN   run the models on a worker thread of their own: on, off or auto
                        (default: on with more than 2 cores; on 2 cores it costs CPU for no gain)
  robustness:
  --max-pixels N        skip images with more than N pixels, checked from the header before
                        decoding (default 50000000 = 50 MP; memory is ~65 bytes per pixel)
  --max-failed-fraction F
                        fail (exit 2, no labels written) when more than this share of the
                        images cannot be used: missing, empty, corrupt, not an image, too
                        large, model failure (default 0.1). Skips are listed by reason at
                        the end and in the summary JSON ("skipped"); missing files, read
                        errors and model failures are retried when the command is rerun.
  -h, --help            show this help

A second label run on the same --out is refused while the first holds its lock
(DIR/.omnidistill.lock, pid + host); a lock left by a killed run is taken over.
Resuming is refused, naming the input, when the teacher, detector, --boxes, --unlabeled,
plan or --max-pixels changed; predictions of images changed since are redone.

Exit codes: 0 success, 1 failure, 2 bad usage or input, 130 interrupted (resumable).
`;

export const labelCommand: CommandModule = {
  async run(argv: string[], io: CommandIO): Promise<number> {
    if (argv[0] === 'merge') return labelMergeCommand.run(argv.slice(1), io);
    if (argv[0] === 'plan') return labelPlanCommand.run(argv.slice(1), io);
    const v = parseFlags(argv, {
      task: { type: 'string' },
      teacher: { type: 'string' },
      'teacher-manifest': { type: 'string' },
      unlabeled: { type: 'string' },
      images: { type: 'string' },
      labeled: { type: 'string' },
      out: { type: 'string' },
      ...PLAN_FLAGS,
      detector: { type: 'string' },
      boxes: { type: 'string' },
      'shard-index': { type: 'string' },
      'shard-count': { type: 'string' },
      'chunk-size': { type: 'string' },
      'max-pixels': { type: 'string' },
      'max-failed-fraction': { type: 'string' },
      threads: { type: 'string' },
      'model-thread': { type: 'string' },
      ...CHECK_FLAGS,
      help: { type: 'boolean', short: 'h', default: false },
    });
    if (v.help) {
      io.stdout.write(HELP);
      return EXIT.OK;
    }
    const task = oneOf(v, 'task', ['keypoints', 'detection'] as const, 'keypoints');
    if (v.task === undefined) throw new UsageError('--task is required');
    const teacherPath = required(v, 'teacher');
    const limits = limitFlags(v);
    const log = (line: string) => io.stderr.write(`${line}\n`);
    const shard = shardFrom(v, process.env);
    if (shard) log(shard.description);
    const sizes = await labeledImageSizes(required(v, 'labeled'));
    // With --model-thread on, each model on its own thread: the model runs while this thread prepares and ensembles other images.
    const { model: teacher, sessions } = await openTeacher(task, 'teacher', teacherPath, typeof v['teacher-manifest'] === 'string' ? v['teacher-manifest'] : undefined, v, { ownThread: modelThreadFlag(v), ...threadsFlag(v) });
    const { plan, description, warnings } = planFromFlags(v, sizes, layoutAdapter(teacher.manifest.layout).traits);
    log(description);
    const batched = sessions.task === 'detection' ? sessions.detector : sessions.keypoints.model;
    // A graph that declares a dynamic batch it does not honour is found now, so the line says what will run.
    await probeTransformBatch(batched);
    const batching = transformBatchNote(batched, plan.transforms.length);
    if (batching) log(batching);
    for (const w of warnings) log(`WARNING: ${w}`);
    const check = await checkBeforeLabel(v, {
      model: teacher,
      sessions,
      plan,
      log,
      labeledPath: required(v, 'labeled'),
      unlabeledPath: required(v, 'unlabeled'),
      imageDir: required(v, 'images'),
      sample: positiveInt(v, 'check-sample', 8),
    });
    const { signal, dispose } = interruptSignal(log);
    try {
      const p = new Progress(stderrSink(io), `label (${plan.transforms.length} transforms)`);
      const timings = new LabelTimings();
      const r = await usageOnPlanError(generateLabels({
        ...sessions,
        unlabeled: required(v, 'unlabeled'),
        imageDir: required(v, 'images'),
        labeled: required(v, 'labeled'),
        plan,
        outDir: required(v, 'out'),
        teacherFingerprint: teacher.fingerprint,
        onProgress: (e) => p.update(e.done, e.total, () => timings.progressDetail(e)),
        timings,
        log,
        signal,
        ...(shard ? { shard: { index: shard.index, count: shard.count } } : {}),
        chunkSize: positiveInt(v, 'chunk-size', DEFAULT_CHUNK_SIZE),
        ...limits,
      }));
      // Batching turned off during the run (a batch its graph refused only at some input size) is said, not left as the start line said.
      const batchingNow = transformBatchNote(batched, plan.transforms.length);
      if (batchingNow !== batching && batchingNow) log(`during the run: ${batchingNow}`);
      if (!r.complete) {
        log('interrupted: finished shards are kept; run the same command again to resume');
        return 130;
      }
      if (r.shardDone !== undefined) {
        p.done(`shard ${shard!.index} of ${shard!.count} done: ${r.shardDone}`);
        logTimings(timings, log);
        io.stdout.write(`${JSON.stringify({ shard: { index: shard!.index, count: shard!.count }, done: r.shardDone, predictions: r.predictions, skipped: r.skipped }, null, 2)}\n`);
        return EXIT.OK;
      }
      p.done(`${r.summary.generatedInstances} instances on ${r.summary.generatedImages} images`);
      logTimings(timings, log);
      for (const w of r.summary.warnings) log(`WARNING: ${w}`);
      // The check's warnings again after the long run, where they are read.
      const checkWarnings = (check ?? []).flatMap((c) => c.warnings);
      for (const w of checkWarnings) log(`WARNING (teacher check before the run): ${w}`);
      io.stdout.write(`${JSON.stringify({ generated: r.generated, calibration: r.calibration, ...r.summary, skipped: r.skipped, checkWarnings }, null, 2)}\n`);
      return EXIT.OK;
    } finally {
      dispose();
    }
  },
};

/** Where the time went: the run's phases, then the prediction loop's stages. */
function logTimings(timings: LabelTimings, log: (line: string) => void): void {
  log(timings.summary());
  const stages = timings.stageSummary();
  if (stages) log(stages);
}

/** A frozen image list or shard folder that does not fit this run is bad input (exit 2). */
async function usageOnPlanError<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (error instanceof ShardPlanError) throw new UsageError(error.message);
    throw error;
  }
}

/** The shard of a sharded run (flags, then OMNIDISTILL_SHARD_*, then the engine's variables), or null. */
function shardFrom(v: Record<string, unknown>, env: NodeJS.ProcessEnv): ShardChoice | null {
  const flag = (name: string): number | undefined => {
    const raw = v[name];
    if (raw === undefined) return undefined;
    if (typeof raw !== 'string' || !/^\d+$/.test(raw) || !Number.isSafeInteger(Number(raw))) {
      throw new UsageError(`--${name}: expected a non-negative integer, received ${JSON.stringify(raw)}`);
    }
    return Number(raw);
  };
  try {
    return resolveShard({ index: flag('shard-index'), count: flag('shard-count') }, env);
  } catch (error) {
    if (error instanceof ShardEnvError) throw new UsageError(error.message);
    throw error;
  }
}

/** --threads: intra-op threads of every model session (absent: onnxruntime's default of every core). */
function threadsFlag(v: Record<string, unknown>): { threads?: number } {
  return typeof v.threads === 'string' ? { threads: positiveInt(v, 'threads', 1) } : {};
}

/** --model-thread on|off|auto (default auto: {@link modelThreadByDefault}). */
function modelThreadFlag(v: Record<string, unknown>): boolean {
  const when = oneOf(v, 'model-thread', ['auto', 'on', 'off'] as const, 'auto');
  return when === 'auto' ? modelThreadByDefault() : when === 'on';
}

/** --max-pixels and --max-failed-fraction, checked. */
function limitFlags(v: Record<string, unknown>): { maxPixels?: number; maxFailedFraction?: number } {
  const out: { maxPixels?: number; maxFailedFraction?: number } = {};
  if (typeof v['max-pixels'] === 'string') {
    const n = Number(v['max-pixels']);
    if (!/^\d+$/.test(v['max-pixels'].trim()) || n < 1) throw new UsageError(`--max-pixels: expected a positive integer (pixels per image), received ${JSON.stringify(v['max-pixels'])}`);
    out.maxPixels = n;
  }
  if (typeof v['max-failed-fraction'] === 'string') {
    const f = Number(v['max-failed-fraction']);
    if (v['max-failed-fraction'].trim() === '' || !Number.isFinite(f) || f < 0 || f > 1) {
      throw new UsageError(`--max-failed-fraction: expected a number in [0, 1], received ${JSON.stringify(v['max-failed-fraction'])}`);
    }
    out.maxFailedFraction = f;
  }
  return out;
}

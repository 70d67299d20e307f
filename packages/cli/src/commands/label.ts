// `omnidistill label`: a teacher on unlabeled images under a transform plan → raw
// prediction shards (resumable) → count-matched selection → generated COCO labels.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createModelSession, loadManifest } from '@omnidistill/infer';
import type { DetectorManifest, KeypointManifest, ModelManifest } from '@omnidistill/infer';
import { generateLabels } from '../pipeline/label.js';
import type { KeypointRoiSource } from '../pipeline/label.js';
import { Progress, stderrSink } from '../pipeline/progress.js';
import { interruptSignal, oneOf, parseFlags, required } from './args.js';
import { labeledImageSizes } from './labeled-sizes.js';
import { PLAN_FLAGS, PLAN_HELP, planFromFlags } from './plan-flags.js';
import { EXIT, UsageError } from './types.js';
import type { CommandIO, CommandModule } from './types.js';

const HELP = `Usage: omnidistill label --task keypoints|detection --teacher MODEL.onnx --unlabeled U.json
                         --images DIR --labeled L.json --out DIR [options]

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
  -h, --help            show this help

Exit codes: 0 success, 1 failure, 2 bad usage or input, 130 interrupted (resumable).
`;

export const labelCommand: CommandModule = {
  async run(argv: string[], io: CommandIO): Promise<number> {
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
      help: { type: 'boolean', short: 'h', default: false },
    });
    if (v.help) {
      io.stdout.write(HELP);
      return EXIT.OK;
    }
    const task = oneOf(v, 'task', ['keypoints', 'detection'] as const, 'keypoints');
    if (v.task === undefined) throw new UsageError('--task is required');
    const teacherPath = required(v, 'teacher');
    const log = (line: string) => io.stderr.write(`${line}\n`);
    const { plan, description, warnings } = planFromFlags(v, await labeledImageSizes(required(v, 'labeled')));
    log(description);
    for (const w of warnings) log(`warning: ${w}`);
    const teacher = await openModel(teacherPath, typeof v['teacher-manifest'] === 'string' ? v['teacher-manifest'] : undefined);
    if (teacher.manifest.role !== (task === 'keypoints' ? 'keypoints' : 'detector')) {
      throw new UsageError(`--teacher: expected a ${task === 'keypoints' ? 'keypoints' : 'detector'} model for --task ${task}, received a ${teacher.manifest.role} model (${teacherPath})`);
    }
    let rois: KeypointRoiSource | undefined;
    if (task === 'keypoints') {
      if (typeof v.detector === 'string') {
        const det = await openModel(v.detector);
        rois = { kind: 'detector', detector: await createModelSession(det.bytes, det.manifest as DetectorManifest) };
      } else if (typeof v.boxes === 'string') rois = { kind: 'boxes', annotations: v.boxes };
      else throw new UsageError('keypoints need RoIs: pass --detector FILE or --boxes FILE');
    }
    const { signal, dispose } = interruptSignal(log);
    try {
      const p = new Progress(stderrSink(io), `label (${plan.transforms.length} transforms)`);
      const session = await createModelSession(teacher.bytes, teacher.manifest);
      const r = await generateLabels({
        task,
        ...(task === 'keypoints' ? { keypoints: { model: session as Awaited<ReturnType<typeof createModelSession<KeypointManifest>>>, rois: rois! } } : { detector: session as Awaited<ReturnType<typeof createModelSession<DetectorManifest>>> }),
        unlabeled: required(v, 'unlabeled'),
        imageDir: required(v, 'images'),
        labeled: required(v, 'labeled'),
        plan,
        outDir: required(v, 'out'),
        teacherFingerprint: createHash('sha256').update(teacher.bytes).digest('hex').slice(0, 16),
        onProgress: (e) => p.update(e.done, e.total),
        signal,
      });
      if (!r.complete) {
        log('interrupted: finished shards are kept; run the same command again to resume');
        return 130;
      }
      p.done(`${r.summary.generatedInstances} instances on ${r.summary.generatedImages} images`);
      for (const w of r.summary.warnings) log(`WARNING: ${w}`);
      io.stdout.write(`${JSON.stringify({ generated: r.generated, calibration: r.calibration, ...r.summary }, null, 2)}\n`);
      return EXIT.OK;
    } finally {
      dispose();
    }
  },
};

async function openModel(onnx: string, manifestPath?: string): Promise<{ bytes: Uint8Array; manifest: ModelManifest }> {
  const mpath = manifestPath ?? onnx.replace(/\.onnx$/i, '') + '.json';
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(onnx));
  } catch (err) {
    throw new UsageError(`cannot read model ${onnx}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let manifest: ModelManifest;
  try {
    manifest = await loadManifest(mpath);
  } catch (err) {
    throw new UsageError(`model manifest ${mpath}: ${(err as Error).message}`);
  }
  return { bytes, manifest };
}


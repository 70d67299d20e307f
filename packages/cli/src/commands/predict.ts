// `omnidistill predict`: a detector or keypoint model on a folder of images, single pass or
// multi-transform → a COCO results file that `eval` scores and `report` draws.
import { join } from 'node:path';
import type { ImageSize } from '@omnidistill/core';
import { decodeImage, layoutAdapter, listImages } from '@omnidistill/infer';
import type { ImageEntry } from '@omnidistill/infer';
import { predictToResults } from '../pipeline/predict.js';
import { Progress, stderrSink } from '../pipeline/progress.js';
import { interruptSignal, parseFlags, required } from './args.js';
import { imageSizes, readCocoFlag } from './labeled-sizes.js';
import { PLAN_FLAGS, PLAN_HELP, planFromFlags } from './plan-flags.js';
import { refuseUnfittingPlan } from './teacher-check.js';
import { openModel, teacherSessions } from './teacher-models.js';
import { EXIT, UsageError } from './types.js';
import type { CommandIO, CommandModule } from './types.js';

const HELP = `Usage: omnidistill predict --model M.onnx --images DIR --out results.json
                           [--image-list COCO.json] [--boxes B.json | --detector D.onnx] [--plan …]

Runs a model (detector or keypoint model, from its manifest's role) on images and writes COCO
results — [{image_id, category_id, score, bbox, keypoints?}], every prediction, no threshold —
that 'omnidistill eval' scores and 'omnidistill report --results' draws. With a plan of more
than the identity the predictions are the multi-transform ensemble (keypoints: heatmaps
averaged in each RoI's frame; boxes: union → NMS → box voting). Prediction shards are kept in
OUT.shards/ so an interrupted run resumes.

Options:
  --model FILE          the ONNX model; its manifest is FILE with .json (or --manifest)
  --manifest FILE       the model's manifest
  --images DIR          image folder
  --image-list FILE     COCO file naming the images (ids and file_names relative to DIR); default:
                        the images of --boxes, else every .jpg/.jpeg/.png/.webp under DIR (ids 1, 2, …)
  --out FILE            the results file to write
${PLAN_HELP}
                        (default for predict: single, the model's own single pass)
  keypoint models:
  --detector FILE       a detector whose boxes (one identity pass) are the RoIs
  --boxes FILE          or: a COCO file of the same images whose boxes are the RoIs
  -h, --help            show this help

Exit codes: 0 success, 1 failure, 2 bad usage or input, 130 interrupted (resumable).
`;

/** The images to run on, and their sizes when the list carries them. */
async function imageList(v: Record<string, unknown>, dir: string): Promise<{ images: ImageEntry[]; sizes: ImageSize[] }> {
  const listFlag = typeof v['image-list'] === 'string' ? 'image-list' : typeof v.boxes === 'string' ? 'boxes' : null;
  if (listFlag !== null) {
    const coco = await readCocoFlag(listFlag, v[listFlag] as string);
    return { images: coco.images.map((i) => ({ imageId: i.id, fileName: i.file_name })), sizes: imageSizes(coco) };
  }
  let images: ImageEntry[];
  try {
    images = await listImages(dir);
  } catch (err) {
    throw new UsageError(`--images: cannot list ${dir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  if (images.length === 0) throw new UsageError(`--images: no .jpg/.jpeg/.png/.webp image under ${dir}`);
  return { images, sizes: [] };
}

/** Sizes of the first few images, decoded, when no list gives sizes (data-sized plan, fixed-input check). */
async function sampleSizes(dir: string, images: readonly ImageEntry[], count = 16): Promise<ImageSize[]> {
  const out: ImageSize[] = [];
  for (const e of images.slice(0, count)) {
    const d = await decodeImage(join(dir, e.fileName));
    if (d.ok) out.push({ width: d.image.width, height: d.image.height });
  }
  return out;
}

export const predictCommand: CommandModule = {
  async run(argv: string[], io: CommandIO): Promise<number> {
    const v = parseFlags(argv, {
      model: { type: 'string' },
      manifest: { type: 'string' },
      images: { type: 'string' },
      'image-list': { type: 'string' },
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
    const modelPath = required(v, 'model');
    const dir = required(v, 'images');
    const out = required(v, 'out');
    const log = (line: string) => io.stderr.write(`${line}\n`);
    // The model's role (from its manifest) decides the task.
    const model = await openModel(modelPath, typeof v.manifest === 'string' ? v.manifest : undefined);
    const sessions = await teacherSessions(model, v);
    const { images, sizes } = await imageList(v, dir);
    const planFlags = v.plan === undefined && v.scales === undefined ? { plan: 'single' } : v;
    const known = sizes.length > 0 ? sizes : await sampleSizes(dir, images);
    const { plan, description, warnings } = planFromFlags(planFlags, known, layoutAdapter(model.manifest.layout).traits);
    log(description);
    for (const w of warnings) log(`WARNING: ${w}`);
    // A fixed-input model that the plan cannot fit fails here, not image after image.
    refuseUnfittingPlan({ model, sessions, plan, sizes: known });
    const { signal, dispose } = interruptSignal(log);
    try {
      const p = new Progress(stderrSink(io), `predict (${plan.transforms.length} transforms)`);
      const roiKey = sessions.task === 'keypoints' ? (sessions.keypoints.rois === null ? 'self-detecting' : sessions.keypoints.rois.kind === 'boxes' ? `boxes:${sessions.keypoints.rois.annotations}` : 'detector') : 'none';
      const r = await predictToResults({
        ...sessions,
        images,
        imageDir: dir,
        plan,
        out,
        shardDir: `${out}.shards`,
        fingerprint: `${model.fingerprint}:${roiKey}`,
        onProgress: (e) => p.update(e.done, e.total),
        onEvent: (e) => {
          if (e.type === 'image-skipped') log(`warning: skipped ${e.fileName}: ${e.failure.reason} (${e.failure.message})`);
        },
        signal,
      });
      if (!r.complete) {
        log('interrupted: finished shards are kept; run the same command again to resume');
        return 130;
      }
      p.done(`${r.results} predictions on ${r.images - r.skipped} images`);
      if (r.results === 0) log(`WARNING: the model predicted nothing on ${r.images - r.skipped} images; check its manifest (pixels.scale, mean/std, layout) with omnidistill check-model`);
      io.stdout.write(`${JSON.stringify({ results: out, task: sessions.task, predictions: r.results, images: r.images, skipped: r.skipped, transforms: plan.transforms.map((t) => t.name) })}\n`);
      return EXIT.OK;
    } finally {
      dispose();
    }
  },
};

// `omnidistill train --model student.onnx --manifest student.json`: fine-tunes the user's own
// top-down keypoint model (any torch.onnx export the importer handles) on labeled ∪ generated
// data and writes it back with the same graph, inputs, outputs and names.
import { readFile } from 'node:fs/promises';
import { OnnxImportError, OnnxReadError, type CenterNetHeads, type YoloScores } from '@omnidistill/artifacts';
import { COCO_PERSON, OmniRangeError, OmniTypeError, validateFlipPairs, type KeypointSchema } from '@omnidistill/core';
import { hashFile } from '@omnidistill/infer';
import { resolveCropAugmentation, trainOnnxStudent, type CropAugmentation, type DetectorStudentSpec, type StudentPixels, type StudentSpec, type YoloStudentSpec } from '@omnidistill/models';
import { prepareOutputFolder } from '../pipeline/out-dir.js';
import { Progress, stderrSink } from '../pipeline/progress.js';
import { checkpointEvery, checkpointFolder, dataIdentity, runInterruptible } from '../pipeline/train-run.js';
import { checkpointInterval, oneOf, parseFlags, required } from './args.js';
import { TRAIN_DATA_FLAGS, trainDataOptions, trainSummary } from './train-flags.js';
import { EXIT, UsageError } from './types.js';
import type { CommandIO, CommandModule } from './types.js';

export const STUDENT_HELP = `Usage: omnidistill train --model M.onnx --manifest M.json --labeled L.json --images DIR --steps N --out DIR
                         [--generated G.json --generated-images DIR] [--freeze PATTERN] [--reinit] [options]

Fine-tunes your own model from its own weights. Keypoint models: manifest layout
"topdown-heatmap" (person crop [N, 3, H, W] → heatmaps [N, K, h, w], e.g. a torch.onnx export of
an HRNet/SimpleBaseline), "rois" (image [1, 3, H, W] + RoIs [R, 4] → heatmaps [R, K, M, M]; one
image per step), both with the spatial-softmax cross-entropy on each keypoint's heatmap cell,
or "simcc" (crop → 1-D x/y logits; cross-entropy against Gaussian labels per axis).
CenterNet-style detectors: manifest role "detector" with "training": {"loss": "centernet",
"heads": {"heatmap": T, "size": T, "offset": T}} naming the raw head tensors (centre logits
[N, C, h, w], box size in cells [N, 2, h, w], centre offset [N, 2, h, w]; or one "regression"
[N, 4, h, w]) and "categoryIds" (one per heatmap channel): training stops at the heads (the
in-graph decoding, TopK etc., is not imported) with the reference detector's focal + L1 loss.
Ultralytics-style (YOLOv8-type) detectors: layout "yolo" with "training": {"loss": "yolo",
"strides": [8, 16, 32]} on the raw predictions [N, 4 + C, A] (outputs.predictions: cx, cy, w, h
in input pixels + C class scores; "scores": "logits" if they are not after a Sigmoid): BCE on
the scores, L1 + GIoU on the boxes of the anchors assigned by centre sampling (inside the box
and within "centerRadius" strides of its centre, default 2.5; the smallest box wins).
Writes DIR/NAME.onnx: your graph, inputs, outputs and names with the trained weights, plus
your manifest beside it.

Options (besides train's --labeled, --images, --generated, --generated-images,
--labeled-fraction, --perturb-generated, --steps, --lr, --seed, --threads, --out, --checkpoint-every):
  --model FILE            the ONNX model (opsets 13–18; external-data files beside it)
  --manifest FILE         its model manifest (layout, inputs.image [, inputs.rois], outputs.heatmaps
                          or outputs.x/y, pixels, keypoints, layoutOptions.padding/splitRatio;
                          detectors: training (heads or strides), categoryIds)
  --batch N               person crops per minibatch (default 16); rois layout: RoIs per step
                          (default 8); detectors: images per minibatch (default 16)
  --freeze PATTERN        freeze parameters whose name matches (* = any run), e.g. 'backbone.*';
                          comma-separated for several
  --reinit                re-initialise the trainable weights (the paper's student) instead of
                          fine-tuning, as PyTorch initialises a new Conv/Linear
  --batch-norm MODE       frozen (running statistics, γ/β trained; the default when fine-tuning a
                          trained model) or batch (batch statistics, running statistics updated as
                          torch's train mode; the default with --reinit, and for an untrained
                          export whose statistics are still 0 / 1)
  --loss-output NAME      train on the model's own scalar output NAME (a model exported with its
                          loss) instead of the layout's loss; its inputs besides the image must be
                          the layout's targets by name: heatmap_targets (int64 [N, K]) and/or
                          heatmap_target_weights ([N, K]); simcc_target_x/_y, simcc_target_weights;
                          det_heat, det_reg, det_mask (CenterNet detectors); yolo_cls,
                          yolo_box, yolo_fg (yolo detectors)
  --name NAME             output base name (default: student)
`;

function field(obj: Record<string, unknown>, key: string, path: string): Record<string, unknown> {
  const v = obj[key];
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new OmniTypeError(`${path}.${key}`, 'an object', v);
  return v as Record<string, unknown>;
}

function nameIn(obj: Record<string, unknown>, key: string, path: string): string {
  const v = obj[key];
  if (typeof v !== 'string' || v === '') throw new OmniTypeError(`${path}.${key}`, 'a tensor name', v);
  return v;
}

function triple(v: unknown, path: string, fallback: [number, number, number]): [number, number, number] {
  if (v === undefined) return fallback;
  if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) throw new OmniTypeError(path, 'an array of 3 numbers', v);
  return [v[0], v[1], v[2]];
}

/** The manifest's `pixels` (defaults: RGB, /255, mean 0, std 1). */
function pixelsOf(m: Record<string, unknown>, path: string): StudentPixels {
  const p = m.pixels === undefined ? {} : field(m, 'pixels', path);
  const scale = p.scale === undefined ? 255 : Number(p.scale);
  if (!(scale > 0)) throw new OmniRangeError(`${path}.pixels.scale`, 'a positive number', p.scale);
  const std = triple(p.std, `${path}.pixels.std`, [1, 1, 1]);
  if (std.some((s) => s <= 0)) throw new OmniRangeError(`${path}.pixels.std`, 'positive numbers', std);
  const order = p.channelOrder ?? 'rgb';
  if (order !== 'rgb' && order !== 'bgr') throw new OmniRangeError(`${path}.pixels.channelOrder`, '"rgb" or "bgr"', order);
  return { channelOrder: order, scale, mean: triple(p.mean, `${path}.pixels.mean`, [0, 0, 0]), std };
}

const TRAINING_EXAMPLE = '{"loss": "centernet", "heads": {"heatmap": "<centre logits [N, C, h, w]>", "size": "<[N, 2, h, w]>", "offset": "<[N, 2, h, w]>"}} or {"loss": "yolo", "strides": [8, 16, 32]}';

/** `categoryIds`: the COCO category of each class channel. */
function categoryIdsOf(m: Record<string, unknown>, path: string): number[] {
  const ids = m.categoryIds;
  if (!Array.isArray(ids) || ids.length === 0 || !ids.every((id) => Number.isInteger(id) && id >= 0)) {
    throw new OmniTypeError(`${path}.categoryIds`, 'the COCO category id of each class channel (e.g. [1, 2, 3])', ids);
  }
  return ids as number[];
}

/** An optional non-negative number field of `training`. */
function weightIn(t: Record<string, unknown>, key: string, path: string): number | undefined {
  if (t[key] === undefined) return undefined;
  const v = t[key];
  if (typeof v !== 'number' || !(v >= 0) || !Number.isFinite(v)) throw new OmniRangeError(`${path}.training.${key}`, 'a non-negative number', v);
  return v;
}

/** Refuses fields of `training` the chosen loss does not read, naming the ones it does. */
function onlyFields(t: Record<string, unknown>, known: readonly string[], path: string): void {
  for (const key of Object.keys(t)) {
    if (!known.includes(key)) throw new OmniRangeError(`${path}.training.${key}`, `no such field for loss "${String(t.loss ?? 'centernet')}" (fields: ${known.join(', ')})`, t[key]);
  }
}

/**
 * A detector manifest's training part: `training.heads` names the raw CenterNet heads (tensor
 * names in the graph, found with `omnidistill inspect`), `categoryIds` maps heatmap channels to
 * the data's categories.
 */
function centerNetSpecFromManifest(m: Record<string, unknown>, t: Record<string, unknown>, path: string): DetectorStudentSpec {
  onlyFields(t, ['loss', 'heads', 'sizeWeight'], path);
  const h = field(t, 'heads', `${path}.training`);
  const at = `${path}.training.heads`;
  for (const key of Object.keys(h)) {
    if (!['heatmap', 'size', 'offset', 'regression'].includes(key)) throw new OmniRangeError(`${at}.${key}`, 'no such head (heads: heatmap, and size + offset or regression)', h[key]);
  }
  const heatmap = nameIn(h, 'heatmap', at);
  let heads: CenterNetHeads;
  if (h.regression !== undefined) {
    if (h.size !== undefined || h.offset !== undefined) throw new OmniRangeError(at, 'either regression ([N, 4, h, w]) or size + offset, not both', Object.keys(h).join(', '));
    heads = { heatmap, regression: nameIn(h, 'regression', at) };
  } else heads = { heatmap, size: nameIn(h, 'size', at), offset: nameIn(h, 'offset', at) };
  const sizeWeight = weightIn(t, 'sizeWeight', path);
  return {
    layout: 'detector',
    image: nameIn(field(m, 'inputs', path), 'image', `${path}.inputs`),
    heads,
    pixels: pixelsOf(m, path),
    categoryIds: categoryIdsOf(m, path),
    ...(sizeWeight !== undefined ? { sizeWeight } : {}),
  };
}

/**
 * `training: {"loss": "yolo", "strides": [...]}` of an Ultralytics-style detector: the raw
 * predictions [N, 4 + C, A] are `training.predictions` or else the yolo layout's
 * `outputs.predictions`; `scores` says whether the class channels are probabilities (default) or logits.
 */
function yoloSpecFromManifest(m: Record<string, unknown>, t: Record<string, unknown>, path: string): YoloStudentSpec {
  onlyFields(t, ['loss', 'strides', 'predictions', 'scores', 'l1Weight', 'iouWeight', 'centerRadius'], path);
  const strides = t.strides;
  if (!Array.isArray(strides) || strides.length === 0 || !strides.every((s) => Number.isInteger(s) && s >= 1)) {
    throw new OmniTypeError(`${path}.training.strides`, 'the input pixels per cell of each feature level, in the order the anchors are concatenated (Ultralytics: [8, 16, 32])', strides);
  }
  const predictions = t.predictions !== undefined ? nameIn(t, 'predictions', `${path}.training`) : nameIn(field(m, 'outputs', path), 'predictions', `${path}.outputs`);
  if (t.scores !== undefined && t.scores !== 'probabilities' && t.scores !== 'logits') {
    throw new OmniRangeError(`${path}.training.scores`, '"probabilities" (class scores after a Sigmoid, Ultralytics\' export) or "logits"', t.scores);
  }
  const centerRadius = weightIn(t, 'centerRadius', path);
  if (centerRadius === 0) throw new OmniRangeError(`${path}.training.centerRadius`, 'a positive number of strides (default 2.5)', 0);
  const l1Weight = weightIn(t, 'l1Weight', path);
  const iouWeight = weightIn(t, 'iouWeight', path);
  return {
    layout: 'yolo',
    image: nameIn(field(m, 'inputs', path), 'image', `${path}.inputs`),
    predictions,
    pixels: pixelsOf(m, path),
    categoryIds: categoryIdsOf(m, path),
    strides: strides as number[],
    ...(t.scores !== undefined ? { scores: t.scores as YoloScores } : {}),
    ...(l1Weight !== undefined ? { l1Weight } : {}),
    ...(iouWeight !== undefined ? { iouWeight } : {}),
    ...(centerRadius !== undefined ? { centerRadius } : {}),
  };
}

/** A detector manifest's `training` part, by its loss: "centernet" (default) or "yolo". */
function detectorSpecFromManifest(m: Record<string, unknown>, path: string): DetectorStudentSpec | YoloStudentSpec {
  if (m.training === undefined) throw new OmniTypeError(`${path}.training`, `the raw heads to train, e.g. ${TRAINING_EXAMPLE}`, undefined);
  const t = field(m, 'training', path);
  if (t.loss === 'yolo') return yoloSpecFromManifest(m, t, path);
  if (t.loss !== undefined && t.loss !== 'centernet') throw new OmniRangeError(`${path}.training.loss`, '"centernet" (the reference detector\'s focal + L1) or "yolo" (BCE + L1 + GIoU on Ultralytics-style predictions)', t.loss);
  return centerNetSpecFromManifest(m, t, path);
}

/**
 * A crop model's `training` block: only `augmentation`, a preset name ("default", "mmpose",
 * "none") or crop scale / rotation / flip / jitter fields over the defaults, checked field by field.
 */
function cropAugmentationOf(m: Record<string, unknown>, path: string): CropAugmentation {
  if (m.training === undefined) return resolveCropAugmentation();
  const t = field(m, 'training', path);
  for (const key of Object.keys(t)) {
    if (key !== 'augmentation') throw new OmniRangeError(`${path}.training.${key}`, 'no such field for a crop model (training: {"augmentation": {…}})', t[key]);
  }
  if (t.augmentation === undefined) return resolveCropAugmentation();
  const a = typeof t.augmentation === 'string' ? t.augmentation : field(t, 'augmentation', `${path}.training`);
  return resolveCropAugmentation(a, `${path}.training.augmentation`);
}

/**
 * The parts of a model manifest (infer's format) the student trainer needs, checked with the
 * field named in every error: a detector's training heads, or a keypoint model's layout
 * (topdown-heatmap, simcc or rois), tensor names, pixels, keypoint schema.
 */
export function studentSpecFromManifest(value: unknown, path: string): StudentSpec {
  if (typeof value !== 'object' || value === null) throw new OmniTypeError(path, 'a model manifest object', value);
  const m = value as Record<string, unknown>;
  if (m.role === 'detector') return detectorSpecFromManifest(m, path);
  const layout = m.layout ?? 'rois';
  if (layout !== 'topdown-heatmap' && layout !== 'rois' && layout !== 'simcc') {
    throw new OmniRangeError(`${path}.layout`, '"topdown-heatmap", "simcc" or "rois" (keypoint students; detectors: role "detector" with training.heads)', layout);
  }
  if (m.role !== 'keypoints') throw new OmniRangeError(`${path}.role`, '"keypoints" or "detector"', m.role);
  const pixels = pixelsOf(m, path);
  const k = field(m, 'keypoints', path);
  const isCoco = k.schema === COCO_PERSON.name;
  const names = k.names === undefined && isCoco ? [...COCO_PERSON.keypoints] : (k.names as string[]);
  if (!Array.isArray(names) || names.length === 0 || !names.every((n) => typeof n === 'string')) {
    throw new OmniTypeError(`${path}.keypoints.names`, `keypoint names (required unless schema is "${COCO_PERSON.name}")`, k.names);
  }
  const flipPairs = (k.flipPairs === undefined && isCoco ? COCO_PERSON.flipPairs : k.flipPairs) as [number, number][];
  validateFlipPairs(flipPairs, names.length, `${path}.keypoints.flipPairs`);
  const schema: KeypointSchema = { ...COCO_PERSON, name: String(k.schema ?? 'custom'), keypoints: names, flipPairs };
  const base = { image: nameIn(field(m, 'inputs', path), 'image', `${path}.inputs`), pixels, schema, categoryId: k.categoryId === undefined ? 1 : Number(k.categoryId) };
  const outputs = field(m, 'outputs', path);
  if (layout === 'rois') return { ...base, layout, rois: nameIn(field(m, 'inputs', path), 'rois', `${path}.inputs`), heatmaps: nameIn(outputs, 'heatmaps', `${path}.outputs`) };
  const lo = m.layoutOptions === undefined ? {} : field(m, 'layoutOptions', path);
  const positive = (key: string, fallback: number) => {
    const v = lo[key] === undefined ? fallback : Number(lo[key]);
    if (!(v > 0)) throw new OmniRangeError(`${path}.layoutOptions.${key}`, 'a positive number', lo[key]);
    return v;
  };
  const padding = positive('padding', 1.25);
  const augmentation = cropAugmentationOf(m, path);
  if (layout === 'simcc') return { ...base, layout, x: nameIn(outputs, 'x', `${path}.outputs`), y: nameIn(outputs, 'y', `${path}.outputs`), padding, splitRatio: positive('splitRatio', 2), augmentation };
  return { ...base, layout, heatmaps: nameIn(outputs, 'heatmaps', `${path}.outputs`), padding, augmentation };
}

export const trainStudentCommand: CommandModule = {
  async run(argv: string[], io: CommandIO): Promise<number> {
    const v = parseFlags(argv, {
      ...TRAIN_DATA_FLAGS,
      model: { type: 'string' },
      manifest: { type: 'string' },
      freeze: { type: 'string', multiple: true },
      reinit: { type: 'boolean', default: false },
      'batch-norm': { type: 'string' },
      'loss-output': { type: 'string' },
    });
    if (v.help) {
      io.stdout.write(STUDENT_HELP);
      return EXIT.OK;
    }
    const modelPath = required(v, 'model');
    const manifestPath = required(v, 'manifest');
    let manifest: unknown;
    try {
      manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
    } catch (err) {
      throw new UsageError(`${manifestPath}: ${(err as Error).message}`);
    }
    let spec: StudentSpec;
    try {
      spec = studentSpecFromManifest(manifest, manifestPath);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const freeze = ((v.freeze as unknown as string[] | undefined) ?? []).flatMap((f) => f.split(',')).filter((f) => f !== '');
    const data = trainDataOptions(v);
    const outDir = await prepareOutputFolder('--out', data.outDir);
    const name = typeof v.name === 'string' ? v.name : 'student';
    const reinit = v.reinit === true;
    // Unset: the trainer decides (batch statistics for re-initialised weights or an untrained export).
    const batchNorm = v['batch-norm'] === undefined ? undefined : oneOf(v, 'batch-norm', ['frozen', 'batch'] as const, 'frozen');
    if (v['loss-output'] !== undefined && (typeof v['loss-output'] !== 'string' || v['loss-output'] === '')) throw new UsageError('--loss-output: expected the name of the model\'s scalar loss output');
    const lossOutput = v['loss-output'] as string | undefined;
    const every = checkpointEvery(checkpointInterval(v, 'checkpoint-every', { seconds: 30 }));
    const log = (line: string) => io.stderr.write(`${line}\n`);
    const p = new Progress(stderrSink(io), `train ${name}`);
    try {
      return await runInterruptible(log, async (signal) => {
        // What the checkpoints are made of: the data, the schedule, and the model and how it trains.
        const identity = {
          ...(await dataIdentity(data)),
          '--model (content)': await hashFile(modelPath),
          '--manifest (content)': await hashFile(manifestPath),
          '--freeze': freeze.join(','),
          '--reinit': String(reinit),
          '--batch-norm': batchNorm ?? 'default',
          '--loss-output': lossOutput ?? '',
        };
        const checkpoints = checkpointFolder(outDir, name);
        const trained = await trainOnnxStudent({
          modelPath,
          spec,
          manifest,
          ...data,
          freeze,
          reinit,
          ...(batchNorm ? { batchNorm } : {}),
          ...(lossOutput !== undefined ? { lossOutput } : {}),
          outDir,
          name,
          onProgress: (e) => p.update(e.step, e.iterations, `loss ${e.loss.toFixed(3)} lr ${e.learningRate.toExponential(1)} ${e.samplesPerSecond.toFixed(0)} ${spec.layout === 'detector' || spec.layout === 'yolo' ? 'images' : 'crops'}/s [${e.engine}]`),
          checkpoint: { dir: checkpoints, identity, ...every },
          signal,
          log,
        });
        p.done(`${trained.parameterCount} trainable params, ${trained.stepsPerSecond.toFixed(2)} steps/s on ${trained.engine}`);
        io.stdout.write(trainSummary(trained, { checkpoints, resumedFrom: trained.resumedFrom }));
        return EXIT.OK;
      });
    } catch (err) {
      // A model the importer cannot take, or inputs that do not fit it, is bad input (exit 2).
      if (err instanceof OnnxImportError || err instanceof OnnxReadError || err instanceof OmniRangeError || err instanceof OmniTypeError) {
        throw new UsageError(`${modelPath}: ${err.message}`);
      }
      throw err;
    }
  },
};

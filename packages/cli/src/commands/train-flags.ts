// The flags both `train` forms share (reference model and --model student): data sources,
// schedule, threads, output; and the summary both print.
import { PERTURBATIONS } from '@omnidistill/models';
import type { TrainedModel } from '@omnidistill/models';
import { numberIn, oneOf, positiveInt, required } from './args.js';
import { UsageError } from './types.js';

export const TRAIN_DATA_FLAGS = {
  labeled: { type: 'string' },
  images: { type: 'string' },
  generated: { type: 'string' },
  'generated-images': { type: 'string' },
  'labeled-fraction': { type: 'string' },
  'perturb-generated': { type: 'string' },
  steps: { type: 'string' },
  batch: { type: 'string' },
  lr: { type: 'string' },
  seed: { type: 'string' },
  threads: { type: 'string' },
  out: { type: 'string' },
  name: { type: 'string' },
  'checkpoint-every': { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** The training options the shared flags give (data, schedule, threads, output folder). */
export function trainDataOptions(v: Record<string, unknown>) {
  if (v.steps === undefined) throw new UsageError('--steps is required');
  if ((v.generated === undefined) !== (v['generated-images'] === undefined)) throw new UsageError('--generated and --generated-images go together');
  const perturbation = oneOf(v, 'perturb-generated', PERTURBATIONS, 'none');
  if (perturbation !== 'none' && v.generated === undefined) throw new UsageError('--perturb-generated: perturbs the generated samples, so it needs --generated and --generated-images');
  return {
    train: { coco: required(v, 'labeled'), imageDir: required(v, 'images') },
    ...(typeof v.generated === 'string'
      ? {
          generated: { coco: v.generated, imageDir: String(v['generated-images']) },
          labeledProbability: numberIn(v, 'labeled-fraction', 0.6, 0, 1),
          ...(perturbation !== 'none' ? { perturbation } : {}),
        }
      : {}),
    steps: positiveInt(v, 'steps', 1),
    batch: positiveInt(v, 'batch', 16),
    lr: numberIn(v, 'lr', 2e-3, 0, 10),
    seed: positiveInt(v, 'seed', 1),
    ...(v.threads !== undefined ? { threads: positiveInt(v, 'threads', 1) } : {}),
    outDir: required(v, 'out'),
  };
}

/** The JSON summary `train` prints on stdout (`checkpoints`: where the run's checkpoints are). */
export function trainSummary(trained: TrainedModel, resume?: { checkpoints: string; resumedFrom: number }): string {
  const summary = {
    onnx: trained.onnxPath,
    manifest: trained.manifestPath,
    ...resume,
    engine: trained.engine,
    parameterCount: trained.parameterCount,
    seconds: trained.seconds,
    stepsPerSecond: trained.stepsPerSecond,
    finalLoss: trained.history.at(-1)?.loss ?? null,
    history: trained.history,
  };
  return `${JSON.stringify(summary, null, 2)}\n`;
}

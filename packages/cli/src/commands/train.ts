// `omnidistill train`: trains a reference model (teacher, or a student on labeled ∪
// generated with mixed minibatches) and exports it as an inference ONNX + manifest.
import { trainDetector, trainKeypointModel } from '@omnidistill/models';
import { Progress, stderrSink } from '../pipeline/progress.js';
import { numberIn, oneOf, parseFlags, positiveInt, required } from './args.js';
import { EXIT, UsageError } from './types.js';
import type { CommandIO, CommandModule } from './types.js';

const HELP = `Usage: omnidistill train --task keypoints|detection --labeled L.json --images DIR --steps N --out DIR
                         [--generated G.json --generated-images DIR] [options]

Trains the reference keypoint model or detector (@omnidistill/models) from fresh weights
and writes DIR/NAME.onnx + DIR/NAME.json (the model manifest). With --generated, every
minibatch sample comes from the labeled set with probability --labeled-fraction (the
paper's expected 6:4) and from the generated labels otherwise.

Options:
  --task TASK             keypoints or detection
  --labeled FILE          labeled COCO set;  --images DIR  its image folder
  --generated FILE        generated labels (omnidistill label);  --generated-images DIR  their images
  --labeled-fraction P    probability of a labeled sample (default 0.6)
  --steps N               optimizer steps (learning rate ÷10 at 70% and 90%)
  --batch N               images per minibatch (default 16)
  --lr X                  AdamW learning rate (default 0.002)
  --seed N                seed (default 1)
  --threads N             intra-op threads of the training engine (default: all cores)
  --out DIR               output folder;  --name NAME  file base name (default: the task)
  -h, --help              show this help
`;

export const trainCommand: CommandModule = {
  async run(argv: string[], io: CommandIO): Promise<number> {
    const v = parseFlags(argv, {
      task: { type: 'string' },
      labeled: { type: 'string' },
      images: { type: 'string' },
      generated: { type: 'string' },
      'generated-images': { type: 'string' },
      'labeled-fraction': { type: 'string' },
      steps: { type: 'string' },
      batch: { type: 'string' },
      lr: { type: 'string' },
      seed: { type: 'string' },
      threads: { type: 'string' },
      out: { type: 'string' },
      name: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    });
    if (v.help) {
      io.stdout.write(HELP);
      return EXIT.OK;
    }
    if (v.task === undefined) throw new UsageError('--task is required');
    const task = oneOf(v, 'task', ['keypoints', 'detection'] as const, 'keypoints');
    if (v.steps === undefined) throw new UsageError('--steps is required');
    if ((v.generated === undefined) !== (v['generated-images'] === undefined)) {
      throw new UsageError('--generated and --generated-images go together');
    }
    const p = new Progress(stderrSink(io), `train ${task}`);
    const options = {
      train: { coco: required(v, 'labeled'), imageDir: required(v, 'images') },
      ...(typeof v.generated === 'string'
        ? { generated: { coco: v.generated, imageDir: String(v['generated-images']) }, labeledProbability: numberIn(v, 'labeled-fraction', 0.6, 0, 1) }
        : {}),
      steps: positiveInt(v, 'steps', 1),
      batch: positiveInt(v, 'batch', 16),
      lr: numberIn(v, 'lr', 2e-3, 0, 10),
      seed: positiveInt(v, 'seed', 1),
      ...(v.threads !== undefined ? { threads: positiveInt(v, 'threads', 1) } : {}),
      outDir: required(v, 'out'),
      name: typeof v.name === 'string' ? v.name : task === 'keypoints' ? 'keypoints' : 'detector',
      onProgress: (e: { step: number; iterations: number; loss: number; learningRate: number; samplesPerSecond: number; engine: string }) =>
        p.update(e.step, e.iterations, `loss ${e.loss.toFixed(3)} lr ${e.learningRate.toExponential(1)} ${e.samplesPerSecond.toFixed(0)} img/s [${e.engine}]`),
    };
    const trained = task === 'keypoints' ? await trainKeypointModel(options) : await trainDetector(options);
    p.done(`${trained.parameterCount} params, ${trained.stepsPerSecond.toFixed(2)} steps/s on ${trained.engine}`);
    const summary = {
      onnx: trained.onnxPath,
      manifest: trained.manifestPath,
      engine: trained.engine,
      parameterCount: trained.parameterCount,
      seconds: trained.seconds,
      stepsPerSecond: trained.stepsPerSecond,
      finalLoss: trained.history.at(-1)?.loss ?? null,
      history: trained.history,
    };
    io.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    return EXIT.OK;
  },
};

// `omnidistill train`: trains a reference model (teacher, or a student on labeled ∪
// generated with mixed minibatches) and exports it as an inference ONNX + manifest.
import { trainDetector, trainKeypointModel } from '@omnidistill/models';
import { Progress, stderrSink } from '../pipeline/progress.js';
import { oneOf, parseFlags } from './args.js';
import { TRAIN_DATA_FLAGS, trainDataOptions, trainSummary } from './train-flags.js';
import { EXIT, UsageError } from './types.js';
import type { CommandIO, CommandModule } from './types.js';

const HELP = `Usage: omnidistill train --task keypoints|detection --labeled L.json --images DIR --steps N --out DIR
                         [--generated G.json --generated-images DIR] [options]

Trains the reference keypoint model or detector (@omnidistill/models) from fresh weights
and writes DIR/NAME.onnx + DIR/NAME.json (the model manifest). With --generated, every
minibatch sample comes from the labeled set with probability --labeled-fraction (the
paper's expected 6:4) and from the generated labels otherwise.

With --model M.onnx --manifest M.json it fine-tunes your own top-down keypoint model
instead (omnidistill train --model --help).

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
    if (argv.some((a) => a === '--model' || a.startsWith('--model='))) return (await import('./train-student.js')).trainStudentCommand.run(argv, io);
    const v = parseFlags(argv, { task: { type: 'string' }, ...TRAIN_DATA_FLAGS });
    if (v.help) {
      io.stdout.write(HELP);
      return EXIT.OK;
    }
    if (v.task === undefined) throw new UsageError('--task is required');
    const task = oneOf(v, 'task', ['keypoints', 'detection'] as const, 'keypoints');
    const p = new Progress(stderrSink(io), `train ${task}`);
    const options = {
      ...trainDataOptions(v),
      name: typeof v.name === 'string' ? v.name : task === 'keypoints' ? 'keypoints' : 'detector',
      onProgress: (e: { step: number; iterations: number; loss: number; learningRate: number; samplesPerSecond: number; engine: string }) =>
        p.update(e.step, e.iterations, `loss ${e.loss.toFixed(3)} lr ${e.learningRate.toExponential(1)} ${e.samplesPerSecond.toFixed(0)} img/s [${e.engine}]`),
    };
    const trained = task === 'keypoints' ? await trainKeypointModel(options) : await trainDetector(options);
    p.done(`${trained.parameterCount} params, ${trained.stepsPerSecond.toFixed(2)} steps/s on ${trained.engine}`);
    io.stdout.write(trainSummary(trained));
    return EXIT.OK;
  },
};

// `omnidistill train`: trains a reference model (teacher, or a student on labeled ∪
// generated with mixed minibatches) and exports it as an inference ONNX + manifest.
// Checkpoints every 30 s (or --checkpoint-every); Ctrl-C checkpoints and exits 130; the same
// command resumes bit-for-bit.
import type { TrainProgress } from '@omnidistill/train';
import { prepareOutputFolder } from '../pipeline/out-dir.js';
import { Progress, stderrSink } from '../pipeline/progress.js';
import { checkpointFolder, runInterruptible, trainWithCheckpoints } from '../pipeline/train-run.js';
import { checkpointInterval, oneOf, parseFlags } from './args.js';
import { TRAIN_DATA_FLAGS, trainDataOptions, trainSummary } from './train-flags.js';
import { EXIT, UsageError } from './types.js';
import type { CommandIO, CommandModule } from './types.js';

const HELP = `Usage: omnidistill train --task keypoints|detection --labeled L.json --images DIR --steps N --out DIR
                         [--generated G.json --generated-images DIR] [options]

Trains the reference keypoint model or detector (@omnidistill/models) from fresh weights
and writes DIR/NAME.onnx + DIR/NAME.json (the model manifest). With --generated, every
minibatch sample comes from the labeled set with probability --labeled-fraction (the
paper's expected 6:4) and from the generated labels otherwise.

With --model M.onnx --manifest M.json it fine-tunes your own keypoint model or CenterNet-style
detector instead (omnidistill train --model --help).

Options:
  --task TASK             keypoints or detection
  --labeled FILE          labeled COCO set;  --images DIR  its image folder
  --generated FILE        generated labels (omnidistill label);  --generated-images DIR  their images
  --labeled-fraction P    probability of a labeled sample (default 0.6)
  --perturb-generated P   none (default) or strong: colour jitter, pixel noise and an erased
                          rectangle on every generated sample (never on labeled ones)
  --steps N               optimizer steps (learning rate ÷10 at 70% and 90%)
  --batch N               images per minibatch (default 16, at least 2: batch normalisation
                          needs two images to estimate its statistics)
  --lr X                  AdamW learning rate (default 0.002)
  --seed N                seed (default 1)
  --threads N             intra-op threads of the training engine (default: all cores)
  --out DIR               output folder;  --name NAME  file base name (default: the task)
  --checkpoint-every N    checkpoint every N steps, or every N seconds with an s (default 30s),
                          into DIR/NAME.checkpoints
  -h, --help              show this help

Ctrl-C (SIGINT/SIGTERM) finishes the step in progress, writes a checkpoint and exits with
code 130. Running the same command again resumes from the latest checkpoint and ends with
the same parameters as an uninterrupted run; changed inputs or settings are refused with
what changed (delete DIR/NAME.checkpoints to start over).
Exit codes: 0 success, 1 unexpected failure, 2 bad usage or input, 130 interrupted (resumable).
`;

/** Batch normalisation estimates its statistics over the minibatch: one image is not enough. */
const MIN_BATCH = 2;

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
    const data = trainDataOptions(v);
    if (data.batch < MIN_BATCH) {
      throw new UsageError(`--batch: expected at least ${MIN_BATCH} (batch normalisation needs two images per minibatch to estimate its statistics), received ${data.batch}`);
    }
    const name = typeof v.name === 'string' ? v.name : task === 'keypoints' ? 'keypoints' : 'detector';
    const settings = {
      ...data,
      task,
      outDir: await prepareOutputFolder('--out', data.outDir),
      name,
      checkpointEvery: checkpointInterval(v, 'checkpoint-every', { seconds: 30 }),
    };
    const log = (line: string) => io.stderr.write(`${line}\n`);
    const p = new Progress(stderrSink(io), `train ${task}`);
    const onProgress = (e: TrainProgress) =>
      p.update(e.step, e.iterations, `loss ${e.loss.toFixed(3)} lr ${e.learningRate.toExponential(1)} ${e.samplesPerSecond.toFixed(0)} img/s [${e.engine}]`);
    return runInterruptible(log, async (signal) => {
      const trained = await trainWithCheckpoints(settings, { log, onProgress, signal });
      p.done(`${trained.parameterCount} params, ${trained.stepsPerSecond.toFixed(2)} steps/s on ${trained.engine}`);
      io.stdout.write(trainSummary(trained, { checkpoints: checkpointFolder(settings.outDir, name), resumedFrom: trained.resumedFrom }));
      return EXIT.OK;
    });
  },
};

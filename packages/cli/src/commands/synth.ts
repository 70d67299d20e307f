// `omnidistill synth`: writes the built-in synthetic dataset (what `demo` trains on) as image
// folders and COCO files, in the layout `label`, `train`, `predict` and `eval` read — a data
// set to try the "use it on your data" workflow on before pointing it at one's own files.
import { relative } from 'node:path';
import { DEMO_SETTINGS, generateSplits, type SplitName } from '@omnidistill/synth';
import { interruptSignal, oneOf, parseFlags, positiveInt, required } from './args.js';
import { EXIT, UsageError, type CommandIO, type CommandModule } from './types.js';

const HELP = `Usage: omnidistill synth --task keypoints|detection --out DIR [options]

Writes the built-in synthetic data set (the one 'omnidistill demo' uses: stick-figure people
with the 17 COCO keypoints, or five shape categories for detection) as PNG images and COCO
files, to try label → train → predict → eval on before using your own data:

  DIR/labeled/images/*.png     DIR/labeled/annotations.json     the labeled set
  DIR/unlabeled/images/*.png   DIR/unlabeled/annotations.json   images only (no labels)
                               DIR/unlabeled/annotations.hidden.json  their withheld labels
  DIR/val/images/*.png         DIR/val/annotations.json         a validation set

Same flags, same files (seeded); a re-run keeps the images already written.

Options:
  --task TASK         keypoints (default) or detection
  --out DIR           output folder
  --labeled N         labeled images (default 200)
  --unlabeled N       unlabeled images (default 800)
  --val N             validation images (default 300)
  --image-size PX     square image side (default 96)
  --seed N            seed (default 1)
  -h, --help          show this help

Exit codes: 0 success, 1 failure, 2 bad usage, 130 interrupted (a re-run resumes).`;

const TASKS = ['keypoints', 'detection'] as const;

async function run(argv: string[], io: CommandIO): Promise<number> {
  const values = parseFlags(argv, {
    task: { type: 'string' },
    out: { type: 'string' },
    labeled: { type: 'string' },
    unlabeled: { type: 'string' },
    val: { type: 'string' },
    'image-size': { type: 'string' },
    seed: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.stdout.write(`${HELP}\n`);
    return EXIT.OK;
  }
  const task = oneOf(values, 'task', TASKS, 'keypoints');
  const out = required(values, 'out');
  const defaults = DEMO_SETTINGS.Q;
  const counts: Partial<Record<SplitName, number>> = {
    labeled: positiveInt(values, 'labeled', defaults.counts.labeled),
    unlabeled: positiveInt(values, 'unlabeled', defaults.counts.unlabeled),
    val: positiveInt(values, 'val', defaults.counts.val),
  };
  const imageSize = positiveInt(values, 'image-size', defaults.imageSize);
  if (imageSize < 32) throw new UsageError(`--image-size: expected at least 32 pixels, received ${imageSize}`);
  const seed = positiveInt(values, 'seed', 1);

  const interrupt = interruptSignal((line) => io.stderr.write(`${line}\n`));
  try {
    const result = await generateSplits({ outDir: out, style: task === 'keypoints' ? 'keypoints' : 'objects', imageSize, counts, seed, signal: interrupt.signal });
    for (const split of Object.values(result.splits)) {
      if (!split) continue;
      const images = `${split.split}: ${split.written + split.skipped} images in ${relative(process.cwd(), split.imagesDir)}`;
      const coco = split.hiddenAnnotations
        ? `listed in ${relative(process.cwd(), split.annotations)} (labels withheld in ${relative(process.cwd(), split.hiddenAnnotations)})`
        : `labels in ${relative(process.cwd(), split.annotations)}`;
      io.stdout.write(`${images}, ${coco}\n`);
    }
    return EXIT.OK;
  } catch (err) {
    if (interrupt.signal.aborted) return 130;
    throw err;
  } finally {
    interrupt.dispose();
  }
}

export const synthCommand: CommandModule = { run };

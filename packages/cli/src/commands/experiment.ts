// `omnidistill experiment NAME`: one of the paper's questions (or one past it) asked on the
// built-in synthetic data, over several seeds, resumable; results.json + SVG plot + HTML.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeAtomically } from '@omnidistill/coco';
import { EXPERIMENTS, findExperiment } from '../experiments/registry.js';
import { estimateLine, runExperiment } from '../experiments/run.js';
import type { ExperimentResult } from '../experiments/run.js';
import { experimentScale } from '../experiments/scale.js';
import type { Scale } from '../experiments/scale.js';
import type { Experiment } from '../experiments/types.js';
import { runUntilInterrupted } from '../pipeline/bench.js';
import { prepareOutputFolder } from '../pipeline/out-dir.js';
import { stderrSink } from '../pipeline/progress.js';
import { buildExperimentReport, experimentPlot, formatExperimentTable } from '../report/experiment.js';
import { parseFlags, positiveInt } from './args.js';
import { EXIT, UsageError } from './types.js';
import type { CommandIO, CommandModule } from './types.js';

const HELP = `Usage: omnidistill experiment NAME|all [--quick] [--seeds N] [--out DIR] [options]

Asks one of the paper's questions on the built-in synthetic keypoint data (the faithful
pipeline of 'omnidistill demo': a person detector teacher's boxes are the RoIs), for N seeds,
and writes OUT/NAME/results.json (per seed + mean ± std), OUT/NAME/plot.svg and
OUT/NAME/report.html. Every seed's data, teacher, detector, labels and models are stages in
OUT/seed-N shared by all experiments: a second experiment reuses the first one's teacher,
and the same command resumes after Ctrl-C.

Experiments:
${EXPERIMENTS.map((e) => `  ${e.name.padEnd(18)}${e.summary}`).join('\n')}
  all               every experiment above, in this order

Options:
  --quick               the small setting (80 px, 200/400/200 images, teacher 300 steps,
                        detector 600, student 600): transforms with 2 seeds ≈ 15 min on 2 cores
  --seeds N             seeds 1..N (default 2)
  --only-seed K         run seed K alone (two processes can work on two seeds' folders at
                        once); a later --seeds N run reuses its stages and collects all seeds
  --out DIR             shared working folder (default runs/experiments[-quick])
  --image-size PX, --labeled N, --unlabeled N, --val N, --teacher-steps N, --detector-steps N,
  --student-steps N     override the scale (e.g. a tiny smoke run)
  --estimate            print the work and time estimate and exit
  --json                print results.json instead of the table
  -h, --help            show this help

Exit codes: 0 success, 1 failure, 2 bad usage, 130 interrupted (the same command resumes).
`;

/** The scale of the flags: --quick or the default, with any size overrides. */
function scaleOf(v: Record<string, string | boolean | undefined>): Scale {
  const base = experimentScale(v.quick === true);
  return {
    ...base,
    imageSize: positiveInt(v, 'image-size', base.imageSize),
    counts: {
      labeled: positiveInt(v, 'labeled', base.counts.labeled),
      unlabeled: positiveInt(v, 'unlabeled', base.counts.unlabeled),
      val: positiveInt(v, 'val', base.counts.val),
    },
    teacherSteps: positiveInt(v, 'teacher-steps', base.teacherSteps),
    detectorSteps: positiveInt(v, 'detector-steps', base.detectorSteps),
    studentSteps: positiveInt(v, 'student-steps', base.studentSteps),
  };
}

/** The experiments NAME selects; an unknown name is a usage error listing the known ones. */
function selected(name: string | undefined): readonly Experiment[] {
  const names = EXPERIMENTS.map((e) => e.name).join(', ');
  if (name === undefined || name.startsWith('-')) throw new UsageError(`experiment: name an experiment (${names}, or all); see omnidistill experiment --help`);
  if (name === 'all') return EXPERIMENTS;
  const e = findExperiment(name);
  if (!e) throw new UsageError(`experiment ${JSON.stringify(name)}: unknown; choose one of ${names}, or all`);
  return [e];
}

/** Writes results.json, plot.svg and report.html into OUT/NAME. */
async function writeOutputs(dir: string, result: ExperimentResult): Promise<void> {
  const files: [string, string][] = [
    ['results.json', `${JSON.stringify(result, null, 2)}\n`],
    ['plot.svg', `${experimentPlot(result)}\n`],
    ['report.html', buildExperimentReport(result)],
  ];
  await mkdir(dir, { recursive: true });
  for (const [name, text] of files) await writeAtomically(join(dir, name), (push) => push(text));
}

export const experimentCommand: CommandModule = {
  async run(argv: string[], io: CommandIO): Promise<number> {
    const named = argv[0] !== undefined && !argv[0].startsWith('-');
    const name = named ? argv[0] : undefined;
    const rest = named ? argv.slice(1) : argv;
    const v = parseFlags(rest, {
      quick: { type: 'boolean', default: false },
      seeds: { type: 'string' },
      'only-seed': { type: 'string' },
      out: { type: 'string' },
      'image-size': { type: 'string' },
      labeled: { type: 'string' },
      unlabeled: { type: 'string' },
      val: { type: 'string' },
      'teacher-steps': { type: 'string' },
      'detector-steps': { type: 'string' },
      'student-steps': { type: 'string' },
      estimate: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    });
    if (v.help) {
      io.stdout.write(HELP);
      return EXIT.OK;
    }
    const experiments = selected(name);
    const scale = scaleOf(v);
    if (v.seeds !== undefined && v['only-seed'] !== undefined) throw new UsageError('--seeds and --only-seed: give one of them (--only-seed K runs seed K alone)');
    const seeds = v['only-seed'] !== undefined ? [positiveInt(v, 'only-seed', 1)] : Array.from({ length: positiveInt(v, 'seeds', 2) }, (_, i) => i + 1);
    const log = (line: string) => io.stderr.write(`${line}\n`);
    for (const e of experiments) log(`${e.name}: ${estimateLine(e, scale, seeds.length)}`);
    // Together, shared models count once: what `all` costs on a fresh folder.
    if (experiments.length > 1) log(`all ${experiments.length} together: ${estimateLine(experiments, scale, seeds.length)}`);
    if (v.estimate) return EXIT.OK;
    const outDir = await prepareOutputFolder('--out', typeof v.out === 'string' ? v.out : join('runs', `experiments${v.quick ? '-quick' : ''}`));
    return runUntilInterrupted(log, async (signal) => {
      const results: ExperimentResult[] = [];
      for (const experiment of experiments) {
        const result = await runExperiment({ experiment, scale, quick: v.quick === true, seeds, outDir, io: { log, progress: stderrSink(io), signal } });
        await writeOutputs(join(outDir, experiment.name), result);
        results.push(result);
        if (!v.json) io.stdout.write(`\n${formatExperimentTable(result)}\nreport: ${join(outDir, experiment.name, 'report.html')}\n`);
      }
      if (v.json) io.stdout.write(`${JSON.stringify(results.length === 1 ? results[0] : results, null, 2)}\n`);
      return EXIT.OK;
    });
  },
};

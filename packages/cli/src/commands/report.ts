// `omnidistill report`: (re)builds the HTML report of a finished demo run.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeAtomically } from '@omnidistill/coco';
import type { DemoResult } from '../pipeline/demo.js';
import { formatTable } from '../pipeline/demo.js';
import { buildReport } from '../report/html.js';
import { parseFlags, positiveInt, required } from './args.js';
import { EXIT, UsageError } from './types.js';
import type { CommandIO, CommandModule } from './types.js';

const HELP = `Usage: omnidistill report --run DIR [--out FILE] [--grid N]

Writes the offline HTML report of a demo run (DIR/results.json): the AP table, the
calibration curves, a grid of unlabeled images with their generated labels, training losses.

Options:
  --run DIR     the demo's output folder
  --out FILE    where to write (default DIR/report.html)
  --grid N      images in the label grid (default 16)
  -h, --help    show this help
`;

export const reportCommand: CommandModule = {
  async run(argv: string[], io: CommandIO): Promise<number> {
    const v = parseFlags(argv, { run: { type: 'string' }, out: { type: 'string' }, grid: { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } });
    if (v.help) {
      io.stdout.write(HELP);
      return EXIT.OK;
    }
    const run = required(v, 'run');
    let result: DemoResult;
    try {
      result = JSON.parse(await readFile(join(run, 'results.json'), 'utf8')) as DemoResult;
    } catch (err) {
      throw new UsageError(`--run: cannot read ${join(run, 'results.json')} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); is it a finished demo folder?`);
    }
    const out = typeof v.out === 'string' ? v.out : join(run, 'report.html');
    const html = await buildReport(result, { gridImages: positiveInt(v, 'grid', 16) });
    await writeAtomically(out, (push) => push(html));
    io.stdout.write(`${formatTable(result)}\nreport: ${out}\n`);
    return EXIT.OK;
  },
};

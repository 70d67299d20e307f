// `omnidistill report`: (re)builds the HTML report of a finished demo run.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeAtomically } from '@omnidistill/coco';
import type { DemoResult } from '../pipeline/demo.js';
import { formatTable } from '../pipeline/demo.js';
import { buildReport } from '../report/html.js';
import { decodeImage, listImages } from '@omnidistill/infer';
import type { CocoImage } from '@omnidistill/coco';
import { buildLabelsReport, readDrawableLabels } from '../report/labels.js';
import type { DrawableLabels } from '../report/labels.js';
import { numberIn, parseFlags, positiveInt, required } from './args.js';
import { readCocoFlag } from './labeled-sizes.js';
import { EXIT, UsageError } from './types.js';
import type { CommandIO, CommandModule } from './types.js';

const HELP = `Usage: omnidistill report --run DIR [--out FILE] [--grid N]
       omnidistill report --labels FILE --images DIR [--image-list COCO.json] --out FILE [--grid N] [--min-score S]

Writes the offline HTML report of a demo run (DIR/results.json): the AP table, the
calibration curves, a grid of unlabeled images with their generated labels, training losses.
With --labels it draws any labels file on its images instead: a label run's generated.json
(a COCO dataset) or a COCO results list (omnidistill predict's output; its images come from
--image-list, or from the images under DIR numbered as predict numbers them).

Options:
  --run DIR         the demo's output folder
  --labels FILE     a COCO dataset or COCO results file to draw
  --images DIR      the folder its file_names are relative to
  --image-list F    a COCO file naming the results' images (ids, file_names, sizes)
  --min-score S     results only: draw predictions scoring at least S (default 0.3), at most 20 per image
  --out FILE        where to write (default DIR/report.html; required with --labels)
  --grid N          images in the label grid (default 16)
  -h, --help        show this help
`;

export const reportCommand: CommandModule = {
  async run(argv: string[], io: CommandIO): Promise<number> {
    const v = parseFlags(argv, {
      run: { type: 'string' },
      labels: { type: 'string' },
      images: { type: 'string' },
      'image-list': { type: 'string' },
      'min-score': { type: 'string' },
      out: { type: 'string' },
      grid: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    });
    if (v.help) {
      io.stdout.write(HELP);
      return EXIT.OK;
    }
    if (typeof v.labels === 'string') return labelsReport(v, io);
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

/** `report --labels`: any generated.json or results file drawn on its images. */
async function labelsReport(v: Record<string, unknown>, io: CommandIO): Promise<number> {
  const file = required(v, 'labels');
  const imageDir = required(v, 'images');
  const out = required(v, 'out');
  const minScore = numberIn(v, 'min-score', 0.3, -Infinity, Infinity);
  let images: CocoImage[] | null = null;
  if (typeof v['image-list'] === 'string') images = (await readCocoFlag('image-list', v['image-list'])).images;
  else {
    try {
      images = await listedImages(imageDir);
    } catch (err) {
      throw new UsageError(`--images: cannot list ${imageDir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  }
  let labels: DrawableLabels;
  try {
    labels = await readDrawableLabels(file, images, { minScore, perImage: 20 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(code ? `--labels: cannot read ${file} (${code})` : `--labels: ${(err as Error).message}`);
  }
  const html = await buildLabelsReport(labels, imageDir, { title: `omnidistill labels — ${file}`, grid: positiveInt(v, 'grid', 16), minScore });
  await writeAtomically(out, (push) => push(html));
  io.stdout.write(`report: ${out}\n`);
  return EXIT.OK;
}

/** The images under DIR numbered as predict numbers them (ids 1, 2, … in sorted order), with their sizes. */
async function listedImages(dir: string): Promise<CocoImage[]> {
  const out: CocoImage[] = [];
  for (const e of await listImages(dir)) {
    const d = await decodeImage(join(dir, e.fileName));
    if (d.ok) out.push({ id: e.imageId, file_name: e.fileName, width: d.image.width, height: d.image.height } as CocoImage);
  }
  return out;
}

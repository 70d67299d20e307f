// `omnidistill eval`: COCO evaluation (pycocotools-exact) of a results file against a
// ground-truth file, printed as pycocotools' summary or as one JSON object.
import { parseArgs } from 'node:util';
import {
  annotationCount,
  COCO_PERSON_OKS_SIGMAS,
  CocoValidationError,
  createParams,
  evaluate,
  isResultsColumns,
  perCategoryAP,
  readCocoDataset,
  startReadingCocoResults,
  summarize,
} from '@omnidistill/coco';
import type { CocoDataset, DatasetColumnParser, IouType, ResultsColumnParser } from '@omnidistill/coco';
import { nativeStatus } from '@omnidistill/native';
import type { NativeBinding } from '@omnidistill/native';
import { EXIT, UsageError } from './types.js';
import type { CommandIO, CommandModule } from './types.js';

const HELP = `Usage: omnidistill eval --gt GT.json --results RES.json --iou-type bbox|keypoints [--json]

COCO evaluation with pycocotools' exact semantics (COCOeval evaluate, accumulate, summarize).

Options:
  --gt FILE          ground-truth COCO dataset (images, annotations, categories)
  --results FILE     COCO results: a JSON array of {image_id, category_id, score, bbox | keypoints}
  --iou-type TYPE    bbox or keypoints
  --sigmas LIST      keypoints only: comma-separated OKS sigmas, one per keypoint
                     (default: the 17 COCO person sigmas)
  --cat-ids LIST     comma-separated category ids to evaluate (pycocotools' params.catIds;
                     default: every category for bbox, the categories that declare
                     keypoints for keypoints)
  --json             print one JSON object {"iouType", "stats", "statNames", "perCategory", ...}
                     instead of the summary text
  -h, --help         show this help

Output: the summary (or the JSON object) on stdout; warnings and errors on stderr.
Exit codes: 0 success, 1 runtime failure, 2 bad usage or invalid input.
`;

const STAT_NAMES: Record<IouType, string[]> = {
  bbox: ['AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'AR1', 'AR10', 'AR100', 'ARs', 'ARm', 'ARl'],
  keypoints: ['AP', 'AP50', 'AP75', 'APm', 'APl', 'AR', 'AR50', 'AR75', 'ARm', 'ARl'],
};

interface EvalOptions {
  gt: string;
  results: string;
  iouType: IouType;
  sigmas: number[] | undefined;
  catIds: number[] | undefined;
  json: boolean;
}

function parseOptions(argv: string[]): EvalOptions | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        gt: { type: 'string' },
        results: { type: 'string' },
        'iou-type': { type: 'string' },
        sigmas: { type: 'string' },
        'cat-ids': { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) return 'help';
  for (const flag of ['gt', 'results', 'iou-type'] as const) {
    if (values[flag] === undefined) throw new UsageError(`--${flag} is required`);
  }
  const iouType = values['iou-type'];
  if (iouType !== 'bbox' && iouType !== 'keypoints') {
    throw new UsageError(`--iou-type: expected "bbox" or "keypoints", received ${JSON.stringify(iouType)}`);
  }
  let sigmas: number[] | undefined;
  if (values.sigmas !== undefined) {
    if (iouType !== 'keypoints') throw new UsageError('--sigmas applies to --iou-type keypoints only');
    sigmas = values.sigmas.split(',').map((s, i) => {
      const v = Number(s);
      if (s.trim() === '' || !Number.isFinite(v) || v <= 0) throw new UsageError(`--sigmas[${i}]: expected a positive number, received ${JSON.stringify(s)}`);
      return v;
    });
  }
  const catIds = values['cat-ids'] === undefined ? undefined : parseIdList(values['cat-ids'], '--cat-ids');
  return { gt: values.gt!, results: values.results!, iouType, sigmas, catIds, json: values.json ?? false };
}

function parseIdList(text: string, flag: string): number[] {
  return text.split(',').map((s, i) => {
    if (!/^\s*\d+\s*$/.test(s)) throw new UsageError(`${flag}[${i}]: expected a category id (a non-negative integer), received ${JSON.stringify(s)}`);
    return Number(s);
  });
}

/**
 * The categories to score. A keypoints evaluation defaults to the categories that declare
 * keypoints: pycocotools would fail on the first box-only annotation of any other category
 * (a dataset of people plus other objects is common), and those categories have no OKS.
 */
function categoriesToEvaluate(gt: CocoDataset, opts: EvalOptions, warn: (line: string) => void): number[] | undefined {
  if (opts.catIds !== undefined) {
    const known = new Set(gt.categories.map((c) => c.id));
    opts.catIds.forEach((id, i) => {
      if (!known.has(id)) throw new UsageError(`--cat-ids[${i}]: category ${id} is not in the ground truth ${opts.gt} (its ids: ${[...known].join(', ')})`);
    });
    return opts.catIds;
  }
  if (opts.iouType !== 'keypoints') return undefined;
  const withKeypoints = gt.categories.filter((c) => c.keypoints !== undefined).map((c) => c.id);
  if (withKeypoints.length === 0) throw new UsageError(`--iou-type keypoints: no category of ${opts.gt} declares keypoints; pass --cat-ids to choose the categories`);
  if (withKeypoints.length < gt.categories.length) {
    warn(`omnidistill eval: evaluating keypoints of categories ${withKeypoints.join(', ')} (the ones that declare keypoints); --cat-ids chooses others`);
  }
  return withKeypoints;
}

/** Reads a file through `read`, turning missing files and invalid content into usage errors. */
async function load<T>(what: string, file: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if (err instanceof CocoValidationError) throw new UsageError(`invalid ${what} ${err.message}`);
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'EACCES') throw new UsageError(`cannot read ${what} file ${file}: ${code}`);
    throw err;
  }
}

/**
 * One of the native addon's COCO functions (the file scanners, the evaluation's matching and
 * accumulate steps), when the addon loads and has it (a prebuilt binary from before it lacks
 * it); without it that work runs in JavaScript on this thread, with the same result.
 */
function nativeCoco<Name extends 'parseCocoResults' | 'parseCocoDataset' | 'matchCocoCells' | 'accumulateCoco'>(name: Name): NativeBinding[Name] | undefined {
  const loaded = nativeStatus();
  if ('error' in loaded) return undefined;
  return loaded.binding[name]?.bind(loaded.binding) as NativeBinding[Name] | undefined;
}

/** The keypoint count the OKS sigmas must match (the ground truth's keypoint categories). */
function checkSigmaCount(gt: CocoDataset, sigmas: readonly number[], catIds: readonly number[] | undefined): void {
  for (const c of gt.categories) {
    if (catIds !== undefined && !catIds.includes(c.id)) continue;
    if (c.keypoints !== undefined && c.keypoints.length !== sigmas.length) {
      throw new UsageError(
        `category ${c.id} (${c.name}) has ${c.keypoints.length} keypoints but ${sigmas.length} OKS sigmas are in use; pass --sigmas with ${c.keypoints.length} values`,
      );
    }
  }
}

async function runEval(argv: string[], io: CommandIO): Promise<number> {
  const opts = parseOptions(argv);
  if (opts === 'help') {
    io.stdout.write(HELP);
    return EXIT.OK;
  }
  // A box evaluation never reads keypoints: both files are read without them (most of the bytes).
  const read = { skipKeypoints: opts.iouType === 'bbox' };
  // both files are read and scanned on the thread pool at once (each call queues its scan before it returns)
  const datasetParser: DatasetColumnParser | undefined = nativeCoco('parseCocoDataset');
  const columnParser: ResultsColumnParser | undefined = nativeCoco('parseCocoResults');
  const reading = load('ground truth', opts.gt, () => readCocoDataset(opts.gt, { ...read, datasetParser }));
  const pending = startReadingCocoResults(opts.results, { ...read, columnParser });
  const gt = await reading;
  const sigmas = opts.sigmas ?? [...COCO_PERSON_OKS_SIGMAS];
  const catIds = categoriesToEvaluate(gt, opts, (line) => io.stderr.write(`${line}\n`));
  if (opts.iouType === 'keypoints') checkSigmaCount(gt, sigmas, catIds);
  // the scanned columns go to evaluate as they are (no object per result)
  const results = await load('results', opts.results, () => pending.finishAny(gt, opts.iouType === 'keypoints' ? { keypoints: sigmas.length } : {}));
  let params;
  try {
    params = createParams(opts.iouType, gt, { ...(opts.iouType === 'keypoints' ? { kptOksSigmas: sigmas } : {}), ...(catIds !== undefined ? { catIds } : {}) });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  let e;
  try {
    e = evaluate(gt, results, params, { cellMatcher: nativeCoco('matchCocoCells'), accumulator: nativeCoco('accumulateCoco') });
  } catch (err) {
    // evaluate() only throws for inputs it cannot score (e.g. keypoints missing)
    if ((err instanceof TypeError || err instanceof RangeError) && 'path' in err) throw new UsageError(err.message);
    throw err;
  }
  if (e.ignoredResults > 0) {
    io.stderr.write(`omnidistill eval: warning: ${e.ignoredResults} results name categories absent from the ground truth and were not evaluated\n`);
  }
  const summary = summarize(e);
  if (!opts.json) {
    io.stdout.write(summary.text);
    return EXIT.OK;
  }
  const out = {
    iouType: opts.iouType,
    stats: summary.stats,
    statNames: STAT_NAMES[opts.iouType],
    perCategory: perCategoryAP(e, gt),
    images: params.imgIds.length,
    annotations: annotationCount(gt), // the records of a natively read dataset are never built
    results: isResultsColumns(results) ? results.score.length : results.length,
    ignoredResults: e.ignoredResults,
  };
  io.stdout.write(`${JSON.stringify(out)}\n`);
  return EXIT.OK;
}

export const evalCommand: CommandModule = {
  run: runEval,
};

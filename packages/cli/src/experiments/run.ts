// Runs one experiment over seeds: each seed's variants through its SeedLab (trainings two at
// a time in child processes, inference in this process), then mean ± std over seeds.
import { loadavg } from 'node:os';
import { join } from 'node:path';
import type { DemoIO } from '../pipeline/bench.js';
import { formatDuration } from '../pipeline/progress.js';
import { SeedLab } from './lab.js';
import type { ExperimentTask, ModelScore } from './lab.js';
import { modelsOf } from './recipe.js';
import type { ModelRecipe } from './recipe.js';
import type { Scale } from './scale.js';
import { planSpecs } from './scale.js';
import type { Experiment } from './types.js';

/** Mean and sample standard deviation (0 for one seed). */
export interface MeanStd {
  mean: number;
  std: number;
  n: number;
}

export interface VariantResult {
  id: string;
  label: string;
  x?: number;
  series?: string;
  kind: ModelRecipe['kind'];
  steps: number;
  perSeed: ({ seed: number } & ModelScore)[];
  /** Keypoints only (null for detection). */
  gtBoxes: MeanStd | null;
  /** Keypoint AP with the detector's boxes, or a detector's box AP. */
  endToEnd: MeanStd;
}

/** results.json of one experiment. */
export interface ExperimentResult {
  format: 'omnidistill-experiment';
  version: 1;
  experiment: string;
  task: ExperimentTask;
  question: string;
  paper: string;
  plot: Experiment['plot'];
  quick: boolean;
  scale: Scale;
  seeds: number[];
  variants: VariantResult[];
  /** Keypoints: the person detector teacher of each seed; detection: the base teacher. Box AP on the validation split (single pass). */
  detector: { seed: number; boxAp: number }[];
  seconds: number;
  engine: string;
  /** 1-minute load average when the run started and ended (the machine may be shared). */
  load: { start: number; end: number };
}

export function meanStd(values: number[]): MeanStd {
  const n = values.length;
  const mean = n === 0 ? NaN : values.reduce((a, b) => a + b, 0) / n;
  const std = n < 2 ? 0 : Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1));
  return { mean, std, n };
}

export interface RunOptions {
  experiment: Experiment;
  scale: Scale;
  quick: boolean;
  seeds: number[];
  /** The shared root: OUT/seed-N holds each seed's stages (shared by every experiment). */
  outDir: string;
  io: DemoIO;
  /** Trainings at once (default 2: one core each). */
  parallelTrainings?: number;
}

export async function runExperiment(o: RunOptions): Promise<ExperimentResult> {
  const t0 = performance.now();
  const loadStart = loadavg()[0];
  const variants = o.experiment.variants(o.scale);
  const task = o.experiment.task ?? 'keypoints';
  const perSeed: ModelScore[][] = [];
  const detector: { seed: number; boxAp: number }[] = [];
  let engine = '';
  for (const seed of o.seeds) {
    o.io.log(`experiment ${o.experiment.name}: seed ${seed} (${o.seeds.indexOf(seed) + 1}/${o.seeds.length})`);
    const lab = await SeedLab.open(join(o.outDir, seedFolder(task, seed)), o.scale, seed, o.io, o.parallelTrainings ?? 2, task);
    detector.push({ seed, boxAp: lab.detectorAp });
    perSeed.push(await Promise.all(variants.map((v) => lab.score(v.model))));
    engine = engine || lab.bench.engine;
  }
  return {
    format: 'omnidistill-experiment',
    version: 1,
    experiment: o.experiment.name,
    task,
    question: o.experiment.question,
    paper: o.experiment.paper,
    plot: o.experiment.plot,
    quick: o.quick,
    scale: o.scale,
    seeds: o.seeds,
    variants: variants.map((v, i) => {
      const scores = perSeed.map((s, j) => ({ seed: o.seeds[j], ...s[i] }));
      return {
        id: v.id,
        label: v.label,
        ...(v.x !== undefined ? { x: v.x } : {}),
        ...(v.series !== undefined ? { series: v.series } : {}),
        kind: v.model.kind,
        steps: v.model.steps,
        perSeed: scores,
        gtBoxes: task === 'keypoints' ? meanStd(scores.map((s) => s.gtBoxes ?? NaN)) : null,
        endToEnd: meanStd(scores.map((s) => s.endToEnd)),
      };
    }),
    detector,
    seconds: (performance.now() - t0) / 1000,
    engine,
    load: { start: loadStart, end: loadavg()[0] },
  };
}

/** A seed's folder under OUT: keypoint experiments share seed-N, detection ones detection-seed-N. */
export function seedFolder(task: ExperimentTask, seed: number): string {
  return task === 'keypoints' ? `seed-${seed}` : `detection-seed-${seed}`;
}

/**
 * Throughputs measured on the 2-core machine when it was quiet (load < 5; quick scale, native
 * engine with NCHWc convolutions, two trainings at once, one core each: schedule's seed 2 ran
 * 2 700 steps in ~130 s; 400 images × 9 transforms × 2 models labeled in 19 s; 200 validation
 * images evaluated in ~1 s), scaled by pixels for other image sizes. Only an estimate: a
 * shared machine is several times slower.
 */
const RATES = { trainStepsPerSecond: 20, labelTransformsPerSecond: 350, evalImagesPerSecond: 200, referenceSize: 80 };

/** The work of a set of experiments, and its wall-time estimate from RATES. */
export interface Estimate {
  steps: number;
  labelPasses: number;
  evalImages: number;
  seconds: number;
}

/**
 * The work one experiment, or several run on the same folder, need from a fresh folder (every
 * seed: data aside), and a wall-time estimate from RATES. Models, labels and evaluations two
 * experiments share (same task, same recipe) count once, as the shared seed folders train them once.
 */
export function estimate(experiments: Experiment | readonly Experiment[], scale: Scale, seeds: number): Estimate {
  const list = Array.isArray(experiments) ? experiments : [experiments as Experiment];
  const total: Estimate = { steps: 0, labelPasses: 0, evalImages: 0, seconds: 0 };
  for (const task of ['keypoints', 'detection'] as const) {
    const ofTask = list.filter((e) => (e.task ?? 'keypoints') === task);
    if (ofTask.length === 0) continue;
    const models = new Map<string, ModelRecipe>();
    for (const e of ofTask) for (const v of e.variants(scale)) modelsOf(v.model, models);
    const w = taskWork(task, models, scale);
    const pixels = (scale.imageSize / RATES.referenceSize) ** 2;
    total.steps += w.steps * seeds;
    total.labelPasses += w.labelPasses * seeds;
    total.evalImages += w.evalImages * seeds;
    total.seconds += (w.steps / RATES.trainStepsPerSecond + w.labelPasses / RATES.labelTransformsPerSecond + w.evalImages / RATES.evalImagesPerSecond) * pixels * seeds;
  }
  return total;
}

/** One seed's work for the distinct models of one task. */
function taskWork(task: ExperimentTask, models: ReadonlyMap<string, ModelRecipe>, scale: Scale): Omit<Estimate, 'seconds'> {
  const keypoints = task === 'keypoints';
  const labelJobs = new Set<string>();
  // Keypoints: the person detector besides the models; detection: the base teacher is one of the models.
  let steps = keypoints ? scale.detectorSteps : 0;
  let labelPasses = 0;
  for (const m of models.values()) {
    steps += m.steps;
    if (m.kind !== 'student') continue;
    const key = JSON.stringify([m.teacher, m.labels.plan, m.labels.unlabeled]);
    if (labelJobs.has(key)) continue;
    labelJobs.add(key);
    // Keypoints: keypoint model and detector, each under every transform of the plan; detection: the detector.
    labelPasses += (keypoints ? 2 : 1) * m.labels.unlabeled.count * (1 + planSpecs(m.labels.plan, scale).length);
  }
  const evalImages = keypoints ? 2 * (models.size + 1) * scale.counts.val : models.size * scale.counts.val;
  return { steps, labelPasses, evalImages };
}

/** The estimate as one line for the log. */
export function estimateLine(experiments: Experiment | readonly Experiment[], scale: Scale, seeds: number): string {
  const e = estimate(experiments, scale, seeds);
  return `estimate (fresh folder, quiet 2 cores): ${e.steps} training steps, ${e.labelPasses} labeling passes, ${e.evalImages} evaluation images ≈ ${formatDuration(e.seconds)}; finished stages of earlier runs are reused`;
}

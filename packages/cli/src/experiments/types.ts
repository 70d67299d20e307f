// The contract of one experiment: the variants it compares (each a model recipe) and how
// its plot is drawn. The runner trains, labels and evaluates; an experiment only describes.
import type { LabelRecipe, ModelRecipe } from './recipe.js';
import type { ExperimentTask } from './lab.js';
import type { Scale } from './scale.js';

/** One bar (or one point of a line) of an experiment. */
export interface Variant {
  /** Stable id in results.json. */
  id: string;
  /** What the table and the plot call it. */
  label: string;
  model: ModelRecipe;
  /** Line plots: the x value and the line this point belongs to. */
  x?: number;
  series?: string;
}

/** A bar chart of every variant, or lines of (x, AP) grouped by `series`. */
export type PlotKind = { kind: 'bar' } | { kind: 'line'; xLabel: string };

export interface Experiment {
  name: string;
  /** Default keypoints (the paper's task); detection runs on the `objects` synth style in OUT/detection-seed-N. */
  task?: ExperimentTask;
  /** One line for `experiment --help`. */
  summary: string;
  /** The question it answers, and what the paper reports on it (for the report and docs). */
  question: string;
  paper: string;
  plot: PlotKind;
  variants(scale: Scale): Variant[];
}

/** The teacher every variant is compared with: supervised on the labeled split, the teacher's steps. */
export function teacherRecipe(scale: Scale, steps = scale.teacherSteps): ModelRecipe {
  return { kind: 'supervised', steps };
}

/** The base teacher of a detection experiment: a detector trained for the detector's steps. */
export function detectionTeacherRecipe(scale: Scale): ModelRecipe {
  return { kind: 'supervised', steps: scale.detectorSteps };
}

/** The paper's labels: every transform (scales × flip), count-matched selection, the whole unlabeled split. */
export function paperLabels(scale: Scale, overrides: Partial<LabelRecipe> = {}): LabelRecipe {
  return { plan: 'scales-flip', selection: { kind: 'count-matched' }, unlabeled: { style: 'keypoints', count: scale.counts.unlabeled }, ...overrides };
}

/** The paper's student of a teacher: re-initialised, 6:4 mix, the student's schedule. */
export function studentRecipe(
  scale: Scale,
  overrides: { teacher?: ModelRecipe; labels?: LabelRecipe; steps?: number; labeledProbability?: number; perturbation?: 'strong' } = {},
): ModelRecipe {
  return {
    kind: 'student',
    teacher: overrides.teacher ?? teacherRecipe(scale),
    labels: overrides.labels ?? paperLabels(scale),
    steps: overrides.steps ?? scale.studentSteps,
    labeledProbability: overrides.labeledProbability ?? scale.labeledProbability,
    ...(overrides.perturbation ? { perturbation: overrides.perturbation } : {}),
  };
}

/** The reference bar of every bar chart. */
export function teacherVariant(scale: Scale): Variant {
  return { id: 'teacher', label: `teacher (supervised, ${scale.teacherSteps} steps)`, model: teacherRecipe(scale) };
}

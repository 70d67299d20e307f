// What an experiment variant is made of: a keypoint model described by how it was made
// (supervised on the labeled split, or a student of another model's generated labels).
// Recipes are plain data, so two variants (or two experiments) asking for the same model
// share one training: a model's stage name is a digest of its recipe.
import { createHash } from 'node:crypto';
import type { SelectionRule } from '../pipeline/label-select.js';

/** Test-time plans the teacher can label with (the paper's ensembling ablation). */
export type PlanName = 'single' | 'flip' | 'scales' | 'scales-flip';

/** The unlabeled images a student's labels are made on: a synth style and how many. */
export interface UnlabeledRecipe {
  /**
   * `keypoints`: the keypoint labeled split's distribution; `shifted`: another synth style
   * (dissimilar data); `objects`: the detection experiments' own unlabeled split.
   */
  style: 'keypoints' | 'shifted' | 'objects';
  count: number;
}

/** How the generated labels of a student are made. */
export interface LabelRecipe {
  plan: PlanName;
  selection: SelectionRule;
  unlabeled: UnlabeledRecipe;
}

/** A keypoint model, by how it is made. */
export type ModelRecipe =
  /** Trained on the labeled split alone (a teacher, or the supervised baseline). */
  | { kind: 'supervised'; steps: number }
  /** Re-initialised, trained on labeled ∪ the teacher's generated labels (the paper's student). */
  | {
      kind: 'student';
      teacher: ModelRecipe;
      labels: LabelRecipe;
      steps: number;
      labeledProbability: number;
      /** `strong`: the generated samples are perturbed (`beyond`). Absent = none, so older recipes keep their key. */
      perturbation?: 'strong';
    };

/** A short digest of any recipe: its stage and file names. */
export function recipeKey(recipe: unknown): string {
  return createHash('sha256').update(canonical(recipe)).digest('hex').slice(0, 10);
}

/** JSON with sorted keys, so the same recipe written in another key order has the same key. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Every model a recipe needs (itself and its teachers), each once, teachers first. */
export function modelsOf(recipe: ModelRecipe, into: Map<string, ModelRecipe> = new Map()): Map<string, ModelRecipe> {
  if (recipe.kind === 'student') modelsOf(recipe.teacher, into);
  into.set(recipeKey(recipe), recipe);
  return into;
}

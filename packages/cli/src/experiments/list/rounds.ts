// Iterative distillation: each round's student labels the unlabeled split for the next
// (the paper's future work). The person detector teacher stays the same.
import type { ModelRecipe } from '../recipe.js';
import type { Experiment, Variant } from '../types.js';
import { studentRecipe, teacherRecipe } from '../types.js';

const ROUNDS = 3;

export const rounds: Experiment = {
  name: 'rounds',
  summary: 'the student becomes the next teacher, 3 rounds',
  question: 'Does a second or third round of distillation add more?',
  paper: 'Not measured in the paper (named as future work).',
  plot: { kind: 'line', xLabel: 'round (0 = teacher)' },
  variants: (scale) => {
    const out: Variant[] = [{ id: 'round-0', label: 'teacher (round 0)', x: 0, series: 'keypoint model', model: teacherRecipe(scale) }];
    let teacher: ModelRecipe = teacherRecipe(scale);
    for (let r = 1; r <= ROUNDS; r++) {
      teacher = studentRecipe(scale, { teacher });
      out.push({ id: `round-${r}`, label: `student of round ${r}`, x: r, series: 'keypoint model', model: teacher });
    }
    return out;
  },
};

// The student's schedule 1× / 2× / 3× the teacher's, each beside a supervised model
// trained as long (the paper's Table 2: distillation is not just training longer).
import type { Experiment, Variant } from '../types.js';
import { studentRecipe, teacherRecipe } from '../types.js';

const MULTIPLIERS = [1, 2, 3];

export const schedule: Experiment = {
  name: 'schedule',
  summary: 'student 1× / 2× / 3× the teacher\'s steps vs supervised with the same steps',
  question: 'Does the student beat a supervised model trained as long, and does it need the longer schedule?',
  paper: 'Paper Table 2: at 90k iterations the student is worse than supervised (63.6 vs 64.2); at 360k it wins (the student uses 360k vs the supervised 130k).',
  plot: { kind: 'line', xLabel: 'steps' },
  variants: (scale) =>
    MULTIPLIERS.flatMap((m): Variant[] => {
      const steps = m * scale.teacherSteps;
      return [
        { id: `supervised-${m}x`, label: `supervised, ${steps} steps`, x: steps, series: 'supervised', model: teacherRecipe(scale, steps) },
        { id: `student-${m}x`, label: `student, ${steps} steps`, x: steps, series: 'student', model: studentRecipe(scale, { steps }) },
      ];
    }),
};

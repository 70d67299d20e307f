// Teachers trained for different lengths → their students (the question of the paper's Fig. 6).
import type { Experiment, Variant } from '../types.js';
import { studentRecipe, teacherRecipe } from '../types.js';

const MULTIPLIERS = [0.25, 0.5, 1];

export const teacherQuality: Experiment = {
  name: 'teacher-quality',
  summary: 'teachers trained ¼×, ½×, 1× the steps → student AP',
  question: 'How good must the teacher be for its student to gain?',
  paper: 'The paper varies the teacher (and backbone) and finds the student gains at every teacher quality, the gain shrinking as the supervised model gets close to the upper bound.',
  plot: { kind: 'line', xLabel: 'teacher steps' },
  variants: (scale) =>
    MULTIPLIERS.flatMap((m): Variant[] => {
      const steps = Math.max(1, Math.round(m * scale.teacherSteps));
      const teacher = teacherRecipe(scale, steps);
      return [
        { id: `teacher-${steps}`, label: `teacher, ${steps} steps`, x: steps, series: 'teacher', model: teacher },
        { id: `student-of-${steps}`, label: `student of the ${steps}-step teacher`, x: steps, series: 'student', model: studentRecipe(scale, { teacher }) },
      ];
    }),
};

// One idea past the paper, measured against it: strong input perturbation of the student's
// generated samples (colour jitter, pixel noise, an erased rectangle), the lesson of
// large-scale self-training since the paper (Noisy Student 2020, Depth Anything 2024): the
// student should see a harder input than the teacher labeled. At the paper's student schedule.
import type { Experiment, Variant } from '../types.js';
import { studentRecipe, teacherVariant } from '../types.js';

/**
 * Student schedules as multiples of the paper student's. Only 1×: a 1.5× pair (schedule's 3×
 * student beside a perturbed one) would answer whether the harder task needs longer training,
 * at 1 800 more training steps per seed than the suite's time budget leaves.
 */
const MULTIPLIERS = [1];

export const beyond: Experiment = {
  name: 'beyond',
  summary: 'past the paper: strong perturbation of the student\'s generated samples',
  question: 'Does perturbing the student\'s input on generated samples (colour jitter, noise, an erased rectangle) beat the paper\'s student, which sees them as the teacher did?',
  paper: 'Not in the paper: its student trains on generated labels with the same augmentation (flips) as on human labels. Noisy Student (2020) and Depth Anything (2024) report that a strongly perturbed student gains more from pseudo-labels.',
  plot: { kind: 'bar' },
  variants: (scale) => [
    teacherVariant(scale),
    ...MULTIPLIERS.flatMap((m): Variant[] => {
      const steps = Math.round(m * scale.studentSteps);
      return [
        { id: `paper-${steps}`, label: `the paper's student, ${steps} steps`, model: studentRecipe(scale, { steps }) },
        { id: `perturbed-${steps}`, label: `strongly perturbed student, ${steps} steps`, model: studentRecipe(scale, { steps, perturbation: 'strong' }) },
      ];
    }),
  ],
};

// Student AP as the unlabeled split grows (the question of the paper's Fig. 5).
import type { Experiment } from '../types.js';
import { paperLabels, studentRecipe, teacherRecipe } from '../types.js';

const FRACTIONS = [0.25, 0.5, 1];

export const unlabeledAmount: Experiment = {
  name: 'unlabeled-amount',
  summary: 'student AP as the unlabeled split grows (¼, ½, all)',
  question: 'Does more unlabeled data give a better student (at a fixed student schedule)?',
  paper: 'More unlabeled data helps: co-35 → +un-120 / co-115 + un-120 (+1.7 to +2.0 keypoint AP); the paper notes the gain grows with the amount of unlabeled data.',
  plot: { kind: 'line', xLabel: 'unlabeled images' },
  variants: (scale) => [
    { id: 'teacher', label: 'teacher (0 unlabeled)', model: teacherRecipe(scale), x: 0, series: 'student' },
    ...FRACTIONS.map((f) => {
      const count = Math.round(f * scale.counts.unlabeled);
      return { id: `unlabeled-${count}`, label: `student, ${count} unlabeled`, x: count, series: 'student', model: studentRecipe(scale, { labels: paperLabels(scale, { unlabeled: { style: 'keypoints', count } }) }) };
    }),
  ],
};

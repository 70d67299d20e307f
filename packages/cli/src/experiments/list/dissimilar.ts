// Unlabeled images from another distribution (the synth `shifted` style) vs the labeled
// split's own distribution (the paper's Sports-1M frames question).
import type { Experiment } from '../types.js';
import { paperLabels, studentRecipe, teacherVariant } from '../types.js';

export const dissimilar: Experiment = {
  name: 'dissimilar',
  summary: 'unlabeled images from the shifted synth style vs the same style',
  question: 'Do unlabeled images from a shifted distribution still help?',
  paper: 'co-115 + Sports-1M frames (a dissimilar distribution): +1.2 to +1.5 keypoint AP, less than the +1.7 to +2.0 of un-120 (similar images).',
  plot: { kind: 'bar' },
  variants: (scale) => [
    teacherVariant(scale),
    { id: 'similar', label: 'student, unlabeled like the labeled split', model: studentRecipe(scale) },
    { id: 'shifted', label: 'student, unlabeled from the shifted style', model: studentRecipe(scale, { labels: paperLabels(scale, { unlabeled: { style: 'shifted', count: scale.counts.unlabeled } }) }) },
  ],
};

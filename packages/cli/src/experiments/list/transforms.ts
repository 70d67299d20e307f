// Which test-time transforms the teacher's labels should come from (the paper's ablation of
// its ensembling, Table 1b/§5): single pass, flip, scales, scales × flip.
import type { PlanName } from '../recipe.js';
import type { Experiment } from '../types.js';
import { paperLabels, studentRecipe, teacherVariant } from '../types.js';

const PLANS: readonly [PlanName, string][] = [
  ['single', 'labels from a single pass'],
  ['flip', 'labels from identity + flip'],
  ['scales', 'labels from 4 scales'],
  ['scales-flip', 'labels from 4 scales × flip (the paper)'],
];

export const transforms: Experiment = {
  name: 'transforms',
  summary: 'labels from single pass / flip / scales / scales × flip → student AP',
  question: 'How much do the multi-transform ensembled labels add over single-pass pseudo-labels?',
  paper: 'The paper ensembles 10 transforms (scales 400–1200 × flip) and reports the teacher with them at 67.8 vs 65.1 single-pass keypoint AP (COCO); DEMO-NOTES measured +2.5 AP student AP from multi-scale+flip labels over single-pass labels, flip alone within ~1 AP.',
  plot: { kind: 'bar' },
  variants: (scale) => [
    teacherVariant(scale),
    ...PLANS.map(([plan, label]) => ({ id: plan, label, model: studentRecipe(scale, { labels: paperLabels(scale, { plan }) }) })),
  ],
};

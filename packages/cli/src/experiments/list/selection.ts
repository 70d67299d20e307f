// How generated labels are kept: the paper's count matching vs a fixed threshold vs keeping
// every prediction (REFERENCE.md §1 step 4).
import type { SelectionRule } from '../../pipeline/label-select.js';
import type { Experiment } from '../types.js';
import { paperLabels, studentRecipe, teacherVariant } from '../types.js';

const RULES: readonly [string, SelectionRule, string][] = [
  ['count-matched', { kind: 'count-matched' }, 'count-matched (the paper)'],
  ['fixed-0.5', { kind: 'fixed', threshold: 0.5 }, 'fixed threshold 0.5'],
  ['none', { kind: 'none' }, 'no selection (keep all)'],
];

export const selection: Experiment = {
  name: 'selection',
  summary: 'count-matched threshold vs a fixed 0.5 vs none (keypoints)',
  question: 'Does choosing the score thresholds so that kept instances and keypoints match the labeled statistics beat a fixed threshold or no selection?',
  paper: 'The paper picks thresholds by count matching (instances per image, keypoints per instance) and treats the result as ground truth; it reports no ablation of the rule.',
  plot: { kind: 'bar' },
  variants: (scale) => [
    teacherVariant(scale),
    ...RULES.map(([id, rule, label]) => ({ id, label, model: studentRecipe(scale, { labels: paperLabels(scale, { selection: rule }) }) })),
  ],
};

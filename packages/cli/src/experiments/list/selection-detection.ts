// The selection question on multi-category detection (the `objects` synth style, five
// categories): the paper's per-category count matching vs one count-matched threshold shared
// by every category vs a fixed 0.5 vs keeping every box.
import type { SelectionRule } from '../../pipeline/label-select.js';
import type { Experiment } from '../types.js';
import { detectionTeacherRecipe, paperLabels, studentRecipe } from '../types.js';

const RULES: readonly [string, SelectionRule, string][] = [
  ['per-category', { kind: 'count-matched' }, 'count-matched per category (the paper)'],
  ['shared', { kind: 'count-matched-shared' }, 'count-matched, one threshold for all'],
  ['fixed-0.5', { kind: 'fixed', threshold: 0.5 }, 'fixed threshold 0.5'],
  ['none', { kind: 'none' }, 'no selection (keep all)'],
];

export const selectionDetection: Experiment = {
  name: 'selection-detection',
  task: 'detection',
  summary: 'detection: count matching per category vs one shared threshold vs 0.5 vs none',
  question: 'On multi-category detection, does matching each category\'s instances per image beat one threshold for all categories, a fixed 0.5 or no selection?',
  paper: 'The paper count-matches a threshold per category for detection (REFERENCE.md §1 step 4) and reports no ablation of it.',
  plot: { kind: 'bar' },
  variants: (scale) => {
    // Students train as long as the keypoint students (at --quick and the default: 1× the detector teacher's steps).
    const teacher = detectionTeacherRecipe(scale);
    const labels = (selection: SelectionRule) => paperLabels(scale, { selection, unlabeled: { style: 'objects', count: scale.counts.unlabeled } });
    return [
      { id: 'teacher', label: `detector teacher (supervised, ${teacher.steps} steps)`, model: teacher },
      ...RULES.map(([id, rule, label]) => ({ id, label, model: studentRecipe(scale, { teacher, labels: labels(rule) }) })),
    ];
  },
};

// The labeled:generated mix of student minibatches: the paper's expected 6:4, other
// fractions, and its 1:ρ ablation rule (a fraction ρ of the unlabeled set, mix 1:ρ,
// (1+ρ)× the supervised schedule).
import type { Experiment, Variant } from '../types.js';
import { paperLabels, studentRecipe, teacherRecipe } from '../types.js';

const FRACTIONS = [0.2, 0.4, 0.6, 0.8];
const RHOS = [0.25, 0.5, 1];

export const ratio: Experiment = {
  name: 'ratio',
  summary: 'labeled fraction 0.2 … 0.8 of student minibatches, and the 1:ρ rule',
  question: 'Which labeled:generated mix is best, and does the 1:ρ rule work here?',
  paper: 'The paper mixes labeled:generated with an expected 6:4 per minibatch; its ablation with a fraction ρ of un-120 uses the mix 1:ρ and (1+ρ)× the iterations.',
  plot: { kind: 'line', xLabel: 'labeled fraction of a minibatch' },
  variants: (scale) => [
    { id: 'teacher', label: 'teacher (labeled only)', x: 1, series: 'fixed schedule', model: teacherRecipe(scale) },
    ...FRACTIONS.map((p): Variant => ({ id: `fraction-${p}`, label: `labeled fraction ${p}`, x: p, series: 'fixed schedule', model: studentRecipe(scale, { labeledProbability: p }) })),
    ...RHOS.map((rho): Variant => {
      const count = Math.round(rho * scale.counts.unlabeled);
      const p = 1 / (1 + rho);
      return {
        id: `rho-${rho}`,
        label: `1:ρ rule, ρ = ${rho} (${count} unlabeled, fraction ${p.toFixed(2)}, ${Math.round((1 + rho) * scale.teacherSteps)} steps)`,
        x: Number(p.toFixed(3)),
        series: '1:ρ rule',
        model: studentRecipe(scale, { labels: paperLabels(scale, { unlabeled: { style: 'keypoints', count } }), labeledProbability: p, steps: Math.round((1 + rho) * scale.teacherSteps) }),
      };
    }),
  ],
};

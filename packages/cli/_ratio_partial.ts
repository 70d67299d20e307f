import { readFileSync } from 'node:fs';
import { findExperiment } from './src/experiments/registry.js';
import { modelName } from './src/experiments/lab.js';
import { experimentScale } from './src/experiments/scale.js';
const scale = experimentScale(true);
const e = findExperiment(process.argv[2] ?? 'ratio')!;
for (const seed of [1, 2]) {
  const stages = JSON.parse(readFileSync(`/work/wt/experiments/runs/experiments-quick/seed-${seed}/stages.json`, 'utf8')).stages;
  for (const v of e.variants(scale)) {
    const ev = stages[`eval-${modelName(v.model)}`];
    const ap = ev ? `${(100 * ev.result[1].stats[0]).toFixed(1)} / ${(100 * ev.result[0].stats[0]).toFixed(1)}` : 'not done';
    console.log(`seed ${seed}  ${v.label.padEnd(70)} ${modelName(v.model)}  e2e / gt: ${ap}`);
  }
}

// The report of one experiment: its table (mean ± std over seeds, per seed), its plot as a
// hand-written SVG, and one self-contained HTML page with both.
import type { ExperimentResult, MeanStd, VariantResult } from '../experiments/run.js';
import { formatDuration } from '../pipeline/progress.js';
import { barChart, esc, lineChart } from './svg.js';

const pct = (m: MeanStd) => (m.n > 1 ? `${(100 * m.mean).toFixed(1)} ± ${(100 * m.std).toFixed(1)}` : (100 * m.mean).toFixed(1));
const seedsOf = (v: VariantResult, key: 'gtBoxes' | 'endToEnd') => v.perSeed.map((s) => (100 * s[key]).toFixed(1)).join(' / ');

/** The rows of the experiment's table: variant, steps, both APs (mean ± std, then each seed). */
function rows(r: ExperimentResult): string[][] {
  return r.variants.map((v) => [
    v.label,
    String(v.steps),
    pct(v.endToEnd),
    seedsOf(v, 'endToEnd'),
    pct(v.gtBoxes),
    seedsOf(v, 'gtBoxes'),
    v.perSeed[0]?.labels ? v.perSeed.map((s) => `${s.labels!.instancesPerImage.toFixed(2)}/${s.labels!.keypointsPerInstance?.toFixed(1) ?? '—'}`).join(' ') : '',
  ]);
}

const HEADER = ['variant', 'steps', 'AP end to end', 'per seed', 'AP GT boxes', 'per seed', 'labels: inst/img / kp/inst'];

/** The results as a plain-text table (what the command prints). */
export function formatExperimentTable(r: ExperimentResult): string {
  const body = rows(r);
  const widths = HEADER.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 || i === 6 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  return [
    `experiment ${r.experiment} (${r.quick ? 'quick' : 'default'} scale, ${r.seeds.length} seed${r.seeds.length === 1 ? '' : 's'}: ${r.seeds.join(', ')}) — keypoint AP ×100 on the validation split, single pass, mean ± std over seeds`,
    line(HEADER),
    line(widths.map((w) => '-'.repeat(w))),
    ...body.map(line),
    '',
    `person detector teacher (${r.scale.detectorSteps} steps; its boxes are the RoIs of the labels and of the end-to-end AP): box AP ${r.detector.map((d) => (100 * d.boxAp).toFixed(1)).join(' / ')} per seed`,
    `total ${formatDuration(r.seconds)} on ${r.engine || 'the native engine'}; load average ${r.load.start.toFixed(2)} at the start, ${r.load.end.toFixed(2)} at the end`,
  ].join('\n');
}

/** The experiment's plot: bars (mean ± std of both APs per variant) or lines over its x. */
export function experimentPlot(r: ExperimentResult): string {
  const yLabel = 'keypoint AP ×100 (single pass)';
  if (r.plot.kind === 'bar') {
    return barChart(
      r.variants.map((v) => v.label),
      [
        { name: 'end to end (detector boxes)', values: r.variants.map((v) => 100 * v.endToEnd.mean), errors: r.variants.map((v) => 100 * v.endToEnd.std) },
        { name: 'GT boxes', values: r.variants.map((v) => 100 * v.gtBoxes.mean), errors: r.variants.map((v) => 100 * v.gtBoxes.std) },
      ],
      { yLabel },
    );
  }
  const names = [...new Set(r.variants.map((v) => v.series ?? ''))];
  const series = names.flatMap((name) => {
    const vs = r.variants.filter((v) => (v.series ?? '') === name && v.x !== undefined).sort((a, b) => a.x! - b.x!);
    return [
      { name: `${name}, end to end`, points: vs.map((v) => [v.x!, 100 * v.endToEnd.mean] as [number, number]), errors: vs.map((v) => 100 * v.endToEnd.std) },
      { name: `${name}, GT boxes`, points: vs.map((v) => [v.x!, 100 * v.gtBoxes.mean] as [number, number]), errors: vs.map((v) => 100 * v.gtBoxes.std) },
    ];
  });
  return lineChart(series, { xLabel: r.plot.xLabel, yLabel, width: 620, height: 320 });
}

/** One self-contained page: question, the paper's figure, plot, table, settings. */
export function buildExperimentReport(r: ExperimentResult): string {
  const body = rows(r);
  const table = `<table><tr>${HEADER.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>${body
    .map((cells) => `<tr>${cells.map((c, i) => `<td${i > 0 && i < 6 ? ' class="n"' : ''}>${esc(c)}</td>`).join('')}</tr>`)
    .join('')}</table>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>omnidistill experiment ${esc(r.experiment)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:24px;max-width:1100px;color:#222}
table{border-collapse:collapse}td,th{padding:4px 10px;border-bottom:1px solid #ddd}td.n{text-align:right;font-variant-numeric:tabular-nums}pre{background:#f6f6f6;padding:8px;overflow:auto}
</style></head><body>
<h1>omnidistill experiment — ${esc(r.experiment)}</h1>
<p><b>Question.</b> ${esc(r.question)}</p>
<p><b>The paper.</b> ${esc(r.paper)}</p>
<h2>Keypoint AP on the validation split (mean ± std over ${r.seeds.length} seed${r.seeds.length === 1 ? '' : 's'})</h2>
${experimentPlot(r)}
${table}
<p>End to end: the person detector teacher's boxes are the RoIs (the paper's number); GT boxes: the ground-truth person boxes (isolates the keypoint model). Labels: kept instances per unlabeled image / kept keypoints per instance, per seed.</p>
<h2>As printed</h2>
<pre>${esc(formatExperimentTable(r))}</pre>
<h2>Settings</h2>
<pre>${esc(JSON.stringify(r.scale, null, 2))}</pre>
</body></html>
`;
}

// The report of one experiment: its table (mean ± std over seeds, per seed), its plot as a
// hand-written SVG, and one self-contained HTML page with both.
import type { ExperimentResult, MeanStd, VariantResult } from '../experiments/run.js';
import { formatDuration } from '../pipeline/progress.js';
import { barChart, esc, lineChart } from './svg.js';

const pct = (m: MeanStd) => (m.n > 1 ? `${(100 * m.mean).toFixed(1)} ± ${(100 * m.std).toFixed(1)}` : (100 * m.mean).toFixed(1));
const seedsOf = (v: VariantResult, key: 'gtBoxes' | 'endToEnd') => v.perSeed.map((s) => (100 * (s[key] ?? NaN)).toFixed(1)).join(' / ');

/** Kept instances per unlabeled image (and keypoints per instance) of a student's labels, per seed. */
function labelsCell(v: VariantResult, keypoints: boolean): string {
  if (!v.perSeed[0]?.labels) return '';
  return v.perSeed.map((s) => (keypoints ? `${s.labels!.instancesPerImage.toFixed(2)}/${s.labels!.keypointsPerInstance?.toFixed(1) ?? '—'}` : s.labels!.instancesPerImage.toFixed(2))).join(' ');
}

/** The columns of a task's table: keypoints show both APs, detection its box AP. */
function columns(r: ExperimentResult): { header: string[]; cells: (v: VariantResult) => string[] } {
  if (r.task === 'detection') {
    return {
      header: ['variant', 'steps', 'box AP', 'per seed', 'labels: inst/img'],
      cells: (v) => [v.label, String(v.steps), pct(v.endToEnd), seedsOf(v, 'endToEnd'), labelsCell(v, false)],
    };
  }
  return {
    header: ['variant', 'steps', 'AP end to end', 'per seed', 'AP GT boxes', 'per seed', 'labels: inst/img / kp/inst'],
    cells: (v) => [v.label, String(v.steps), pct(v.endToEnd), seedsOf(v, 'endToEnd'), v.gtBoxes ? pct(v.gtBoxes) : '', seedsOf(v, 'gtBoxes'), labelsCell(v, true)],
  };
}

/** Left-aligned columns: the variant's label and the labels' statistics (the last). */
const leftAligned = (i: number, n: number) => i === 0 || i === n - 1;

/** The results as a plain-text table (what the command prints). */
export function formatExperimentTable(r: ExperimentResult): string {
  const { header, cells } = columns(r);
  const body = r.variants.map(cells);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (row: string[]) => row.map((c, i) => (leftAligned(i, row.length) ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  const metric = r.task === 'detection' ? 'box AP' : 'keypoint AP';
  const teacherLine =
    r.task === 'detection'
      ? `detector teacher (${r.scale.detectorSteps} steps, the objects style's 5 categories): box AP ${r.detector.map((d) => (100 * d.boxAp).toFixed(1)).join(' / ')} per seed`
      : `person detector teacher (${r.scale.detectorSteps} steps; its boxes are the RoIs of the labels and of the end-to-end AP): box AP ${r.detector.map((d) => (100 * d.boxAp).toFixed(1)).join(' / ')} per seed`;
  return [
    `experiment ${r.experiment} (${r.quick ? 'quick' : 'default'} scale, ${r.seeds.length} seed${r.seeds.length === 1 ? '' : 's'}: ${r.seeds.join(', ')}) — ${metric} ×100 on the validation split, single pass, mean ± std over seeds`,
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...body.map(line),
    '',
    teacherLine,
    `total ${formatDuration(r.seconds)} on ${r.engine || 'the native engine'}; load average ${r.load.start.toFixed(2)} at the start, ${r.load.end.toFixed(2)} at the end`,
  ].join('\n');
}

/** The plotted metrics of a task: keypoints both APs, detection its box AP. */
function metricsOf(r: ExperimentResult): { name: string; short: string; of: (v: VariantResult) => MeanStd }[] {
  if (r.task === 'detection') return [{ name: 'box AP', short: 'box AP', of: (v) => v.endToEnd }];
  return [
    { name: 'end to end (detector boxes)', short: 'end to end', of: (v) => v.endToEnd },
    { name: 'GT boxes', short: 'GT boxes', of: (v) => v.gtBoxes ?? { mean: NaN, std: 0, n: 0 } },
  ];
}

/** The experiment's plot: bars (mean ± std of each metric per variant) or lines over its x. */
export function experimentPlot(r: ExperimentResult): string {
  const yLabel = `${r.task === 'detection' ? 'box' : 'keypoint'} AP ×100 (single pass)`;
  const metrics = metricsOf(r);
  if (r.plot.kind === 'bar') {
    return barChart(
      r.variants.map((v) => v.label),
      metrics.map((m) => ({ name: m.name, values: r.variants.map((v) => 100 * m.of(v).mean), errors: r.variants.map((v) => 100 * m.of(v).std) })),
      { yLabel },
    );
  }
  const names = [...new Set(r.variants.map((v) => v.series ?? ''))];
  const series = names.flatMap((name) => {
    const vs = r.variants.filter((v) => (v.series ?? '') === name && v.x !== undefined).sort((a, b) => a.x! - b.x!);
    return metrics.map((m) => ({ name: `${name}, ${m.short}`, points: vs.map((v) => [v.x!, 100 * m.of(v).mean] as [number, number]), errors: vs.map((v) => 100 * m.of(v).std) }));
  });
  return lineChart(series, { xLabel: r.plot.xLabel, yLabel, width: 620, height: 320 });
}

/** One self-contained page: question, the paper's figure, plot, table, settings. */
export function buildExperimentReport(r: ExperimentResult): string {
  const { header, cells } = columns(r);
  const table = `<table><tr>${header.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>${r.variants
    .map(cells)
    .map((row) => `<tr>${row.map((c, i) => `<td${leftAligned(i, row.length) ? '' : ' class="n"'}>${esc(c)}</td>`).join('')}</tr>`)
    .join('')}</table>`;
  const detection = r.task === 'detection';
  const note = detection
    ? 'Box AP of each detector on the validation split (the objects style, five categories). Labels: kept instances per unlabeled image, per seed.'
    : "End to end: the person detector teacher's boxes are the RoIs (the paper's number); GT boxes: the ground-truth person boxes (isolates the keypoint model). Labels: kept instances per unlabeled image / kept keypoints per instance, per seed.";
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>omnidistill experiment ${esc(r.experiment)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:24px;max-width:1100px;color:#222}
table{border-collapse:collapse}td,th{padding:4px 10px;border-bottom:1px solid #ddd}td.n{text-align:right;font-variant-numeric:tabular-nums}pre{background:#f6f6f6;padding:8px;overflow:auto}
</style></head><body>
<h1>omnidistill experiment — ${esc(r.experiment)}</h1>
<p><b>Question.</b> ${esc(r.question)}</p>
<p><b>The paper.</b> ${esc(r.paper)}</p>
<h2>${detection ? 'Box' : 'Keypoint'} AP on the validation split (mean ± std over ${r.seeds.length} seed${r.seeds.length === 1 ? '' : 's'})</h2>
${experimentPlot(r)}
${table}
<p>${esc(note)}</p>
<h2>As printed</h2>
<pre>${esc(formatExperimentTable(r))}</pre>
<h2>Settings</h2>
<pre>${esc(JSON.stringify(r.scale, null, 2))}</pre>
</body></html>
`;
}

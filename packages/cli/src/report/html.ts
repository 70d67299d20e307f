// The demo's HTML report: one self-contained file (images inlined as data URIs, charts as
// inline SVG), so it opens offline and can be mailed around.
import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { readCocoDataset } from '@omnidistill/coco';
import type { CocoDataset } from '@omnidistill/coco';
import type { Calibration, ThresholdCurve } from '@omnidistill/select';
import { COCO_PERSON } from '@omnidistill/core';
import type { DemoResult } from '../pipeline/demo.js';
import { demoPlan, detectorLine, formatTable } from '../pipeline/demo.js';

export const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const COLOURS = ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#42d4f4', '#f032e6', '#9a6324'];

/** A line chart as inline SVG: several named series of (x, y) points. */
export function lineChart(
  series: { name: string; points: [number, number][] }[],
  opts: { width?: number; height?: number; xLabel: string; yLabel: string; marker?: { x?: number; y?: number; label: string }[] },
): string {
  const W = opts.width ?? 520, H = opts.height ?? 260, L = 56, R = 12, T = 12, B = 40;
  const all = series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  if (all.length === 0) return `<svg width="${W}" height="${H}"><text x="10" y="20">no data</text></svg>`;
  const xs = all.map((p) => p[0]), ys = all.map((p) => p[1]);
  const x0 = Math.min(...xs), x1 = Math.max(...xs) || x0 + 1;
  const y0 = Math.min(0, ...ys), y1 = Math.max(...ys) || 1;
  const sx = (x: number) => L + ((x - x0) / (x1 - x0 || 1)) * (W - L - R);
  const sy = (y: number) => H - B - ((y - y0) / (y1 - y0 || 1)) * (H - T - B);
  const ticks = (lo: number, hi: number) => [0, 0.25, 0.5, 0.75, 1].map((f) => lo + f * (hi - lo));
  const parts: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`];
  parts.push(`<rect x="${L}" y="${T}" width="${W - L - R}" height="${H - T - B}" fill="none" stroke="#999"/>`);
  for (const t of ticks(x0, x1)) parts.push(`<text x="${sx(t)}" y="${H - B + 14}" text-anchor="middle">${fmt(t)}</text>`);
  for (const t of ticks(y0, y1)) parts.push(`<text x="${L - 4}" y="${sy(t) + 4}" text-anchor="end">${fmt(t)}</text>`);
  parts.push(`<text x="${(L + W - R) / 2}" y="${H - 6}" text-anchor="middle">${esc(opts.xLabel)}</text>`);
  parts.push(`<text x="12" y="${(T + H - B) / 2}" transform="rotate(-90 12 ${(T + H - B) / 2})" text-anchor="middle">${esc(opts.yLabel)}</text>`);
  series.forEach((s, i) => {
    const pts = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)).map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`);
    parts.push(`<polyline fill="none" stroke="${COLOURS[i % COLOURS.length]}" stroke-width="1.6" points="${pts.join(' ')}"/>`);
    parts.push(`<text x="${W - R - 4}" y="${T + 14 + 13 * i}" text-anchor="end" fill="${COLOURS[i % COLOURS.length]}">${esc(s.name)}</text>`);
  });
  for (const m of opts.marker ?? []) {
    if (m.x !== undefined) parts.push(`<line x1="${sx(m.x)}" x2="${sx(m.x)}" y1="${T}" y2="${H - B}" stroke="#333" stroke-dasharray="4 3"/><text x="${sx(m.x) + 3}" y="${T + 12}">${esc(m.label)}</text>`);
    if (m.y !== undefined) parts.push(`<line x1="${L}" x2="${W - R}" y1="${sy(m.y)}" y2="${sy(m.y)}" stroke="#333" stroke-dasharray="2 3"/><text x="${L + 4}" y="${sy(m.y) - 3}">${esc(m.label)}</text>`);
  }
  parts.push('</svg>');
  return parts.join('');
}

function fmt(v: number): string {
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 1 ? v.toFixed(1) : v.toFixed(2);
}

const MIME: Record<string, string> = { '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.webp': 'image/webp' };

/** One image with its labels drawn on top (boxes; keypoints + skeleton when present). */
export async function labeledImage(dataset: CocoDataset, imageDir: string, imageId: number, scale: number): Promise<string> {
  const img = dataset.images.find((i) => i.id === imageId)!;
  const bytes = await readFile(join(imageDir, img.file_name));
  const mime = MIME[extname(img.file_name).toLowerCase()] ?? 'image/png';
  const w = img.width * scale, h = img.height * scale;
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${img.width} ${img.height}">`];
  parts.push(`<image width="${img.width}" height="${img.height}" href="data:${mime};base64,${bytes.toString('base64')}" style="image-rendering:pixelated"/>`);
  dataset.annotations
    .filter((a) => a.image_id === imageId)
    .forEach((a, n) => {
      const c = COLOURS[n % COLOURS.length];
      const [x, y, bw, bh] = a.bbox;
      parts.push(`<rect x="${x}" y="${y}" width="${bw}" height="${bh}" fill="none" stroke="${c}" stroke-width="0.8"/>`);
      const kp = a.keypoints;
      if (kp && kp.length > 0) {
        for (const [i, j] of COCO_PERSON.skeleton) {
          if (kp[3 * i + 2] > 0 && kp[3 * j + 2] > 0) {
            parts.push(`<line x1="${kp[3 * i]}" y1="${kp[3 * i + 1]}" x2="${kp[3 * j]}" y2="${kp[3 * j + 1]}" stroke="${c}" stroke-width="0.7"/>`);
          }
        }
        for (let k = 0; 3 * k < kp.length; k++) {
          if (kp[3 * k + 2] > 0) parts.push(`<circle cx="${kp[3 * k]}" cy="${kp[3 * k + 1]}" r="1.2" fill="${k % 2 === 1 ? '#fff' : c}" stroke="${c}" stroke-width="0.4"/>`);
        }
      } else {
        parts.push(`<text x="${x + 1}" y="${y + 6}" font-size="6" fill="${c}">${a.category_id}</text>`);
      }
    });
  parts.push('</svg>');
  return parts.join('');
}

/** Builds the report HTML from a finished demo's results. */
export async function buildReport(result: DemoResult, options: { gridImages?: number } = {}): Promise<string> {
  const calibration = JSON.parse(await readFile(result.calibrationFile, 'utf8')) as Calibration;
  const generated = await readCocoDataset(result.generated);
  const metric = result.settings.task === 'keypoints' ? 'Keypoint AP' : 'Box AP';
  const plan = demoPlan(result.settings);

  const endToEnd = result.detector !== undefined;
  const pct = (x: number | undefined) => (x === undefined ? '—' : (100 * x).toFixed(1));
  const e2eCells = (r: DemoResult['rows'][number]) => (endToEnd ? `<td class="n">${pct(r.endToEnd?.single)}</td><td class="n">${pct(r.endToEnd?.multi)}</td>` : '');
  const tableRows = result.rows
    .map((r) => `<tr><td>${esc(r.name)}</td><td>${esc(r.trainedOn)}</td><td class="n">${r.steps}</td><td class="n">${pct(r.single)}</td><td class="n">${pct(r.multi)}</td>${e2eCells(r)}<td class="n">${r.trainSeconds.toFixed(0)} s</td></tr>`)
    .join('');
  const e2eHeader = endToEnd ? `<th>end to end, single pass</th><th>end to end, ${plan.transforms.length} transforms</th>` : '';
  const roiNote = result.detector
    ? `<p>The first two AP columns use the ground-truth person boxes as RoIs (they isolate the keypoint model); the end-to-end columns use the person detector teacher's boxes (the paper's number). ${esc(detectorLine(result.detector, plan.transforms.length))}.</p>`
    : '<p>Keypoint AP uses the ground-truth person boxes as RoIs (as in DEMO-NOTES), which isolates the keypoint model; the generated labels were made with the teacher on the unlabeled images\' ground-truth person boxes (<code>--rois gt</code>).</p>';

  const curves = calibration.instanceThresholds.map((t) => curveChart(t.curve, t.threshold, t.target, `instances per image (${t.categoryId === null ? 'all' : `category ${t.categoryId}`})`));
  if (calibration.keypointThreshold) {
    const k = calibration.keypointThreshold;
    curves.push(curveChart(k.curve, k.threshold, k.target, 'keypoints per kept instance'));
  }
  const losses = lineChart(
    result.rows.map((r) => ({ name: r.name, points: r.history.map((h) => [h.step, h.loss] as [number, number]) })),
    { xLabel: 'step', yLabel: 'training loss' },
  );
  const withLabels = generated.images.filter((i) => generated.annotations.some((a) => a.image_id === i.id)).slice(0, options.gridImages ?? 16);
  const grid = await Promise.all(withLabels.map((i) => labeledImage(generated, result.unlabeled.imageDir, i.id, 2)));

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>omnidistill demo report</title>
<style>
body{font-family:system-ui,sans-serif;margin:24px;max-width:1100px;color:#222}
table{border-collapse:collapse}td,th{padding:4px 10px;border-bottom:1px solid #ddd}td.n{text-align:right;font-variant-numeric:tabular-nums}
.grid{display:flex;flex-wrap:wrap;gap:6px}.charts{display:flex;flex-wrap:wrap;gap:16px}pre{background:#f6f6f6;padding:8px;overflow:auto}
</style></head><body>
<h1>omnidistill demo — ${esc(result.settings.task)}</h1>
<p>${result.settings.imageSize}px synthetic images: ${result.settings.counts.labeled} labeled, ${result.settings.counts.unlabeled} unlabeled, ${result.settings.counts.val} validation; seed ${result.settings.seed}. Test-time plan: ${plan.transforms.length} transforms (${esc(plan.transforms.map((t) => t.name).join(', '))}). Total time ${result.seconds.toFixed(0)} s.</p>
<h2>${metric} on the validation split</h2>
<table><tr><th>model</th><th>trained on</th><th>steps</th><th>single pass</th><th>${plan.transforms.length} transforms</th>${e2eHeader}<th>training time</th></tr>${tableRows}</table>
${result.settings.task === 'keypoints' ? roiNote : ''}
<h2>Calibration (count matching)</h2>
<div class="charts">${curves.join('')}</div>
<h2>Generated labels on unlabeled images</h2>
<div class="grid">${grid.join('')}</div>
<h2>Training loss</h2>
${losses}
<h2>As printed</h2>
<pre>${esc(formatTable(result))}</pre>
</body></html>
`;
}

function curveChart(curve: ThresholdCurve, threshold: number | null, target: number, yLabel: string): string {
  return lineChart([{ name: 'kept per unit', points: curve.thresholds.map((t, i) => [t, curve.perUnit[i]] as [number, number]) }], {
    xLabel: 'score threshold',
    yLabel,
    marker: [
      ...(threshold !== null ? [{ x: threshold, label: `threshold ${threshold.toFixed(3)}` }] : []),
      { y: target, label: `labeled ${target.toFixed(2)}` },
    ],
  });
}

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
import { COLOURS, esc, lineChart } from './svg.js';

export { esc, lineChart } from './svg.js';

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

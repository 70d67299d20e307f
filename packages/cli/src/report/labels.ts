// The report of any labels file on its images: a label run's generated.json (a COCO
// dataset) or a COCO results list (predict's output, eval's input), drawn as a grid.
import { readFile } from 'node:fs/promises';
import type { CocoAnnotation, CocoDataset, CocoImage } from '@omnidistill/coco';
import { esc, labeledImage } from './html.js';

/** A COCO results record as written by predict (the fields the report draws). */
interface ResultRecord {
  image_id: number;
  category_id: number;
  score: number;
  bbox: [number, number, number, number];
  keypoints?: number[];
}

/** What a labels file turned out to be, as a dataset the grid can draw. */
export interface DrawableLabels {
  kind: 'dataset' | 'results';
  dataset: CocoDataset;
  /** Predictions left out by the score floor (results only). */
  hidden: number;
}

/**
 * Reads a labels file: a COCO dataset is drawn as is; a results list is joined to `images`
 * (the image list: ids, file names, sizes) and thresholded at `minScore` (results keep every
 * low-score prediction), at most `perImage` per image, best first.
 */
export async function readDrawableLabels(file: string, images: readonly CocoImage[] | null, options: { minScore: number; perImage: number }): Promise<DrawableLabels> {
  const json: unknown = JSON.parse(await readFile(file, 'utf8'));
  if (!Array.isArray(json)) {
    const d = json as CocoDataset;
    if (!Array.isArray(d?.images) || !Array.isArray(d?.annotations)) throw new TypeError(`${file}: expected a COCO dataset (images, annotations) or a COCO results list`);
    return { kind: 'dataset', dataset: d, hidden: 0 };
  }
  if (images === null) throw new TypeError(`${file} is a results list: pass --image-list COCO.json naming its images (ids, file names, sizes)`);
  const byImage = new Map<number, ResultRecord[]>();
  for (const r of json as ResultRecord[]) {
    const list = byImage.get(r.image_id) ?? [];
    list.push(r);
    byImage.set(r.image_id, list);
  }
  let hidden = 0;
  let id = 0;
  const annotations: CocoAnnotation[] = [];
  for (const [imageId, list] of byImage) {
    const kept = list.filter((r) => r.score >= options.minScore).sort((a, b) => b.score - a.score).slice(0, options.perImage);
    hidden += list.length - kept.length;
    for (const r of kept) {
      annotations.push({ id: ++id, image_id: imageId, category_id: r.category_id, bbox: r.bbox, area: r.bbox[2] * r.bbox[3], iscrowd: 0, ...(r.keypoints ? { keypoints: r.keypoints, num_keypoints: r.keypoints.length / 3 } : {}) } as CocoAnnotation);
    }
  }
  return { kind: 'results', dataset: { images: [...images], annotations, categories: [] } as unknown as CocoDataset, hidden };
}

/** One self-contained HTML page: a grid of images with their labels. */
export async function buildLabelsReport(labels: DrawableLabels, imageDir: string, options: { title: string; grid: number; minScore: number }): Promise<string> {
  const withLabels = labels.dataset.images.filter((i) => labels.dataset.annotations.some((a) => a.image_id === i.id)).slice(0, options.grid);
  const scale = (img: CocoImage) => Math.max(1, Math.min(4, Math.floor(256 / Math.max(img.width, img.height))));
  const grid = await Promise.all(withLabels.map((i) => labeledImage(labels.dataset, imageDir, i.id, scale(i))));
  const what = labels.kind === 'results'
    ? `COCO results: ${labels.dataset.annotations.length} predictions with score ≥ ${options.minScore} drawn (${labels.hidden} below it or beyond the per-image cap not drawn)`
    : `COCO dataset: ${labels.dataset.annotations.length} annotations on ${labels.dataset.images.length} images`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(options.title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:24px;color:#222}.grid{display:flex;flex-wrap:wrap;gap:6px}</style></head><body>
<h1>${esc(options.title)}</h1>
<p>${esc(what)}; ${withLabels.length} images with labels shown.</p>
<div class="grid">${grid.join('')}</div>
</body></html>
`;
}

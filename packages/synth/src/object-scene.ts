// One multi-category detection image: shapes of five classes, small to large, among clutter
// that shares their colours and textures but not their outlines.
import { drawClutter } from './clutter.js';
import { randomHsv } from './colour.js';
import { maskStats } from './keypoint-scene.js';
import { addNoise, blur, createCanvas, fillColourField, fillEllipse, fillPolygon, fillRing, rectPoints, type Canvas, type DrawTarget, type Paint } from './raster.js';
import type { Rng } from './rng.js';
import { maybeStripes } from './styles.js';

/** The object classes, in category-id order (COCO ids start at 1). */
export const OBJECT_CATEGORIES = ['circle', 'square', 'triangle', 'cross', 'ring'] as const;
export type ObjectCategory = (typeof OBJECT_CATEGORIES)[number];

/** An object as drawn. */
export interface ObjectInstance {
  /** Index into OBJECT_CATEGORIES (category id − 1). */
  readonly category: number;
  /** Silhouette coverage of the object alone, clipped to the image. */
  readonly mask: Uint8Array;
  readonly bbox: readonly [number, number, number, number];
  readonly area: number;
}

export interface ObjectScene {
  readonly canvas: Canvas;
  readonly instances: readonly ObjectInstance[];
}

/** Distributions of the objects style. */
export interface ObjectStyle {
  /** Probability weights of 0, 1, 2, … objects per image. */
  readonly instanceWeights: readonly number[];
  /** Object size (diameter / side) as a fraction of the image's shorter side: log-uniform [lo, hi]. */
  readonly size: readonly [number, number];
  readonly maxOverlapIoU: number;
  readonly clutterCount: readonly [number, number];
  readonly noiseSigma: readonly [number, number];
  readonly blurProb: number;
}

export const OBJECT_STYLE: ObjectStyle = {
  instanceWeights: [0, 0.15, 0.2, 0.2, 0.15, 0.12, 0.1, 0.08],
  size: [0.1, 0.8],
  maxOverlapIoU: 0.25,
  clutterCount: [3, 9],
  noiseSigma: [3, 12],
  blurProb: 0.35,
};

/** Draws one object of class `category` with size `s` centred at (cx, cy). */
export function drawObject(canvas: Canvas, category: number, cx: number, cy: number, s: number, angle: number, ringWidth: number, paint: Paint, target?: DrawTarget): void {
  const name = OBJECT_CATEGORIES[category];
  switch (name) {
    case 'circle':
      fillEllipse(canvas, cx, cy, s / 2, s / 2, 0, paint, target);
      break;
    case 'square':
      fillPolygon(canvas, rectPoints(cx, cy, s, s, angle), paint, target);
      break;
    case 'triangle': {
      const r = s / Math.sqrt(3);
      const pts: number[] = [];
      for (let i = 0; i < 3; i++) pts.push(cx + r * Math.cos(angle + (i * 2 * Math.PI) / 3), cy + r * Math.sin(angle + (i * 2 * Math.PI) / 3));
      fillPolygon(canvas, pts, paint, target);
      break;
    }
    case 'cross': {
      const a = s / 2;
      const w = s / 6;
      const local = [-w, -a, w, -a, w, -w, a, -w, a, w, w, w, w, a, -w, a, -w, w, -a, w, -a, -w, -w, -w];
      const c = Math.cos(angle);
      const sn = Math.sin(angle);
      const pts: number[] = [];
      for (let i = 0; i < local.length; i += 2) {
        const u = local[i] as number;
        const v = local[i + 1] as number;
        pts.push(cx + u * c - v * sn, cy + u * sn + v * c);
      }
      fillPolygon(canvas, pts, paint, target);
      break;
    }
    case 'ring':
      fillRing(canvas, cx, cy, s / 2 - ringWidth / 2, ringWidth, paint, target);
      break;
    default:
      throw new RangeError(`category: expected an index in [0, ${OBJECT_CATEGORIES.length - 1}], received ${category}`);
  }
}

type Box = readonly [number, number, number, number];
function iou(a: Box, b: Box): number {
  const ix = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const iy = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = ix * iy;
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return union > 0 ? inter / union : 0;
}

/** Renders one objects scene from `rng`. */
export function renderObjectScene(rng: Rng, width: number, height: number, style: ObjectStyle = OBJECT_STYLE, instances?: { readonly min: number; readonly max: number }): ObjectScene {
  const canvas = createCanvas(width, height);
  const side = Math.min(width, height);
  fillColourField(canvas, rng, rng.int(3, 6), (r) => randomHsv(r, [0.2, 1], [0.3, 1]));
  const clutter = rng.int(style.clutterCount[0], style.clutterCount[1]);
  for (let i = 0; i < clutter; i++) {
    // Elongated clutter only: a round blob or a square slab would be an unlabeled circle or square.
    drawClutter(canvas, rng, randomHsv(rng, [0.2, 1], [0.3, 1]), { kinds: ['blob', 'bar', 'slab'], size: [0.1, 0.5], elongated: true });
  }
  const n = instances !== undefined ? rng.int(instances.min, instances.max) : rng.weighted(style.instanceWeights);
  const boxes: Box[] = [];
  const drawn: ObjectInstance[] = [];
  for (let i = 0; i < n; i++) {
    const category = rng.int(0, OBJECT_CATEGORIES.length - 1);
    const s = side * rng.logUniform(style.size[0], style.size[1]);
    let cx = 0;
    let cy = 0;
    for (let attempt = 0; attempt < 10; attempt++) {
      // Centres keep at least ~70% of the object's extent inside the image.
      cx = rng.uniform(0.2 * s, width - 0.2 * s);
      cy = rng.uniform(0.2 * s, height - 0.2 * s);
      const box: Box = [cx - s / 2, cy - s / 2, cx + s / 2, cy + s / 2];
      if (boxes.every((b) => iou(b, box) <= style.maxOverlapIoU)) break;
    }
    boxes.push([cx - s / 2, cy - s / 2, cx + s / 2, cy + s / 2]);
    const c = randomHsv(rng, [0.3, 1], [0.3, 1]);
    const texture = maybeStripes(rng, 0.2, [10, 35], [2.5, 7]);
    const paint: Paint = texture === undefined ? { r: c[0], g: c[1], b: c[2] } : { r: c[0], g: c[1], b: c[2], texture };
    const mask = new Uint8Array(width * height);
    drawObject(canvas, category, cx, cy, s, rng.uniform(0, Math.PI), Math.max(1.5, s * rng.uniform(0.14, 0.24)), paint, { mask });
    const { bbox, area } = maskStats(mask, width, height);
    if (area > 0) drawn.push({ category, mask, bbox, area });
  }
  if (rng.chance(0.3)) drawClutter(canvas, rng, randomHsv(rng, [0.2, 1], [0.3, 1]), { kinds: ['bar'], size: [0.2, 0.6], elongated: true });
  if (rng.chance(style.blurProb)) blur(canvas, 1);
  addNoise(canvas, rng, rng.uniform(style.noiseSigma[0], style.noiseSigma[1]), rng.chance(0.5));
  return { canvas, instances: drawn };
}

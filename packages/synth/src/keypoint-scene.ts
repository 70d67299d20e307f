// One keypoint image: background, clutter, 0–6 figures, occluders, blur and noise, with every
// figure's silhouette mask, keypoints and their visibility states.
import { drawClutter } from './clutter.js';
import { drawFigure, keypointStates, OCCLUDER_CODE, sampleFigure, type FigureGeometry, type FigurePaints, type KeypointState } from './figure.js';
import { addNoise, blur, createCanvas, type Canvas, type Paint } from './raster.js';
import type { Rng } from './rng.js';
import type { KeypointStyle } from './styles.js';

/** A figure as drawn: keypoints with their states and its silhouette. */
export interface KeypointInstance {
  /** 17 × 2 keypoint coordinates (continuous; may lie outside the image). */
  readonly keypoints: Float64Array;
  /** Visible (2), occluded (1) or outside the image (0), before labeling. */
  readonly states: readonly KeypointState[];
  /** Silhouette coverage (0–255, the figure alone, clipped to the image), one byte per pixel. */
  readonly mask: Uint8Array;
  /** Tight box [x, y, w, h] of the silhouette pixels (coverage ≥ 128). */
  readonly bbox: readonly [number, number, number, number];
  /** Number of silhouette pixels (coverage ≥ 128). */
  readonly area: number;
}

/** A rendered image and its instances (in drawing order: later ones are in front). */
export interface KeypointScene {
  readonly canvas: Canvas;
  readonly instances: readonly KeypointInstance[];
}

/** Scene-level overrides, used by tests and previews. */
export interface KeypointSceneOptions {
  /** Figures per image drawn uniformly from [min, max] instead of the style's weights. */
  readonly instances?: { readonly min: number; readonly max: number };
  /**
   * Draw only the figures, pure white on black, without clutter, occluders, blur or noise:
   * then every pixel equals the union of the silhouette masks (a test oracle).
   */
  readonly silhouetteOnly?: boolean;
}

const WHITE: Paint = { r: 255, g: 255, b: 255 };
const WHITE_FIGURE: FigurePaints = { torso: WHITE, arms: WHITE, legs: WHITE, skin: WHITE, features: WHITE, ears: WHITE };

/** Rough extent of a figure around its pelvis, in units of its height (for placement only). */
const EXTENT = { left: 0.27, right: 0.27, up: 0.52, down: 0.48 };

type Box = readonly [number, number, number, number];

function iou(a: Box, b: Box): number {
  const ix = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const iy = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = ix * iy;
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return union > 0 ? inter / union : 0;
}

function placeFigure(rng: Rng, style: KeypointStyle, width: number, height: number, earlier: readonly Box[]): { x: number; y: number; height: number; box: Box } {
  const side = Math.min(width, height);
  const closeUp = rng.chance(style.closeUpProb);
  const range = closeUp ? style.closeUpHeight : style.figureHeight;
  const h = side * rng.logUniform(range[0], range[1]);
  const truncated = closeUp || rng.chance(style.truncationProb);
  let best: { x: number; y: number; height: number; box: Box } | undefined;
  for (let attempt = 0; attempt < 8; attempt++) {
    let x: number;
    let y: number;
    const xLo = EXTENT.left * h;
    const xHi = width - EXTENT.right * h;
    const yLo = EXTENT.up * h;
    const yHi = height - EXTENT.down * h;
    if (closeUp) {
      // Close-ups keep the torso in view: the pelvis stays in the middle of the frame.
      x = rng.uniform(0.3, 0.7) * width;
      y = rng.uniform(0.55, 0.95) * height;
    } else if (truncated || xLo > xHi || yLo > yHi) {
      // Anywhere that keeps the figure's centre inside the image: up to about half of it may fall outside.
      x = rng.uniform(0, width);
      y = rng.uniform(0.1 * h, height + 0.1 * h);
    } else {
      x = rng.uniform(xLo, xHi);
      y = rng.uniform(yLo, yHi);
    }
    const box: Box = [x - EXTENT.left * h, y - EXTENT.up * h, x + EXTENT.right * h, y + EXTENT.down * h];
    best = { x, y, height: h, box };
    if (earlier.every((e) => iou(e, box) <= style.maxOverlapIoU)) break;
  }
  return best as { x: number; y: number; height: number; box: Box };
}

/** Tight box and pixel count of mask pixels with coverage ≥ 128. */
export function maskStats(mask: Uint8Array, width: number, height: number): { bbox: [number, number, number, number]; area: number } {
  let x0 = width;
  let y0 = height;
  let x1 = -1;
  let y1 = -1;
  let area = 0;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      if ((mask[row + x] as number) >= 128) {
        area++;
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  return area === 0 ? { bbox: [0, 0, 0, 0], area: 0 } : { bbox: [x0, y0, x1 - x0 + 1, y1 - y0 + 1], area };
}

/**
 * Renders one keypoint scene from `rng`. Figures whose silhouette falls entirely outside the
 * image are dropped (nothing of them is drawn).
 */
export function renderKeypointScene(rng: Rng, width: number, height: number, style: KeypointStyle, options: KeypointSceneOptions = {}): KeypointScene {
  const plain = options.silhouetteOnly === true;
  const canvas = createCanvas(width, height);
  const owner = new Uint16Array(width * height);
  if (!plain) {
    style.background(canvas, rng);
    const clutter = rng.int(style.clutterCount[0], style.clutterCount[1]);
    for (let i = 0; i < clutter; i++) {
      drawClutter(canvas, rng, style.clutterColour(rng), { kinds: ['blob', 'bar', 'bar', 'slab', 'shard'], size: [0.08, 0.45], elongated: false });
    }
  }
  const n = options.instances !== undefined ? rng.int(options.instances.min, options.instances.max) : rng.weighted(style.instanceWeights);
  const boxes: Box[] = [];
  const figures: { g: FigureGeometry; mask: Uint8Array }[] = [];
  for (let i = 0; i < n; i++) {
    const place = placeFigure(rng, style, width, height, boxes);
    boxes.push(place.box);
    const g = sampleFigure(rng, place, style.pose);
    const paints = style.figurePaints(rng);
    const mask = new Uint8Array(width * height);
    drawFigure(canvas, g, plain ? WHITE_FIGURE : paints, i, mask, owner);
    figures.push({ g, mask });
  }
  if (!plain) {
    drawOccluders(canvas, rng, style, figures.map((f) => f.g), owner);
    if (rng.chance(style.blurProb)) blur(canvas, 1);
    addNoise(canvas, rng, rng.uniform(style.noiseSigma[0], style.noiseSigma[1]), rng.chance(0.5));
  }
  const instances: KeypointInstance[] = [];
  figures.forEach(({ g, mask }, i) => {
    const { bbox, area } = maskStats(mask, width, height);
    if (area === 0) return;
    instances.push({ keypoints: g.keypoints, states: keypointStates(g, i, owner, width, height), mask, bbox, area });
  });
  return { canvas, instances };
}

function drawOccluders(canvas: Canvas, rng: Rng, style: KeypointStyle, figures: readonly FigureGeometry[], owner: Uint16Array): void {
  const count = rng.weighted(style.occluderWeights);
  for (let i = 0; i < count; i++) {
    // Most occluders land on a figure (a random joint), the rest anywhere.
    let at: [number, number] | undefined;
    if (figures.length > 0 && rng.chance(0.75)) {
      const g = rng.pick(figures);
      const k = rng.int(0, 16);
      at = [(g.keypoints[2 * k] as number) + rng.normal(0, 3), (g.keypoints[2 * k + 1] as number) + rng.normal(0, 3)];
    }
    drawClutter(canvas, rng, style.clutterColour(rng), { kinds: ['blob', 'bar', 'slab'], size: [0.1, 0.3], elongated: false, ...(at ? { at } : {}) }, { owner, code: OCCLUDER_CODE });
  }
}

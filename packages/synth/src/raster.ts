// A small software rasteriser over interleaved 8-bit RGB: anti-aliased shapes from signed
// distance functions, plus the background, noise and blur passes a scene needs.
// Coverage of a pixel = clamp(0.5 − d, 0, 1) with d the signed distance (pixels, negative
// inside) at the pixel centre (x + 0.5, y + 0.5); pixel x spans [x, x + 1).
import type { Rng } from './rng.js';

/** An RGB image: `data[(y * width + x) * 3 + c]`. */
export interface Canvas {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/** A colour with an optional texture that modulates its brightness per pixel. */
export interface Paint {
  readonly r: number;
  readonly g: number;
  readonly b: number;
  readonly texture?: Texture;
}

/** Brightness modulation: stripes along a direction, or a checker pattern. */
export type Texture =
  | { readonly kind: 'stripes'; readonly cos: number; readonly sin: number; readonly period: number; readonly amplitude: number }
  | { readonly kind: 'checker'; readonly cell: number; readonly amplitude: number };

/**
 * Where else a draw call records itself: `mask` accumulates the shape's coverage with the same
 * blend arithmetic as a white paint over black (so a silhouette mask equals what a white
 * figure would look like), `owner` takes `code` wherever coverage ≥ 0.5 (who is on top).
 */
export interface DrawTarget {
  readonly mask?: Uint8Array;
  readonly owner?: Uint16Array;
  readonly code?: number;
}

/** Signed distance (pixels, negative inside) of a shape at a point. */
export type DistanceFn = (x: number, y: number) => number;

/** A blank canvas filled with one colour. */
export function createCanvas(width: number, height: number, fill: readonly [number, number, number] = [0, 0, 0]): Canvas {
  const data = new Uint8Array(width * height * 3);
  if (fill[0] === 0 && fill[1] === 0 && fill[2] === 0) return { width, height, data };
  for (let i = 0; i < data.length; i += 3) {
    data[i] = fill[0];
    data[i + 1] = fill[1];
    data[i + 2] = fill[2];
  }
  return { width, height, data };
}

/** Blends `c` over `v` with coverage `a` in [0, 1]; the one rounding rule used everywhere. */
export function blend(v: number, c: number, a: number): number {
  return (v + (c - v) * a + 0.5) | 0;
}

function textureDelta(t: Texture, x: number, y: number): number {
  if (t.kind === 'stripes') {
    const s = Math.sin(((x * t.cos + y * t.sin) * 2 * Math.PI) / t.period);
    return t.amplitude * s;
  }
  const cx = Math.floor(x / t.cell);
  const cy = Math.floor(y / t.cell);
  return ((cx + cy) & 1) === 0 ? t.amplitude : -t.amplitude;
}

function clampByte(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/**
 * Fills the pixels of a shape given by its distance function, over the box
 * [x0, x1] × [y0, y1] (continuous coordinates, clipped to the canvas).
 */
export function fillShape(
  canvas: Canvas,
  x0: number,
  y0: number,
  x1: number,
  y1: number,
  distance: DistanceFn,
  paint: Paint,
  target?: DrawTarget,
): void {
  const { width, height, data } = canvas;
  const ix0 = Math.max(0, Math.floor(x0) - 1);
  const iy0 = Math.max(0, Math.floor(y0) - 1);
  const ix1 = Math.min(width - 1, Math.ceil(x1) + 1);
  const iy1 = Math.min(height - 1, Math.ceil(y1) + 1);
  const mask = target?.mask;
  const owner = target?.owner;
  const code = target?.code ?? 0;
  const tex = paint.texture;
  for (let y = iy0; y <= iy1; y++) {
    const py = y + 0.5;
    for (let x = ix0; x <= ix1; x++) {
      const d = distance(x + 0.5, py);
      if (d >= 0.5) continue;
      const a = d <= -0.5 ? 1 : 0.5 - d;
      const p = y * width + x;
      const i = p * 3;
      if (tex === undefined) {
        data[i] = blend(data[i] as number, paint.r, a);
        data[i + 1] = blend(data[i + 1] as number, paint.g, a);
        data[i + 2] = blend(data[i + 2] as number, paint.b, a);
      } else {
        const t = textureDelta(tex, x + 0.5, py);
        data[i] = blend(data[i] as number, clampByte(paint.r + t), a);
        data[i + 1] = blend(data[i + 1] as number, clampByte(paint.g + t), a);
        data[i + 2] = blend(data[i + 2] as number, clampByte(paint.b + t), a);
      }
      if (mask !== undefined) mask[p] = blend(mask[p] as number, 255, a);
      if (owner !== undefined && a >= 0.5) owner[p] = code;
    }
  }
}

/** Distance to a capsule: the segment a–b thickened by radius r. */
export function capsuleDistance(ax: number, ay: number, bx: number, by: number, r: number): DistanceFn {
  const dx = bx - ax;
  const dy = by - ay;
  const len2 = dx * dx + dy * dy;
  const inv = len2 > 1e-12 ? 1 / len2 : 0;
  return (x, y) => {
    const px = x - ax;
    const py = y - ay;
    let t = (px * dx + py * dy) * inv;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    const qx = px - dx * t;
    const qy = py - dy * t;
    return Math.sqrt(qx * qx + qy * qy) - r;
  };
}

/** Draws a thick segment with round caps (a limb, a bar). */
export function fillCapsule(canvas: Canvas, ax: number, ay: number, bx: number, by: number, r: number, paint: Paint, target?: DrawTarget): void {
  fillShape(canvas, Math.min(ax, bx) - r, Math.min(ay, by) - r, Math.max(ax, bx) + r, Math.max(ay, by) + r, capsuleDistance(ax, ay, bx, by, r), paint, target);
}

/** Distance to an ellipse with radii (rx, ry) rotated by `angle` (radians); a close approximation near the edge. */
export function ellipseDistance(cx: number, cy: number, rx: number, ry: number, angle: number): DistanceFn {
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  const irx = 1 / rx;
  const iry = 1 / ry;
  return (x, y) => {
    const dx = x - cx;
    const dy = y - cy;
    const u = dx * c + dy * s;
    const v = -dx * s + dy * c;
    const k0 = Math.sqrt(u * u * irx * irx + v * v * iry * iry);
    const k1 = Math.sqrt(u * u * irx * irx * irx * irx + v * v * iry * iry * iry * iry);
    if (k1 < 1e-12) return -Math.min(rx, ry);
    return (k0 * (k0 - 1)) / k1;
  };
}

/** Draws a (rotated) ellipse; a circle when rx = ry. */
export function fillEllipse(canvas: Canvas, cx: number, cy: number, rx: number, ry: number, angle: number, paint: Paint, target?: DrawTarget): void {
  const r = Math.max(rx, ry);
  fillShape(canvas, cx - r, cy - r, cx + r, cy + r, ellipseDistance(cx, cy, rx, ry, angle), paint, target);
}

/** Draws an annulus with centre radius `r` and band width `w`. */
export function fillRing(canvas: Canvas, cx: number, cy: number, r: number, w: number, paint: Paint, target?: DrawTarget): void {
  const half = w / 2;
  const dist: DistanceFn = (x, y) => Math.abs(Math.hypot(x - cx, y - cy) - r) - half;
  fillShape(canvas, cx - r - half, cy - r - half, cx + r + half, cy + r + half, dist, paint, target);
}

/**
 * Exact signed distance to a simple polygon (convex or not) given as flat [x0, y0, x1, y1, …],
 * minus `round` (which rounds the corners and grows the polygon by that much).
 */
export function polygonDistance(points: readonly number[], round = 0): DistanceFn {
  const n = points.length / 2;
  const pts = Float64Array.from(points);
  return (x, y) => {
    let best = Infinity;
    let inside = false;
    for (let i = 0, j = n - 1; i < n; j = i++) {
      const xi = pts[2 * i] as number;
      const yi = pts[2 * i + 1] as number;
      const xj = pts[2 * j] as number;
      const yj = pts[2 * j + 1] as number;
      const ex = xj - xi;
      const ey = yj - yi;
      const wx = x - xi;
      const wy = y - yi;
      const e2 = ex * ex + ey * ey;
      let t = e2 > 0 ? (wx * ex + wy * ey) / e2 : 0;
      t = t < 0 ? 0 : t > 1 ? 1 : t;
      const qx = wx - ex * t;
      const qy = wy - ey * t;
      const d2 = qx * qx + qy * qy;
      if (d2 < best) best = d2;
      // Crossing-number test for the sign.
      if (yi > y !== yj > y && x < xi + ((y - yi) * ex) / ey) inside = !inside;
    }
    const d = Math.sqrt(best);
    return (inside ? -d : d) - round;
  };
}

/** Draws a polygon (flat coordinate list), optionally with rounded corners. */
export function fillPolygon(canvas: Canvas, points: readonly number[], paint: Paint, target?: DrawTarget, round = 0): void {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (let i = 0; i < points.length; i += 2) {
    const x = points[i] as number;
    const y = points[i + 1] as number;
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
  }
  fillShape(canvas, x0 - round, y0 - round, x1 + round, y1 + round, polygonDistance(points, round), paint, target);
}

/** The corners of a w × h rectangle centred at (cx, cy), rotated by `angle`, as a flat list. */
export function rectPoints(cx: number, cy: number, w: number, h: number, angle: number): number[] {
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  const out: number[] = [];
  for (const [u, v] of [[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]] as const) {
    out.push(cx + u * c - v * s, cy + u * s + v * c);
  }
  return out;
}

/** Draws a rotated rectangle. */
export function fillRect(canvas: Canvas, cx: number, cy: number, w: number, h: number, angle: number, paint: Paint, target?: DrawTarget): void {
  fillPolygon(canvas, rectPoints(cx, cy, w, h, angle), paint, target);
}

/**
 * Fills the canvas with a smooth random colour field: a coarse grid of colours from
 * `colour()` interpolated with smoothstep weights (no visible grid seams).
 */
export function fillColourField(canvas: Canvas, rng: Rng, grid: number, colour: (rng: Rng) => readonly [number, number, number]): void {
  const { width, height, data } = canvas;
  const g = Math.max(2, grid);
  const cells = new Float64Array(g * g * 3);
  for (let i = 0; i < g * g; i++) {
    const c = colour(rng);
    cells[i * 3] = c[0];
    cells[i * 3 + 1] = c[1];
    cells[i * 3 + 2] = c[2];
  }
  const smooth = (t: number): number => t * t * (3 - 2 * t);
  // Per-column cell index and weight, computed once (the inner loop is then pure arithmetic).
  const colCell = new Int32Array(width);
  const colW = new Float64Array(width);
  for (let x = 0; x < width; x++) {
    const gx = ((x + 0.5) / width) * (g - 1);
    const i0 = Math.min(g - 2, Math.floor(gx));
    colCell[x] = i0 * 3;
    colW[x] = smooth(gx - i0);
  }
  for (let y = 0; y < height; y++) {
    const gy = ((y + 0.5) / height) * (g - 1);
    const j0 = Math.min(g - 2, Math.floor(gy));
    const ty = smooth(gy - j0);
    const rowA = j0 * g * 3;
    const rowC = rowA + g * 3;
    for (let x = 0; x < width; x++) {
      const tx = colW[x] as number;
      const a = rowA + (colCell[x] as number);
      const c = rowC + (colCell[x] as number);
      const o = (y * width + x) * 3;
      for (let k = 0; k < 3; k++) {
        const top = (cells[a + k] as number) * (1 - tx) + (cells[a + 3 + k] as number) * tx;
        const bot = (cells[c + k] as number) * (1 - tx) + (cells[c + 3 + k] as number) * tx;
        data[o + k] = (top * (1 - ty) + bot * ty + 0.5) | 0;
      }
    }
  }
}

/** Applies a brightness texture to the whole canvas (background stripes, checkers). */
export function applyTexture(canvas: Canvas, texture: Texture): void {
  const { width, height, data } = canvas;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const t = textureDelta(texture, x + 0.5, y + 0.5);
      const o = (y * width + x) * 3;
      data[o] = clampByte((data[o] as number) + t);
      data[o + 1] = clampByte((data[o + 1] as number) + t);
      data[o + 2] = clampByte((data[o + 2] as number) + t);
    }
  }
}

/**
 * Adds per-pixel noise of standard deviation ≈ `sigma` (sum of two uniforms, so a triangular
 * distribution: cheap, bounded, close enough to Gaussian for sensor-like grain).
 * `monochrome` adds the same value to all three channels.
 */
export function addNoise(canvas: Canvas, rng: Rng, sigma: number, monochrome: boolean): void {
  const { data } = canvas;
  // One 32-bit draw gives two 16-bit uniforms; their sum minus 1 is triangular on (−1, 1)
  // with variance 1/6 — half the generator calls of two full draws per value.
  const scale = (sigma * Math.sqrt(6)) / 65536;
  const triangular = (): number => {
    const u = rng.nextU32();
    return ((u & 0xffff) + (u >>> 16) - 65535) * scale;
  };
  for (let i = 0; i < data.length; i += 3) {
    if (monochrome) {
      const n = triangular() + 0.5;
      data[i] = clampByte(((data[i] as number) + n) | 0);
      data[i + 1] = clampByte(((data[i + 1] as number) + n) | 0);
      data[i + 2] = clampByte(((data[i + 2] as number) + n) | 0);
    } else {
      data[i] = clampByte(((data[i] as number) + triangular() + 0.5) | 0);
      data[i + 1] = clampByte(((data[i + 1] as number) + triangular() + 0.5) | 0);
      data[i + 2] = clampByte(((data[i + 2] as number) + triangular() + 0.5) | 0);
    }
  }
}

/**
 * Separable binomial blur [1, 2, 1] / 4 applied `passes` times (edges clamp). One pass is a
 * light defocus; passes add up like a Gaussian of variance passes / 2.
 */
export function blur(canvas: Canvas, passes: number): void {
  const { width, height, data } = canvas;
  const tmp = new Uint8Array(data.length);
  for (let p = 0; p < passes; p++) {
    // Horizontal: data -> tmp.
    for (let y = 0; y < height; y++) {
      const row = y * width * 3;
      for (let x = 0; x < width; x++) {
        const l = row + Math.max(0, x - 1) * 3;
        const c = row + x * 3;
        const r = row + Math.min(width - 1, x + 1) * 3;
        for (let k = 0; k < 3; k++) {
          tmp[c + k] = ((data[l + k] as number) + 2 * (data[c + k] as number) + (data[r + k] as number) + 2) >> 2;
        }
      }
    }
    // Vertical: tmp -> data.
    for (let y = 0; y < height; y++) {
      const up = Math.max(0, y - 1) * width * 3;
      const row = y * width * 3;
      const dn = Math.min(height - 1, y + 1) * width * 3;
      for (let i = 0; i < width * 3; i++) {
        data[row + i] = ((tmp[up + i] as number) + 2 * (tmp[row + i] as number) + (tmp[dn + i] as number) + 2) >> 2;
      }
    }
  }
}

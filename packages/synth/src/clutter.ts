// Background clutter and occluders: random shapes, including limb-like bars that look like
// arms and legs but carry no keypoints (hard negatives for a keypoint or box model).
import type { Rgb } from './colour.js';
import { fillCapsule, fillEllipse, fillPolygon, fillRect, type Canvas, type DrawTarget, type Paint } from './raster.js';
import type { Rng } from './rng.js';
import { maybeStripes } from './styles.js';

/** Kinds of clutter shapes. `blob` = ellipse, `bar` = limb-like capsule, `slab` = rectangle, `shard` = triangle. */
export type ClutterKind = 'blob' | 'bar' | 'slab' | 'shard';

/** Options for one clutter shape. `elongated` keeps blobs and slabs clearly non-round and non-square. */
export interface ClutterOptions {
  readonly kinds: readonly ClutterKind[];
  /** Size as a fraction of the image's shorter side: [lo, hi]. */
  readonly size: readonly [number, number];
  readonly elongated: boolean;
  /** Centre; random over the image when absent. */
  readonly at?: readonly [number, number];
}

/** Draws one clutter shape in colour `c`, optionally textured. */
export function drawClutter(canvas: Canvas, rng: Rng, c: Rgb, opts: ClutterOptions, target?: DrawTarget): void {
  const side = Math.min(canvas.width, canvas.height);
  const s = side * rng.uniform(opts.size[0], opts.size[1]);
  const cx = opts.at?.[0] ?? rng.uniform(-0.05, 1.05) * canvas.width;
  const cy = opts.at?.[1] ?? rng.uniform(-0.05, 1.05) * canvas.height;
  const p: Paint = { r: c[0], g: c[1], b: c[2], ...withTexture(rng) };
  const angle = rng.uniform(0, Math.PI);
  const kind = rng.pick(opts.kinds);
  const aspect = opts.elongated ? rng.uniform(2, 4) : rng.uniform(1, 2.5);
  switch (kind) {
    case 'blob':
      fillEllipse(canvas, cx, cy, s / 2, s / 2 / aspect, angle, p, target);
      break;
    case 'bar': {
      const len = s;
      const r = Math.max(0.8, side * rng.uniform(0.012, 0.035));
      const dx = (Math.cos(angle) * len) / 2;
      const dy = (Math.sin(angle) * len) / 2;
      fillCapsule(canvas, cx - dx, cy - dy, cx + dx, cy + dy, r, p, target);
      break;
    }
    case 'slab':
      fillRect(canvas, cx, cy, s, s / aspect, opts.elongated ? angle : rng.chance(0.6) ? 0 : angle, p, target);
      break;
    case 'shard': {
      const pts: number[] = [];
      for (let i = 0; i < 3; i++) {
        const a = angle + (i * 2 * Math.PI) / 3 + rng.uniform(-0.5, 0.5);
        const r = (s / 2) * rng.uniform(0.5, 1);
        pts.push(cx + Math.cos(a) * r, cy + Math.sin(a) * r);
      }
      fillPolygon(canvas, pts, p, target);
      break;
    }
  }
}

function withTexture(rng: Rng): { texture?: NonNullable<Paint['texture']> } {
  const t = maybeStripes(rng, 0.15, [10, 30], [2.5, 7]);
  return t === undefined ? {} : { texture: t };
}

// Colour helpers: palettes are drawn in HSV, which makes "saturated", "muted" and "dark" easy to say.
import type { Rng } from './rng.js';

export type Rgb = readonly [number, number, number];

/** HSV (h in [0, 1) turns, s and v in [0, 1]) to 8-bit RGB. */
export function hsvToRgb(h: number, s: number, v: number): Rgb {
  const hh = ((h % 1) + 1) % 1 * 6;
  const i = Math.floor(hh);
  const f = hh - i;
  const p = v * (1 - s);
  const q = v * (1 - s * f);
  const t = v * (1 - s * (1 - f));
  const table: readonly (readonly [number, number, number])[] = [
    [v, t, p], [q, v, p], [p, v, t], [p, q, v], [t, p, v], [v, p, q],
  ];
  const [r, g, b] = table[i % 6] as readonly [number, number, number];
  return [Math.round(r * 255), Math.round(g * 255), Math.round(b * 255)];
}

/** A random colour with saturation and value drawn from the given ranges. */
export function randomHsv(rng: Rng, s: readonly [number, number], v: readonly [number, number], hue?: readonly [number, number]): Rgb {
  const h = hue === undefined ? rng.next() : rng.uniform(hue[0], hue[1]);
  return hsvToRgb(h, rng.uniform(s[0], s[1]), rng.uniform(v[0], v[1]));
}

/** Scales a colour's brightness (clamped), e.g. 0.7 for a shaded variant. */
export function shade(c: Rgb, k: number): Rgb {
  const f = (x: number): number => Math.max(0, Math.min(255, Math.round(x * k)));
  return [f(c[0]), f(c[1]), f(c[2])];
}

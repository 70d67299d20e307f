// Bilinear resampling of a decoded image straight into a model's normalised float input, for
// layouts whose preprocessing is a resize or a crop (YOLO letterbox, top-down person crops).
// Continuous pixel coordinates: the image spans [0, W] and pixel i is sampled at i + 0.5, as
// torch's F.interpolate / grid_sample (align_corners=False) and OpenCV do.
import type { DecodedImage } from './image.js';
import type { PixelSpec } from './manifest.js';

/**
 * An axis-aligned map from a position `(u, v)` of the output (continuous) to the source
 * image: `x = x0 + u · sx`, `y = y0 + v · sy`. A negative `sx` mirrors (a flipped crop).
 */
export interface AxisMap {
  x0: number;
  sx: number;
  y0: number;
  sy: number;
}

/** The output rectangle a sampling pass writes (integer pixels); the rest keeps its fill. */
export interface OutputWindow {
  left: number;
  top: number;
  width: number;
  height: number;
}

/**
 * Outside the image: `clamp` repeats the edge pixels (a resize: torch `F.interpolate`), a
 * number is the 0..255 fill every out-of-image neighbour takes (a crop: `grid_sample` /
 * OpenCV `BORDER_CONSTANT`).
 */
export type Border = 'clamp' | number;

/**
 * A normalised `[1, 3, H, W]` input: sampled windows over a background of `fill`. `data`, when
 * given, is where it is written (`3·H·W` floats, e.g. one item of a batched input); by default
 * a new array.
 */
export class InputCanvas {
  readonly data: Float32Array;
  private readonly plane: number;
  /** `a[c] · value + b[c]` normalises a 0..255 value for output plane c. */
  private readonly a: Float64Array;
  private readonly b: Float64Array;
  /** RGB channel read by output plane c. */
  private readonly source: number[];

  constructor(
    readonly width: number,
    readonly height: number,
    pixels: PixelSpec,
    fill: number,
    data?: Float32Array,
  ) {
    this.plane = width * height;
    if (data !== undefined && data.length !== 3 * this.plane) throw new Error(`InputCanvas: data holds ${data.length} floats, not 3 × ${width} × ${height}`);
    this.data = data ?? new Float32Array(3 * this.plane);
    this.a = Float64Array.from(pixels.std, (s) => 1 / (pixels.scale * s));
    this.b = Float64Array.from(pixels.mean, (m, c) => -m / pixels.std[c]);
    this.source = pixels.channelOrder === 'rgb' ? [0, 1, 2] : [2, 1, 0];
    for (let c = 0; c < 3; c++) this.data.fill(fill * this.a[c] + this.b[c], c * this.plane, (c + 1) * this.plane);
  }

  /** Samples `image` through `map` into `window` of this canvas, bilinear. */
  sample(image: DecodedImage, map: AxisMap, window: OutputWindow, border: Border): void {
    const { width: w, height: h, data } = image;
    const cols = axisTaps(window.left, window.width, map.x0, map.sx, w, border === 'clamp');
    const rows = axisTaps(window.top, window.height, map.y0, map.sy, h, border === 'clamp');
    const fill = border === 'clamp' ? 0 : border;
    const px = (x: number, y: number, c: number) => (x < 0 || y < 0 ? fill : data[3 * (y * w + x) + c]);
    for (let i = 0; i < window.height; i++) {
      const [y0, y1, fy] = [rows.lo[i], rows.hi[i], rows.f[i]];
      const row = (window.top + i) * this.width + window.left;
      for (let j = 0; j < window.width; j++) {
        const [x0, x1, fx] = [cols.lo[j], cols.hi[j], cols.f[j]];
        for (let c = 0; c < 3; c++) {
          const s = this.source[c];
          const top = px(x0, y0, s) * (1 - fx) + px(x1, y0, s) * fx;
          const bottom = px(x0, y1, s) * (1 - fx) + px(x1, y1, s) * fx;
          const v = top * (1 - fy) + bottom * fy;
          this.data[c * this.plane + row + j] = v * this.a[c] + this.b[c];
        }
      }
    }
  }
}

/**
 * The two source indices and the weight of the second for each output position along one
 * axis; -1 marks a neighbour outside the image (it takes the fill), unless `clamp`.
 */
function axisTaps(start: number, count: number, origin: number, step: number, size: number, clamp: boolean): { lo: Int32Array; hi: Int32Array; f: Float64Array } {
  const lo = new Int32Array(count);
  const hi = new Int32Array(count);
  const f = new Float64Array(count);
  for (let j = 0; j < count; j++) {
    const p = origin + (start + j + 0.5) * step - 0.5; // pixel-index position
    const i0 = Math.floor(p);
    f[j] = p - i0;
    const inside = (i: number) => (clamp ? Math.min(Math.max(i, 0), size - 1) : i >= 0 && i < size ? i : -1);
    lo[j] = inside(i0);
    hi[j] = inside(i0 + 1);
  }
  return { lo, hi, f };
}

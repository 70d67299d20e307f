// A contact sheet: a grid of rendered samples with their boxes and keypoints drawn on top,
// for eyeballing a style (and for the README). Left keypoints red, right blue, centre green.
import sharp from 'sharp';
import { writeFileAtomic } from './image-job.js';
import { createCanvas, fillEllipse, type Canvas } from './raster.js';
import { renderSample, type SplitName, type SynthStyle } from './sample.js';

/** One tile: an image and the annotations to overlay. */
export interface SheetTile {
  readonly canvas: Canvas;
  readonly boxes: readonly (readonly [number, number, number, number])[];
  /** Per instance: flat [x, y, v] × K (COCO layout); v = 0 points are not drawn. */
  readonly keypoints?: readonly (readonly number[])[];
}

/**
 * Tiles images `cols` per row, each enlarged `scale`× (nearest neighbour), with 2-pixel gutters,
 * boxes as 1-pixel outlines and labeled keypoints as dots (hollow when occluded, v = 1).
 */
export function composeContactSheet(tiles: readonly SheetTile[], cols: number, scale: number): Canvas {
  const tw = Math.max(...tiles.map((t) => t.canvas.width)) * scale;
  const th = Math.max(...tiles.map((t) => t.canvas.height)) * scale;
  const rows = Math.ceil(tiles.length / cols);
  const gap = 2;
  const sheet = createCanvas(cols * tw + (cols + 1) * gap, rows * th + (rows + 1) * gap, [255, 255, 255]);
  tiles.forEach((tile, i) => {
    const ox = gap + (i % cols) * (tw + gap);
    const oy = gap + Math.floor(i / cols) * (th + gap);
    blit(sheet, tile.canvas, ox, oy, scale);
    for (const b of tile.boxes) outline(sheet, ox + b[0] * scale, oy + b[1] * scale, b[2] * scale, b[3] * scale, [255, 255, 255]);
    for (const kps of tile.keypoints ?? []) {
      for (let k = 0; k * 3 < kps.length; k++) {
        const v = kps[3 * k + 2] as number;
        if (v === 0) continue;
        const x = ox + (kps[3 * k] as number) * scale;
        const y = oy + (kps[3 * k + 1] as number) * scale;
        const c = k === 0 ? [0, 200, 0] : k % 2 === 1 ? [230, 0, 0] : [0, 60, 255];
        const r = Math.max(1.2, scale * 0.9);
        fillEllipse(sheet, x, y, r + 0.8, r + 0.8, 0, { r: 0, g: 0, b: 0 });
        fillEllipse(sheet, x, y, r, r, 0, { r: c[0] as number, g: c[1] as number, b: c[2] as number });
        if (v === 1) fillEllipse(sheet, x, y, r * 0.45, r * 0.45, 0, { r: 255, g: 255, b: 255 });
      }
    }
  });
  return sheet;
}

function blit(dst: Canvas, src: Canvas, ox: number, oy: number, scale: number): void {
  for (let y = 0; y < src.height * scale; y++) {
    for (let x = 0; x < src.width * scale; x++) {
      const s = (Math.floor(y / scale) * src.width + Math.floor(x / scale)) * 3;
      const d = ((oy + y) * dst.width + ox + x) * 3;
      dst.data[d] = src.data[s] as number;
      dst.data[d + 1] = src.data[s + 1] as number;
      dst.data[d + 2] = src.data[s + 2] as number;
    }
  }
}

function outline(c: Canvas, x: number, y: number, w: number, h: number, rgb: readonly [number, number, number]): void {
  const set = (px: number, py: number): void => {
    const ix = Math.round(px);
    const iy = Math.round(py);
    if (ix < 0 || iy < 0 || ix >= c.width || iy >= c.height) return;
    const i = (iy * c.width + ix) * 3;
    c.data[i] = rgb[0];
    c.data[i + 1] = rgb[1];
    c.data[i + 2] = rgb[2];
  };
  for (let i = 0; i <= w; i++) {
    set(x + i, y);
    set(x + i, y + h);
  }
  for (let i = 0; i <= h; i++) {
    set(x, y + i);
    set(x + w, y + i);
  }
}

/** Options of {@link renderContactSheet}. */
export interface ContactSheetOptions {
  readonly style?: SynthStyle;
  /** Square side of each sample. Default 96. */
  readonly imageSize?: number;
  readonly seed?: number;
  /** Which split's stream to show. Default `'labeled'`. */
  readonly split?: SplitName;
  /** Samples (default 16), `cols` per row (default 4), each enlarged `scale`× (default 2). */
  readonly count?: number;
  readonly cols?: number;
  readonly scale?: number;
}

/** Renders the first `count` samples of a split with their labels drawn on top. */
export function renderContactSheet(options: ContactSheetOptions = {}): Canvas {
  const size = options.imageSize ?? 96;
  const tiles: SheetTile[] = [];
  for (let index = 0; index < (options.count ?? 16); index++) {
    const s = renderSample({ style: options.style ?? 'keypoints', width: size, height: size, seed: options.seed ?? 0, split: options.split ?? 'labeled', index });
    tiles.push({
      canvas: s.canvas,
      boxes: s.annotations.map((a) => a.bbox),
      ...(options.style === 'objects' ? {} : { keypoints: s.annotations.map((a) => a.keypoints ?? []) }),
    });
  }
  return composeContactSheet(tiles, options.cols ?? 4, options.scale ?? 2);
}

/** Writes {@link renderContactSheet}'s output as a palette PNG (small enough to commit). */
export async function writeContactSheet(path: string, options: ContactSheetOptions = {}): Promise<void> {
  const sheet = renderContactSheet(options);
  const png = await sharp(sheet.data, { raw: { width: sheet.width, height: sheet.height, channels: 3 } }).png({ palette: true, colours: 96, dither: 0, compressionLevel: 9, effort: 10 }).toBuffer();
  await writeFileAtomic(path, png);
}

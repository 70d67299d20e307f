// The data pipeline: a COCO split with its PNG/JPEG images decoded once into memory (RGB
// bytes), then minibatches built from those bytes with flips, RoI jitter and targets. Images
// of the reference splits are small (96 px), so keeping them decoded is cheap and makes a
// minibatch a few memory copies (measured ≤ a few % of a training step).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { validateDataset, type CocoAnnotation, type CocoDataset } from '@omnidistill/coco';
import { OmniRangeError, OmniTypeError } from '@omnidistill/core';

/** A COCO file and the folder its `file_name`s are relative to. */
export interface CocoSource {
  /** Path of the COCO JSON file. */
  readonly coco: string;
  /** Folder of the images. */
  readonly imageDir: string;
}

/** One decoded image with its annotations. */
export interface LoadedImage {
  readonly id: number;
  readonly fileName: string;
  readonly width: number;
  readonly height: number;
  /** RGB, row-major, 3 bytes per pixel. */
  readonly pixels: Uint8Array;
  readonly annotations: readonly CocoAnnotation[];
}

/** A loaded split. */
export interface LoadedDataset {
  readonly source: CocoSource;
  readonly dataset: CocoDataset;
  readonly images: readonly LoadedImage[];
}

/** How 8-bit pixels become model inputs: (p / 255 − mean) / std per RGB channel (the manifest's `pixels`). */
export interface PixelNormalisation {
  readonly mean: readonly [number, number, number];
  readonly std: readonly [number, number, number];
}

/** The reference models' normalisation. */
export const DEFAULT_PIXELS: PixelNormalisation = { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] };

/** Decodes one image file to RGB bytes. */
export async function decodeRgb(file: string): Promise<{ width: number; height: number; pixels: Uint8Array }> {
  const { data, info } = await sharp(file).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new OmniRangeError(`${file}: channels`, '3 (RGB)', info.channels);
  return { width: info.width, height: info.height, pixels: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/**
 * Reads a COCO file (validated by @omnidistill/coco) and decodes all its images with sharp,
 * `concurrency` at a time (default 8). An image whose size differs from its COCO entry is an error.
 */
export async function loadCocoSource(source: CocoSource, options: { concurrency?: number } = {}): Promise<LoadedDataset> {
  if (typeof source?.coco !== 'string') throw new OmniTypeError('source.coco', 'the path of a COCO JSON file', source?.coco);
  if (typeof source.imageDir !== 'string') throw new OmniTypeError('source.imageDir', 'the folder of the images', source.imageDir);
  const dataset = validateDataset(JSON.parse(await readFile(source.coco, 'utf8')), source.coco);
  const byImage = new Map<number, CocoAnnotation[]>();
  for (const a of dataset.annotations) {
    const list = byImage.get(a.image_id);
    if (list) list.push(a);
    else byImage.set(a.image_id, [a]);
  }
  const images: LoadedImage[] = new Array(dataset.images.length);
  const concurrency = options.concurrency ?? 8;
  let next = 0;
  const worker = async () => {
    while (next < dataset.images.length) {
      const i = next++;
      const im = dataset.images[i];
      const file = join(source.imageDir, im.file_name);
      const d = await decodeRgb(file);
      if (d.width !== im.width || d.height !== im.height) {
        throw new OmniRangeError(`${file}: size`, `${im.width}×${im.height} as in ${source.coco}`, `${d.width}×${d.height}`);
      }
      images[i] = { id: im.id, fileName: im.file_name, width: d.width, height: d.height, pixels: d.pixels, annotations: byImage.get(im.id) ?? [] };
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, dataset.images.length) }, worker));
  return { source, dataset, images };
}

/** Per-channel lookup tables byte → normalised float. */
function pixelTables(p: PixelNormalisation): Float32Array[] {
  return [0, 1, 2].map((c) => {
    const t = new Float32Array(256);
    for (let v = 0; v < 256; v++) t[v] = (v / 255 - p.mean[c]) / p.std[c];
    return t;
  });
}

/** Writes images as normalised CHW float tensors, optionally mirrored, zero-padded (bottom/right) to a fixed size. */
export class ImageWriter {
  private readonly tables: Float32Array[];
  constructor(pixels: PixelNormalisation = DEFAULT_PIXELS) {
    this.tables = pixelTables(pixels);
  }

  /** Writes `image` into `out` at image slot `b` of a [B, 3, H, W] buffer. */
  write(image: LoadedImage, flip: boolean, out: Float32Array, b: number, height: number, width: number): void {
    const { width: w, height: h, pixels } = image;
    if (w > width || h > height) {
      throw new OmniRangeError(`image ${image.fileName}`, `at most ${width}×${height} (the training input size)`, `${w}×${h}`);
    }
    const plane = height * width;
    const base = b * 3 * plane;
    // Only the margin an image smaller than the slot leaves needs clearing (out may be reused).
    if (w < width || h < height) out.fill(0, base, base + 3 * plane);
    const [t0, t1, t2] = this.tables;
    // One pass over the interleaved RGB rows, writing the three planes (1.5× faster than a
    // strided pass per channel: 16 images of 96 × 96, 1.5 vs 2.2 ms).
    for (let y = 0; y < h; y++) {
      const r = base + y * width;
      const g = r + plane;
      const bl = g + plane;
      let src = y * w * 3;
      if (flip) {
        for (let x = w - 1; x >= 0; x--, src += 3) {
          out[r + x] = t0[pixels[src]];
          out[g + x] = t1[pixels[src + 1]];
          out[bl + x] = t2[pixels[src + 2]];
        }
      } else {
        for (let x = 0; x < w; x++, src += 3) {
          out[r + x] = t0[pixels[src]];
          out[g + x] = t1[pixels[src + 1]];
          out[bl + x] = t2[pixels[src + 2]];
        }
      }
    }
  }
}

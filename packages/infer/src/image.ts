// Image decoding with sharp (JPEG, PNG, WebP; EXIF orientation applied) and conversion to
// the model's float32 CHW input. A file that cannot be read or decoded is a typed result,
// never an exception: one bad image must not stop a labeling run.
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { OmniRangeError, type ImageSize } from '@omnidistill/core';
import type { PixelSpec, ResizeKernel } from './manifest.js';
import type { Dim } from './session.js';

/** A decoded, upright, 8-bit RGB image (`data` is HWC, length `3·W·H`). */
export interface DecodedImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** Why an image was skipped. */
export type ImageFailureReason = 'unreadable' | 'unsupported-format' | 'corrupt';

/** An image that could not be used, with a message for the log. */
export interface ImageFailure {
  reason: ImageFailureReason;
  message: string;
}

export type DecodeResult = { ok: true; image: DecodedImage } | { ok: false; failure: ImageFailure };

/** Formats the decoder accepts (as sharp names them). */
export const SUPPORTED_FORMATS: readonly string[] = Object.freeze(['jpeg', 'png', 'webp']);

/**
 * Decodes an image file (or its bytes) to upright RGB: EXIF orientation is applied, alpha
 * dropped, greyscale and CMYK converted to sRGB. Never throws for a bad file.
 */
export async function decodeImage(input: string | Uint8Array): Promise<DecodeResult> {
  let bytes: Uint8Array;
  if (typeof input === 'string') {
    try {
      bytes = await readFile(input);
    } catch (error) {
      return { ok: false, failure: { reason: 'unreadable', message: (error as Error).message } };
    }
  } else bytes = input;
  try {
    const pipeline = sharp(bytes, { failOn: 'warning' });
    const meta = await pipeline.metadata();
    if (!meta.format || !SUPPORTED_FORMATS.includes(meta.format)) {
      return { ok: false, failure: { reason: 'unsupported-format', message: `format ${meta.format ?? 'unknown'} (supported: ${SUPPORTED_FORMATS.join(', ')})` } };
    }
    const { data, info } = await pipeline.rotate().removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) return { ok: false, failure: { reason: 'corrupt', message: `decoded to ${info.channels} channels, expected 3` } };
    return { ok: true, image: { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height } };
  } catch (error) {
    return { ok: false, failure: { reason: 'corrupt', message: (error as Error).message } };
  }
}

/** Resizes an RGB image to exactly `size` with the given sharp kernel (a copy; no-op sizes return the input). */
export async function resizeImage(image: DecodedImage, size: ImageSize, kernel: ResizeKernel): Promise<DecodedImage> {
  if (size.width === image.width && size.height === image.height) return image;
  const { data, info } = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(size.width, size.height, { fit: 'fill', kernel })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
}

/**
 * The size of the model input for an image of `size`: the model's fixed height/width when it
 * has them (the image is padded up to it), otherwise `size` rounded up to `sizeDivisor`.
 */
export function inputSizeFor(size: ImageSize, imageDims: readonly Dim[], sizeDivisor: number, path = 'image'): ImageSize {
  const roundUp = (v: number) => Math.ceil(v / sizeDivisor) * sizeDivisor;
  const fixedH = imageDims[2];
  const fixedW = imageDims[3];
  const height = fixedH ?? roundUp(size.height);
  const width = fixedW ?? roundUp(size.width);
  if (size.height > height || size.width > width) {
    throw new OmniRangeError(path, `an image that fits the model's fixed input ${width}×${height}`, `${size.width}×${size.height}`);
  }
  return { width, height };
}

/**
 * Converts RGB HWC bytes to the normalised float32 CHW tensor data `[1, 3, H', W']` of
 * `padded` size: optional horizontal flip, channel order, `(p / scale − mean) / std`, and
 * zeros (the normalised mean colour) in the bottom/right padding, which moves no coordinate.
 */
export function toInputTensor(image: DecodedImage, pixels: PixelSpec, flip: boolean, padded: ImageSize): Float32Array {
  const { width: w, height: h, data } = image;
  const pw = padded.width;
  const plane = pw * padded.height;
  const out = new Float32Array(3 * plane);
  // One 256-entry table per input channel (the value of each byte after normalisation) and
  // one sequential pass over the HWC bytes writing the three planes, rather than three
  // strided passes: this loop runs over every pixel of every transform (~17 Mpx per
  // 640×480 image under the paper plan).
  const lut = [0, 1, 2].map((c) => {
    const a = 1 / (pixels.scale * pixels.std[c]);
    const b = -pixels.mean[c] / pixels.std[c];
    return Float32Array.from({ length: 256 }, (_, p) => p * a + b);
  });
  // Input channel c reads RGB channel src[c]; lutFor[rgb] is the table of the plane it lands in.
  const rgb = pixels.channelOrder === 'rgb' ? [0, 1, 2] : [2, 1, 0];
  const planeOf = [rgb.indexOf(0), rgb.indexOf(1), rgb.indexOf(2)];
  const o0 = out.subarray(planeOf[0] * plane, (planeOf[0] + 1) * plane);
  const o1 = out.subarray(planeOf[1] * plane, (planeOf[1] + 1) * plane);
  const o2 = out.subarray(planeOf[2] * plane, (planeOf[2] + 1) * plane);
  const l0 = lut[planeOf[0]];
  const l1 = lut[planeOf[1]];
  const l2 = lut[planeOf[2]];
  for (let y = 0; y < h; y++) {
    let s = y * w * 3;
    const row = y * pw;
    if (flip) {
      for (let x = w - 1; x >= 0; x--, s += 3) {
        o0[row + x] = l0[data[s]];
        o1[row + x] = l1[data[s + 1]];
        o2[row + x] = l2[data[s + 2]];
      }
    } else {
      for (let x = 0; x < w; x++, s += 3) {
        o0[row + x] = l0[data[s]];
        o1[row + x] = l1[data[s + 1]];
        o2[row + x] = l2[data[s + 2]];
      }
    }
  }
  return out;
}

// Image decoding with sharp (JPEG, PNG, WebP; EXIF orientation applied) and conversion to
// the model's float32 CHW input. A file that cannot be read or decoded is a typed result,
// never an exception: one bad image must not stop a labeling run.
import { readFile as readFileCallback } from 'node:fs';
import { promisify } from 'node:util';
import sharp from 'sharp';
import type { Metadata, OutputInfo, Sharp } from 'sharp';
import { OmniRangeError, type ImageSize } from '@omnidistill/core';
import type { PixelSpec, ResizeKernel } from './manifest.js';
import type { Dim } from './session.js';

/** A decoded, upright, 8-bit RGB image (`data` is HWC, length `3·W·H`). */
export interface DecodedImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/**
 * Why an image was skipped: `missing` (no such file), `empty` (zero bytes), `unreadable`
 * (a read error), `not-an-image` (no known image signature), `unsupported-format` (an image
 * format the decoder does not take), `corrupt` (truncated or damaged), `too-large` (more
 * pixels than the limit), `inference-failed` (the model failed on it, e.g. an allocation).
 */
export type ImageFailureReason = 'missing' | 'empty' | 'unreadable' | 'not-an-image' | 'unsupported-format' | 'corrupt' | 'too-large' | 'inference-failed';

/** Every reason, in report order. */
export const IMAGE_FAILURE_REASONS: readonly ImageFailureReason[] = Object.freeze([
  'missing', 'empty', 'unreadable', 'not-an-image', 'unsupported-format', 'corrupt', 'too-large', 'inference-failed',
]);

/**
 * An image that could not be used, with a message for the log. A `transient` failure (a file
 * missing after a folder change, an I/O error, too many open files) is not a property of the
 * image: a resumed run tries the image again instead of trusting the failure.
 */
export interface ImageFailure {
  reason: ImageFailureReason;
  message: string;
  transient?: boolean;
}

/**
 * fs.readFile with a promise. Not fs/promises' readFile: that one opens a FileHandle and
 * makes each step (open, stat, read, close) a promise of its own, twice the main-thread time
 * per image of the callback version (~100 vs ~50 µs for a 10 kB file, measured in
 * tools/bench/label-overhead's setting): the labeling loop reads every image on the thread
 * that also runs the model, so that time is the loop's.
 */
const readFile = promisify(readFileCallback);

/** Default pixel limit per image (50 MP: well above real photos; ~65 bytes per pixel are needed downstream). */
export const DEFAULT_MAX_PIXELS = 50_000_000;

/** Read errors that depend on the moment or the folder, not on the image: retried on the next run. */
const TRANSIENT_READ_ERRORS: ReadonlySet<string> = new Set(['ENOENT', 'ENOTDIR', 'EIO', 'EMFILE', 'ENFILE', 'EAGAIN', 'EBUSY', 'ETIMEDOUT', 'ESTALE']);

/** Options of {@link decodeImage}. */
export interface DecodeOptions {
  /** Images with more pixels are skipped (`too-large`) from their header, before decoding. Default {@link DEFAULT_MAX_PIXELS}. */
  maxPixels?: number;
}

function readFailure(error: unknown): ImageFailure {
  const code = (error as NodeJS.ErrnoException).code;
  const message = (error as Error).message;
  if (code === 'ENOENT' || code === 'ENOTDIR') return { reason: 'missing', message, transient: true };
  return { reason: 'unreadable', message, ...(code !== undefined && TRANSIENT_READ_ERRORS.has(code) ? { transient: true } : {}) };
}

/** sharp's words for "no known image signature" (as opposed to a damaged image). */
function isUnknownFormat(error: unknown): boolean {
  return /unsupported image format/i.test((error as Error).message);
}

export type DecodeResult = { ok: true; image: DecodedImage } | { ok: false; failure: ImageFailure };

/** Formats the decoder accepts (as sharp names them). */
export const SUPPORTED_FORMATS: readonly string[] = Object.freeze(['jpeg', 'png', 'webp']);

/**
 * Decodes an image file (or its bytes) to upright RGB: EXIF orientation is applied, alpha
 * dropped, greyscale and CMYK converted to sRGB. Never throws for a bad file: the failure
 * says why (see {@link ImageFailureReason}). The pixel count is checked from the header
 * before anything is decoded, so a small file that claims a huge image costs nothing.
 */
export async function decodeImage(input: string | Uint8Array, options: DecodeOptions = {}): Promise<DecodeResult> {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  let bytes: Uint8Array;
  if (typeof input === 'string') {
    try {
      bytes = await readFile(input);
    } catch (error) {
      return { ok: false, failure: readFailure(error) };
    }
  } else bytes = input;
  if (bytes.byteLength === 0) return { ok: false, failure: { reason: 'empty', message: 'the file is empty (0 bytes)' } };
  const fast = await decodeOnePass(bytes, maxPixels);
  if (fast !== null) return { ok: true, image: fast };
  return decodeChecked(bytes, maxPixels);
}

/** The pixels of a decoded image (EXIF orientation applied, alpha dropped, sRGB). */
async function toRgb(pipeline: Sharp): Promise<{ data: Buffer; info: OutputInfo }> {
  return pipeline.rotate().removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
}

/**
 * The common case in one libvips pass: a file with a supported signature that decodes within
 * the pixel limit (sharp checks it from the header). Null when anything is off; then
 * {@link decodeChecked} decodes step by step and says why. The pixels are the same either way.
 */
async function decodeOnePass(bytes: Uint8Array, maxPixels: number): Promise<DecodedImage | null> {
  if (detectFormat(bytes) === null) return null;
  try {
    const { data, info } = await toRgb(sharp(bytes, { failOn: 'warning', limitInputPixels: maxPixels }));
    if (info.channels !== 3) return null;
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
  } catch {
    return null;
  }
}

/** Header first (format, pixel count), then the pixels: every failure gets its reason. */
async function decodeChecked(bytes: Uint8Array, maxPixels: number): Promise<DecodeResult> {
  try {
    // sharp's own pixel limit is off: the header check below applies ours (any size) before decoding.
    const pipeline = sharp(bytes, { failOn: 'warning', limitInputPixels: false });
    let meta: Metadata;
    try {
      meta = await pipeline.metadata();
    } catch (error) {
      if (isUnknownFormat(error)) return { ok: false, failure: { reason: 'not-an-image', message: `not an image (no JPEG, PNG or WebP signature; ${bytes.byteLength} bytes)` } };
      throw error;
    }
    if (!meta.format || !SUPPORTED_FORMATS.includes(meta.format)) {
      return { ok: false, failure: { reason: 'unsupported-format', message: `format ${meta.format ?? 'unknown'} (supported: ${SUPPORTED_FORMATS.join(', ')})` } };
    }
    const pixels = (meta.width ?? 0) * (meta.height ?? 0);
    if (pixels > maxPixels) {
      return { ok: false, failure: { reason: 'too-large', message: `${meta.width}×${meta.height} = ${pixels} pixels, more than the limit of ${maxPixels} (--max-pixels)` } };
    }
    const { data, info } = await toRgb(pipeline);
    if (info.channels !== 3) return { ok: false, failure: { reason: 'corrupt', message: `decoded to ${info.channels} channels, expected 3` } };
    return { ok: true, image: { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height } };
  } catch {
    return { ok: false, failure: corruptFailure(bytes) };
  }
}

/**
 * A damaged or truncated image. The message is made of the file's facts only: libvips words
 * the same damage differently from run to run ("libpng read error" or "Warning treated as
 * error"), and the message is stored in the run's shard, which must be byte-identical on a rerun.
 */
function corruptFailure(bytes: Uint8Array): ImageFailure {
  const format = detectFormat(bytes);
  return { reason: 'corrupt', message: `damaged or truncated ${format ?? 'image'} (${bytes.byteLength} bytes): it does not decode` };
}

/** The format from the file's signature (for messages). */
function detectFormat(bytes: Uint8Array): string | null {
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return 'JPEG';
  if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return 'PNG';
  if (bytes[8] === 0x57 && bytes[9] === 0x45 && bytes[10] === 0x42 && bytes[11] === 0x50) return 'WebP';
  return null;
}

/**
 * Each image's latest resize. A plan lists every scale twice in a row, unflipped then flipped
 * (flipping happens while filling the input tensor), so remembering one resize per image
 * halves the resizes of a scale plan; the entry goes with the image.
 */
const latestResize = new WeakMap<DecodedImage, { width: number; height: number; kernel: ResizeKernel; resized: Promise<DecodedImage> }>();

/**
 * Resizes an RGB image to exactly `size` with the given sharp kernel (a copy; no-op sizes
 * return the input). Asked twice in a row for the same image, size and kernel, it returns the
 * same result: treat it as read-only.
 */
export function resizeImage(image: DecodedImage, size: ImageSize, kernel: ResizeKernel): Promise<DecodedImage> {
  if (size.width === image.width && size.height === image.height) return Promise.resolve(image);
  const latest = latestResize.get(image);
  if (latest !== undefined && latest.width === size.width && latest.height === size.height && latest.kernel === kernel) return latest.resized;
  const resized = resizeWithSharp(image, size, kernel);
  latestResize.set(image, { width: size.width, height: size.height, kernel, resized });
  // A failed resize is not remembered: the next call tries again.
  resized.catch(() => {
    if (latestResize.get(image)?.resized === resized) latestResize.delete(image);
  });
  return resized;
}

async function resizeWithSharp(image: DecodedImage, size: ImageSize, kernel: ResizeKernel): Promise<DecodedImage> {
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
 * Per input channel c, `(p / scale − mean[c]) / std[c]` as `p · a[c] + b[c]`. Every pixel
 * goes through the same double-precision multiply and add, rounded to float32 once when
 * stored: the values a 256-entry table per channel held before, bit for bit, without the
 * table look-ups (the fill took 1.9 instead of 3.0 ms CPU per 640 × 480 input, measured
 * with mean/std normalisation, flipped and not; outputs compared element by element).
 */
function normalisation(pixels: PixelSpec, c: number): { a: number; b: number } {
  return { a: 1 / (pixels.scale * pixels.std[c]), b: -pixels.mean[c] / pixels.std[c] };
}

/**
 * Converts RGB HWC bytes to the normalised float32 CHW tensor data `[1, 3, H', W']` of
 * `padded` size: optional horizontal flip, channel order, `(p / scale − mean) / std`, and
 * zeros (the normalised mean colour) in the bottom/right padding, which moves no coordinate.
 * With `out` (`3·W'·H'` elements, e.g. a reused buffer) the tensor is written there, padding
 * included, and `out` is returned.
 */
export function toInputTensor(image: DecodedImage, pixels: PixelSpec, flip: boolean, padded: ImageSize, out?: Float32Array): Float32Array {
  const { width: w, height: h, data } = image;
  const pw = padded.width;
  const plane = pw * padded.height;
  if (out === undefined) out = new Float32Array(3 * plane);
  else {
    if (out.length !== 3 * plane) throw new OmniRangeError('out.length', `3 × ${pw} × ${padded.height} = ${3 * plane} elements`, out.length);
    zeroPadding(out, w, h, padded);
  }
  // One sequential pass over the HWC bytes writing the three planes, rather than three
  // strided passes: this loop runs over every pixel of every transform (~17 Mpx per
  // 640×480 image under the paper plan).
  // Input channel c reads RGB channel rgb[c]; RGB channel k lands in plane planeOf[k].
  const rgb = pixels.channelOrder === 'rgb' ? [0, 1, 2] : [2, 1, 0];
  const planeOf = [rgb.indexOf(0), rgb.indexOf(1), rgb.indexOf(2)];
  const p0 = planeOf[0] * plane;
  const p1 = planeOf[1] * plane;
  const p2 = planeOf[2] * plane;
  const { a: a0, b: b0 } = normalisation(pixels, planeOf[0]);
  const { a: a1, b: b1 } = normalisation(pixels, planeOf[1]);
  const { a: a2, b: b2 } = normalisation(pixels, planeOf[2]);
  for (let y = 0; y < h; y++) {
    let s = y * w * 3;
    const row = y * pw;
    if (flip) {
      for (let x = w - 1; x >= 0; x--, s += 3) {
        const o = row + x;
        out[p0 + o] = data[s] * a0 + b0;
        out[p1 + o] = data[s + 1] * a1 + b1;
        out[p2 + o] = data[s + 2] * a2 + b2;
      }
    } else {
      for (let x = 0; x < w; x++, s += 3) {
        const o = row + x;
        out[p0 + o] = data[s] * a0 + b0;
        out[p1 + o] = data[s + 1] * a1 + b1;
        out[p2 + o] = data[s + 2] * a2 + b2;
      }
    }
  }
  return out;
}

/** Zeroes the right and bottom padding of each of the three `padded` planes (beyond `w` × `h`). */
function zeroPadding(out: Float32Array, w: number, h: number, padded: ImageSize): void {
  const pw = padded.width;
  const plane = pw * padded.height;
  for (let c = 0; c < 3; c++) {
    const base = c * plane;
    if (pw > w) for (let y = 0; y < h; y++) out.fill(0, base + y * pw + w, base + (y + 1) * pw);
    out.fill(0, base + h * pw, base + plane);
  }
}

// One image's whole job — render, hash, skip if already written correctly, else encode and
// write atomically — as a plain-data function, so it runs the same on the calling thread or
// in a worker thread.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '@omnidistill/coco';
import sharp from 'sharp';
import type { KeypointState } from './figure.js';
import type { Canvas } from './raster.js';
import { renderSample, type SampleKey, type SynthAnnotation, type SynthImage } from './sample.js';

/** What to do for one image: its key, where its PNG goes, and what the state file recorded for it. */
export interface ImageJob {
  readonly key: SampleKey;
  readonly path: string;
  /** [sha1 of the raw pixels, sha1 of the PNG file] from an earlier run, if any. */
  readonly recorded?: readonly [string, string];
}

/** The outcome: the sample's labels, whether the PNG was (re)written, and its new state entry. */
export interface ImageJobResult {
  readonly image: SynthImage;
  readonly annotations: SynthAnnotation[];
  readonly states?: readonly (readonly KeypointState[])[];
  readonly written: boolean;
  readonly entry: [string, string];
}

/** Synth writes every file through the project's one atomic write path (@omnidistill/coco). */
export { writeFileAtomic };

export function sha1(data: Uint8Array): string {
  return createHash('sha1').update(data).digest('hex');
}

/** Encodes a canvas as PNG (deterministic: same pixels → same bytes for one sharp build). */
export async function encodePng(canvas: Canvas): Promise<Buffer> {
  return sharp(canvas.data, { raw: { width: canvas.width, height: canvas.height, channels: 3 } }).png({ compressionLevel: 6 }).toBuffer();
}

/** True when `path` holds exactly the PNG recorded for these pixels. */
async function alreadyWritten(path: string, recorded: readonly [string, string] | undefined, pixelHash: string): Promise<boolean> {
  if (recorded === undefined || recorded[0] !== pixelHash) return false;
  try {
    return sha1(await readFile(path)) === recorded[1];
  } catch {
    return false;
  }
}

/** Runs one image job (see {@link ImageJob}). */
export async function runImageJob(job: ImageJob): Promise<ImageJobResult> {
  const sample = renderSample(job.key);
  const pixelHash = sha1(sample.canvas.data);
  const labels = { image: sample.image, annotations: sample.annotations, ...(sample.states ? { states: sample.states } : {}) };
  if (await alreadyWritten(job.path, job.recorded, pixelHash)) {
    return { ...labels, written: false, entry: [pixelHash, (job.recorded as readonly [string, string])[1]] };
  }
  const png = await encodePng(sample.canvas);
  await writeFileAtomic(job.path, png);
  return { ...labels, written: true, entry: [pixelHash, sha1(png)] };
}

// The labeled set read for what the teacher commands need before any inference: its image
// sizes (to size the plan) — with unreadable or invalid files as usage errors naming the file.
import { CocoValidationError, readCocoDataset, readCocoImages } from '@omnidistill/coco';
import type { CocoDataset } from '@omnidistill/coco';
import type { ImageSize } from '@omnidistill/core';
import { UsageError } from './types.js';

/** Reads a COCO file given by `flag`, turning missing files and invalid content into exit-2 errors. */
export async function readCocoFlag(flag: string, file: string): Promise<CocoDataset> {
  try {
    return await readCocoDataset(file);
  } catch (err) {
    throw flagError(flag, file, err);
  }
}

function flagError(flag: string, file: string, err: unknown): UsageError {
  if (err instanceof CocoValidationError) return new UsageError(`--${flag} ${file}: invalid COCO file: ${err.message}`);
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== undefined) return new UsageError(`--${flag}: cannot read ${file} (${code})`);
  return new UsageError(`--${flag} ${file}: ${(err as Error).message}`);
}

/**
 * The distinct image sizes of the COCO file given by `flag`, streamed record by record (an
 * unlabeled set of any length is never held); errors as {@link readCocoFlag}.
 */
export async function distinctImageSizes(flag: string, file: string): Promise<ImageSize[]> {
  const sizes = new Map<string, ImageSize>();
  try {
    for await (const i of readCocoImages(file)) sizes.set(`${i.width}x${i.height}`, { width: i.width, height: i.height });
  } catch (err) {
    throw flagError(flag, file, err);
  }
  return [...sizes.values()];
}

/** The width × height of every image of a COCO dataset (images without sizes are skipped). */
export function imageSizes(dataset: CocoDataset): ImageSize[] {
  return dataset.images.filter((i) => i.width > 0 && i.height > 0).map((i) => ({ width: i.width, height: i.height }));
}

/** The image sizes of the labeled COCO file passed as --labeled. */
export async function labeledImageSizes(file: string): Promise<ImageSize[]> {
  return imageSizes(await readCocoFlag('labeled', file));
}

// The labeled set read for what the teacher commands need before any inference: its image
// sizes (to size the plan) — with unreadable or invalid files as usage errors naming the file.
import { CocoValidationError, readCocoDataset } from '@omnidistill/coco';
import type { CocoDataset } from '@omnidistill/coco';
import type { ImageSize } from '@omnidistill/core';
import { UsageError } from './types.js';

/** Reads a COCO file given by `flag`, turning missing files and invalid content into exit-2 errors. */
export async function readCocoFlag(flag: string, file: string): Promise<CocoDataset> {
  try {
    return await readCocoDataset(file);
  } catch (err) {
    if (err instanceof CocoValidationError) throw new UsageError(`--${flag} ${file}: invalid COCO file: ${err.message}`);
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== undefined) throw new UsageError(`--${flag}: cannot read ${file} (${code})`);
    throw new UsageError(`--${flag} ${file}: ${(err as Error).message}`);
  }
}

/** The width × height of every image of a COCO dataset (images without sizes are skipped). */
export function imageSizes(dataset: CocoDataset): ImageSize[] {
  return dataset.images.filter((i) => i.width > 0 && i.height > 0).map((i) => ({ width: i.width, height: i.height }));
}

/** The image sizes of the labeled COCO file passed as --labeled. */
export async function labeledImageSizes(file: string): Promise<ImageSize[]> {
  return imageSizes(await readCocoFlag('labeled', file));
}

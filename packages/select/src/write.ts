// Writing the generated labels and the calibration record, atomically (temp file in the
// same directory, fsync, rename): a reader never sees a half-written file.
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';
import type { GeneratedDataset } from './coco-shape.js';
import type { Calibration } from './types.js';

/** Writes `text` to `path` so that `path` holds either the old or the whole new content. */
async function writeFileAtomic(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  const handle = await open(temp, 'w');
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** Writes the generated-labels COCO file atomically. */
export async function writeGeneratedLabels(path: string, dataset: GeneratedDataset): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(dataset));
}

/** Writes the calibration record (thresholds, counts before/after, curves) as pretty JSON, atomically. */
export async function writeCalibrationRecord(path: string, calibration: Calibration): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(calibration, null, 2)}\n`);
}

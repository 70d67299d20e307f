// Writing the generated labels and the calibration record atomically through
// @omnidistill/coco (temp file, fsync, rename): a reader never sees a half-written file.
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeAtomically, writeCocoDataset } from '@omnidistill/coco';
import type { CocoDatasetStream } from '@omnidistill/coco';
import type { GeneratedDataset } from './coco-shape.js';
import type { Calibration } from './types.js';

/** Writes the generated-labels COCO file atomically (creating its directory). */
export async function writeGeneratedLabels(path: string, dataset: GeneratedDataset): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeCocoDataset(path, dataset);
}

/** Writes the calibration record (thresholds, counts before/after, curves) as pretty JSON, atomically. */
export async function writeCalibrationRecord(path: string, calibration: Calibration): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeAtomically(path, (push) => push(`${JSON.stringify(calibration, null, 2)}\n`));
}

/** Writes a generated-labels file whose images and annotations are produced while writing. */
export async function writeDatasetStream(path: string, dataset: CocoDatasetStream): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeCocoDataset(path, dataset);
}

// A tiny synthetic keypoint set (packages/synth) and a reference keypoint model trained on
// it for a few steps (packages/models): real files for the predict / check-model / label
// tests. Built once per test file in a temporary folder.
import { join } from 'node:path';
import { generateSplits } from '@omnidistill/synth';
import { trainKeypointModel } from '@omnidistill/models';

export interface TeacherFixture {
  /** COCO file + image folder of a small labeled split. */
  labeled: string;
  labeledImages: string;
  model: string;
  manifest: string;
}

export async function buildTeacherFixture(dir: string, options: { images?: number; steps?: number } = {}): Promise<TeacherFixture> {
  const gen = await generateSplits({ outDir: join(dir, 'data'), imageSize: 64, counts: { labeled: options.images ?? 12 }, seed: 3, hiddenLabels: false });
  const split = gen.splits.labeled!;
  const trained = await trainKeypointModel({
    train: { coco: split.annotations, imageDir: split.imagesDir },
    steps: options.steps ?? 12,
    batch: 4,
    outDir: join(dir, 'model'),
    threads: 1,
    seed: 1,
  });
  return { labeled: split.annotations, labeledImages: split.imagesDir, model: trained.onnxPath, manifest: trained.manifestPath };
}

// A tiny labeling problem for the sharded-labeling tests: procedural object images (48 px),
// a labeled split, and the reference detector trained for two steps as the teacher (its
// near-random scores give every image many candidates, so count matching has work to do).
import { join } from 'node:path';
import { trainDetector } from '@omnidistill/models';
import { generateSplits } from '@omnidistill/synth';

export interface LabelFixture {
  teacher: string;
  unlabeled: string;
  images: string;
  labeled: string;
}

/** Writes the fixture under `dir` (about a second for 40 images). */
export async function makeLabelFixture(dir: string, options: { unlabeled?: number; seed?: number } = {}): Promise<LabelFixture> {
  const splits = await generateSplits({ outDir: dir, style: 'objects', imageSize: 48, counts: { labeled: 8, unlabeled: options.unlabeled ?? 40 }, seed: options.seed ?? 3, hiddenLabels: false });
  const labeled = splits.splits.labeled!;
  const unlabeled = splits.splits.unlabeled!;
  const teacher = await trainDetector({ train: { coco: labeled.annotations, imageDir: labeled.imagesDir }, steps: 2, batch: 2, outDir: join(dir, 'teacher'), name: 'teacher', threads: 1 });
  return { teacher: teacher.onnxPath, unlabeled: unlabeled.annotations, images: unlabeled.imagesDir, labeled: labeled.annotations };
}

/** The `omnidistill label` arguments for the fixture (one identity pass + flip). */
export function labelArgs(f: LabelFixture, out: string): string[] {
  return ['label', '--task', 'detection', '--teacher', f.teacher, '--unlabeled', f.unlabeled, '--images', f.images, '--labeled', f.labeled, '--plan', 'flip', '--chunk-size', '4', '--out', out];
}

/** The environment without any batch engine's shard variables (tests choose their own). */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (/^(OMNIDISTILL_SHARD_|SLURM_|JOB_COMPLETION_INDEX|AWS_BATCH_|CLOUD_RUN_)/.test(k)) delete env[k];
  return { ...env, ...extra };
}

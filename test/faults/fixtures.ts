// A tiny, fully synthetic labeling setup for the fault suite: a detector "teacher" whose
// prediction is exact (the box of the red pixels, from packages/infer's test fixtures), a
// folder of small PNGs, and the unlabeled/labeled COCO files — every `label` run takes
// seconds, so the suite can afford to kill, fill disks and rerun many times.
import { spawn, spawnSync } from 'node:child_process';
import type { SpawnSyncReturns } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROIS, detectorManifest, fixedRoiDetector, keypointManifest, redBoxDetector, roiAlignKeypointModel, writeRunImages } from '../../packages/infer/test/fixtures.js';

export { fixedRoiDetector };

export const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const bin = join(repo, 'packages/cli/dist/bin.js');

/** Number of unlabeled images of the setup. */
export const IMAGE_COUNT = 24;


export interface Setup {
  root: string;
  teacher: string;
  images: string;
  unlabeled: string;
  labeled: string;
}

/** Writes the teacher, images and COCO files under `root`. */
export async function writeSetup(root: string): Promise<Setup> {
  const images = join(root, 'images');
  const names = await writeRunImages(images, IMAGE_COUNT, []);
  const teacher = join(root, 'teacher.onnx');
  await writeFile(teacher, redBoxDetector());
  // the parsed manifest of infer's fixtures, back to its file form (parsing adds an empty layoutOptions)
  const { layoutOptions: _parsedOnly, ...manifest } = detectorManifest as typeof detectorManifest & { layoutOptions?: unknown };
  await writeFile(join(root, 'teacher.json'), JSON.stringify(manifest));
  const unlabeled = join(root, 'unlabeled.json');
  await writeCoco(unlabeled, names.map((file_name, i) => ({ id: i + 1, file_name })), []);
  const labeled = join(root, 'labeled.json');
  const labeledImages = [1, 2, 3, 4].map((id) => ({ id, file_name: `l${id}.png` }));
  await writeCoco(labeled, labeledImages, labeledImages.map((im) => ({ id: im.id, image_id: im.id, category_id: 1, bbox: [0, 8, 32, 32], area: 1024, iscrowd: 0 })));
  return { root, teacher, images, unlabeled, labeled };
}

/**
 * A keypoint teacher (infer's RoI-align test model: K = 3, one keypoint per colour block)
 * with `--boxes` files, beside the detection setup: the RoIs come from `boxes.json`.
 */
export async function writeKeypointSetup(s: Setup): Promise<{ teacher: string; boxes: string; labeled: string }> {
  const teacher = join(s.root, 'kp-teacher.onnx');
  await writeFile(teacher, roiAlignKeypointModel(2, { dynamic: true }));
  const { layoutOptions: _parsedOnly, ...manifest } = keypointManifest as typeof keypointManifest & { layoutOptions?: unknown };
  await writeFile(join(s.root, 'kp-teacher.json'), JSON.stringify(manifest));
  const ids = Array.from({ length: IMAGE_COUNT }, (_, i) => i + 1);
  const box = ([x1, y1, x2, y2]: number[]) => [x1, y1, x2 - x1, y2 - y1];
  const boxes = join(s.root, 'boxes.json');
  await writeCoco(boxes, ids.map((id) => ({ id, file_name: `img${String(id - 1).padStart(3, '0')}.png` })), ids.flatMap((id) => ROIS.map((r, k) => ({ id: 2 * id + k, image_id: id, category_id: 1, bbox: box(r), area: 1024, iscrowd: 0 }))), true);
  const labeled = join(s.root, 'kp-labeled.json');
  const kps = [4, 4, 2, 8, 8, 2, 0, 0, 0];
  await writeCoco(labeled, [1, 2].map((id) => ({ id, file_name: `l${id}.png` })), [1, 2].map((id) => ({ id, image_id: id, category_id: 1, bbox: [0, 8, 32, 32], area: 1024, iscrowd: 0, keypoints: kps, num_keypoints: 2 })), true);
  return { teacher, boxes, labeled };
}

/** Writes a COCO file of 64×48 images with category 1 ("red"). */
export async function writeCoco(file: string, images: { id: number; file_name: string }[], annotations: object[], keypoints = false): Promise<void> {
  const category = keypoints ? { id: 1, name: 'blocks', keypoints: ['red', 'green', 'blue'], skeleton: [] } : { id: 1, name: 'red' };
  await writeFile(file, JSON.stringify({ images: images.map((im) => ({ ...im, width: 64, height: 48 })), annotations, categories: [category] }));
}

/** The `label` arguments for `setup` writing to `out` (single pass: the fastest plan; 4 images per chunk, so a kill lands between chunks). */
export function labelArgs(s: Setup, out: string, extra: string[] = []): string[] {
  return ['label', '--task', 'detection', '--teacher', s.teacher, '--unlabeled', s.unlabeled, '--images', s.images, '--labeled', s.labeled, '--out', out, '--plan', 'single', '--chunk-size', '4', ...extra];
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI to completion (a hang fails the test through `timeout`). */
export function cli(args: string[], options: { timeoutMs?: number; nodeArgs?: string[]; env?: NodeJS.ProcessEnv } = {}): CliResult {
  const r: SpawnSyncReturns<string> = spawnSync(process.execPath, [...(options.nodeArgs ?? []), bin, ...args], {
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 120_000,
    env: { ...process.env, ...options.env },
  });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** Starts the CLI and SIGKILLs it after `delayMs` (if still running). */
export function cliKilledAfter(args: string[], delayMs: number): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
  });
}

/**
 * The state a chunk journal (`chunks.jsonl`, append-only) records: the last line of each
 * chunk, in chunk order. Its bytes hold the run's history (a resumed run appends where an
 * uninterrupted one wrote in one go, a retried chunk has two lines); its state must match.
 */
function journalState(text: string): string {
  const last = new Map<number, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    last.set((JSON.parse(line) as { shard: number }).shard, line);
  }
  return [...last.entries()].sort(([a], [b]) => a - b).map(([, l]) => l).join('\n');
}

/**
 * Every output file of a label run folder, relative path → SHA-256 of its bytes (of its
 * recorded state for a chunk journal, see journalState). The lock file is left out (it names
 * a pid); temp files are kept, so a leftover shows as a difference.
 */
export async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.name === 'chunks.jsonl') out[relative(dir, p)] = createHash('sha256').update(journalState(await readFile(p, 'utf8'))).digest('hex');
      else if (e.name !== '.omnidistill.lock') out[relative(dir, p)] = createHash('sha256').update(await readFile(p)).digest('hex');
    }
  };
  await walk(dir);
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** Makes `dir` (and parents). */
export async function mkdirp(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  return dir;
}

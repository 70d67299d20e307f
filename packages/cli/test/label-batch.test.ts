// label with a yolo teacher exported with a dynamic batch dimension (the transforms of an
// image in one model call) against the same weights exported with batch 1 (a call per
// transform): the run's log says which, and the labels and raw predictions are the same bytes.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers.js';

const LAYOUTS = join(import.meta.dirname, '..', '..', 'infer', 'test', 'layouts');
const IMAGES = join(LAYOUTS, 'images');
const tmp = mkdtempSync(join(tmpdir(), 'omnidistill-label-batch-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The three fixture images as a COCO file (boxes for the count matching of categories 1-3). */
function cocoOfFixtureImages(): string {
  const sizes: [string, number, number][] = [['grey-81x81.png', 81, 81], ['odd-97x75.png', 97, 75], ['tall-64x120.png', 64, 120]];
  const coco = {
    images: sizes.map(([file_name, width, height], i) => ({ id: i + 1, file_name, width, height })),
    annotations: sizes.map((_, i) => ({ id: i + 1, image_id: i + 1, category_id: i + 1, bbox: [5, 5, 30, 30], area: 900, iscrowd: 0 })),
    categories: [1, 2, 3].map((id) => ({ id, name: `c${id}` })),
  };
  const path = join(tmp, 'images.json');
  writeFileSync(path, JSON.stringify(coco));
  return path;
}

/** Every file of a run folder but the lock, by relative path, with its bytes. */
function runFiles(dir: string): Record<string, string> {
  const files = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && !e.name.startsWith('.omnidistill'));
  return Object.fromEntries(files.map((e) => [join(e.parentPath, e.name).slice(dir.length), readFileSync(join(e.parentPath, e.name), 'latin1')]));
}

describe('label with a dynamic-batch yolo teacher', () => {
  it('runs an image’s transforms in one call, says so, and writes the same files as the batch-1 export', async () => {
    const coco = cocoOfFixtureImages();
    const label = (teacher: string) =>
      runCli('label', '--task', 'detection', '--teacher', join(LAYOUTS, `${teacher}.onnx`), '--unlabeled', coco, '--images', IMAGES, '--labeled', coco, '--scales', '0.75x,1.25x', '--no-check', '--out', join(tmp, teacher));
    const one = await label('yolo-detect');
    const many = await label('yolo-detect-batch');
    const bad = await label('yolo-detect-badbatch'); // declares a dynamic batch its graph does not honour
    expect(one.code, one.stderr).toBe(0);
    expect(many.code, many.stderr).toBe(0);
    expect(bad.code, bad.stderr).toBe(0);
    // The start line says what runs (found by a probe before the run), not what the model declares.
    expect(bad.stderr).toMatch(/yolo-detect-badbatch\.onnx: declares a dynamic batch dimension, but its graph does not take a batch \(.*Reshape.*\): 6 model calls per image, one transform each/);
    expect(bad.stderr).not.toMatch(/up to 8 per model call|during the run/);
    expect(one.stderr).toMatch(/yolo-detect\.onnx: batch dimension fixed at 1: 6 model calls per image; an export with a dynamic batch dimension would take up to 8 transforms per call/);
    expect(many.stderr).toMatch(/yolo-detect-batch\.onnx: dynamic batch dimension: the 6 transforms of an image go up to 8 per model call/);
    const [a, b] = [runFiles(join(tmp, 'yolo-detect')), runFiles(join(tmp, 'yolo-detect-batch'))];
    expect(Object.keys(a)).toContain('/generated.json');
    expect(JSON.parse(a['/generated.json']).annotations.length).toBeGreaterThan(0);
    // run.json names its teacher (a different file): everything else is byte-identical.
    const withoutRun = (files: Record<string, string>) => Object.fromEntries(Object.entries(files).filter(([k]) => !k.endsWith('run.json')));
    expect(Object.keys(withoutRun(a)).length).toBeGreaterThan(3); // labels, calibration, image list, prediction shards
    expect(withoutRun(b)).toEqual(withoutRun(a));
    expect(withoutRun(runFiles(join(tmp, 'yolo-detect-badbatch')))).toEqual(withoutRun(a));
  }, 60_000);
});

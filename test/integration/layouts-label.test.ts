// `omnidistill label` with teachers of every model layout (the torch.onnx exports made by
// tools/layouts/export.py, committed under packages/infer/test/layouts), as users run it:
// the built CLI in a child process, a multi-transform plan, manifest-driven — no flag names
// the layout. Each run must finish and write COCO labels of the right shape.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { COCO_PERSON } from '@omnidistill/core';
import { cleanEnv } from './label-fixture.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const bin = join(repo, 'packages/cli/dist/bin.js');
const fixtures = join(repo, 'packages/infer/test/layouts');
const images = join(fixtures, 'images');
const work = mkdtempSync(join(tmpdir(), 'omnidistill-layouts-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const SIZES: Record<string, [number, number]> = { 'odd-97x75.png': [97, 75], 'tall-64x120.png': [64, 120], 'grey-81x81.png': [81, 81] };

/** A labeled set on the fixture images: one person with keypoints and two objects each. */
function writeCoco(): { labeled: string; unlabeled: string } {
  const imgs = Object.entries(SIZES).map(([file_name, [width, height]], i) => ({ id: i + 1, file_name, width, height }));
  let id = 0;
  const annotations = imgs.flatMap((im) => {
    const [w, h] = [im.width, im.height];
    const person = [0.15 * w, 0.1 * h, 0.5 * w, 0.8 * h];
    const keypoints = COCO_PERSON.keypoints.flatMap((_, k) => (k % 2 === 0 ? [person[0] + (k / 17) * person[2], person[1] + (k / 17) * person[3], 2] : [0, 0, 0]));
    const box = (x: number, y: number, bw: number, bh: number, category_id: number) => ({ id: ++id, image_id: im.id, category_id, bbox: [x, y, bw, bh], area: bw * bh, iscrowd: 0 });
    return [
      { ...box(person[0], person[1], person[2], person[3], 1), keypoints, num_keypoints: 9 },
      box(0.6 * w, 0.1 * h, 0.3 * w, 0.3 * h, 2),
      box(0.5 * w, 0.6 * h, 0.4 * w, 0.3 * h, 3),
    ];
  });
  const categories = [
    { id: 1, name: 'person', supercategory: 'person', keypoints: [...COCO_PERSON.keypoints], skeleton: [] },
    { id: 2, name: 'b', supercategory: 'thing' },
    { id: 3, name: 'c', supercategory: 'thing' },
  ];
  const labeled = join(work, 'labeled.json');
  const unlabeled = join(work, 'unlabeled.json');
  writeFileSync(labeled, JSON.stringify({ images: imgs, annotations, categories }));
  writeFileSync(unlabeled, JSON.stringify({ images: imgs, annotations: [], categories }));
  return { labeled, unlabeled };
}

const coco = writeCoco();

function label(name: string, task: 'keypoints' | 'detection', extra: string[] = []) {
  const out = join(work, `${name}-${extra.length}`);
  const args = ['label', '--task', task, '--teacher', join(fixtures, `${name}.onnx`), '--unlabeled', coco.unlabeled, '--images', images, '--labeled', coco.labeled, '--scales', '0.75x,1.25x', '--out', out, ...extra];
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: cleanEnv(), timeout: 300_000 });
  return { code: r.status, stderr: r.stderr, out };
}

describe('omnidistill label with every model layout (scales 0.75x, 1.25x ± flip)', () => {
  it.each([
    ['fasterrcnn', 'detection', []],
    ['yolo-detect', 'detection', []],
    ['keypointrcnn', 'keypoints', []],
    ['yolo-pose', 'keypoints', []],
    ['topdown', 'keypoints', ['--boxes']],
    ['simcc', 'keypoints', ['--boxes']],
  ] as const)('%s (%s) writes generated labels', (name, task, flags) => {
    const r = label(name, task, flags.length > 0 ? [...flags, coco.labeled] : []);
    expect(r.code, r.stderr).toBe(0);
    const generated = JSON.parse(readFileSync(join(r.out, 'generated.json'), 'utf8'));
    expect(generated.images.length).toBeGreaterThan(0);
    for (const a of generated.annotations) {
      expect(a.bbox.every(Number.isFinite)).toBe(true);
      if (task === 'keypoints') expect(a.keypoints).toHaveLength(3 * 17);
    }
  }, 300_000);

  it.each([
    ['yolo-pose', []],
    ['keypointrcnn', []],
    ['simcc', ['--boxes']],
    ['yolo-detect', []],
  ] as const)('omnidistill predict with %s writes COCO results under a multi-transform plan', (name, flags) => {
    const out = join(work, `${name}-results.json`);
    const args = ['predict', '--model', join(fixtures, `${name}.onnx`), '--images', images, '--out', out, '--scales', '0.75x,1.25x', ...(flags.length > 0 ? [...flags, coco.labeled] : ['--image-list', coco.unlabeled])];
    const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: cleanEnv(), timeout: 300_000 });
    expect(r.status, r.stderr).toBe(0);
    const results = JSON.parse(readFileSync(out, 'utf8')) as { image_id: number; score: number; keypoints?: number[]; bbox?: number[] }[];
    expect(results.length).toBeGreaterThan(0);
    expect(new Set(results.map((x) => x.image_id))).toEqual(new Set([1, 2, 3]));
    for (const x of results) expect(Number.isFinite(x.score)).toBe(true);
  }, 300_000);

  it('refuses --detector/--boxes for a teacher that finds the people itself (exit 2)', () => {
    const r = label('yolo-pose', 'keypoints', ['--boxes', coco.labeled]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('layout "yolo" finds the people itself; drop --detector/--boxes');
  });
});

/** Runs the built CLI in a child process. */
function cli(args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: cleanEnv(), timeout: 300_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The labeled set restricted to people: a keypoints evaluation needs keypoints on every category it scores. */
function personOnly(): string {
  const d = JSON.parse(readFileSync(coco.labeled, 'utf8'));
  const file = join(work, 'people.json');
  writeFileSync(file, JSON.stringify({ ...d, annotations: d.annotations.filter((a: { category_id: number }) => a.category_id === 1), categories: d.categories.slice(0, 1) }));
  return file;
}

describe('omnidistill predict → eval and check-model with every model layout', () => {
  const people = personOnly();
  it.each([
    ['fasterrcnn', 'bbox', []],
    ['yolo-detect', 'bbox', []],
    ['keypointrcnn', 'keypoints', []],
    ['yolo-pose', 'keypoints', []],
    ['topdown', 'keypoints', ['--boxes', coco.labeled]],
    ['simcc', 'keypoints', ['--boxes', coco.labeled]],
  ] as const)('%s: single pass and 0.75x/1.25x ± flip give COCO results eval scores; check-model reports', (name, iouType, flags) => {
    const model = join(fixtures, `${name}.onnx`);
    for (const plan of [[], ['--scales', '0.75x,1.25x']]) {
      const out = join(work, `predict-${name}-${plan.length}.json`);
      const p = cli(['predict', '--model', model, '--images', images, '--image-list', coco.labeled, '--out', out, ...flags, ...plan]);
      expect(p.code, p.stderr).toBe(0);
      const results = JSON.parse(readFileSync(out, 'utf8')) as { image_id: number; bbox: number[]; keypoints?: number[] }[];
      expect(results.every((r) => r.bbox.length === 4 && r.bbox.every(Number.isFinite))).toBe(true);
      if (iouType === 'keypoints') expect(results.every((r) => r.keypoints?.length === 51)).toBe(true);
      const e = cli(['eval', '--gt', iouType === 'keypoints' ? people : coco.labeled, '--results', out, '--iou-type', iouType, '--json']);
      expect(e.code, e.stderr).toBe(0);
      expect(JSON.parse(e.stdout).results).toBe(results.length);
    }
    const c = cli(['check-model', '--model', model, '--labeled', coco.labeled, '--images', images, '--sample', '3', '--json']);
    expect(c.code, c.stderr).toBe(0);
    const report = JSON.parse(c.stdout).reports[0];
    expect(report.passes.map((p: { transform: string }) => p.transform)).toEqual(['identity', 'orig-flip', 'x2']);
    // Random-weight exports: the check must say the teacher is useless, never pass it silently.
    expect(report.warnings.join('\n')).toMatch(/near-zero|zero (detections|keypoint instances)/);
  }, 300_000);
});

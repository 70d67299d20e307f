// `omnidistill eval` run as a child process (from its TypeScript sources through tsx):
// parity of the printed stats with pycocotools, the JSON contract, exit codes and messages.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const fixtures = join(pkg, '..', 'coco', 'test', 'fixtures');
const tmp = mkdtempSync(join(tmpdir(), 'omnidistill-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function cli(...args: string[]): Run {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--conditions=source', join(pkg, 'src', 'bin.ts'), ...args], {
    cwd: pkg,
    encoding: 'utf8',
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const kpCase = join(fixtures, 'case11_000_kp');
const bboxCase = join(fixtures, 'case11_001_bbox');
const expectedOf = (dir: string): Record<string, number[]> => JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8'));

describe('omnidistill eval', () => {
  it('prints the pycocotools summary for boxes', () => {
    const r = cli('eval', '--gt', join(bboxCase, 'gt.json'), '--results', join(bboxCase, 'dt.json'), '--iou-type', 'bbox');
    expect(r.status).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(12);
    expect(lines[0]).toMatch(/^ Average Precision {2}\(AP\) @\[ IoU=0\.50:0\.95 \| area= {3}all \| maxDets=100 \] = \d\.\d{3}$/);
    const printed = lines.map((l) => Number(l.slice(-5)));
    expectedOf(bboxCase).bbox.forEach((v, i) => expect(printed[i]).toBeCloseTo(v, 3));
  });

  it('--json prints exactly one JSON object whose stats match pycocotools to 1e-9', () => {
    const r = cli('eval', '--gt', join(kpCase, 'gt.json'), '--results', join(kpCase, 'dt.json'), '--iou-type', 'keypoints', '--json');
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    const out = JSON.parse(r.stdout) as { stats: number[]; statNames: string[]; perCategory: { categoryId: number; ap: number }[]; iouType: string };
    expect(out.iouType).toBe('keypoints');
    expect(out.statNames).toHaveLength(10);
    expectedOf(kpCase).keypoints.forEach((v, i) => expect(Math.abs(out.stats[i] - v)).toBeLessThanOrEqual(1e-9));
    // one category: its AP is the overall AP
    expect(out.perCategory).toHaveLength(1);
    expect(out.perCategory[0].ap).toBeCloseTo(out.stats[0], 12);
  });

  it('--help documents the flags and exit codes', () => {
    const r = cli('eval', '--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('--iou-type');
    expect(r.stdout).toContain('Exit codes: 0 success, 1 runtime failure, 2 bad usage or invalid input');
    const top = cli('--help');
    expect(top.status).toBe(0);
    expect(top.stdout).toMatch(/^ {2}eval {2}/m);
  });

  it('bad usage exits 2 with a message on stderr and nothing on stdout', () => {
    const missing = cli('eval', '--gt', join(bboxCase, 'gt.json'), '--iou-type', 'bbox');
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('--results is required');
    expect(missing.stdout).toBe('');
    const badType = cli('eval', '--gt', 'a', '--results', 'b', '--iou-type', 'segm');
    expect(badType.status).toBe(2);
    expect(badType.stderr).toContain('--iou-type: expected "bbox" or "keypoints", received "segm"');
    const unknownFlag = cli('eval', '--gt', 'a', '--bogus');
    expect(unknownFlag.status).toBe(2);
    expect(unknownFlag.stderr).toContain('--bogus');
    const unknownCommand = cli('evaluate');
    expect(unknownCommand.status).toBe(2);
    expect(unknownCommand.stderr).toContain('unknown command "evaluate"');
  });

  it('invalid input files exit 2 naming the file and the place', () => {
    const noFile = cli('eval', '--gt', join(tmp, 'absent.json'), '--results', join(bboxCase, 'dt.json'), '--iou-type', 'bbox');
    expect(noFile.status).toBe(2);
    expect(noFile.stderr).toContain('cannot read ground truth file');
    expect(noFile.stderr).toContain('ENOENT');

    const gt = JSON.parse(readFileSync(join(kpCase, 'gt.json'), 'utf8'));
    gt.annotations[3].keypoints = gt.annotations[3].keypoints.slice(0, 48);
    const badGt = join(tmp, 'bad-gt.json');
    writeFileSync(badGt, JSON.stringify(gt));
    const r = cli('eval', '--gt', badGt, '--results', join(kpCase, 'dt.json'), '--iou-type', 'keypoints');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('annotations[3].keypoints: expected 51 numbers (17 × 3), received 48');

    const dt = JSON.parse(readFileSync(join(bboxCase, 'dt.json'), 'utf8'));
    dt[4].image_id = 424242;
    const badDt = join(tmp, 'bad-dt.json');
    writeFileSync(badDt, JSON.stringify(dt));
    const r2 = cli('eval', '--gt', join(bboxCase, 'gt.json'), '--results', badDt, '--iou-type', 'bbox', '--json');
    expect(r2.status).toBe(2);
    expect(r2.stdout).toBe('');
    expect(r2.stderr).toContain('[4].image_id: expected the id of an image in the ground truth, received 424242');
  });
});

describe('omnidistill eval: which categories are scored', () => {
  // A people + objects dataset: one box-only category beside the keypoint category.
  const mixedGt = join(tmp, 'mixed-gt.json');
  const gt = JSON.parse(readFileSync(join(kpCase, 'gt.json'), 'utf8')) as { categories: object[]; annotations: { image_id: number }[] };
  gt.categories.push({ id: 2, name: 'car', supercategory: 'thing' });
  gt.annotations.push({ id: 999999, image_id: gt.annotations[0].image_id, category_id: 2, bbox: [1, 1, 5, 5], area: 25, iscrowd: 0 } as never);
  writeFileSync(mixedGt, JSON.stringify(gt));
  const statsOf = (r: Run) => (JSON.parse(r.stdout) as { stats: number[]; perCategory: { categoryId: number }[] });

  it('keypoints default to the categories that declare keypoints, with a note, and equal the person-only result', () => {
    const mixed = cli('eval', '--gt', mixedGt, '--results', join(kpCase, 'dt.json'), '--iou-type', 'keypoints', '--json');
    expect(mixed.status).toBe(0);
    expect(mixed.stderr).toContain('evaluating keypoints of categories 1');
    const alone = cli('eval', '--gt', join(kpCase, 'gt.json'), '--results', join(kpCase, 'dt.json'), '--iou-type', 'keypoints', '--json');
    expect(statsOf(mixed).stats).toEqual(statsOf(alone).stats);
    expect(statsOf(mixed).perCategory.map((c) => c.categoryId)).toEqual([1]);
  });

  it('--cat-ids chooses the categories; a box-only category under keypoints and an unknown id exit 2 naming it', () => {
    const chosen = cli('eval', '--gt', mixedGt, '--results', join(kpCase, 'dt.json'), '--iou-type', 'keypoints', '--cat-ids', '1', '--json');
    expect(chosen.status).toBe(0);
    expect(chosen.stderr).toBe('');
    const boxOnly = cli('eval', '--gt', mixedGt, '--results', join(kpCase, 'dt.json'), '--iou-type', 'keypoints', '--cat-ids', '1,2');
    expect(boxOnly.status).toBe(2);
    expect(boxOnly.stderr).toMatch(/category 2/);
    const unknown = cli('eval', '--gt', mixedGt, '--results', join(kpCase, 'dt.json'), '--iou-type', 'keypoints', '--cat-ids', '7');
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('--cat-ids[0]: category 7 is not in the ground truth');
    const bad = cli('eval', '--gt', mixedGt, '--results', join(kpCase, 'dt.json'), '--iou-type', 'bbox', '--cat-ids', 'x');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--cat-ids[0]');
  });
});

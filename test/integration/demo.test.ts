// End to end: `omnidistill demo` on a tiny configuration, as a user runs it (the built
// CLI in a child process). Checks the table/JSON/report outputs, that a re-run resumes
// every finished stage with identical results, that Ctrl-C leaves resumable state, and
// that bad flags exit with code 2.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCocoDataset } from '@omnidistill/coco';
import { afterAll, describe, expect, it } from 'vitest';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const bin = join(repo, 'packages/cli/dist/bin.js');
const work = mkdtempSync(join(tmpdir(), 'omnidistill-demo-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

// Each step spawns the real CLI; on a loaded 2-core machine a tiny run can take minutes.
const SLOW = 600_000;
const TINY = ['--quick', '--labeled', '10', '--unlabeled', '10', '--val', '8', '--teacher-steps', '4', '--student-steps', '6'];

function demo(args: string[]) {
  const r = spawnSync(process.execPath, [bin, 'demo', ...args], { encoding: 'utf8', timeout: 600_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Row {
  name: string;
  single: number;
  multi: number;
  steps: number;
}

describe('omnidistill demo (tiny keypoints run)', () => {
  const out = join(work, 'kp');
  let first: { rows: Row[]; calibration: { instancesPerImage: { before: number; after: number; target: number } } };

  it('runs the whole loop and writes results, generated labels and an offline report', async () => {
    const r = demo([...TINY, '--out', out, '--json']);
    expect(r.stderr).not.toMatch(/failed/);
    expect(r.code).toBe(0);
    first = JSON.parse(r.stdout);
    expect(first.rows.map((x) => x.name)).toEqual(['teacher', 'supervised-long', 'student']);
    expect(first.rows.map((x) => x.steps)).toEqual([4, 6, 6]);
    for (const row of first.rows) {
      for (const ap of [row.single, row.multi]) {
        expect(ap).toBeGreaterThanOrEqual(0);
        expect(ap).toBeLessThanOrEqual(1);
      }
    }
    // Count matching never keeps more than it had.
    const c = first.calibration.instancesPerImage;
    expect(c.after).toBeLessThanOrEqual(c.before);
    const generated = await readCocoDataset(join(out, 'labels/generated.json'));
    expect(generated.images).toHaveLength(10);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toContain('<table>');
    expect(html).toMatch(/<svg[^>]*>.*polyline/s);
    expect(html).toContain('data:image/png;base64,');
    expect(html).not.toMatch(/(src|href)="https?:/); // opens offline
    expect(r.stderr).toMatch(/train teacher: \d+ params/);
    expect(r.stderr).toMatch(/eta/);
  }, SLOW);

  it('resumes: a second run reuses every finished stage and prints the same numbers', () => {
    const r = demo([...TINY, '--out', out, '--json']);
    expect(r.code).toBe(0);
    for (const stage of ['data', 'train-teacher', 'label', 'train-student', 'train-supervised-long', 'eval-student']) {
      expect(r.stderr).toContain(`${stage}: already done (resuming)`);
    }
    expect(r.stderr).not.toMatch(/train teacher \[/);
    expect(JSON.parse(r.stdout).rows).toEqual(first.rows);
  }, SLOW);

  it('report rebuilds the HTML from a finished run', () => {
    rmSync(join(out, 'report.html'));
    const r = spawnSync(process.execPath, [bin, 'report', '--run', out], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/teacher\s+labeled\s+4/);
    expect(existsSync(join(out, 'report.html'))).toBe(true);
  }, SLOW);

  it('Ctrl-C stops at a safe point with exit 130 and the same command resumes', async () => {
    const dir = join(work, 'interrupted');
    const child = spawn(process.execPath, [bin, 'demo', ...TINY, '--out', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    const code = await new Promise<number | null>((resolveExit) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (/train teacher:/.test(stderr) && !child.killed) child.kill('SIGINT');
      });
      child.on('exit', (c) => resolveExit(c));
    });
    expect(code).toBe(130);
    expect(stderr).toMatch(/interrupt/);
    const stages = JSON.parse(readFileSync(join(dir, 'stages.json'), 'utf8')).stages;
    expect(Object.keys(stages)).toContain('train-teacher');
    const r = demo([...TINY, '--out', dir]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('train-teacher: already done (resuming)');
    expect(r.stdout).toMatch(/student\s+labeled ∪ generated/);
  }, SLOW);

  it('bad flags exit with code 2 and name the flag', () => {
    const r = demo(['--task', 'segmentation']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--task: expected one of "keypoints", "detection", received "segmentation"');
    const s = demo(['--teacher-steps', '-3']);
    expect(s.code).toBe(2);
    // `pnpm demo -- --flags` hands the separator through; it must not count as an argument.
    const t = demo(['--', '--task', 'segmentation']);
    expect(t.code).toBe(2);
    expect(t.stderr).toContain('--task: expected one of');
  }, SLOW);
});

// End to end: `omnidistill experiment` at tiny sizes, as a user runs it (the built CLI in a
// child process): results.json with per-seed values and mean ± std, a well-formed SVG plot
// and an HTML report; a re-run resumes every stage with the same numbers; a second
// experiment on the same folder reuses the seed's detector, teacher and shared student.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { xmlProblems } from '../../packages/cli/test/svg-check.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const bin = join(repo, 'packages/cli/dist/bin.js');
const work = mkdtempSync(join(tmpdir(), 'omnidistill-experiment-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

// Enough detector steps that it scores some boxes above the merge's 0.05 floor; the rest tiny.
const TINY = ['--quick', '--labeled', '12', '--unlabeled', '8', '--val', '6', '--teacher-steps', '4', '--student-steps', '4', '--detector-steps', '120', '--out', work, '--json'];
const SLOW = 900_000;

function experiment(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, 'experiment', ...args, ...TINY], { encoding: 'utf8', timeout: SLOW });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Result {
  seeds: number[];
  variants: { id: string; perSeed: { seed: number; gtBoxes: number; endToEnd: number; labels?: { instancesPerImage: number } }[]; gtBoxes: { mean: number; std: number; n: number }; endToEnd: { mean: number; std: number } }[];
}

describe('omnidistill experiment (tiny)', () => {
  let first: Result;

  it('runs selection over two seeds and writes results.json, plot.svg and report.html', () => {
    const r = experiment('selection', '--seeds', '2');
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.code).toBe(0);
    first = JSON.parse(r.stdout) as Result;
    expect(first.seeds).toEqual([1, 2]);
    expect(first.variants.map((v) => v.id)).toEqual(['teacher', 'count-matched', 'fixed-0.5', 'none']);
    for (const v of first.variants) {
      expect(v.perSeed.map((s) => s.seed)).toEqual([1, 2]);
      const [a, b] = v.perSeed.map((s) => s.gtBoxes);
      expect(v.gtBoxes.mean).toBeCloseTo((a + b) / 2, 12);
      expect(v.gtBoxes.std).toBeCloseTo(Math.abs(a - b) / Math.SQRT2, 12);
      for (const s of v.perSeed) for (const ap of [s.gtBoxes, s.endToEnd]) expect(ap).toBeGreaterThanOrEqual(0);
    }
    // Keeping everything keeps at least what count matching keeps.
    const kept = (id: string) => first.variants.find((v) => v.id === id)!.perSeed.map((s) => s.labels!.instancesPerImage);
    kept('none').forEach((n, i) => expect(n).toBeGreaterThanOrEqual(kept('count-matched')[i]));
    expect(JSON.parse(readFileSync(join(work, 'selection', 'results.json'), 'utf8'))).toEqual(first);
    const svg = readFileSync(join(work, 'selection', 'plot.svg'), 'utf8');
    expect(xmlProblems(svg)).toEqual([]);
    expect(svg.match(/<rect /g)?.length).toBeGreaterThanOrEqual(4);
    const html = readFileSync(join(work, 'selection', 'report.html'), 'utf8');
    expect(html).toContain('<svg xmlns="http://www.w3.org/2000/svg"');
    expect(html).not.toMatch(/(src|href)="https?:/);
  }, SLOW);

  it('resumes: the same command reuses every stage and prints the same numbers', () => {
    const r = experiment('selection', '--seeds', '2');
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(/\] train (keypoints|detection) \[/);
    expect(r.stderr).toMatch(/train-detector: already done/);
    expect((JSON.parse(r.stdout) as Result).variants).toEqual(first.variants);
  }, SLOW);

  it("another experiment on the same folder reuses the seed's detector, teacher and the paper's student", () => {
    const r = experiment('transforms', '--seeds', '1');
    expect(r.code).toBe(0);
    const resumed = [...new Set([...r.stderr.matchAll(/^(train-[\w-]+): already done/gm)].map((m) => m[1]))];
    expect(resumed).toContain('train-detector');
    // The teacher and the scales × flip student are the selection experiment's.
    expect(resumed.filter((n) => n.startsWith('train-supervised-'))).toHaveLength(1);
    expect(resumed.filter((n) => n.startsWith('train-student-'))).toHaveLength(1);
    const result = JSON.parse(r.stdout) as Result;
    const paper = result.variants.find((v) => v.id === 'scales-flip')!;
    expect(paper.perSeed[0]).toEqual(first.variants.find((v) => v.id === 'count-matched')!.perSeed[0]);
  }, SLOW);

  it("beyond reuses the paper's student and trains the perturbed ones beside it", () => {
    const r = experiment('beyond', '--seeds', '1');
    expect(r.code).toBe(0);
    const resumed = new Set([...r.stderr.matchAll(/^(train-student-\w+): already done/gm)].map((m) => m[1]));
    const trained = new Set([...r.stderr.matchAll(/^\[(student-\w+)\] /gm)].map((m) => `train-${m[1]}`));
    // The paper's student is selection's; the perturbed one is new.
    expect(resumed.size).toBe(1);
    expect(trained.size).toBe(1);
    const result = JSON.parse(r.stdout) as Result;
    expect(result.variants.map((v) => v.id)).toEqual(['teacher', 'paper-4', 'perturbed-4']);
    const paper = result.variants.find((v) => v.id === 'paper-4')!;
    expect(paper.perSeed[0]).toEqual(first.variants.find((v) => v.id === 'count-matched')!.perSeed[0]);
  }, SLOW);

  it('selection-detection runs on its own objects data and scores box AP only', () => {
    const r = experiment('selection-detection', '--seeds', '1');
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as Result & { task: string };
    expect(result.task).toBe('detection');
    expect(result.variants.map((v) => v.id)).toEqual(['teacher', 'per-category', 'shared', 'fixed-0.5', 'none']);
    for (const v of result.variants) {
      expect(v.gtBoxes).toBeNull();
      expect(v.endToEnd.mean).toBeGreaterThanOrEqual(0);
    }
    const perImage = (id: string) => result.variants.find((v) => v.id === id)!.perSeed[0].labels!.instancesPerImage;
    expect(perImage('none')).toBeGreaterThanOrEqual(perImage('per-category'));
    // Its own folder: the keypoint seed's stages are not touched.
    const stages = JSON.parse(readFileSync(join(work, 'detection-seed-1', 'stages.json'), 'utf8')) as Record<string, unknown>;
    expect(JSON.stringify(stages)).toMatch(/train-supervised-/);
    expect(r.stderr).not.toMatch(/train-detector: already done/);
  }, SLOW);
});

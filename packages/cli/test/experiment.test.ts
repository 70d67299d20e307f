// `omnidistill experiment`: the pieces that need no training — mean ± std, recipe sharing
// between experiments, selection rules, SVG charts, the usage errors (exit 2). The tiny end-
// to-end run lives in test/integration/experiment.test.ts.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXPERIMENTS, findExperiment } from '../src/experiments/registry.js';
import { estimate, meanStd } from '../src/experiments/run.js';
import type { ExperimentResult } from '../src/experiments/run.js';
import { modelsOf, recipeKey } from '../src/experiments/recipe.js';
import { experimentScale } from '../src/experiments/scale.js';
import { writeSelection } from '../src/pipeline/label-select.js';
import { experimentPlot, buildExperimentReport, formatExperimentTable } from '../src/report/experiment.js';
import { barChart, lineChart } from '../src/report/svg.js';
import { runCli } from './helpers.js';
import { xmlProblems } from './svg-check.js';

const tmp = mkdtempSync(join(tmpdir(), 'omnidistill-experiment-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('meanStd', () => {
  it('is the mean and the sample standard deviation', () => {
    const m = meanStd([0.3, 0.5]);
    expect(m.mean).toBeCloseTo(0.4, 12);
    expect(m.std).toBeCloseTo(Math.sqrt(0.02), 12);
    expect(m.n).toBe(2);
    expect(meanStd([0.25])).toEqual({ mean: 0.25, std: 0, n: 1 });
  });
});

describe('recipes', () => {
  const scale = experimentScale(true);
  const variant = (exp: string, id: string) => findExperiment(exp)!.variants(scale).find((v) => v.id === id)!.model;

  it('give the same key whatever the key order', () => {
    expect(recipeKey({ a: 1, b: { c: 2, d: 3 } })).toBe(recipeKey({ b: { d: 3, c: 2 }, a: 1 }));
    expect(recipeKey({ a: 1 })).not.toBe(recipeKey({ a: 2 }));
  });

  it("share the paper's student between experiments, so it is trained once per seed", () => {
    const paper = recipeKey(variant('transforms', 'scales-flip'));
    expect(recipeKey(variant('selection', 'count-matched'))).toBe(paper);
    expect(recipeKey(variant('schedule', `student-${scale.studentSteps / scale.teacherSteps}x`))).toBe(paper);
    expect(recipeKey(variant('dissimilar', 'similar'))).toBe(paper);
    // Every experiment's teacher is the same model as well.
    expect(recipeKey(variant('transforms', 'teacher'))).toBe(recipeKey(variant('schedule', 'supervised-1x')));
  });

  it("beyond compares the paper's student (shared with transforms) with a perturbed one", () => {
    const paper = variant('transforms', 'scales-flip');
    expect(recipeKey(variant('beyond', `paper-${scale.studentSteps}`))).toBe(recipeKey(paper));
    const perturbed = variant('beyond', `perturbed-${scale.studentSteps}`);
    expect(perturbed).toEqual({ ...paper, perturbation: 'strong' });
    // An unperturbed recipe carries no perturbation field, so its key (and its cached model) is as before.
    expect(paper).not.toHaveProperty('perturbation');
  });

  it('selection-detection runs on its own objects data, its teacher a detector, one student per rule', () => {
    const e = findExperiment('selection-detection')!;
    expect(e.task).toBe('detection');
    const vs = e.variants(scale);
    expect(vs[0].model).toEqual({ kind: 'supervised', steps: scale.detectorSteps });
    const students = vs.slice(1).map((v) => v.model);
    expect(students.map((m) => (m.kind === 'student' ? [m.labels.selection.kind, m.labels.unlabeled.style, recipeKey(m.teacher)] : null))).toEqual(
      ['count-matched', 'count-matched-shared', 'fixed', 'none'].map((k) => [k, 'objects', recipeKey(vs[0].model)]),
    );
  });

  it('list a round-3 student with its two teacher students and the base teacher', () => {
    const models = modelsOf(variant('rounds', 'round-3'));
    expect([...models.values()].map((m) => m.kind)).toEqual(['supervised', 'student', 'student', 'student']);
  });

  it('every experiment has distinct variant ids and line plots give every variant an x', () => {
    for (const e of EXPERIMENTS) {
      const vs = e.variants(scale);
      expect(new Set(vs.map((v) => v.id)).size, e.name).toBe(vs.length);
      if (e.plot.kind === 'line') for (const v of vs) expect(v.x, `${e.name} ${v.id}`).toBeTypeOf('number');
    }
  });
});

describe('selection rules', () => {
  // Two images; instance scores 0.9, 0.6 (image 1) and 0.3 (image 2); K = 2 keypoints.
  const kp = (a: number, b: number) => [10, 10, a, 20, 20, b];
  const predictions = [
    { imageId: 1, fileName: 'a.png', width: 64, height: 64, instances: [{ categoryId: 1, score: 0.9, bbox: [0, 0, 30, 30], keypoints: kp(0.8, 0.4) }, { categoryId: 1, score: 0.6, bbox: [0, 0, 30, 30], keypoints: kp(0.7, 0.2) }] },
    { imageId: 2, fileName: 'b.png', width: 64, height: 64, instances: [{ categoryId: 1, score: 0.3, bbox: [0, 0, 30, 30], keypoints: kp(0.6, 0.55) }] },
  ];
  // The labeled set: 1 person per image, 1 labeled keypoint per person.
  const labeled = join(tmp, 'labeled.json');
  writeFileSync(
    labeled,
    JSON.stringify({
      images: [{ id: 1, file_name: 'a.png', width: 64, height: 64 }],
      annotations: [{ id: 1, image_id: 1, category_id: 1, bbox: [0, 0, 30, 30], area: 900, iscrowd: 0, keypoints: [10, 10, 2, 0, 0, 0], num_keypoints: 1 }],
      categories: [{ id: 1, name: 'person', keypoints: ['a', 'b'], skeleton: [] }],
    }),
  );
  const run = async (rule: Parameters<typeof writeSelection>[1]['rule'], dir: string) => {
    const out = await writeSelection(() => predictions as never, { task: 'keypoints', labeled, numKeypoints: 2, ...(rule ? { rule } : {}) }, join(tmp, dir));
    const generated = JSON.parse(await readFile(out.generated, 'utf8')) as { annotations: { keypoints: number[] }[] };
    return { out, generated };
  };

  it('count matching keeps 1 instance per image and 1 keypoint per instance', async () => {
    const { generated } = await run(undefined, 'count');
    expect(generated.annotations).toHaveLength(2);
    expect(generated.annotations.map((a) => a.keypoints.filter((_, i) => i % 3 === 2 && _ > 0).length)).toEqual([1, 1]);
  });

  it('a fixed threshold keeps instances and keypoints scoring at least it', async () => {
    const { generated, out } = await run({ kind: 'fixed', threshold: 0.5 }, 'fixed');
    expect(generated.annotations).toHaveLength(2); // 0.9 and 0.6
    expect(generated.annotations.map((a) => [a.keypoints[2], a.keypoints[5]])).toEqual([[2, 0], [2, 0]]);
    expect(out.summary.instancesPerImage.after).toBe(1);
    expect(out.summary.keypointsPerInstance?.after).toBe(1);
  });

  it('none keeps every prediction and every keypoint', async () => {
    const { generated, out } = await run({ kind: 'none' }, 'none');
    expect(generated.annotations).toHaveLength(3);
    expect(generated.annotations.every((a) => a.keypoints[2] === 2 && a.keypoints[5] === 2)).toBe(true);
    expect(out.summary.instancesPerImage.after).toBe(1.5);
    expect(out.summary.keypointsPerInstance?.after).toBe(2);
  });
});

describe('detection selection rules', () => {
  // Image 1: circles 0.9, 0.8, a square 0.7, a triangle 0.6; image 2: a circle 0.5, squares 0.95, 0.4.
  const det = (score: number, categoryId: number) => ({ categoryId, score, bbox: [0, 0, 10, 10] });
  const predictions = [
    { imageId: 1, fileName: 'a.png', width: 64, height: 64, instances: [det(0.9, 1), det(0.8, 1), det(0.7, 2), det(0.6, 3)] },
    { imageId: 2, fileName: 'b.png', width: 64, height: 64, instances: [det(0.5, 1), det(0.95, 2), det(0.4, 2)] },
  ];
  // Labeled: 2 images, 1 circle, 2 squares, 1 triangle (0.5 / 1 / 0.5 per image, 2 in all).
  const labeled = join(tmp, 'labeled-objects.json');
  const box = (id: number, image: number, category: number) => ({ id, image_id: image, category_id: category, bbox: [0, 0, 10, 10], area: 100, iscrowd: 0 });
  writeFileSync(
    labeled,
    JSON.stringify({
      images: [1, 2].map((id) => ({ id, file_name: `${id}.png`, width: 64, height: 64 })),
      annotations: [box(1, 1, 1), box(2, 1, 2), box(3, 2, 2), box(4, 2, 3)],
      categories: ['circle', 'square', 'triangle'].map((name, i) => ({ id: i + 1, name })),
    }),
  );
  const kept = async (rule: Parameters<typeof writeSelection>[1]['rule'], dir: string) => {
    const out = await writeSelection(() => predictions as never, { task: 'detection', labeled, rule }, join(tmp, dir));
    const generated = JSON.parse(await readFile(out.generated, 'utf8')) as { annotations: { image_id: number; category_id: number }[] };
    return { summary: out.summary, pairs: generated.annotations.map((a) => [a.image_id, a.category_id]) };
  };

  it('per category keeps each category at its labeled rate; one shared threshold keeps the top scores of any', async () => {
    const per = await kept({ kind: 'count-matched' }, 'det-per');
    const shared = await kept({ kind: 'count-matched-shared' }, 'det-shared');
    expect(per.pairs).toEqual([[1, 1], [1, 2], [1, 3], [2, 2]]);
    expect(shared.pairs).toEqual([[1, 1], [1, 1], [1, 2], [2, 2]]);
    expect(per.summary.instanceThresholds.map((t) => t.categoryId)).toEqual([1, 2, 3]);
    expect(shared.summary.instanceThresholds).toEqual([{ categoryId: null, threshold: 0.7, status: 'matched' }]);
    expect([per.summary.instancesPerImage.after, shared.summary.instancesPerImage.after]).toEqual([2, 2]);
  });
});

describe('SVG charts', () => {
  it('bar and line charts are well-formed XML, escaping labels', () => {
    const bars = barChart(['a <b> & c', 'teacher'], [{ name: 'AP "x"', values: [30, 25], errors: [2, 0] }, { name: 'GT', values: [40, NaN] }], { yLabel: 'AP' });
    expect(xmlProblems(bars)).toEqual([]);
    expect(bars).toContain('a &lt;b&gt; &amp; c');
    expect(bars.match(/<rect /g)).toHaveLength(3);
    const lines = lineChart([{ name: 's', points: [[0, 1], [1, 2]], errors: [0.5, 0] }], { xLabel: 'x', yLabel: 'y' });
    expect(xmlProblems(lines)).toEqual([]);
    expect(lines.match(/<circle /g)).toHaveLength(2);
    expect(xmlProblems(lineChart([], { xLabel: 'x', yLabel: 'y' }))).toEqual([]);
  });

  it('the checker itself catches broken XML', () => {
    expect(xmlProblems('<svg><g></svg>')).not.toEqual([]);
    expect(xmlProblems('<svg><text>a & b</text></svg>')).not.toEqual([]);
    expect(xmlProblems('<svg></svg><svg></svg>')).not.toEqual([]);
  });

  it("an experiment's plot and report carry mean ± std of every variant", () => {
    const result: ExperimentResult = {
      format: 'omnidistill-experiment',
      version: 1,
      experiment: 'schedule',
      task: 'keypoints',
      question: 'q',
      paper: 'p',
      plot: { kind: 'line', xLabel: 'steps' },
      quick: true,
      scale: experimentScale(true),
      seeds: [1, 2],
      variants: [300, 600].map((x) => ({
        id: `student-${x}`,
        label: `student, ${x} steps`,
        x,
        series: 'student',
        kind: 'student' as const,
        steps: x,
        perSeed: [
          { seed: 1, gtBoxes: 0.3, endToEnd: 0.2 },
          { seed: 2, gtBoxes: 0.4, endToEnd: 0.3 },
        ],
        gtBoxes: meanStd([0.3, 0.4]),
        endToEnd: meanStd([0.2, 0.3]),
      })),
      detector: [{ seed: 1, boxAp: 0.5 }, { seed: 2, boxAp: 0.6 }],
      seconds: 10,
      engine: 'test',
      load: { start: 1, end: 2 },
    };
    expect(xmlProblems(experimentPlot(result))).toEqual([]);
    expect(formatExperimentTable(result)).toMatch(/student, 600 steps\s+600\s+25\.0 ± 7\.1\s+20\.0 \/ 30\.0\s+35\.0 ± 7\.1/);
    expect(buildExperimentReport(result)).toContain('<svg xmlns="http://www.w3.org/2000/svg"');

    // A detection experiment: box AP only (no GT-box column), kept instances per image.
    const detection: ExperimentResult = {
      ...result,
      experiment: 'selection-detection',
      task: 'detection',
      plot: { kind: 'bar' },
      variants: result.variants.map((v) => ({
        ...v,
        perSeed: v.perSeed.map((p) => ({ seed: p.seed, endToEnd: p.endToEnd, labels: { instancesPerImage: 1.5, keypointsPerInstance: null, generatedInstances: 3 } })),
        gtBoxes: null,
      })),
    };
    const table = formatExperimentTable(detection);
    expect(table).toMatch(/box AP ×100/);
    expect(table).not.toMatch(/GT boxes/);
    expect(table).toMatch(/student, 600 steps\s+600\s+25\.0 ± 7\.1\s+20\.0 \/ 30\.0\s+1\.50 1\.50$/m);
    const plot = experimentPlot(detection);
    expect(xmlProblems(plot)).toEqual([]);
    expect(plot.match(/<rect /g)).toHaveLength(2);
    expect(buildExperimentReport(detection)).toContain('Box AP on the validation split');
  });
});

describe('estimate', () => {
  const scale = experimentScale(true);
  it('counts a model two experiments share once when they run together', () => {
    const [transforms, selection] = ['transforms', 'selection'].map((n) => findExperiment(n)!);
    const a = estimate(transforms, scale, 2);
    const b = estimate(selection, scale, 2);
    const both = estimate([transforms, selection], scale, 2);
    // Shared per seed: the detector, the teacher and the paper's student (its labels too).
    const shared = 2 * (scale.detectorSteps + scale.teacherSteps + scale.studentSteps);
    expect(both.steps).toBe(a.steps + b.steps - shared);
    expect(both.labelPasses).toBeLessThan(a.labelPasses + b.labelPasses);
    expect(both.seconds).toBeLessThan(a.seconds + b.seconds);
    expect(estimate([transforms], scale, 2)).toEqual(a);
  });

  it('a detection experiment counts its own teacher and one model per labeling pass', () => {
    const e = estimate(findExperiment('selection-detection')!, scale, 1);
    // The teacher (detector steps) and four students.
    expect(e.steps).toBe(scale.detectorSteps + 4 * scale.studentSteps);
    expect(e.labelPasses).toBe(scale.counts.unlabeled * 8);
  });
});

describe('omnidistill experiment usage errors (exit 2, one line)', () => {
  it.each([
    [[], /name an experiment/],
    [['nope'], /"nope": unknown; choose one of transforms/],
    [['transforms', '--seeds', '0'], /--seeds: expected a positive integer/],
    [['transforms', '--frobnicate'], /Unknown option '--frobnicate'/],
    [['transforms', 'extra'], /Unexpected argument 'extra'/],
    [['transforms', '--seeds', '2', '--only-seed', '2'], /--seeds and --only-seed: give one of them/],
    [['transforms', '--only-seed', '0'], /--only-seed: expected a positive integer/],
  ])('%j', async (argv, message) => {
    const r = await runCli('experiment', ...(argv as string[]));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('--estimate prints the work of each experiment and exits 0 without running', async () => {
    const r = await runCli('experiment', 'all', '--quick', '--estimate', '--out', join(tmp, 'never'));
    expect(r.code).toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(EXPERIMENTS.length + 1);
    expect(r.stderr).toMatch(/^transforms: estimate .* training steps/m);
    expect(r.stderr).toMatch(new RegExp(`^all ${EXPERIMENTS.length} together: estimate .* training steps`, 'm'));
  });
});

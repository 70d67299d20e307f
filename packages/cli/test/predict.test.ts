import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createModelSession, loadManifest } from '@omnidistill/infer';
import type { KeypointSession } from '@omnidistill/infer';
import { customPlan } from '@omnidistill/transforms';
import { keypointAp } from '../src/pipeline/evaluate.js';
import { runCli } from './helpers.js';
import { buildTeacherFixture, type TeacherFixture } from './teacher-fixture.js';

const tmp = mkdtempSync(join(tmpdir(), 'omnidistill-predict-'));
let fx: TeacherFixture;
beforeAll(async () => {
  fx = await buildTeacherFixture(tmp);
}, 300_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('omnidistill predict → eval', () => {
  it('writes COCO results that eval scores exactly as the in-process evaluation does (single pass and flip)', async () => {
    for (const [planArgs, plan] of [
      [[], customPlan([])],
      [['--plan', 'flip'], customPlan([{ flip: true }])],
    ] as const) {
      const out = join(tmp, `results-${plan.transforms.length}.json`);
      const r = await runCli('predict', '--model', fx.model, '--images', fx.labeledImages, '--boxes', fx.labeled, '--out', out, ...planArgs);
      expect(r.code, r.stderr).toBe(0);
      const summary = JSON.parse(r.stdout);
      expect(summary).toMatchObject({ task: 'keypoints', transforms: plan.transforms.map((t) => t.name) });
      const results = JSON.parse(readFileSync(out, 'utf8')) as { image_id: number; keypoints: number[]; bbox: number[]; score: number }[];
      expect(results.length).toBe(summary.predictions);
      expect(results.length).toBeGreaterThan(0);
      expect(results[0].keypoints).toHaveLength(51);
      const e = await runCli('eval', '--gt', fx.labeled, '--results', out, '--iou-type', 'keypoints', '--json');
      expect(e.code, e.stderr).toBe(0);
      const stats = JSON.parse(e.stdout).stats as number[];
      const session = (await createModelSession(fx.model, await loadManifest(fx.manifest))) as KeypointSession;
      const reference = await keypointAp(session, { annotations: fx.labeled, imageDir: fx.labeledImages }, plan);
      stats.forEach((s, i) => expect(s).toBeCloseTo(reference.stats[i], 9));
    }
  });

  it('report draws the results file on its images', async () => {
    const out = join(tmp, 'results-report.json');
    expect((await runCli('predict', '--model', fx.model, '--images', fx.labeledImages, '--boxes', fx.labeled, '--out', out)).code).toBe(0);
    const html = join(tmp, 'results.html');
    const r = await runCli('report', '--labels', out, '--images', fx.labeledImages, '--image-list', fx.labeled, '--out', html, '--min-score', '0', '--grid', '4');
    expect(r.code, r.stderr).toBe(0);
    const page = readFileSync(html, 'utf8');
    expect(page.match(/<svg xmlns/g)).toHaveLength(4);
    expect(page).toMatch(/COCO results: \d+ predictions with score ≥ 0 drawn/);
    expect(page).toContain('data:image/png;base64,');
    const bad = await runCli('report', '--labels', out, '--images', join(tmp, 'no-such-dir'), '--out', html);
    expect(bad).toMatchObject({ code: 2, stderr: expect.stringMatching(/--images: cannot list .*no-such-dir \(ENOENT\)/) });
  });

  it('bad inputs exit 2 with one line naming the flag or file', async () => {
    const missing = await runCli('predict', '--model', join(tmp, 'nope.onnx'), '--images', fx.labeledImages, '--boxes', fx.labeled, '--out', join(tmp, 'x.json'));
    expect(missing).toMatchObject({ code: 2, stderr: expect.stringMatching(/^omnidistill predict: cannot read model .*nope\.onnx: ENOENT\n$/) });
    const noRois = await runCli('predict', '--model', fx.model, '--images', fx.labeledImages, '--out', join(tmp, 'x.json'));
    expect(noRois).toMatchObject({ code: 2, stderr: expect.stringMatching(/keypoints need RoIs: pass --detector FILE/) });
    const badScales = await runCli('predict', '--model', fx.model, '--images', fx.labeledImages, '--boxes', fx.labeled, '--out', join(tmp, 'x.json'), '--scales', '0.75,1.25');
    expect(badScales).toMatchObject({ code: 2, stderr: expect.stringMatching(/--scales\[0\]: expected a relative factor such as 0\.75x/) });
  });
});

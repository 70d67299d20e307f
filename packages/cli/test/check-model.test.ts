import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphBuilder } from '@omnidistill/artifacts';
import { detectorManifest, redBoxDetector } from '../../infer/test/fixtures.js';
import { runCli } from './helpers.js';
import { buildTeacherFixture, type TeacherFixture } from './teacher-fixture.js';

const tmp = mkdtempSync(join(tmpdir(), 'omnidistill-check-'));
const models = join(import.meta.dirname, 'fixtures', 'models');
let fx: TeacherFixture;
beforeAll(async () => {
  // 150 steps on 48 images: about 27 keypoint AP on its own images, in ~15 s on 2 cores.
  fx = await buildTeacherFixture(tmp, { images: 48, steps: 150 });
}, 300_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A copy of the fixture model with its manifest edited. */
function variant(name: string, edit: (m: Record<string, any>) => void): string {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  const manifest = JSON.parse(readFileSync(fx.manifest, 'utf8'));
  edit(manifest);
  writeFileSync(join(dir, 'keypoints.onnx'), readFileSync(fx.model));
  writeFileSync(join(dir, 'keypoints.json'), JSON.stringify(manifest));
  return join(dir, 'keypoints.onnx');
}

function writeModel(name: string, bytes: Uint8Array, manifest: unknown): string {
  const path = join(tmp, `${name}.onnx`);
  writeFileSync(path, bytes);
  writeFileSync(join(tmp, `${name}.json`), JSON.stringify(manifest));
  return path;
}

describe('omnidistill check-model', () => {
  it('a working teacher: AP, flip and 2x agreement, no warning', async () => {
    const r = await runCli('check-model', '--model', fx.model, '--labeled', fx.labeled, '--images', fx.labeledImages, '--json');
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    const [report] = j.reports;
    expect(report).toMatchObject({ task: 'keypoints', images: 8 });
    expect(report.passes.map((p: { transform: string }) => p.transform)).toEqual(['identity', 'orig-flip', 'x2']);
    expect(report.passes[0].ap).toBeGreaterThan(0.1);
    expect(report.passes[0].agreement).toBe(1);
    expect(report.passes[1].agreement).toBeGreaterThan(0.5);
    expect(report.warnings).toEqual([]);
  });

  it('a wrong pixel scale ("scale": 1) warns of near-zero AP', async () => {
    const model = variant('scale1', (m) => (m.pixels.scale = 1));
    const r = await runCli('check-model', '--model', model, '--labeled', fx.labeled, '--images', fx.labeledImages);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/WARNING: near-zero keypoint AP \d+\.\d on 8 labeled images .* most often a wrong pixel scale or normalisation/);
  });

  it('wrong flip pairs make the flipped pass disagree, and say so', async () => {
    // Every left/right pair swapped with the wrong partner: nose(0) ↔ left eye(1) etc.
    const model = variant('badflip', (m) => (m.keypoints.flipPairs = [[0, 15], [1, 16], [3, 13], [4, 14], [5, 11], [6, 12]]));
    const r = await runCli('check-model', '--model', model, '--labeled', fx.labeled, '--images', fx.labeledImages, '--json');
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout).reports[0];
    expect(report.warnings.join('\n')).toMatch(/the flipped pass agrees with the identity on only \d+%: check keypoints\.flipPairs/);
  });

  it('zero detections are a warning, and a 2x pass beyond a fixed input is skipped with a note', async () => {
    const g = new GraphBuilder({ name: 'nothing' });
    const image = g.input('image', 'float32', [1, 3, 96, 128]);
    const zero = g.mul(g.reduceSum(image, [0, 1, 2, 3], false), 0);
    g.output(g.add(g.floats([], [0, 4]), zero), 'boxes');
    g.output(g.add(g.floats([], [0]), zero), 'scores');
    g.output(g.int64s([]), 'labels');
    const model = writeModel('nothing', g.toModelBytes(), { ...detectorManifest, layout: undefined, layoutOptions: undefined });
    const r = await runCli('check-model', '--model', model, '--labeled', fx.labeled, '--images', fx.labeledImages, '--plan', 'flip');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/WARNING: zero detections on 8 labeled images with \d+ labeled instances: the model finds nothing/);
    expect(r.stdout).toMatch(/x2 +- +0 +- +\(does not fit the fixed input\)/);
  });

  it('a plan that cannot fit a fixed-input model exits 2 naming the transform and the fix', async () => {
    const model = writeModel('redbox', redBoxDetector(), { format: 'omnidistill-model', version: 1, role: 'detector', inputs: { image: 'image' }, outputs: { boxes: 'boxes', scores: 'scores', labels: 'labels' }, categoryIds: [1] });
    const r = await runCli('check-model', '--model', model, '--labeled', fx.labeled, '--images', fx.labeledImages);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^omnidistill check-model: .*redbox\.onnx has a fixed input of 128×96, but transform x1\.563 makes a 64×64 image 100×100: use scales that fit \(at most 1\.5x for these images, e\.g\. --scales 1\.5x\) or --plan flip/);
  });

  it('reports the ONNX traps of a real torch export (opset-11 RoiAlign) beside the passes', async () => {
    const out = join(tmp, 'kp11.json');
    expect((await runCli('inspect', join(models, 'roi-kp-opset11.onnx'), '--manifest-out', out)).code).toBe(0);
    const model = join(tmp, 'kp11.onnx');
    writeFileSync(model, readFileSync(join(models, 'roi-kp-opset11.onnx')));
    const r = await runCli('check-model', '--model', model, '--labeled', fx.labeled, '--images', fx.labeledImages, '--plan', 'flip');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/WARNING: RoiAlign "\/RoiAlign" at opset 11 has no aligned mode/);
    // 5 keypoints against 17-keypoint labels: no AP, said in the table rather than a crash.
    expect(r.stdout).toMatch(/identity +- +\d+ +100% +\(AP not computed: /);
  });

  it("a torchvision detector's in-graph Resize is reported by the check (real torch export)", async () => {
    const model = join(tmp, 'tv.onnx');
    writeFileSync(model, readFileSync(join(models, 'tv-frcnn-opset11.onnx')));
    expect((await runCli('inspect', model, '--manifest-out', join(tmp, 'tv.json'))).code).toBe(0);
    const r = await runCli('check-model', '--model', model, '--labeled', fx.labeled, '--images', fx.labeledImages, '--plan', 'flip', '--sample', '2');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/check .*tv\.onnx: detection, 2 labeled images/);
    expect(r.stdout).toMatch(/WARNING: Resize "\/transform\/Resize" resamples the input image inside the graph .*Use --plan flip/);
  });
});

describe('omnidistill label runs the check first', () => {
  it('a fixed-input teacher that the plan cannot fit exits 2 before any prediction', async () => {
    const model = join(tmp, 'redbox.onnx');
    if (!existsSync(model)) writeModel('redbox', redBoxDetector(), { format: 'omnidistill-model', version: 1, role: 'detector', inputs: { image: 'image' }, outputs: { boxes: 'boxes', scores: 'scores', labels: 'labels' }, categoryIds: [1] });
    const out = join(tmp, 'label-fixed');
    const r = await runCli('label', '--task', 'detection', '--teacher', model, '--unlabeled', fx.labeled, '--images', fx.labeledImages, '--labeled', fx.labeled, '--out', out, '--no-check');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/has a fixed input of 128×96, but transform x1\.563 makes a 64×64 image 100×100/);
    expect(existsSync(join(out, 'predictions'))).toBe(false);
    const p = await runCli('predict', '--model', model, '--images', fx.labeledImages, '--image-list', fx.labeled, '--out', join(tmp, 'fixed.json'), '--scales', '1.8x');
    expect(p.code).toBe(2);
    expect(p.stderr).toMatch(/has a fixed input of 128×96, but transform x1\.8 makes a 64×64 image 115×115: use scales that fit \(at most 1\.5x/);
  });

  it('prints the check and its warnings, then labels', async () => {
    const model = variant('scale1-label', (m) => (m.pixels.scale = 1));
    const out = join(tmp, 'label-scale1');
    const r = await runCli('label', '--task', 'keypoints', '--teacher', model, '--unlabeled', fx.labeled, '--images', fx.labeledImages, '--labeled', fx.labeled, '--boxes', fx.labeled, '--out', out, '--plan', 'flip', '--check-sample', '4');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/check .*keypoints\.onnx: keypoints, 4 labeled images/);
    expect(r.stderr).toMatch(/WARNING: near-zero keypoint AP/);
    expect(existsSync(join(out, 'generated.json'))).toBe(true);
    expect(r.stderr).toMatch(/WARNING \(teacher check before the run\): near-zero keypoint AP/);
    expect(JSON.parse(r.stdout).checkWarnings[0]).toMatch(/^near-zero keypoint AP/);
    // report draws a label run's generated.json (a COCO dataset) on its images
    const rep = await runCli('report', '--labels', join(out, 'generated.json'), '--images', fx.labeledImages, '--out', join(out, 'labels.html'));
    expect(rep.code, rep.stderr).toBe(0);
    expect(readFileSync(join(out, 'labels.html'), 'utf8')).toMatch(/COCO dataset: \d+ annotations on \d+ images/);
  });
});

describe('omnidistill label --model-thread', () => {
  it('on and off write byte-identical predictions and labels; another value exits 2 naming the flag', async () => {
    const model = variant('scale1-thread', (m) => (m.pixels.scale = 1));
    const run = (when: string) =>
      runCli('label', '--task', 'keypoints', '--teacher', model, '--unlabeled', fx.labeled, '--images', fx.labeledImages, '--labeled', fx.labeled, '--boxes', fx.labeled, '--out', join(tmp, `thread-${when}`), '--plan', 'flip', '--no-check', '--model-thread', when);
    const on = await run('on');
    const off = await run('off');
    expect(on.code, on.stderr).toBe(0);
    expect(off.code, off.stderr).toBe(0);
    for (const file of ['generated.json', 'calibration.json', 'predictions/shard-000000.jsonl']) {
      expect(readFileSync(join(tmp, 'thread-on', file), 'utf8'), file).toBe(readFileSync(join(tmp, 'thread-off', file), 'utf8'));
    }
    const bad = await run('sometimes');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--model-thread: expected one of "auto", "on", "off", received "sometimes"');
  });
});

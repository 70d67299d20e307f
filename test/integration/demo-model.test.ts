// `omnidistill demo --model`: data distillation with the user's own keypoint model, as a user
// runs it (the built CLI in a child process) on a tiny configuration. The model is a torch.onnx
// export of a reduced SimpleBaseline-style top-down model (fixtures/topdown-tiny.onnx, 15.5 k
// parameters, 32×24 crops, written by `tools/student/track_torch.py export OUT 17 1 32 24`).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeOnnxModel, feedInputs } from '@omnidistill/artifacts';
import { readCocoDataset } from '@omnidistill/coco';
import { afterAll, describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');
const bin = join(repo, 'packages/cli/dist/bin.js');
const work = mkdtempSync(join(tmpdir(), 'omnidistill-demo-model-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const MODEL = join(here, 'fixtures/topdown-tiny.onnx');
const MANIFEST = join(here, 'fixtures/topdown-tiny.json');
const TINY = ['--quick', '--labeled', '10', '--unlabeled', '10', '--val', '8', '--teacher-steps', '4', '--student-steps', '6'];
// Each step spawns the real CLI; on a loaded 2-core machine a tiny run can take minutes.
const SLOW = 600_000;

function demo(args: string[]) {
  const r = spawnSync(process.execPath, [bin, 'demo', ...args], { encoding: 'utf8', timeout: SLOW });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const initializers = (path: string) => new Map(decodeOnnxModel(new Uint8Array(readFileSync(path))).graph.initializers.map((t) => [t.name, t]));

describe('omnidistill demo --model (your own keypoint model)', () => {
  const out = join(work, 'run');

  it('trains teacher, baseline and student of the given model through train --model and labels with its teacher', async () => {
    const r = demo([...TINY, '--model', MODEL, '--manifest', MANIFEST, '--out', out, '--json']);
    expect(r.stderr).not.toMatch(/failed/);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as { rows: { name: string; steps: number; single: number }[]; settings: { model: { onnx: string; teacherInit: string } } };
    expect(result.rows.map((x) => [x.name, x.steps])).toEqual([['teacher', 4], ['supervised-long', 6], ['student', 6]]);
    expect(result.settings.model).toMatchObject({ onnx: MODEL, teacherInit: 'weights' });
    // Every keypoint row is the user's graph (inputs, outputs, initializer names), with trained weights.
    const user = decodeOnnxModel(new Uint8Array(readFileSync(MODEL)));
    const before = initializers(MODEL);
    for (const name of ['teacher', 'supervised-long', 'student']) {
      const path = join(out, 'models', `${name}.onnx`);
      const trained = decodeOnnxModel(new Uint8Array(readFileSync(path)));
      expect(feedInputs(trained.graph).map((i) => i.name)).toEqual(feedInputs(user.graph).map((i) => i.name));
      expect(trained.graph.outputs.map((o) => o.name)).toEqual(user.graph.outputs.map((o) => o.name));
      expect([...initializers(path).keys()].sort()).toEqual([...before.keys()].sort());
      expect(JSON.parse(readFileSync(join(out, 'models', `${name}.json`), 'utf8')).layout).toBe('topdown-heatmap');
    }
    expect(r.stderr).toMatch(/omnidistill demo --task keypoints --model .*topdown-tiny\.onnx/);
    // A top-down model crops each person: identity ± flip, no image scales (as label's --plan auto).
    expect(r.stderr).toMatch(/test-time plan: original ± flip, as the model crops each person/);
    expect(r.stderr).toMatch(/test-time plan 2 transforms/);
    // Labels come from the user's teacher (10 unlabeled images labeled) and the student trained on them.
    const generated = await readCocoDataset(join(out, 'labels/generated.json'));
    expect(generated.images).toHaveLength(10);
    const stages = readFileSync(join(out, 'stages.json'), 'utf8');
    expect(stages).toContain('train-student');
  }, SLOW);

  it('resumes every finished stage on a re-run', () => {
    const r = demo([...TINY, '--model', MODEL, '--manifest', MANIFEST, '--out', out, '--json']);
    expect(r.code).toBe(0);
    for (const stage of ['train-teacher', 'label', 'train-student', 'train-supervised-long']) expect(r.stderr).toContain(`${stage}: already done (resuming)`);
  }, SLOW);

  it('refuses a bad --model setup with exit 2 and a one-line reason', () => {
    const cases: [string[], RegExp][] = [
      [['--model', MODEL], /--manifest is required/],
      [['--model', join(work, 'absent.onnx'), '--manifest', MANIFEST], /--model .*absent\.onnx: no such file/],
      [['--model', MODEL, '--manifest', MANIFEST, '--task', 'detection'], /--model takes a keypoint model/],
      [['--manifest', MANIFEST], /go with --model/],
      [['--model', MODEL, '--manifest', MANIFEST, '--teacher-init', 'pretrained'], /--teacher-init: expected one of "weights", "reinit"/],
      [['--model', MODEL, '--manifest', join(repo, 'packages/cli/test/fixtures/models/roi-kp-opset16.onnx')], /--manifest .*roi-kp-opset16\.onnx/],
    ];
    for (const [args, message] of cases) {
      const r = demo([...TINY, ...args, '--out', join(work, 'bad')]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });
});

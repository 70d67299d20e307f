// `omnidistill train --model`: a torch.onnx top-down export (tools/student/fixtures.py) is
// fine-tuned on synthetic people and written back with its own graph and names; bad input
// exits 2 with one line naming the file/field.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeOnnxModel, encodeModel } from '@omnidistill/artifacts';
import { generateSplits } from '@omnidistill/synth';
import { CROP_AUGMENTATION_DEFAULTS, MMPOSE_CROP_AUGMENTATION } from '@omnidistill/models';
import { studentSpecFromManifest } from '../src/commands/train-student.js';
import { runCli } from './helpers.js';

const fixture = (name: string) => new URL(`./fixtures/models/${name}`, import.meta.url).pathname;

async function labeledSplit() {
  const dir = await mkdtemp(join(tmpdir(), 'cli-student-'));
  const r = await generateSplits({ outDir: dir, style: 'keypoints', imageSize: 48, seed: 4, counts: { labeled: 4, unlabeled: 0 }, concurrency: 2 });
  return { dir, coco: r.splits.labeled!.annotations, images: r.splits.labeled!.imagesDir };
}

describe('omnidistill train --model (bring your own student)', () => {
  it('fine-tunes a torch-exported top-down model and keeps its graph, inputs, outputs and names', async () => {
    const { dir, coco, images } = await labeledSplit();
    const ran = await runCli('train', '--model', fixture('topdown-student.onnx'), '--manifest', fixture('topdown-student.json'), '--labeled', coco, '--images', images,
      '--steps', '3', '--batch', '4', '--threads', '1', '--freeze', 'backbone.0.*', '--out', dir);
    expect(ran.stderr).not.toMatch(/failed/);
    expect(ran.code).toBe(0);
    const summary = JSON.parse(ran.stdout) as { onnx: string; history: { step: number; loss: number }[] };
    expect(summary.history.at(-1)!.step).toBe(3);
    const before = decodeOnnxModel(new Uint8Array(await readFile(fixture('topdown-student.onnx'))));
    const after = decodeOnnxModel(new Uint8Array(await readFile(summary.onnx)));
    expect(after.graph.nodes).toEqual(before.graph.nodes);
    expect(after.graph.inputs).toEqual(before.graph.inputs);
    expect(after.graph.outputs).toEqual(before.graph.outputs);
    expect(after.graph.initializers.map((t) => t.name)).toEqual(before.graph.initializers.map((t) => t.name));
    const raw = (m: typeof before, name: string) => Array.from(m.graph.initializers.find((t) => t.name === name)!.raw!);
    expect(raw(after, 'backbone.0.0.weight')).toEqual(raw(before, 'backbone.0.0.weight'));
    expect(raw(after, 'final.weight')).not.toEqual(raw(before, 'final.weight'));
  });

  it('Ctrl-C checkpoints and exits 130; the same command resumes to the uninterrupted weights; other flags are refused', async () => {
    const { dir, coco, images } = await labeledSplit();
    const args = (out: string, ...extra: string[]) => ['--model', fixture('topdown-student.onnx'), '--manifest', fixture('topdown-student.json'), '--labeled', coco, '--images', images,
      '--steps', '8', '--batch', '4', '--threads', '1', '--checkpoint-every', '1', '--out', join(dir, out), ...extra];
    const straight = await runCli('train', ...args('straight'));
    expect(straight.code).toBe(0);
    // In-process: the command's Ctrl-C handler gets the SIGINT event once the first checkpoint exists.
    const running = runCli('train', ...args('stopped'));
    const latest = join(dir, 'stopped', 'student.checkpoints', 'latest.json');
    await new Promise<void>((resolveWait) => {
      const timer = setInterval(() => {
        if (existsSync(latest)) {
          clearInterval(timer);
          process.emit('SIGINT');
          resolveWait();
        }
      }, 5);
    });
    const stopped = await running;
    expect(stopped.code).toBe(130);
    expect(stopped.stderr).toMatch(/interrupted at step [1-7]\/8; latest checkpoint/);
    const refused = await runCli('train', ...args('stopped', '--freeze', 'backbone.0.*'));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('changed: --freeze (none) → backbone.0.*');
    const resumed = await runCli('train', ...args('stopped'));
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toMatch(/resuming from \S+ at step [1-7]\/8/);
    expect(JSON.parse(resumed.stdout).resumedFrom).toBeGreaterThan(0);
    const bytes = async (r: typeof straight) => readFile(JSON.parse(r.stdout).onnx as string);
    expect((await bytes(resumed)).equals(await bytes(straight))).toBe(true);
  });

  it('exits 2 naming the node, op and opset for a model with an op it cannot differentiate', async () => {
    const { dir, coco, images } = await labeledSplit();
    const model = join(dir, 'celu.onnx');
    const io = (name: string) => ({ name, type: { kind: 'tensor' as const, dtype: 'float32' as const, shape: [1, 3, 32, 24] } });
    await writeFile(model, encodeModel({ graphName: 'g', irVersion: 8, producerName: 't', opsets: [{ domain: '', version: 17 }], inputs: [io('input')], outputs: [io('heatmaps')], valueInfo: [], initializers: [],
      nodes: [{ opType: 'Celu', domain: '', name: 'celu', inputs: ['input'], outputs: ['heatmaps'], attributes: {} }] }));
    const ran = await runCli('train', '--model', model, '--manifest', fixture('topdown-student.json'), '--labeled', coco, '--images', images, '--steps', '1', '--out', dir);
    expect(ran.code).toBe(2);
    expect(ran.stderr).toMatch(/celu\.onnx: node "celu" \(Celu, opset 17\): no importer for this op; supported: .*Conv/);
  });

  it('exits 2 for a manifest whose layout it cannot train', async () => {
    const { dir, coco, images } = await labeledSplit();
    const manifest = join(dir, 'rois.json');
    await writeFile(manifest, JSON.stringify({ format: 'omnidistill-model', version: 1, role: 'keypoints', layout: 'yolo', inputs: { image: 'image' }, outputs: { raw: 'output0' } }));
    const ran = await runCli('train', '--model', fixture('topdown-student.onnx'), '--manifest', manifest, '--labeled', coco, '--images', images, '--steps', '1', '--out', dir);
    expect(ran.code).toBe(2);
    expect(ran.stderr).toMatch(/rois\.json\.layout: expected "topdown-heatmap", "simcc" or "rois"/);
  });

  it('reads the crop augmentation from the manifest\'s training block (defaults for unset fields) and exits 2 naming a bad field', async () => {
    const base = JSON.parse(await readFile(fixture('topdown-student.json'), 'utf8')) as Record<string, unknown>;
    const spec = studentSpecFromManifest({ ...base, training: { augmentation: { rotationFactor: 0, scaleFactor: 0.25 } } }, 'm.json');
    expect(spec.layout === 'topdown-heatmap' && spec.augmentation).toEqual({ ...CROP_AUGMENTATION_DEFAULTS, rotationFactor: 0, scaleFactor: 0.25 });
    const preset = studentSpecFromManifest({ ...base, training: { augmentation: 'mmpose' } }, 'm.json');
    expect(preset.layout === 'topdown-heatmap' && preset.augmentation).toEqual(MMPOSE_CROP_AUGMENTATION);
    const defaults = studentSpecFromManifest(base, 'm.json');
    expect(defaults.layout === 'topdown-heatmap' && defaults.augmentation).toEqual(CROP_AUGMENTATION_DEFAULTS);
    expect(() => studentSpecFromManifest({ ...base, training: { heads: {} } }, 'm.json')).toThrow(/m\.json\.training\.heads: expected no such field for a crop model/);

    const { dir, coco, images } = await labeledSplit();
    const manifest = join(dir, 'student.json');
    await writeFile(manifest, JSON.stringify({ ...base, training: { augmentation: { scaleFactor: 2 } } }));
    const ran = await runCli('train', '--model', fixture('topdown-student.onnx'), '--manifest', manifest, '--labeled', coco, '--images', images, '--steps', '1', '--out', dir);
    expect(ran.code).toBe(2);
    expect(ran.stderr).toMatch(/student\.json\.training\.augmentation\.scaleFactor: expected a number in \[0, 1\)/);
  });
});

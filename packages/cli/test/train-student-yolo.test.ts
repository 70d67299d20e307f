// `omnidistill train --model` for an Ultralytics-style detector (tools/student/yolo_det.py:
// torch.onnx, DFL decoding against a constant anchor grid and Sigmoid scores in the graph, raw
// predictions [N, 4 + C, A]) with training.loss "yolo"; bad training fields exit 2 with one line
// naming the file and field.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeOnnxModel } from '@omnidistill/artifacts';
import { generateSplits } from '@omnidistill/synth';
import { runCli } from './helpers.js';

const fixture = (name: string) => new URL(`./fixtures/models/${name}`, import.meta.url).pathname;

async function split() {
  const dir = await mkdtemp(join(tmpdir(), 'cli-student-yolo-'));
  const r = await generateSplits({ outDir: dir, style: 'objects', imageSize: 96, seed: 4, counts: { labeled: 4, unlabeled: 0 }, concurrency: 2 });
  return { dir, coco: r.splits.labeled!.annotations, images: r.splits.labeled!.imagesDir };
}

const manifest = async () => JSON.parse(await readFile(fixture('yolo-det.json'), 'utf8')) as Record<string, unknown>;
const training = (m: Record<string, unknown>) => m.training as Record<string, unknown>;
type Summary = { onnx: string; history: { step: number; loss: number }[] };

describe('omnidistill train --model (Ultralytics-style detector, loss "yolo")', () => {
  it('the loss falls over 40 steps, the graph and names stay, and the result predicts', async () => {
    const { dir, coco, images } = await split();
    const train = (steps: number) =>
      runCli('train', '--model', fixture('yolo-det.onnx'), '--manifest', fixture('yolo-det.json'), '--labeled', coco, '--images', images,
        '--steps', String(steps), '--batch', '4', '--threads', '1', '--seed', '2', '--out', join(dir, `s${steps}`));
    const first = await train(1);
    expect(first.stderr).not.toMatch(/failed/);
    expect(first.code).toBe(0);
    const ran = await train(40);
    expect(ran.code).toBe(0);
    const start = (JSON.parse(first.stdout) as Summary).history[0];
    const summary = JSON.parse(ran.stdout) as Summary;
    expect(start.step).toBe(1);
    expect(summary.history.map((h) => h.step)).toEqual([20, 40]);
    // Same seed, same first minibatch; 40 AdamW steps on 4 images (measured 16.8 → 12.6).
    expect(summary.history[1].loss).toBeLessThan(0.85 * start.loss);
    expect(summary.history[1].loss).toBeLessThan(summary.history[0].loss);
    const before = decodeOnnxModel(new Uint8Array(await readFile(fixture('yolo-det.onnx'))));
    const after = decodeOnnxModel(new Uint8Array(await readFile(summary.onnx)));
    expect(after.graph.nodes).toEqual(before.graph.nodes);
    expect(after.graph.inputs).toEqual(before.graph.inputs);
    expect(after.graph.outputs).toEqual(before.graph.outputs);
    const raw = (m: typeof before, name: string) => Array.from(m.graph.initializers.find((t) => t.name === name)!.raw!);
    for (const name of ['stem.0.conv.weight', 'box.0.1.weight', 'cls.1.1.bias']) expect(raw(after, name), name).not.toEqual(raw(before, name));
    // It drops back into the yolo inference layout.
    const predicted = await runCli('predict', '--model', summary.onnx, '--images', images, '--image-list', coco, '--out', join(dir, 'pred.json'));
    expect(predicted.code).toBe(0);
    const results = JSON.parse(await readFile(join(dir, 'pred.json'), 'utf8')) as { category_id: number }[];
    expect(results.length).toBeGreaterThan(0);
  });

  const cases: [string, (m: Record<string, unknown>) => void, RegExp][] = [
    ['no strides', (m) => delete training(m).strides, /bad\.json\.training\.strides: expected the input pixels per cell of each feature level/],
    ['strides that are not integers', (m) => (training(m).strides = [8, 'x']), /bad\.json\.training\.strides: expected/],
    ['strides whose anchors are not the model\'s', (m) => (training(m).strides = [8, 16, 32]), /yolo-det\.onnx: yolo strides: expected strides whose anchor grids over the 96×96 input add up to the predictions' 180 anchors, received "\[8, 16, 32\] \(189 anchors\)"/],
    ['a field the yolo loss does not read', (m) => (training(m).heads = { heatmap: 'x' }), /bad\.json\.training\.heads: expected no such field for loss "yolo" \(fields: loss, strides, predictions, scores, l1Weight, iouWeight, centerRadius\)/],
    ['scores neither probabilities nor logits', (m) => (training(m).scores = 'softmax'), /bad\.json\.training\.scores: expected "probabilities"/],
    ['a negative weight', (m) => (training(m).iouWeight = -1), /bad\.json\.training\.iouWeight: expected a non-negative number/],
    ['a predictions tensor the model does not have', (m) => (training(m).predictions = 'preds'), /yolo-det\.onnx: output "preds": no tensor of that name in the model/],
    ['category ids that do not match the class channels', (m) => (m.categoryIds = [1, 2, 3]), /manifest categoryIds: expected 5 category ids, one per class channel of "predictions"/],
    ['an unknown loss', (m) => (training(m).loss = 'retinanet'), /bad\.json\.training\.loss: expected "centernet" .* or "yolo"/],
  ];
  for (const [what, edit, message] of cases) {
    it(`exits 2 with one line for a yolo manifest with ${what}`, async () => {
      const { dir, coco, images } = await split();
      const m = await manifest();
      edit(m);
      const path = join(dir, 'bad.json');
      await writeFile(path, JSON.stringify(m));
      const ran = await runCli('train', '--model', fixture('yolo-det.onnx'), '--manifest', path, '--labeled', coco, '--images', images, '--steps', '1', '--batch', '2', '--out', dir);
      expect(ran.stderr).toMatch(message);
      expect(ran.code).toBe(2);
      expect(ran.stderr.trim().split('\n')).toHaveLength(1);
    });
  }
});

// `omnidistill train --model` for a CenterNet-style detector (tools/student/centernet_det.py:
// torch.onnx with TopK decoding in the graph) and for a model exported with its own loss
// (--loss-output; tools/student/loss_model.py); bad manifests exit 2 with one line naming the
// file and field.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeOnnxModel, tensorValues } from '@omnidistill/artifacts';
import { generateSplits } from '@omnidistill/synth';
import { runCli } from './helpers.js';

const fixture = (name: string) => new URL(`./fixtures/models/${name}`, import.meta.url).pathname;

async function split(style: 'objects' | 'keypoints', imageSize: number) {
  const dir = await mkdtemp(join(tmpdir(), 'cli-student-det-'));
  const r = await generateSplits({ outDir: dir, style, imageSize, seed: 4, counts: { labeled: 4, unlabeled: 0 }, concurrency: 2 });
  return { dir, coco: r.splits.labeled!.annotations, images: r.splits.labeled!.imagesDir };
}

const detManifest = async () => JSON.parse(await readFile(fixture('centernet-det.json'), 'utf8')) as Record<string, unknown>;
const headsOf = (m: Record<string, unknown>) => (m.training as { heads: Record<string, unknown> }).heads;

describe('omnidistill train --model (CenterNet-style detector)', () => {
  it('trains the raw heads, keeps the decoding graph and names, and the result runs in predict', async () => {
    const { dir, coco, images } = await split('objects', 64);
    const ran = await runCli('train', '--model', fixture('centernet-det.onnx'), '--manifest', fixture('centernet-det.json'), '--labeled', coco, '--images', images,
      '--steps', '3', '--batch', '2', '--threads', '1', '--freeze', 'backbone.0.*', '--out', dir);
    expect(ran.stderr).not.toMatch(/failed/);
    expect(ran.code).toBe(0);
    const summary = JSON.parse(ran.stdout) as { onnx: string; history: { step: number; loss: number }[] };
    expect(summary.history.at(-1)!.step).toBe(3);
    const before = decodeOnnxModel(new Uint8Array(await readFile(fixture('centernet-det.onnx'))));
    const after = decodeOnnxModel(new Uint8Array(await readFile(summary.onnx)));
    expect(after.graph.nodes).toEqual(before.graph.nodes);
    expect(after.graph.nodes.some((n) => n.opType === 'TopK')).toBe(true);
    expect(after.graph.inputs).toEqual(before.graph.inputs);
    expect(after.graph.outputs).toEqual(before.graph.outputs);
    const raw = (m: typeof before, name: string) => Array.from(m.graph.initializers.find((t) => t.name === name)!.raw!);
    expect(raw(after, 'backbone.0.weight')).toEqual(raw(before, 'backbone.0.weight'));
    for (const head of ['heat.2.weight', 'wh.2.weight', 'reg.2.weight']) expect(raw(after, head), head).not.toEqual(raw(before, head));
    // It drops back into the detector path (its manifest, `training` part included, loads in infer).
    const predicted = await runCli('predict', '--model', summary.onnx, '--images', images, '--image-list', coco, '--out', join(dir, 'pred.json'));
    expect(predicted.code).toBe(0);
    const results = JSON.parse(await readFile(join(dir, 'pred.json'), 'utf8')) as { category_id: number; bbox: number[] }[];
    expect(results.length).toBeGreaterThan(0);
    expect(new Set(results.map((r) => r.category_id)).size).toBeGreaterThan(1);
  });

  const cases: [string, (m: Record<string, unknown>) => void, RegExp][] = [
    ['no training part', (m) => delete m.training, /bad\.json\.training: expected the raw heads to train, e\.g\. \{"loss": "centernet"/],
    ['a missing head', (m) => delete headsOf(m).offset, /bad\.json\.training\.heads\.offset: expected a tensor name/],
    ['an unknown head', (m) => (headsOf(m).wh = 'size'), /bad\.json\.training\.heads\.wh: expected no such head/],
    ['an unknown loss', (m) => ((m.training as Record<string, unknown>).loss = 'retinanet'), /bad\.json\.training\.loss: expected "centernet"/],
    ['a field the centernet loss does not read', (m) => ((m.training as Record<string, unknown>).strides = [8]), /bad\.json\.training\.strides: expected no such field for loss "centernet" \(fields: loss, heads, sizeWeight\)/],
    ['a head that is no tensor of the model', (m) => (headsOf(m).heatmap = 'hm'), /centernet-det\.onnx: output "hm": no tensor of that name in the model/],
    ['heads of the wrong shape', (m) => (headsOf(m).size = 'heat_logits'), /centernet-det\.onnx: heads\.size "heat_logits": expected \[2, 2, 16, 16\]/],
    ['category ids that do not match the heatmap channels', (m) => (m.categoryIds = [1, 2, 3]), /manifest categoryIds: expected 5 category ids, one per channel of heads\.heatmap "heat_logits"/],
    ['no category ids', (m) => delete m.categoryIds, /bad\.json\.categoryIds: expected the COCO category id of each class channel/],
  ];
  for (const [what, edit, message] of cases) {
    it(`exits 2 with one line for a detector manifest with ${what}`, async () => {
      const { dir, coco, images } = await split('objects', 64);
      const m = await detManifest();
      edit(m);
      const manifest = join(dir, 'bad.json');
      await writeFile(manifest, JSON.stringify(m));
      const ran = await runCli('train', '--model', fixture('centernet-det.onnx'), '--manifest', manifest, '--labeled', coco, '--images', images, '--steps', '1', '--batch', '2', '--out', dir);
      expect(ran.code).toBe(2);
      expect(ran.stderr).toMatch(message);
      expect(ran.stderr.trim().split('\n')).toHaveLength(1);
    });
  }
});

describe('omnidistill train --model --loss-output (a model exported with its loss)', () => {
  it('trains on the model\'s own loss output exactly as the built-in heatmap loss trains the same weights', async () => {
    const { dir, coco, images } = await split('keypoints', 48);
    const common = ['--manifest', fixture('heatmap-loss.json'), '--labeled', coco, '--images', images, '--steps', '4', '--batch', '4', '--threads', '1', '--seed', '3'];
    const own = await runCli('train', '--model', fixture('heatmap-loss.onnx'), '--loss-output', 'loss', ...common, '--out', join(dir, 'own'));
    expect(own.stderr).not.toMatch(/failed/);
    expect(own.code).toBe(0);
    const builtIn = await runCli('train', '--model', fixture('heatmap-noloss.onnx'), ...common, '--out', join(dir, 'builtin'));
    expect(builtIn.code).toBe(0);
    // The history holds the last step's loss: after 3 identical updates, step 4's loss agrees.
    const last = (r: typeof own) => (JSON.parse(r.stdout) as { history: { step: number; loss: number }[] }).history.at(-1)!;
    expect(last(own).step).toBe(4);
    expect(Math.abs(last(own).loss - last(builtIn).loss) / last(builtIn).loss).toBeLessThan(1e-4);
    // And the trained weights agree (the with-loss export names them net.<name>).
    const model = async (r: typeof own) => decodeOnnxModel(new Uint8Array(await readFile(JSON.parse(r.stdout).onnx as string))).graph;
    const ownGraph = await model(own);
    expect(ownGraph.inputs.map((v) => v.name)).toEqual(['input', 'heatmap_targets', 'heatmap_target_weights']);
    expect(ownGraph.outputs.map((v) => v.name)).toEqual(['heatmaps', 'loss']);
    const ownWeights = new Map(ownGraph.initializers.map((t) => [t.name, t]));
    const builtInWeights = (await model(builtIn)).initializers;
    expect(builtInWeights.length).toBe(6);
    const original = decodeOnnxModel(new Uint8Array(await readFile(fixture('heatmap-noloss.onnx')))).graph.initializers;
    for (const t of builtInWeights) {
      const mine = tensorValues(ownWeights.get(`net.${t.name}`)!);
      const theirs = tensorValues(t);
      expect(Math.max(...mine.map((v, i) => Math.abs(v - theirs[i]))), t.name).toBeLessThan(1e-4);
      expect(Array.from(theirs), `${t.name} trained`).not.toEqual(Array.from(tensorValues(original.find((o) => o.name === t.name)!)));
    }
  });

  it('exits 2 for a loss output the model does not have, or one that is no scalar', async () => {
    const { dir, coco, images } = await split('keypoints', 48);
    const args = ['--manifest', fixture('heatmap-loss.json'), '--labeled', coco, '--images', images, '--steps', '1', '--batch', '2', '--out', dir];
    const missing = await runCli('train', '--model', fixture('heatmap-loss.onnx'), '--loss-output', 'total', ...args);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/heatmap-loss\.onnx: --loss-output: expected an output of the model \(heatmaps, loss\), received "total"/);
    const notScalar = await runCli('train', '--model', fixture('heatmap-loss.onnx'), '--loss-output', 'heatmaps', ...args);
    expect(notScalar.code).toBe(2);
    expect(notScalar.stderr).toMatch(/loss output "heatmaps": expected a float scalar/);
  });
});

// Bring-your-own-student: a top-down ONNX keypoint model (symbolic batch, written like an
// exporter would) is fine-tuned by trainOnnxStudent and written back with the same graph.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GraphBuilder, decodeOnnxModel, encodeModel, tensorValues } from '@omnidistill/artifacts';
import { COCO_PERSON } from '@omnidistill/core';
import { generateSplits } from '@omnidistill/synth';
import { Rng } from '@omnidistill/train';
import { DEFAULT_PIXELS, NO_CROP_AUGMENTATION, TopDownBatchBuilder, reinitialised, heatmapTargets, simccTargets, exportKeypointModel, resolveKeypointConfig, defineKeypointModel, trainOnnxStudent, type StudentSpec, type TopDownStudentSpec } from '@omnidistill/models';
import { instantiate } from '@omnidistill/artifacts';
import { randomFloats, runOnnx } from './helpers.js';

const K = COCO_PERSON.keypoints.length;

/** A small top-down model [N, 3, 32, 24] → heatmaps [N, 17, 16, 12], batch axis symbolic. */
function topDownOnnx(): Uint8Array {
  const g = new GraphBuilder({ phase: 'eval' });
  const x = g.input('input', 'float32', [1, 3, 32, 24]);
  let s = 1;
  const p = (name: string, shape: number[], lo = -0.3, hi = 0.3) => g.param(name, shape, randomFloats(shape.reduce((a, b) => a * b, 1), s++, lo, hi));
  let h = g.conv(x, p('backbone.conv.weight', [8, 3, 3, 3]), undefined, { strides: [2, 2], pads: [1, 1, 1, 1] });
  h = g.relu(g.batchNorm(h, p('backbone.bn.weight', [8], 0.8, 1.2), p('backbone.bn.bias', [8]), p('backbone.bn.running_mean', [8], -0.1, 0.1), p('backbone.bn.running_var', [8], 0.5, 1.5)));
  h = g.relu(g.conv(h, p('head.conv.weight', [8, 8, 3, 3]), p('head.conv.bias', [8]), { pads: [1, 1, 1, 1] }));
  g.output(g.conv(h, p('head.final.weight', [K, 8, 1, 1]), p('head.final.bias', [K])), 'heatmaps');
  const m = g.toModel();
  const batchFree = (v: (typeof m.inputs)[number]) => (v.type.kind === 'tensor' ? { ...v, type: { ...v.type, shape: [-1, ...v.type.shape.slice(1)] } } : v);
  return encodeModel({ ...m, inputs: m.inputs.map(batchFree), outputs: m.outputs.map(batchFree) });
}

const spec: TopDownStudentSpec = { image: 'input', heatmaps: 'heatmaps', pixels: { channelOrder: 'rgb', scale: 255, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] }, schema: COCO_PERSON };

/** Three steps of 4 (crops or RoIs) on a generated labeled split, written to `dir`. */
function trainBriefly(modelPath: string, studentSpec: StudentSpec, r: Awaited<ReturnType<typeof generateSplits>>, dir: string) {
  return trainOnnxStudent({
    modelPath,
    spec: studentSpec,
    manifest: { layout: studentSpec.layout },
    train: { coco: r.splits.labeled!.annotations, imageDir: r.splits.labeled!.imagesDir },
    steps: 3,
    batch: 4,
    outDir: dir,
    threads: 1,
    progressEvery: 1,
  });
}

describe('trainOnnxStudent (top-down heatmap model)', () => {
  it('fine-tunes the model from its own weights and writes it back with the same graph and names', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'onnx-student-'));
    const r = await generateSplits({ outDir: dir, style: 'keypoints', imageSize: 48, seed: 5, counts: { labeled: 6 }, concurrency: 2 });
    const modelPath = join(dir, 'user.onnx');
    const original = topDownOnnx();
    await writeFile(modelPath, original);
    const manifest = { format: 'omnidistill-model', version: 1, role: 'keypoints', layout: 'topdown-heatmap' };
    const run = await trainOnnxStudent({
      modelPath,
      spec,
      manifest,
      train: { coco: r.splits.labeled!.annotations, imageDir: r.splits.labeled!.imagesDir },
      steps: 4,
      batch: 4,
      freeze: ['backbone.conv.*'],
      outDir: dir,
      threads: 1,
      progressEvery: 1,
    });
    expect(run.history.map((h) => h.step)).toEqual([1, 2, 3, 4]);
    expect(run.history.every((h) => Number.isFinite(h.loss) && h.loss > 0)).toBe(true);
    expect(JSON.parse(await readFile(run.manifestPath, 'utf8'))).toEqual(manifest);

    const before = decodeOnnxModel(original);
    const after = decodeOnnxModel(new Uint8Array(await readFile(run.onnxPath)));
    expect(after.graph.nodes).toEqual(before.graph.nodes);
    expect(after.graph.inputs).toEqual(before.graph.inputs);
    expect(after.graph.outputs).toEqual(before.graph.outputs);
    const values = (m: typeof before, name: string) => Array.from(tensorValues(m.graph.initializers.find((t) => t.name === name)!));
    expect(values(after, 'backbone.conv.weight')).toEqual(values(before, 'backbone.conv.weight')); // frozen by pattern
    expect(values(after, 'backbone.bn.running_var')).toEqual(values(before, 'backbone.bn.running_var')); // statistics never trained
    expect(values(after, 'head.final.weight')).not.toEqual(values(before, 'head.final.weight'));
    // Still the user's model: batch 1 (the symbolic axis) runs in onnxruntime-node.
    const out = await runOnnx(new Uint8Array(await readFile(run.onnxPath)), { input: { data: randomFloats(3 * 32 * 24, 9), dims: [1, 3, 32, 24] } });
    expect(out.heatmaps.dims).toEqual([1, K, 16, 12]);
  });

  it("--reinit: torch's default Conv/Linear initialisation, norm scales 1, norm shifts 0; frozen parameters keep their values", () => {
    const params = [
      { name: 'conv.weight', shape: [64, 8, 3, 3], trainable: true, init: new Float32Array(64 * 72).fill(5) },
      { name: 'conv.bias', shape: [64], trainable: true, init: new Float32Array(64).fill(5) },
      { name: 'bn.weight', shape: [8], trainable: true, init: new Float32Array(8).fill(5) },
      { name: 'bn.bias', shape: [8], trainable: true, init: new Float32Array(8).fill(5) },
      { name: 'bn.running_var', shape: [8], trainable: false, init: new Float32Array(8).fill(5) },
    ];
    const fresh = reinitialised(params, 3);
    // kaiming_uniform(a = √5): U(−1/√fan_in, 1/√fan_in), fan_in = 8·3·3 = 72; the conv's bias likewise.
    const bound = 1 / Math.sqrt(72);
    for (const name of ['conv.weight', 'conv.bias']) {
      const v = fresh.get(name)!;
      expect(Math.max(...v.map(Math.abs))).toBeLessThanOrEqual(bound);
      expect(Math.max(...v.map(Math.abs))).toBeGreaterThan(0.9 * bound); // spread over the whole range
    }
    const w = fresh.get('conv.weight')!;
    const std = Math.sqrt(w.reduce((a, v) => a + v * v, 0) / w.length);
    expect(std).toBeCloseTo(bound / Math.sqrt(3), 2); // a uniform's std
    expect(Array.from(fresh.get('bn.weight')!)).toEqual(new Array(8).fill(1));
    expect(Array.from(fresh.get('bn.bias')!)).toEqual(new Array(8).fill(0));
    expect(Array.from(fresh.get('bn.running_var')!)).toEqual(new Array(8).fill(5));
  });

  it('trains on the wasm engine too (ORT training artifacts with ORT gradient kernels)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'onnx-student-wasm-'));
    const r = await generateSplits({ outDir: dir, style: 'keypoints', imageSize: 48, seed: 8, counts: { labeled: 4 }, concurrency: 2 });
    const modelPath = join(dir, 'user.onnx');
    await writeFile(modelPath, topDownOnnx());
    const run = await trainOnnxStudent({ modelPath, spec, manifest: {}, train: { coco: r.splits.labeled!.annotations, imageDir: r.splits.labeled!.imagesDir }, steps: 2, batch: 2, outDir: dir, engine: 'wasm', progressEvery: 1 });
    expect(run.engine).toMatch(/^wasm/);
    expect(run.history.every((h) => Number.isFinite(h.loss) && h.loss > 0)).toBe(true);
  });

  it('trains a rois-layout model (the reference keypoint model exported to ONNX) one image per step', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'onnx-student-rois-'));
    const r = await generateSplits({ outDir: dir, style: 'keypoints', imageSize: 48, seed: 6, counts: { labeled: 4 }, concurrency: 2 });
    const config = resolveKeypointConfig({ keypoints: K, seed: 2 });
    const { g } = instantiate(defineKeypointModel(config, { batch: 1, height: 48, width: 48, rois: 2 }), 'eval', 'standard');
    const modelPath = join(dir, 'keypoints.onnx');
    const original = exportKeypointModel(config, new Map(g.params.map((p) => [p.name, p.init])));
    await writeFile(modelPath, original);
    const run = await trainBriefly(modelPath, { layout: 'rois', image: 'image', rois: 'rois', heatmaps: 'heatmaps', pixels: { channelOrder: 'rgb', scale: 255, ...DEFAULT_PIXELS }, schema: COCO_PERSON }, r, dir);
    expect(run.history.map((h) => h.step)).toEqual([1, 2, 3]);
    expect(run.history.every((h) => Number.isFinite(h.loss) && h.loss > 0)).toBe(true);
    const before = decodeOnnxModel(original);
    const after = decodeOnnxModel(new Uint8Array(await readFile(run.onnxPath)));
    expect(after.graph.nodes).toEqual(before.graph.nodes);
    expect(after.graph.inputs).toEqual(before.graph.inputs); // still dynamic H, W and RoI count
    const changed = after.graph.initializers.filter((t, i) => Array.from(tensorValues(t)).some((v, j) => v !== tensorValues(before.graph.initializers[i])[j]));
    expect(changed.length).toBeGreaterThan(0);
  });

  it('trains a SimCC model (1-D x / y logits) with Gaussian soft labels', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'onnx-student-simcc-'));
    const r = await generateSplits({ outDir: dir, style: 'keypoints', imageSize: 48, seed: 7, counts: { labeled: 4 }, concurrency: 2 });
    // [N, 3, 32, 24] → features [N, 17, 8, 6] → x [N, 17, 48], y [N, 17, 64] (split ratio 2).
    const g = new GraphBuilder({ phase: 'eval' });
    const x = g.input('input', 'float32', [1, 3, 32, 24]);
    const f = g.conv(x, g.param('backbone.weight', [K, 3, 4, 4], randomFloats(K * 48, 1, -0.2, 0.2)), undefined, { strides: [4, 4] });
    // As torch exports flatten: batch copied (0), the rest inferred (-1), so any batch size works.
    const flat = g.node('Reshape', [f, g.int64s([0, K, -1])], [{ dtype: 'float32', shape: [1, K, 48] }])[0];
    g.output(g.matMul(flat, g.param('head.x', [48, 48], randomFloats(48 * 48, 2, -0.2, 0.2))), 'simcc_x');
    g.output(g.matMul(flat, g.param('head.y', [48, 64], randomFloats(48 * 64, 3, -0.2, 0.2))), 'simcc_y');
    const modelPath = join(dir, 'simcc.onnx');
    await writeFile(modelPath, g.toModelBytes());
    const run = await trainBriefly(modelPath, { layout: 'simcc', image: 'input', x: 'simcc_x', y: 'simcc_y', pixels: spec.pixels, schema: COCO_PERSON, splitRatio: 2, sigma: 2 }, r, dir);
    expect(run.history.every((h) => Number.isFinite(h.loss) && h.loss > 0)).toBe(true);
    expect(decodeOnnxModel(new Uint8Array(await readFile(run.onnxPath))).graph.outputs.map((o) => o.name)).toEqual(['simcc_x', 'simcc_y']);
  });

  it('SimCC labels: a normalised Gaussian per axis centred on the keypoint bin', () => {
    const t = simccTargets({ height: 32, width: 24 }, 2, 1.5).start(1, 2);
    t.write([12, 8, 2, 5, 5, 0], [0, 0, 24, 32], 0); // keypoint 0 at crop pixel (12, 8); keypoint 1 unlabeled
    const f = t.feeds();
    const tx = f.simcc_target_x.data as Float32Array;
    const ty = f.simcc_target_y.data as Float32Array;
    expect(f.simcc_target_x.dims).toEqual([1, 2, 48]);
    expect(Array.from(f.simcc_target_weights.data as Float32Array)).toEqual([1, 0]);
    expect(tx.subarray(0, 48).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    // Centre 12·2 − 0.5 = 23.5: bins 23 and 24 share the peak.
    expect(tx[23]).toBeCloseTo(tx[24], 6);
    expect(tx[23]).toBeGreaterThan(tx[22]);
    expect(ty[15]).toBeCloseTo(ty[16], 6); // 8·2 − 0.5 = 15.5
  });

  it('crops each person to the input aspect ratio and targets the keypoint cells (mirrored with channel swap)', () => {
    // One 40×40 image, one person box 10..20 × 5..25 (aspect 1:2 = the 12×24 input), padding 1.
    const kps = new Array<number>(3 * K).fill(0);
    kps.splice(0, 3, 15, 15, 2); // nose at the box centre
    kps.splice(3 * 1, 3, 11, 6, 2); // left eye near the top-left corner
    const image = { id: 1, fileName: 'a.png', width: 40, height: 40, pixels: new Uint8Array(40 * 40 * 3).fill(128), annotations: [{ id: 1, image_id: 1, category_id: 1, bbox: [10, 5, 10, 20], area: 200, iscrowd: 0, keypoints: kps, num_keypoints: 2 }] };
    const make = (flipProbability: number) =>
      new TopDownBatchBuilder({ batch: 2, height: 24, width: 12, targets: heatmapTargets(12, 6), spec: { ...spec, padding: 1 }, augmentation: { ...NO_CROP_AUGMENTATION, flipProbability } }).build([image as never], new Rng(1));
    const plain = make(0);
    const t = plain.heatmap_targets.data as BigInt64Array;
    const w = plain.heatmap_target_weights.data as Float32Array;
    expect(plain.input.dims).toEqual([2, 3, 24, 12]);
    expect([Number(t[0]), w[0]]).toEqual([6 * 6 + 3, 1]); // (15, 15) → cell (3, 6)
    expect([Number(t[1]), w[1]]).toEqual([0 * 6 + 0, 1]); // (11, 6) → cell (0, 0)
    expect(Array.from(w.subarray(K))).toEqual(new Array(K).fill(0)); // second slot: padding, no loss
    expect((plain.input.data as Float32Array)[0]).toBeCloseTo((128 / 255 - 0.5) / 0.25, 5);
    const mirrored = make(1);
    const tm = mirrored.heatmap_targets.data as BigInt64Array;
    // Flipped: the nose stays in the centre cell; the left eye becomes the right eye (channel 2) at the mirrored cell (0, 5).
    expect(Number(tm[0])).toBe(6 * 6 + 3);
    expect([Number(tm[2]), (mirrored.heatmap_target_weights.data as Float32Array)[2]]).toEqual([5, 1]);
  });
});

// End-to-end wiring of the high-level API on a few generated images: train a couple of steps,
// export, evaluate with COCOeval. (The figures themselves come from tools/models/train-reference.ts.)
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseManifest } from '@omnidistill/infer';
import { generateSplits } from '@omnidistill/synth';
import { describe, expect, it } from 'vitest';
import { evaluateDetector, evaluateKeypointModel, trainDetector, trainKeypointModel } from '@omnidistill/models';

async function splits(style: 'keypoints' | 'objects') {
  const dir = await mkdtemp(join(tmpdir(), `models-api-${style}-`));
  const r = await generateSplits({ outDir: dir, style, imageSize: 48, seed: 3, counts: { labeled: 4, val: 3 }, concurrency: 2 });
  const of = (s: 'labeled' | 'val') => ({ coco: r.splits[s]!.annotations, imageDir: r.splits[s]!.imagesDir });
  return { dir, train: of('labeled'), val: of('val') };
}

describe('high-level API', () => {
  it('trainKeypointModel → ONNX + manifest → evaluateKeypointModel (one result per ground-truth person)', async () => {
    const { dir, train, val } = await splits('keypoints');
    const run = await trainKeypointModel({ train, steps: 2, batch: 2, roisPerBatch: 4, outDir: dir, threads: 1, onProgress: () => {} });
    expect(run.parameterCount).toBe(86_180);
    expect(run.history.at(-1)!.step).toBe(2);
    expect(parseManifest(JSON.parse(await readFile(run.manifestPath, 'utf8'))).role).toBe('keypoints');
    const ev = await evaluateKeypointModel({ onnxPath: run.onnxPath, split: val, threads: 1 });
    const gt = JSON.parse(await readFile(val.coco, 'utf8')) as { annotations: unknown[] };
    expect(ev.detections).toBe(gt.annotations.length);
    expect(ev.ap).toBeGreaterThanOrEqual(0);
    expect(ev.stats).toHaveLength(10);
  });

  it('trainDetector → ONNX + manifest → evaluateDetector', async () => {
    const { dir, train, val } = await splits('objects');
    const run = await trainDetector({ train, steps: 2, batch: 2, outDir: dir, threads: 1, onProgress: () => {} });
    const manifest = parseManifest(JSON.parse(await readFile(run.manifestPath, 'utf8')));
    expect(manifest.role === 'detector' && manifest.categoryIds).toEqual([1, 2, 3, 4, 5]);
    const ev = await evaluateDetector({ onnxPath: run.onnxPath, split: val, threads: 1 });
    expect(ev.detections).toBe(3 * 100);
    expect(ev.stats).toHaveLength(12);
  });

  it('trains the keypoint model on the wasm engine too (ORT training artifacts, ORT grad kernels)', async () => {
    const { dir, train } = await splits('keypoints');
    const losses: number[] = [];
    const run = await trainKeypointModel({
      train, steps: 2, batch: 2, roisPerBatch: 4, outDir: dir, engine: 'wasm', progressEvery: 1, model: { headConvs: 1 },
      onProgress: (p) => losses.push(p.loss),
    });
    expect(run.engine).toMatch(/^wasm/);
    expect(losses).toHaveLength(2);
    expect(losses.every(Number.isFinite)).toBe(true);
  });

  it('refuses a training split without instances of the model\'s category and keypoint count', async () => {
    const { dir, train } = await splits('objects');
    await expect(trainKeypointModel({ train, steps: 1, outDir: dir })).rejects.toThrow(/category 1 with 17 keypoints/);
  });

  it('rejects an unknown engine by name', async () => {
    await expect(trainKeypointModel({ train: { coco: 'x', imageDir: 'y' }, steps: 1, engine: 'gpu' as never, outDir: 'z' })).rejects.toThrow(/options.engine/);
  });
});

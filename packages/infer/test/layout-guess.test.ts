import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { guessLayout, modelInfo, parseManifest, type ModelInfo, type TensorInfo } from '@omnidistill/infer';

const t = (name: string, shape: (number | string)[], dtype = 'float32'): TensorInfo => ({ name, dtype, shape });
const info = (inputs: TensorInfo[], outputs: TensorInfo[]): ModelInfo => ({
  producer: 'test',
  irVersion: 8,
  opset: 17,
  opsets: [{ domain: '', version: 17 }],
  inputs,
  outputs,
  opCounts: {},
  roiAligns: [],
  inputResizes: [],
  nonMaxSuppressions: 0,
  warnings: [],
});

// One row per layout signature: [what, inputs, outputs, layout, role, manifest fields expected].
const cases: [string, TensorInfo[], TensorInfo[], string, string, Record<string, unknown>][] = [
  ['our detector contract', [t('image', [1, 3, 'h', 'w'])], [t('boxes', ['d', 4]), t('scores', ['d']), t('labels', ['d'], 'int64')], 'rois', 'detector', { outputs: { boxes: 'boxes', scores: 'scores', labels: 'labels' } }],
  ['torchvision keypoint R-CNN', [t('images', [3, 'h', 'w'])], [t('boxes', ['d', 4]), t('labels', ['d'], 'int64'), t('scores', ['d']), t('keypoints', ['d', 17, 3]), t('keypoints_scores', ['d', 17])], 'torchvision-detection', 'keypoints', { outputs: { boxes: 'boxes', scores: 'scores', labels: 'labels', keypoints: 'keypoints', keypointScores: 'keypoints_scores' }, keypoints: { schema: 'coco-person' } }],
  ['YOLO detect, 80 classes', [t('images', [1, 3, 640, 640])], [t('output0', [1, 84, 8400])], 'yolo', 'detector', { outputs: { predictions: 'output0' } }],
  ['YOLO pose, 17 keypoints', [t('images', [1, 3, 640, 640])], [t('output0', [1, 56, 8400])], 'yolo', 'keypoints', { keypoints: { schema: 'coco-person' } }],
  ['top-down heatmaps 256×192', [t('input', [1, 3, 256, 192])], [t('heatmaps', [1, 17, 64, 48])], 'topdown-heatmap', 'keypoints', { outputs: { heatmaps: 'heatmaps' } }],
  ['SimCC', [t('input', [1, 3, 256, 192])], [t('simcc_x', [1, 17, 384]), t('simcc_y', [1, 17, 512])], 'simcc', 'keypoints', { outputs: { x: 'simcc_x', y: 'simcc_y' } }],
];

describe('guessLayout', () => {
  it.each(cases)('%s', (_what, inputs, outputs, layout, role, fields) => {
    const g = guessLayout(info(inputs, outputs));
    expect(g).not.toBeNull();
    expect(g!.layout).toBe(layout);
    expect(g!.role).toBe(role);
    expect(g!.manifest).toMatchObject({ format: 'omnidistill-model', version: 1, role, ...fields });
    // The skeleton is a manifest the layout table accepts as it stands.
    expect(parseManifest(g!.manifest)).toMatchObject({ role, layout });
  });

  it('a signature no layout matches gives null', () => {
    expect(guessLayout(info([t('a', [4]), t('b', [4]), t('c', [4])], [t('y', [4])]))).toBeNull();
  });
});

describe('inspect on the real torch.onnx exports of tools/layouts/export.py', () => {
  const dir = new URL('./layouts/', import.meta.url);
  const names = readdirSync(dir).filter((f) => f.endsWith('.onnx'));
  it.each(names)('%s: the guessed layout, role and tensor names are those of its committed manifest', (file) => {
    const info = modelInfo(new Uint8Array(readFileSync(new URL(file, dir))));
    const manifest = JSON.parse(readFileSync(new URL(file.replace(/\.onnx$/, '.json'), dir), 'utf8'));
    const g = guessLayout(info)!;
    expect(g.layout).toBe(manifest.layout ?? 'rois');
    expect(g.role).toBe(manifest.role);
    expect(g.manifest.inputs).toEqual(manifest.inputs);
    expect(g.manifest.outputs).toEqual(manifest.outputs);
  });

  it('flags the opset-17 Faster R-CNN (aligned=False heads get half_pixel) and every torchvision input Resize', () => {
    const warnings = (f: string) => modelInfo(new Uint8Array(readFileSync(new URL(f, dir)))).warnings;
    expect(warnings('fasterrcnn-opset17.onnx')[0]).toMatch(/at opset 17 computes aligned=True .* export at opset 11/);
    expect(warnings('fasterrcnn.onnx')).toEqual([expect.stringMatching(/^Resize "\/transform\/Resize" resamples the input image/)]);
    expect(warnings('yolo-detect.onnx')).toEqual([]);
  });
});

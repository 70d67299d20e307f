import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COCO_PERSON } from '@omnidistill/core';
import { LAYOUT_NAMES, layoutAdapter, loadManifest, parseManifest } from '@omnidistill/infer';

const keypoints = {
  format: 'omnidistill-model',
  version: 1,
  role: 'keypoints',
  inputs: { image: 'image', rois: 'rois' },
  outputs: { heatmaps: 'heatmaps' },
  keypoints: { schema: 'coco-person', heatmapSize: 56 },
};

describe('parseManifest', () => {
  it('fills defaults: COCO person names and flip pairs, identity normalisation, bilinear resize', () => {
    const m = parseManifest(keypoints);
    expect(m.role).toBe('keypoints');
    if (m.role !== 'keypoints') return;
    expect(m.keypoints.names).toEqual(COCO_PERSON.keypoints);
    expect(m.keypoints.flipPairs).toEqual(COCO_PERSON.flipPairs);
    expect(m.keypoints).toMatchObject({ heatmapSize: 56, categoryId: 1 });
    expect(m.pixels).toEqual({ channelOrder: 'rgb', scale: 255, mean: [0, 0, 0], std: [1, 1, 1], resizeKernel: 'linear', sizeDivisor: 1 });
  });

  it('reads a detector manifest with a label → category map', () => {
    const m = parseManifest({
      format: 'omnidistill-model',
      version: 1,
      role: 'detector',
      inputs: { image: 'data' },
      outputs: { boxes: 'b', scores: 's', labels: 'l' },
      pixels: { channelOrder: 'bgr', mean: [0.4, 0.5, 0.6], std: [0.2, 0.2, 0.2], sizeDivisor: 32 },
      categoryIds: [1, 3, 7],
    });
    expect(m).toMatchObject({ role: 'detector', inputs: { image: 'data' }, categoryIds: [1, 3, 7], pixels: { channelOrder: 'bgr', sizeDivisor: 32 } });
  });

  it.each([
    [{ ...keypoints, format: 'other' }, 'manifest.format: expected "omnidistill-model", received "other" (string)'],
    [{ ...keypoints, version: 2 }, 'manifest.version: expected 1, received 2 (number)'],
    [{ ...keypoints, role: 'segmenter' }, 'manifest.role: expected one of "detector", "keypoints", received "segmenter" (string)'],
    [{ ...keypoints, inputs: { image: 'image' } }, 'manifest.inputs.rois: expected a non-empty tensor name, received undefined'],
    [{ ...keypoints, outputs: { heatmaps: 'h', extra: 'x' } }, 'manifest.outputs.extra: expected no such field (known: heatmaps)'],
    [{ ...keypoints, pixels: { std: [1, 0, 1] } }, 'manifest.pixels.std[1]: expected a positive number, received 0 (number)'],
    [{ ...keypoints, pixels: { mean: [1, 2] } }, 'manifest.pixels.mean: expected an array of 3 numbers, received an array of length 2'],
    [{ ...keypoints, pixels: { resizeKernel: 'box' } }, 'manifest.pixels.resizeKernel: expected one of "nearest", "linear", "cubic", "lanczos3", received "box" (string)'],
    [{ ...keypoints, keypoints: { schema: 'coco-person', heatmapSize: 0 } }, 'manifest.keypoints.heatmapSize: expected a positive integer, received 0 (number)'],
    [{ ...keypoints, keypoints: { schema: 'hand', heatmapSize: 8 } }, 'manifest.keypoints.names: expected a non-empty array of keypoint names (required unless schema is "coco-person")'],
    [{ ...keypoints, keypoints: { schema: 'hand', names: ['a', 'b'], flipPairs: [[0, 2]], heatmapSize: 8 } }, 'manifest.keypoints.flipPairs[0]: expected indices in [0, 1] (K = 2), received 2 (number)'],
    [{ ...keypoints, role: 'detector', inputs: { image: 'i' }, outputs: { boxes: 'b', scores: 's', labels: 'l' } }, 'manifest.keypoints: expected no such field (known: format, version, role, layout, layoutOptions, inputs, outputs, pixels, training, categoryIds)'],
    [{ format: 'omnidistill-model', version: 1, role: 'detector', inputs: { image: 'i' }, outputs: { boxes: 'b', scores: 's', labels: 'l' }, categoryIds: [1, -1] }, 'manifest.categoryIds[1]: expected an integer >= 0, received -1 (number)'],
  ])('rejects a bad manifest precisely (case %#)', (value, message) => {
    expect(() => parseManifest(value)).toThrow(message);
  });

  it('accepts the `training` part a detector student\'s manifest carries (train --model reads it; inference ignores it)', () => {
    const training = { loss: 'centernet', heads: { heatmap: 'heat_logits', size: 'size', offset: 'offset' } };
    const m = parseManifest({ format: 'omnidistill-model', version: 1, role: 'detector', inputs: { image: 'i' }, outputs: { boxes: 'b', scores: 's', labels: 'l' }, training });
    expect(m.role).toBe('detector');
    expect(m.outputs).toEqual({ boxes: 'b', scores: 's', labels: 'l' });
  });

  it('defaults to the rois layout (the internal contract) without layoutOptions', () => {
    const m = parseManifest(keypoints);
    expect(m.layout).toBe('rois');
    expect(m.layoutOptions).toEqual({ layout: 'rois' });
    expect(parseManifest({ ...keypoints, layout: 'rois' })).toEqual(m);
  });

  it('refuses an unknown layout, listing the known ones', () => {
    expect(() => parseManifest({ ...keypoints, layout: 'detectron' })).toThrow(
      `manifest.layout: expected one of ${LAYOUT_NAMES.map((n) => JSON.stringify(n)).join(', ')}, received "detectron" (string)`,
    );
    expect(() => layoutAdapter('detectron')).toThrow(`one of the known layouts (${LAYOUT_NAMES.join(', ')})`);
  });

  it('refuses layoutOptions on a layout that has none', () => {
    expect(() => parseManifest({ ...keypoints, layoutOptions: { padding: 1 } })).toThrow('manifest.layoutOptions: expected no layoutOptions for layout "rois"');
  });

  it('names the file in load errors', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'omni-manifest-'));
    await writeFile(join(dir, 'bad.json'), '{ not json');
    await expect(loadManifest(join(dir, 'bad.json'))).rejects.toThrow(`${join(dir, 'bad.json')}: the model manifest is not valid JSON`);
    await writeFile(join(dir, 'm.json'), JSON.stringify({ ...keypoints, keypoints: { schema: 'coco-person', heatmapSize: -1 } }));
    await expect(loadManifest(join(dir, 'm.json'))).rejects.toThrow(`${join(dir, 'm.json')}.keypoints.heatmapSize: expected a positive integer`);
    await expect(loadManifest(join(dir, 'missing.json'))).rejects.toThrow('cannot read the model manifest');
  });
});

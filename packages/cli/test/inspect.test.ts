import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseManifest } from '@omnidistill/infer';
import { runCli } from './helpers.js';

const models = join(import.meta.dirname, 'fixtures', 'models');
const tmp = mkdtempSync(join(tmpdir(), 'omnidistill-inspect-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('omnidistill inspect (real torch.onnx exports, tools/teachers/inspect-fixtures.py)', () => {
  it('opset 11 RoiAlign head: aligned=False only, warned, guessed rois layout with a valid manifest', async () => {
    const out = join(tmp, 'kp.json');
    const r = await runCli('inspect', join(models, 'roi-kp-opset11.onnx'), '--manifest-out', out);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/opset 11, IR 6/);
    expect(r.stdout).toContain('  image  float32 [1, 3, height, width]');
    expect(r.stdout).toContain('  rois  float32 [n, 4]');
    expect(r.stdout).toContain('  heatmaps  float32 [n, 5, 14, 14]');
    expect(r.stdout).toMatch(/RoiAlign \/RoiAlign: mode avg, coordinate_transformation_mode output_half_pixel \(opset default\) → aligned=False; spatial_scale 0\.5, sampling_ratio 2, output 7×7/);
    expect(r.stdout).toMatch(/warning: RoiAlign "\/RoiAlign" at opset 11 has no aligned mode: .*re-export with opset_version=16 or later/);
    expect(r.stdout).toMatch(/layout: rois \(keypoints\)/);
    const manifest = parseManifest(JSON.parse(readFileSync(out, 'utf8')));
    expect(manifest).toMatchObject({ role: 'keypoints', inputs: { image: 'image', rois: 'rois' }, keypoints: { heatmapSize: 14 } });
    expect(manifest.role === 'keypoints' && manifest.keypoints.names).toHaveLength(5);
  });

  it('opset 16 without an explicit mode: half_pixel (aligned=True), the reverse trap is named', async () => {
    const r = await runCli('inspect', join(models, 'roi-kp-opset16.onnx'), '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.info.opset).toBe(16);
    expect(j.info.roiAligns[0]).toMatchObject({ coordinateTransformationMode: 'half_pixel', explicit: false, samplingRatio: 2 });
    expect(j.warnings).toHaveLength(1);
    expect(j.warnings[0]).toMatch(/uses aligned=False: if this head was trained that way, export at opset 11/);
  });

  it('torchvision Faster R-CNN: rank-3 input, in-graph Resize and NMS found, torchvision-detection guessed', async () => {
    const r = await runCli('inspect', join(models, 'tv-frcnn-opset11.onnx'), '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.info.inputs).toEqual([{ name: 'images', dtype: 'float32', shape: [3, 'height', 'width'] }]);
    expect(j.info.outputs.map((o: { name: string; dtype: string }) => `${o.name}:${o.dtype}`)).toEqual(['boxes:float32', 'labels:int64', 'scores:float32']);
    expect(j.info.inputResizes).toEqual([{ node: '/transform/Resize', input: '/transform/Unsqueeze_output_0', mode: 'linear' }]);
    expect(j.info.nonMaxSuppressions).toBeGreaterThan(0);
    // The box head's RoiAlign is aligned=False by design: no alignment warning at opset 11.
    expect(j.warnings).toHaveLength(1);
    expect(j.warnings[0]).toMatch(/^Resize "\/transform\/Resize" resamples the input image inside the graph .*only flips change what the network sees/);
    expect(j.layout).toBe('torchvision-detection');
    expect(j.manifest).toMatchObject({ role: 'detector', layout: 'torchvision-detection', inputs: { image: 'images' }, outputs: { boxes: 'boxes', scores: 'scores', labels: 'labels' } });
  });

  it('a file that is not ONNX, a missing file and a missing argument exit 2 with one line', async () => {
    const bad = join(tmp, 'bad.onnx');
    writeFileSync(bad, '{"not": "onnx"}');
    const r = await runCli('inspect', bad);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^omnidistill inspect: ${bad.replace(/[.]/g, '\\.')} is not a readable ONNX model \\(.*\\); export it with torch\\.onnx\\.export or check the file\\n$`));
    expect(await runCli('inspect', join(tmp, 'missing.onnx'))).toMatchObject({ code: 2, stderr: expect.stringMatching(/cannot read model .*missing\.onnx \(ENOENT\)/) });
    expect(await runCli('inspect')).toMatchObject({ code: 2, stderr: expect.stringMatching(/expected one MODEL\.onnx argument, received 0/) });
  });
});

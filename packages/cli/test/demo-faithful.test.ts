// The faithful keypoint demo (DESIGN.md "Faithful pipeline") at tiny settings, run as the
// user runs it (a child process from the TypeScript sources through tsx, so its own child
// training works too): a person detector teacher is trained, its boxes under the plan are
// the RoIs on unlabeled images, the generated labels carry those boxes (not the hidden
// ground truth), and every row gets end-to-end keypoint AP beside the GT-box AP.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCocoDataset } from '@omnidistill/coco';
import { createModelSession, decodeImage, detectRois, loadManifest } from '@omnidistill/infer';
import type { DetectorManifest } from '@omnidistill/infer';
import { afterAll, describe, expect, it } from 'vitest';
import { demoPlan } from '../src/pipeline/demo.js';
import type { DemoResult } from '../src/pipeline/demo.js';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const tmp = mkdtempSync(join(tmpdir(), 'omnidistill-demo-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// Enough detector steps that it scores some boxes above the merge's 0.05 floor; the rest tiny.
const TINY = ['--quick', '--labeled', '12', '--unlabeled', '6', '--val', '4', '--teacher-steps', '4', '--student-steps', '4', '--detector-steps', '120'];

function demo(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', '--conditions=source', join(pkg, 'src', 'bin.ts'), 'demo', ...TINY, ...args], {
    cwd: pkg,
    encoding: 'utf8',
  });
}

const boxKey = (b: ArrayLike<number>) => Array.from(b, (x) => x.toFixed(2)).join(',');

describe('omnidistill demo (keypoints, faithful pipeline)', () => {
  it('labels unlabeled images with the detector teacher\'s boxes and reports end-to-end AP', { timeout: 600_000 }, async () => {
    const out = join(tmp, 'faithful');
    const r = demo('--out', out, '--json');
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.status).toBe(0);
    const result = JSON.parse(r.stdout) as DemoResult;
    expect(result.settings.rois).toBe('detector');
    expect(result.detector?.steps).toBe(120);
    for (const row of result.rows) {
      expect(row.endToEnd?.single).toBeGreaterThanOrEqual(0);
      expect(row.endToEnd?.multi).toBeGreaterThanOrEqual(0);
    }

    const generated = await readCocoDataset(result.generated);
    expect(generated.annotations.length).toBeGreaterThan(0);
    const hidden = await readCocoDataset(result.unlabeled.hidden!);
    const gtBoxes = new Set(hidden.annotations.map((a) => boxKey([a.bbox[0], a.bbox[1], a.bbox[0] + a.bbox[2], a.bbox[1] + a.bbox[3]])));
    // The detector teacher's own boxes under the demo's plan, recomputed here.
    const detectorOnnx = join(out, 'models', 'detector.onnx');
    const detector = await createModelSession(detectorOnnx, (await loadManifest(join(out, 'models', 'detector.json'))) as DetectorManifest);
    for (const img of generated.images) {
      const anns = generated.annotations.filter((a) => a.image_id === img.id);
      if (anns.length === 0) continue;
      const decoded = await decodeImage(join(result.unlabeled.imageDir, img.file_name));
      if (!decoded.ok) throw new Error(decoded.failure.message);
      const rois = await detectRois(detector, decoded.image, { categoryIds: [1], plan: demoPlan(result.settings) });
      const detected = new Set(Array.from({ length: rois.scores.length }, (_, i) => boxKey(rois.boxes.subarray(4 * i, 4 * i + 4))));
      for (const a of anns) {
        const key = boxKey([a.bbox[0], a.bbox[1], a.bbox[0] + a.bbox[2], a.bbox[1] + a.bbox[3]]);
        expect(detected.has(key)).toBe(true);
        expect(gtBoxes.has(key)).toBe(false);
        expect(a.keypoints).toHaveLength(51);
      }
    }
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('end to end');
  });

  it('refuses --rois with the detection task (exit 2, one line)', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--conditions=source', join(pkg, 'src', 'bin.ts'), 'demo', '--task', 'detection', '--rois', 'gt', '--out', join(tmp, 'det')], {
      cwd: pkg,
      encoding: 'utf8',
    });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('--rois');
  });
});

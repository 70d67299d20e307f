// `omnidistill synth`: writes the demo's synthetic splits in the layout label/train/eval read,
// seeded (a second run writes identical files), and names bad flags with exit code 2.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'omnidistill-synth-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Coco {
  images: { id: number; file_name: string; width: number }[];
  annotations: { category_id: number }[];
  categories: { id: number }[];
}
const read = (file: string): Coco => JSON.parse(readFileSync(file, 'utf8')) as Coco;

describe('omnidistill synth', () => {
  it('writes labeled, unlabeled (labels withheld) and val splits of the requested sizes', async () => {
    const out = join(tmp, 'det');
    const r = await runCli('synth', '--task', 'detection', '--out', out, '--labeled', '3', '--unlabeled', '2', '--val', '2', '--image-size', '48');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^unlabeled: 2 images in .*, listed in .*annotations\.json \(labels withheld in .*annotations\.hidden\.json\)$/m);
    const labeled = read(join(out, 'labeled/annotations.json'));
    expect(labeled.images).toHaveLength(3);
    expect(labeled.images[0].width).toBe(48);
    expect(labeled.annotations.length).toBeGreaterThan(0);
    expect(labeled.categories.map((c) => c.id)).toEqual([1, 2, 3, 4, 5]);
    const unlabeled = read(join(out, 'unlabeled/annotations.json'));
    expect(unlabeled.images).toHaveLength(2);
    expect(unlabeled.annotations).toHaveLength(0);
    expect(read(join(out, 'unlabeled/annotations.hidden.json')).annotations.length).toBeGreaterThan(0);
    expect(read(join(out, 'val/annotations.json')).images).toHaveLength(2);

    // Seeded: the same flags into another folder give the same labels.
    const again = join(tmp, 'det-again');
    await runCli('synth', '--task', 'detection', '--out', again, '--labeled', '3', '--unlabeled', '2', '--val', '2', '--image-size', '48');
    expect(read(join(again, 'labeled/annotations.json')).annotations).toEqual(labeled.annotations);
  });

  it('rejects bad flags with exit 2 and one line naming the flag', async () => {
    expect(await runCli('synth', '--out', join(tmp, 'x'), '--task', 'segmentation')).toMatchObject({ code: 2, stderr: expect.stringMatching(/--task: expected one of "keypoints", "detection"/) });
    expect(await runCli('synth', '--task', 'keypoints')).toMatchObject({ code: 2, stderr: expect.stringMatching(/--out is required/) });
    expect(await runCli('synth', '--out', join(tmp, 'y'), '--image-size', '8')).toMatchObject({ code: 2, stderr: expect.stringMatching(/--image-size: expected at least 32 pixels, received 8/) });
    expect(await runCli('synth', '--out', join(tmp, 'z'), '--labeled', '0')).toMatchObject({ code: 2, stderr: expect.stringMatching(/--labeled: expected a positive integer, received "0"/) });
  });
});

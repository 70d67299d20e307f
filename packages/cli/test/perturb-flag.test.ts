// `train --perturb-generated`: the flag of the `beyond` experiment's students. Bad values and
// a perturbation without generated samples are usage errors; a perturbed run is a different
// checkpoint identity, while an unperturbed one keeps the identity it had before the flag.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { trainDataOptions } from '../src/commands/train-flags.js';
import { dataIdentity } from '../src/pipeline/train-run.js';
import { runCli } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'omnidistill-perturb-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('train --perturb-generated', () => {
  it.each([
    [['--perturb-generated', 'wild'], /--perturb-generated: expected one of "none", "strong", received "wild"/],
    [['--perturb-generated', 'strong'], /--perturb-generated: .* needs --generated/],
  ])('%j is a one-line usage error (exit 2)', async (flags, message) => {
    const r = await runCli('train', '--task', 'keypoints', '--labeled', 'l.json', '--images', 'img', '--steps', '1', '--out', join(tmp, 'o'), ...flags);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('names the perturbation in the checkpoint identity only when it is set', async () => {
    // An empty COCO file with no images: identities hash the files, so they must exist.
    const coco = join(tmp, 'empty.json');
    writeFileSync(coco, JSON.stringify({ images: [], annotations: [], categories: [{ id: 1, name: 'person' }] }));
    const flags = { labeled: coco, images: tmp, generated: coco, 'generated-images': tmp, steps: '4', out: tmp };
    const plain = trainDataOptions(flags);
    const strong = trainDataOptions({ ...flags, 'perturb-generated': 'strong' });
    expect(plain).not.toHaveProperty('perturbation');
    expect(strong).toMatchObject({ perturbation: 'strong' });
    const [a, b] = [await dataIdentity(plain), await dataIdentity(strong)];
    expect(a).not.toHaveProperty('--perturb-generated');
    expect(b['--perturb-generated']).toBe('strong');
    expect({ ...b, '--perturb-generated': undefined }).toEqual({ ...a, '--perturb-generated': undefined });
  });
});

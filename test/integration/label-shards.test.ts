// Sharded labeling, as users run it (the built CLI in child processes): three shards chosen
// three ways (flags, OMNIDISTILL_SHARD_*, Slurm variables) + `label merge` write the same
// bytes as one single-process run; merge refuses missing, unfinished or inconsistent shards
// with exit code 2 and a message naming the shard.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, labelArgs, makeLabelFixture, type LabelFixture } from './label-fixture.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const bin = join(repo, 'packages/cli/dist/bin.js');
const work = mkdtempSync(join(tmpdir(), 'omnidistill-shards-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: cleanEnv(env), timeout: 300_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const bytes = (dir: string, name: string) => readFileSync(join(dir, name));

describe('omnidistill label: shards + merge', () => {
  let f: LabelFixture;
  const single = join(work, 'single');
  const sharded = join(work, 'sharded');

  beforeAll(async () => {
    f = await makeLabelFixture(join(work, 'data'));
    expect(cli(labelArgs(f, single)).code).toBe(0);
  }, 300_000);

  it('three shards + merge give byte-identical generated.json and calibration.json', () => {
    const plan = cli(['label', 'plan', '--unlabeled', f.unlabeled, '--out', sharded]);
    expect(plan.code, plan.stderr).toBe(0);
    expect(JSON.parse(plan.stdout)).toMatchObject({ images: 40 });
    // Shards run out of order, each told its index another way; the line printed says how.
    const s2 = cli(labelArgs(f, sharded), { SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_COUNT: '3' });
    expect(s2.code, s2.stderr).toBe(0);
    expect(s2.stderr).toContain('shard 2 of 3 (index and count from Slurm job array (SLURM_ARRAY_TASK_ID=2, SLURM_ARRAY_TASK_COUNT=3))');
    const s0 = cli([...labelArgs(f, sharded), '--shard-index', '0', '--shard-count', '3'], { OMNIDISTILL_SHARD_INDEX: '1', OMNIDISTILL_SHARD_COUNT: '3' });
    expect(s0.code, s0.stderr).toBe(0);
    expect(s0.stderr).toContain('shard 0 of 3 (index from --shard-index; count from --shard-count)');
    const beforeLast = cli(['label', 'merge', '--out', sharded]);
    expect(beforeLast.code).toBe(2);
    expect(beforeLast.stderr).toContain('shard 1 of 3: missing');
    const s1 = cli(labelArgs(f, sharded), { OMNIDISTILL_SHARD_INDEX: '1', OMNIDISTILL_SHARD_COUNT: '3' });
    expect(s1.code, s1.stderr).toBe(0);

    const done = [0, 1, 2].map((i) => JSON.parse(readFileSync(join(sharded, 'shards', `shard-${i}-of-3`, 'DONE.json'), 'utf8')));
    expect(done.reduce((s, d) => s + d.counts.images, 0)).toBe(40);
    expect(new Set(done.map((d) => d.manifestHash)).size).toBe(1);
    expect(done.every((d) => d.counts.candidates > d.counts.images)).toBe(true); // raw: every score kept

    const merged = cli(['label', 'merge', '--out', sharded]);
    expect(merged.code, merged.stderr).toBe(0);
    expect(merged.stderr).toMatch(/^merged 3 shards: 40 images/m);
    expect(bytes(sharded, 'generated.json').equals(bytes(single, 'generated.json'))).toBe(true);
    expect(bytes(sharded, 'calibration.json').equals(bytes(single, 'calibration.json'))).toBe(true);
    // Selection really ran over all shards: a threshold per category, a count-matched number of instances.
    const summary = JSON.parse(merged.stdout);
    expect(summary.generatedImages).toBe(40);
    expect(summary.generatedInstances).toBeGreaterThan(0);
  });

  it('merge names an unfinished or inconsistent shard and exits 2', () => {
    const copy = join(work, 'broken');
    cpSync(sharded, copy, { recursive: true });
    const doneFile = join(copy, 'shards', 'shard-1-of-3', 'DONE.json');
    const record = readFileSync(doneFile, 'utf8');
    writeFileSync(doneFile, record.replace(/"teacherFingerprint": "[0-9a-f]+"/, '"teacherFingerprint": "0000"'));
    const inconsistent = cli(['label', 'merge', '--out', copy]);
    expect(inconsistent.code).toBe(2);
    expect(inconsistent.stderr).toContain('shard 1 of 3: teacher fingerprint 0000');
    rmSync(doneFile);
    const unfinished = cli(['label', 'merge', '--out', copy]);
    expect(unfinished.code).toBe(2);
    expect(unfinished.stderr).toContain('shard 1 of 3: not finished');
  });

  it('a shard setting that cannot be used exits 2 before any work, naming where it came from', () => {
    const bad = cli([...labelArgs(f, join(work, 'bad')), '--shard-index', '3', '--shard-count', '2']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('shard index 3 from --shard-index is not below the shard count 2 from --shard-count');
    const noCount = cli(labelArgs(f, join(work, 'bad')), { JOB_COMPLETION_INDEX: '1' });
    expect(noCount.code).toBe(2);
    expect(noCount.stderr).toContain('shard index 1 from Kubernetes Indexed Job (JOB_COMPLETION_INDEX=1) but no shard count');
  });

  it('a shard refuses an image list that differs from the frozen one', () => {
    const other = join(work, 'other-unlabeled.json');
    const coco = JSON.parse(readFileSync(f.unlabeled, 'utf8'));
    coco.images = coco.images.slice(1);
    writeFileSync(other, JSON.stringify(coco));
    const args = labelArgs(f, sharded);
    args[args.indexOf('--unlabeled') + 1] = other;
    const r = cli([...args, '--shard-index', '0', '--shard-count', '3']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('images.jsonl: the frozen image list differs');
  });
});

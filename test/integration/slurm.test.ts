// Sharded labeling on a real Slurm cluster (Debian's slurm-wlm + munge, one node on
// loopback; test/slurm/run.sh): `omnidistill label` as `sbatch --array=0-3`, one task cancelled
// (scancel) mid-run and resubmitted, then `label merge` — the result must be byte-identical to a
// single-process run. Skipped, with the reason in its name, where Slurm is not installed or
// we are not root (the daemons run as root; .ci/run installs the packages with apt).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanEnv, labelArgs, makeLabelFixture } from './label-fixture.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const bin = join(repo, 'packages/cli/dist/bin.js');
const TOOLS = ['munged', 'munge', 'unmunge', 'slurmctld', 'slurmd', 'sbatch', 'squeue', 'scancel', 'scontrol', 'sinfo'];

function skipReason(): string | null {
  if (process.platform !== 'linux') return 'Slurm daemons are started on Linux only';
  if (process.getuid?.() !== 0) return 'the test starts munged/slurmctld/slurmd as root and is not root';
  const path = `${process.env.PATH ?? ''}:/usr/sbin:/sbin`;
  const missing = TOOLS.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`], { env: { ...process.env, PATH: path } }).status !== 0);
  return missing.length > 0 ? `not installed: ${missing.join(', ')} (apt-get install slurm-wlm munge)` : null;
}

const reason = skipReason();

describe.skipIf(reason !== null)(`omnidistill label on a Slurm array job${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const work = mkdtempSync(join(tmpdir(), 'omnidistill-slurm-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('4 array tasks, one cancelled mid-run and resubmitted, + merge = the single-process bytes', async () => {
    const f = await makeLabelFixture(join(work, 'data'), { unlabeled: 160 });
    // chunk size 2: 80 chunks, 20 per task, so the kill lands with most of task 1's work left.
    const args = labelArgs(f, join(work, 'single'));
    args[args.indexOf('--chunk-size') + 1] = '2';
    const single = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: cleanEnv() });
    expect(single.status, single.stderr).toBe(0);

    const out = join(work, 'sharded');
    const shardArgs = args.slice(0, args.indexOf('--out'));
    const env = cleanEnv({ NODE: process.execPath, BIN: bin, TASKS: '4', KILL_TASK: '1', PATH: `${process.env.PATH}:/usr/sbin:/sbin` });
    const r = spawnSync('bash', [join(repo, 'test/slurm/run.sh'), join(work, 'slurm'), out, '--', ...shardArgs], { encoding: 'utf8', env, timeout: 600_000 });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/cancelled task 1 mid-run with \d+ chunk\(s\) written/);
    expect(r.stdout).toMatch(/resubmitted task 1 as job \d+/);

    for (const name of ['generated.json', 'calibration.json']) {
      expect(readFileSync(join(out, name)).equals(readFileSync(join(work, 'single', name))), name).toBe(true);
    }
    // The resubmitted task resumed: the chunks written before the kill are the same files (inodes),
    // and it went on to write all 20 of its chunks.
    const lines = (file: string) => readFileSync(join(work, 'slurm', file), 'utf8').trim().split('\n');
    const killed = lines('killed-chunks.txt');
    const final = lines('final-chunks.txt');
    expect(killed.length).toBeGreaterThan(0);
    expect(killed.length).toBeLessThan(20);
    expect(final).toHaveLength(20);
    for (const chunk of killed) expect(final).toContain(chunk);
    // Every task read its shard from Slurm's variables.
    const done = JSON.parse(readFileSync(join(out, 'shards', 'shard-1-of-4', 'DONE.json'), 'utf8'));
    expect(done.shard).toEqual({ index: 1, count: 4 });
    expect(done.counts.images).toBe(40);
  }, 600_000);
});

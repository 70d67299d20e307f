// The deploy/ recipes keep the shard-selection contract: the Kubernetes Indexed Job (parsed)
// gives pods 0…N-1 the index and count the CLI reads; the sbatch array maps its task ids onto
// 0…N-1; and the one-machine xargs recipe, run for real on a tiny problem, ends with the same
// bytes as a single-process run.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveShard } from 'omnidistill';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { cleanEnv, labelArgs, makeLabelFixture } from './label-fixture.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const deploy = join(repo, 'deploy');
const bin = join(repo, 'packages/cli/dist/bin.js');

/** Every shard index 0…n-1 exactly once. */
function expectCover(shards: { index: number; count: number }[], n: number): void {
  expect(shards.map((s) => s.count)).toEqual(new Array(n).fill(n));
  expect(shards.map((s) => s.index).sort((a, b) => a - b)).toEqual([...Array(n).keys()]);
}

interface Container {
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string }[];
  volumeMounts?: { name: string; mountPath: string }[];
}
interface JobDoc {
  kind: string;
  metadata: { name: string };
  spec: { completionMode?: string; completions?: number; parallelism?: number; template: { spec: { containers: Container[]; volumes?: { name: string }[] } } };
}

const readYaml = (file: string): JobDoc[] => parseAllDocuments(readFileSync(join(deploy, 'kubernetes', file), 'utf8')).map((d) => d.toJS() as JobDoc);
const flagValue = (args: string[], flag: string): string => args[args.indexOf(flag) + 1];

describe('deploy/kubernetes: Indexed Job + merge Job', () => {
  const [job] = readYaml('label-indexed-job.yaml');
  const [merge] = readYaml('label-merge-job.yaml');
  const container = job.spec.template.spec.containers[0];
  const args = [...(container.command ?? []), ...(container.args ?? [])];

  it('is an Indexed Job whose OMNIDISTILL_SHARD_COUNT equals completions and parallelism', () => {
    expect(job.kind).toBe('Job');
    expect(job.spec.completionMode).toBe('Indexed');
    const n = job.spec.completions!;
    expect(job.spec.parallelism).toBe(n);
    const count = container.env?.find((e) => e.name === 'OMNIDISTILL_SHARD_COUNT')?.value;
    expect(count).toBe(String(n));
    expect(args.slice(0, 2)).toEqual(['omnidistill', 'label']);
    expect(args).not.toContain('--shard-index'); // the index comes from the pod's JOB_COMPLETION_INDEX
  });

  it('every pod (JOB_COMPLETION_INDEX 0…N-1 + the manifest env) resolves to its own shard', () => {
    const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value]));
    const n = job.spec.completions!;
    expectCover([...Array(n).keys()].map((i) => resolveShard({}, { ...env, JOB_COMPLETION_INDEX: String(i) })!), n);
  });

  it('shards and merge write to the same folder on the shared volume', () => {
    const out = flagValue(args, '--out');
    const mergeContainer = merge.spec.template.spec.containers[0];
    const mergeArgs = [...(mergeContainer.command ?? []), ...(mergeContainer.args ?? [])];
    expect(mergeArgs.slice(0, 3)).toEqual(['omnidistill', 'label', 'merge']);
    expect(flagValue(mergeArgs, '--out')).toBe(out);
    for (const doc of [job, merge]) {
      const mount = doc.spec.template.spec.containers[0].volumeMounts![0];
      expect(out.startsWith(`${mount.mountPath}/`)).toBe(true);
      expect(doc.spec.template.spec.volumes!.map((v) => v.name)).toContain(mount.name);
    }
    for (const flag of ['--teacher', '--unlabeled', '--images', '--labeled']) expect(flagValue(args, flag).startsWith('/data/')).toBe(true);
  });
});

describe('deploy/slurm: sbatch array', () => {
  const script = readFileSync(join(deploy, 'slurm', 'label-array.sbatch'), 'utf8');

  it('array tasks map onto shards 0…N-1 through SLURM_ARRAY_* alone', () => {
    const m = /^#SBATCH --array=(\d+)-(\d+)$/m.exec(script);
    expect(m).not.toBeNull();
    const [min, max] = [Number(m![1]), Number(m![2])];
    const n = max - min + 1;
    const shards = [...Array(n).keys()].map((k) =>
      resolveShard({}, { SLURM_ARRAY_TASK_ID: String(min + k), SLURM_ARRAY_TASK_MIN: String(min), SLURM_ARRAY_TASK_MAX: String(max), SLURM_ARRAY_TASK_COUNT: String(n) })!,
    );
    expectCover(shards, n);
    expect(script).toMatch(/omnidistill label --task/);
    expect(script).not.toMatch(/--shard-(index|count)/);
    expect(readFileSync(join(deploy, 'slurm', 'submit.sh'), 'utf8')).toMatch(/--dependency=afterok:"\$array" label-merge\.sbatch/);
  });
});

describe('deploy/local: xargs on one machine', () => {
  const work = mkdtempSync(join(tmpdir(), 'omnidistill-deploy-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('3 shard processes + merge = the single-process bytes', async () => {
    const f = await makeLabelFixture(join(work, 'data'));
    const single = spawnSync(process.execPath, [bin, ...labelArgs(f, join(work, 'single'))], { encoding: 'utf8', env: cleanEnv() });
    expect(single.status, single.stderr).toBe(0);
    const args = labelArgs(f, 'unused');
    const shardArgs = args.slice(0, args.indexOf('--out'));
    const out = join(work, 'parallel');
    const r = spawnSync('bash', [join(deploy, 'local', 'label-parallel.sh'), '3', out, ...shardArgs], {
      encoding: 'utf8',
      env: cleanEnv({ OMNIDISTILL: `${process.execPath} ${bin}` }),
      timeout: 300_000,
    });
    expect(r.status, r.stderr).toBe(0);
    for (const i of [0, 1, 2]) expect(r.stderr).toContain(`shard ${i} of 3 (index from --shard-index; count from --shard-count)`);
    for (const name of ['generated.json', 'calibration.json']) {
      expect(readFileSync(join(out, name)).equals(readFileSync(join(work, 'single', name))), name).toBe(true);
    }
  }, 300_000);
});

// The fault suite of issue 12: `omnidistill label` / `eval` (the built CLI, as a user runs
// it) under a full disk, SIGKILL at random moments, bad images, escaping paths, a FIFO,
// NUL-filled JSON, damaged run files, swapped inputs and a second run on the same folder.
// Each case records the exit code, the message and — where the fault is recoverable —
// whether a rerun ends byte-identical to an uninterrupted run; the table is printed at
// the end (and goes into the issue's note).
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodePng } from '@omnidistill/synth';
import type { Canvas } from '@omnidistill/synth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rng } from '../../packages/coco/test/generate.js';
import { IMAGE_COUNT, bin, cli, cliKilledAfter, fixedRoiDetector, labelArgs, snapshot, writeKeypointSetup, writeSetup } from './fixtures.js';
import type { CliResult, Setup } from './fixtures.js';

const here = dirname(fileURLToPath(import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'omnidistill-faults-'));
let setup: Setup;
let reference: Record<string, string>;
let referenceMs = 0;
let tmpfs: string | null = null;

/** One row of the report table. */
interface Row {
  case: string;
  exit: string;
  message: string;
  identical: 'yes' | 'no' | '—';
}
const rows: Row[] = [];

/** The line a user reads first: the error, else what the run said about the fault. */
function firstMessage(r: CliResult): string {
  const lines = r.stderr.split('\n');
  const line = lines.find((l) => l.startsWith('omnidistill ')) ?? lines.find((l) => /taking over|redoing|starting the predictions over|skipped \d+ of/.test(l));
  return (line ?? lines.filter(Boolean).at(-1) ?? '').replaceAll(work, '$WORK').slice(0, 240);
}

/** The last line of stderr (where the CLI puts its one-line error). */
const lastLine = (r: CliResult) => r.stderr.trimEnd().split('\n').at(-1);

function record(name: string, r: CliResult, identical?: boolean, message?: string): void {
  rows.push({ case: name, exit: r.signal ?? String(r.code), message: message ?? firstMessage(r), identical: identical === undefined ? '—' : identical ? 'yes' : 'no' });
}

const out = (name: string) => join(work, 'runs', name);

/** Whether `dir` holds exactly the files of `expected` (a snapshot), byte for byte; prints the differences. */
async function sameFiles(dir: string, expected: Record<string, string>): Promise<boolean> {
  const got = await snapshot(dir);
  const differing = Object.keys({ ...got, ...expected }).filter((k) => got[k] !== expected[k]);
  if (differing.length > 0) process.stdout.write(`${dir}: differs from the expected files in ${differing.join(', ')}\n`);
  return differing.length === 0;
}

/** Files in `dir` that a reader must never see: temporaries of the atomic write path. */
function temporaries(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const found: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.name.endsWith('.tmp')) found.push(join(d, e.name));
    }
  };
  walk(dir);
  return found;
}

/** Every JSON file under `dir` parses (no truncated file under a final name). */
function everyJsonParses(dir: string): void {
  if (!existsSync(dir)) return;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.json')) expect(() => JSON.parse(readFileSync(p, 'utf8')), p).not.toThrow();
      else if (e.name.endsWith('.jsonl')) for (const line of readFileSync(p, 'utf8').split('\n').filter(Boolean)) expect(() => JSON.parse(line), p).not.toThrow();
    }
  };
  walk(dir);
}

/** Mounts a small tmpfs when this machine allows it (root with mount rights), else null. */
function tryMountTmpfs(dir: string): string | null {
  mkdirSync(dir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'ignore' });
    return dir;
  } catch {
    return null;
  }
}

beforeAll(async () => {
  setup = await writeSetup(join(work, 'setup'));
  const t0 = Date.now();
  const r = cli(labelArgs(setup, out('reference')));
  referenceMs = Date.now() - t0;
  expect(r.stderr).not.toMatch(/failed/);
  expect(r.code).toBe(0);
  reference = await snapshot(out('reference'));
  tmpfs = tryMountTmpfs(join(work, 'tmpfs'));
}, 180_000);

afterAll(() => {
  if (tmpfs) execFileSync('umount', [tmpfs]);
  rmSync(work, { recursive: true, force: true });
  const table = ['| case | exit | message | rerun identical |', '|---|---|---|---|', ...rows.map((r) => `| ${r.case} | ${r.exit} | ${r.message.replace(/\|/g, '\\|')} | ${r.identical} |`)];
  process.stdout.write(`\nfault suite (reference label run ${referenceMs} ms):\n${table.join('\n')}\n`);
});

const SLOW = 300_000;

describe('label: interruptions and damaged run files', () => {
  it('the reference run has one chunk file per 4 images, generated labels and no temporaries', () => {
    expect(Object.keys(reference).filter((f) => f.startsWith('predictions/shard-'))).toHaveLength(IMAGE_COUNT / 4);
    expect(Object.keys(reference)).toContain('generated.json');
    expect(temporaries(out('reference'))).toEqual([]);
  });

  it('SIGKILL after the first chunk, then the same command: byte-identical to an uninterrupted run', async () => {
    const dir = out('kill-first-chunk');
    const child = spawn(process.execPath, [bin, ...labelArgs(setup, dir)], { stdio: 'ignore' });
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (existsSync(join(dir, 'predictions', 'shard-000000.jsonl')) || child.exitCode !== null) {
          clearInterval(poll);
          child.kill('SIGKILL');
          resolve();
        }
      }, 5);
    });
    await new Promise((r) => child.once('exit', r));
    const rerun = cli(labelArgs(setup, dir));
    expect(rerun.code).toBe(0);
    const same = await sameFiles(dir, reference);
    record('SIGKILL after first chunk → rerun', rerun, same);
    expect(same).toBe(true);
  }, SLOW);

  it.each([1, 2, 3, 4])('SIGKILL at a random moment (seeded draw %i), then the same command: byte-identical', async (draw) => {
    const dir = out(`kill-random-${draw}`);
    const random = rng(1234 + draw); // the kill moments are random but the same on every run
    const delay = Math.round(150 + random() * Math.max(referenceMs, 1000));
    const killed = await cliKilledAfter(labelArgs(setup, dir), delay);
    const rerun = cli(labelArgs(setup, dir));
    expect(rerun.code).toBe(0);
    const same = await sameFiles(dir, reference);
    record(`SIGKILL at ${delay} ms (${killed.signal ?? `exit ${killed.code}`}) → rerun`, rerun, same, rerun.stderr.includes('taking over') ? firstMessage(rerun) : 'rerun: exit 0');
    expect(same).toBe(true);
  }, SLOW);

  it('a chunk file cut mid-line is detected and redone, never trusted', async () => {
    const dir = out('damaged-chunk');
    cpSync(out('reference'), dir, { recursive: true });
    const chunk = join(dir, 'predictions', 'shard-000002.jsonl');
    truncateSync(chunk, statSync(chunk).size - 7);
    const r = cli(labelArgs(setup, dir));
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/predictions shard 2: redoing it \(shard file damaged \(\d+ bytes, expected \d+\)\)/);
    const same = await sameFiles(dir, reference);
    record('chunk file truncated mid-line → rerun', r, same);
    expect(same).toBe(true);
  }, SLOW);

  it('a damaged run.json starts the predictions over instead of failing', async () => {
    const dir = out('damaged-run-json');
    cpSync(out('reference'), dir, { recursive: true });
    const runJson = join(dir, 'predictions', 'run.json');
    writeFileSync(runJson, readFileSync(runJson, 'utf8').slice(0, 100));
    const r = cli(labelArgs(setup, dir));
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/run\.json: damaged \(not valid JSON: .*\): starting the predictions over/);
    const same = await sameFiles(dir, reference);
    record('run.json truncated → rerun', r, same);
    expect(same).toBe(true);
  }, SLOW);
});

describe('label: full disk', () => {
  // Free space left for the run: 0 fails at the first file; larger budgets fail later (a
  // chunk, run.json, generated.json). Whatever fails, no truncated file is left under a
  // final name, the message names the file, and the same command after freeing space
  // ends byte-identical to the reference.
  const budgets = [0, 6_000, 14_000, 26_000, 40_000, 48_000];

  it.each(budgets)('tmpfs with %i bytes free (skipped with the reason where no tmpfs can be mounted)', async (free) => {
    if (!tmpfs) {
      // The injected variant below covers the same seam.
      record(`full disk, tmpfs, ${free} B free`, { code: null, signal: null, stdout: '', stderr: '' }, undefined, 'not run: mount -t tmpfs is not permitted here (injected variant ran)');
      return;
    }
    const dir = join(tmpfs, `run-${free}`);
    const filler = join(tmpfs, 'filler');
    rmSync(dir, { recursive: true, force: true });
    // tmpfs counts whole pages: fill all but `free` bytes (rounded to pages) of the 1 MiB.
    const stats = execFileSync('df', ['-B1', '--output=avail', tmpfs], { encoding: 'utf8' }).trim().split('\n');
    const avail = Number(stats.at(-1));
    writeFileSync(filler, Buffer.alloc(Math.max(0, avail - free)));
    const full = cli(labelArgs(setup, dir));
    unlinkSync(filler);
    expect(temporaries(dir)).toEqual([]);
    everyJsonParses(dir);
    if (full.code !== 0) {
      expect(full.code).toBe(2);
      expect(lastLine(full)).toMatch(/^omnidistill label: cannot write \S+: no space left on the device; free some space or write to another folder \(ENOSPC\)$/);
      expect(full.stderr).not.toMatch(/\n\s+at /); // no stack trace
    }
    const rerun = cli(labelArgs(setup, dir));
    expect(rerun.code).toBe(0);
    const same = await sameFiles(dir, reference);
    record(`full disk (tmpfs, ${free} B free) → free space → rerun`, full, same, full.code === 0 ? 'the run fit in the free space: exit 0' : undefined);
    rmSync(dir, { recursive: true, force: true });
    expect(same).toBe(true);
  }, SLOW);

  it.each([
    { limit: 0, file: undefined },
    { limit: 3_000, file: undefined },
    { limit: 9_000, file: undefined },
    { limit: 100, file: 'generated.json' },
    { limit: 100, file: 'calibration.json' },
  ])('injected: the disk takes $limit more bytes of writes to ${file} (short write, then ENOSPC)', async ({ limit, file }) => {
    const dir = out(`enospc-injected-${limit}-${file === undefined ? 'any' : file.replace('.json', '')}`);
    const env: NodeJS.ProcessEnv = { OMNIDISTILL_FAULT_WRITE_LIMIT: String(limit), ...(file ? { OMNIDISTILL_FAULT_WRITE_FILE: file } : {}) };
    const full = cli(labelArgs(setup, dir), { nodeArgs: ['--import', join(here, 'enospc-preload.mjs')], env });
    expect(temporaries(dir)).toEqual([]);
    everyJsonParses(dir);
    expect(full.code).toBe(2);
    expect(lastLine(full)).toMatch(/^omnidistill label: cannot write \S+: no space left on the device; free some space or write to another folder \(ENOSPC\)$/);
    expect(full.stderr).not.toMatch(/\n\s+at /); // no stack trace
    const rerun = cli(labelArgs(setup, dir));
    expect(rerun.code).toBe(0);
    const same = await sameFiles(dir, reference);
    if (file) expect(full.stderr).toContain(`cannot write ${join(dir, file)}: no space left`);
    record(`full disk (injected: ${limit} B${file ? ` into ${file}` : ''}) → rerun`, full, same);
    expect(same).toBe(true);
  }, SLOW);
});

describe('label: bad images and bad input', () => {
  it('a wrong --images folder fails (exit 2, by reason); the right one then resumes to the reference bytes', async () => {
    const dir = out('wrong-images');
    const empty = join(work, 'empty-images');
    mkdirSync(empty, { recursive: true });
    const wrong = cli(labelArgs({ ...setup, images: empty }, dir));
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain(`omnidistill label: ${IMAGE_COUNT} of ${IMAGE_COUNT} images (100.0%) could not be used (${IMAGE_COUNT} missing), more than --max-failed-fraction 0.1; check --images ${empty}`);
    expect(existsSync(join(dir, 'generated.json'))).toBe(false);
    const right = cli(labelArgs(setup, dir));
    expect(right.code).toBe(0);
    const same = await sameFiles(dir, reference);
    record('wrong --images (all missing) → right --images', wrong, same);
    expect(same).toBe(true);
  }, SLOW);

  it('unreadable images are skipped by reason, reported, and a restored file is retried', async () => {
    const images = join(work, 'bad-images');
    cpSync(setup.images, images, { recursive: true });
    writeFileSync(join(images, 'img001.png'), Buffer.alloc(0)); // zero bytes
    const png = readFileSync(join(images, 'img002.png'));
    writeFileSync(join(images, 'img002.png'), png.subarray(0, Math.floor(png.length / 2))); // truncated
    writeFileSync(join(images, 'img003.png'), 'this is not an image'); // not an image
    const missing = readFileSync(join(images, 'img004.png'));
    unlinkSync(join(images, 'img004.png')); // missing
    // too large: 64×48 = 3072 pixels each; a 128×96 one is over --max-pixels 5000
    writeFileSync(join(images, 'img005.png'), await encodePng({ width: 128, height: 96, data: new Uint8Array(128 * 96 * 3).fill(255) } as Canvas));
    const s = { ...setup, images };
    const args = (dir: string, extra: string[] = []) => labelArgs(s, dir, ['--max-pixels', '5000', ...extra]);
    const dir = out('bad-images');
    const strict = cli(args(dir));
    expect(strict.code).toBe(2);
    const reasons = '1 missing, 1 empty, 1 not-an-image, 1 corrupt, 1 too-large';
    expect(strict.stderr).toContain(`omnidistill label: 5 of ${IMAGE_COUNT} images (20.8%) could not be used (${reasons}), more than --max-failed-fraction 0.1`);
    expect(strict.stderr).toContain(`skipped 5 of ${IMAGE_COUNT} images: ${reasons} (1 will be retried by the next run)`);
    record('5 bad images of 24 (default --max-failed-fraction 0.1)', strict);

    const lenient = cli(args(dir, ['--max-failed-fraction', '0.25']));
    expect(lenient.code).toBe(0);
    const summary = JSON.parse(lenient.stdout) as { skipped: { skipped: number; retriedOnRerun: number; byReason: Record<string, number> }; generatedImages: number };
    expect(summary.skipped).toMatchObject({ skipped: 5, retriedOnRerun: 1, byReason: { missing: 1, empty: 1, 'not-an-image': 1, corrupt: 1, 'too-large': 1 } });
    expect(summary.generatedImages).toBe(IMAGE_COUNT - 5);
    record('same, --max-failed-fraction 0.25', lenient, undefined, `exit 0; summary JSON skipped.byReason = ${JSON.stringify(summary.skipped.byReason)}`);

    // The missing file comes back: the next run retries it (and only its chunk).
    writeFileSync(join(images, 'img004.png'), missing);
    const retried = cli(args(dir, ['--max-failed-fraction', '0.25']));
    expect(retried.code).toBe(0);
    expect(retried.stderr).toContain('predictions shard 1: redoing it (retrying images that failed transiently)');
    expect(JSON.parse(retried.stdout).skipped).toMatchObject({ skipped: 4, retriedOnRerun: 0 });
    const fresh = cli(args(out('bad-images-fresh'), ['--max-failed-fraction', '0.25']));
    expect(fresh.code).toBe(0);
    const same = await sameFiles(dir, await snapshot(out('bad-images-fresh')));
    record('missing image restored → rerun (vs a fresh run)', retried, same);
    expect(same).toBe(true);
  }, SLOW);

  it('a file_name that escapes --images is refused naming the image (exit 2)', () => {
    const unlabeled = join(work, 'escaping.json');
    const coco = JSON.parse(readFileSync(setup.unlabeled, 'utf8'));
    coco.images[6].file_name = '../../../../../etc/hostname';
    writeFileSync(unlabeled, JSON.stringify(coco));
    const r = cli(labelArgs({ ...setup, unlabeled }, out('escaping')));
    expect(r.code).toBe(2);
    expect(lastLine(r)).toBe(
      `omnidistill label: ${unlabeled}: image 7 has file_name "../../../../../etc/hostname", which leads outside the image folder ${setup.images}; file names must be relative paths inside it`,
    );
    record('file_name ../../../../../etc/hostname', r);
  });

  it('a resume with a swapped teacher or an edited --unlabeled is refused, naming the input (exit 2)', async () => {
    const root = join(work, 'swap');
    cpSync(setup.root, root, { recursive: true });
    const s: Setup = { root, teacher: join(root, 'teacher.onnx'), images: setup.images, unlabeled: join(root, 'unlabeled.json'), labeled: setup.labeled };
    const dir = out('swap');
    expect(cli(labelArgs(s, dir)).code).toBe(0);
    writeFileSync(s.teacher, fixedRoiDetector());
    const teacher = cli(labelArgs(s, dir));
    expect(teacher.code).toBe(2);
    expect(lastLine(teacher)).toBe(
      `omnidistill label: ${join(dir, 'predictions')} holds a run made with other inputs: teacher changed since it started; rerun with the original inputs to resume it, or start over with a new --out folder (or delete ${join(dir, 'predictions')})`,
    );
    record('teacher swapped at the same path, rerun', teacher);
    cpSync(setup.teacher, s.teacher);
    const coco = JSON.parse(readFileSync(s.unlabeled, 'utf8'));
    writeFileSync(s.unlabeled, JSON.stringify({ ...coco, info: { edited: true } }));
    const edited = cli(labelArgs(s, dir));
    expect(edited.code).toBe(2);
    expect(edited.stderr).toContain('holds a run made with other inputs: unlabeled changed since it started');
    record('--unlabeled edited in place, rerun', edited);
  }, SLOW);
});

describe('label: keypoints with --boxes', () => {
  it('a --boxes file edited in place is refused on resume, naming it (it used to be trusted by path)', async () => {
    const kp = await writeKeypointSetup(setup);
    const dir = out('kp-boxes');
    const args = ['label', '--task', 'keypoints', '--teacher', kp.teacher, '--boxes', kp.boxes, '--unlabeled', setup.unlabeled, '--images', setup.images, '--labeled', kp.labeled, '--out', dir, '--plan', 'single', '--chunk-size', '4'];
    const first = cli(args);
    expect(first.stderr).not.toMatch(/unexpected failure/);
    expect(first.code).toBe(0);
    const coco = JSON.parse(readFileSync(kp.boxes, 'utf8'));
    coco.annotations[0].bbox = [1, 8, 31, 32]; // same path, other content
    writeFileSync(kp.boxes, JSON.stringify(coco));
    const r = cli(args);
    expect(r.code).toBe(2);
    expect(lastLine(r)).toBe(
      `omnidistill label: ${join(dir, 'predictions')} holds a run made with other inputs: boxes changed since it started; rerun with the original inputs to resume it, or start over with a new --out folder (or delete ${join(dir, 'predictions')})`,
    );
    record('keypoints: --boxes edited in place, rerun', r);
  }, SLOW);
});

/** The parent of a running process (Linux: field 4 of /proc/PID/stat, after the command name in parentheses). */
function parentPid(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

describe('label: one run per output folder', () => {
  it('a second run on a folder in use exits 2 naming the holder; the first finishes unharmed', async () => {
    const dir = out('locked');
    // Its own process group: `label` runs in a child it starts (runtime/heap-child.ts), and both are paused.
    const first = spawn(process.execPath, [bin, ...labelArgs(setup, dir)], { stdio: 'ignore', detached: true });
    const exited = new Promise<number | null>((r) => first.once('exit', (code) => r(code)));
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (existsSync(join(dir, '.omnidistill.lock'))) {
          clearInterval(poll);
          process.kill(-first.pid!, 'SIGSTOP');
          resolve();
        }
      }, 2);
    });
    const holder = (JSON.parse(readFileSync(join(dir, '.omnidistill.lock'), 'utf8')) as { pid: number }).pid;
    const second = cli(labelArgs(setup, dir));
    process.kill(-first.pid!, 'SIGCONT');
    expect(second.code).toBe(2);
    expect(parentPid(holder)).toBe(first.pid); // the relaunched child of the first run holds the folder
    expect(lastLine(second)).toMatch(
      new RegExp(`^omnidistill label: ${dir} is in use by pid ${holder} on ${hostname()} \\(since [^)]+\\); wait for that run to finish, or use another --out folder \\(if that process is gone, delete ${join(dir, '.omnidistill.lock')}\\)$`),
    );
    expect(await exited).toBe(0);
    const same = await sameFiles(dir, reference);
    record('second label run while the first holds --out (first finishes)', second, same);
    expect(same).toBe(true);
    expect(existsSync(join(dir, '.omnidistill.lock'))).toBe(false);
  }, SLOW);

  it('a lock left by a dead process is taken over, with a message', async () => {
    const dir = out('stale-lock');
    mkdirSync(dir, { recursive: true });
    const gone = spawn(process.execPath, ['-e', '']);
    await new Promise((r) => gone.once('exit', r));
    writeFileSync(join(dir, '.omnidistill.lock'), JSON.stringify({ pid: gone.pid, host: hostname(), started: '2026-01-01T00:00:00.000Z' }));
    const r = cli(labelArgs(setup, dir));
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`${dir}: taking over the lock of pid ${gone.pid} on ${hostname()}, which is no longer running`);
    const same = await sameFiles(dir, reference);
    record('stale lock (dead pid)', r, same);
    expect(same).toBe(true);
  }, SLOW);
});

describe('eval: inputs that used to hang or crawl', () => {
  const evalArgs = (results: string) => ['eval', '--gt', setup.labeled, '--results', results, '--iou-type', 'bbox'];

  // Each file is made by `make`; a hang or a slow read would hit the timeout (signal set).
  const cases: { name: string; make: (file: string) => void; message: string }[] = [
    { name: 'eval --results FIFO', make: (f) => execFileSync('mkfifo', [f]), message: '(file): expected a regular JSON file, received a FIFO (named pipe)' },
    {
      name: 'eval --results "[" + 256 MB NUL',
      make: (f) => {
        writeFileSync(f, '[');
        truncateSync(f, 256 << 20); // sparse: costs no disk
      },
      message: 'received invalid JSON (expected a JSON value, received byte 0x00 at byte 1)',
    },
    { name: 'eval --results "[,,]"', make: (f) => writeFileSync(f, '[,,]'), message: 'received invalid JSON (expected a JSON value, received "," at byte 1)' },
  ];

  it.each(cases)('$name exits 2 at once with the first invalid byte', ({ name, make, message }) => {
    const file = join(work, `eval-${cases.findIndex((c) => c.name === name)}.json`);
    make(file);
    const r = cli(evalArgs(file), { timeoutMs: 60_000 });
    expect(r.signal).toBeNull(); // not killed by the timeout
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    record(name, r, undefined, r.stderr.split('\n').find((l) => l.includes('expected'))?.trim());
  });
});

// Bad input through the CLI's one error boundary: each case exits 2 with one line that names
// the file (or flag) and the fix, never a stack trace (those need --debug). The table printed
// at the end is the one in issue 12's note.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, sha256, trainArgs, writeTrainData } from './train-setup.js';
import type { CliResult, TrainData } from './train-setup.js';

const work = mkdtempSync(join(tmpdir(), 'omnidistill-bad-input-'));
const readOnlyMount = join(work, 'read-only');
let mounted = false;
afterAll(() => {
  if (mounted) spawnSync('umount', [readOnlyMount]);
  rmSync(work, { recursive: true, force: true });
});

let data: TrainData;
/** A small trained keypoint model + manifest, the teacher of the label cases. */
let teacher: string;
const rows: string[] = [];

beforeAll(async () => {
  data = await writeTrainData(join(work, 'data'));
  const r = cli(trainArgs(data, join(work, 'teacher'), 4));
  expect(r.code).toBe(0);
  teacher = join(work, 'teacher', 'keypoints.onnx');
}, 300_000);

afterAll(() => console.log(`case | exit | message\n${rows.join('\n')}`));

/** The boundary's line: `omnidistill <command>: …`. */
function failureLine(r: CliResult): string {
  return r.stderr.split('\n').find((l) => /^omnidistill \w+: /.test(l)) ?? '';
}

function expectOneLineFailure(name: string, r: CliResult, code: number, ...parts: (string | RegExp)[]): void {
  const line = failureLine(r);
  rows.push(`${name} | ${r.code} | ${line}`);
  expect(r.code, r.stderr).toBe(code);
  for (const p of parts) {
    if (typeof p === 'string') expect(line).toContain(p);
    else expect(line).toMatch(p);
  }
  expect(r.stderr).not.toMatch(/^\s+at /m); // no stack trace without --debug
  expect(r.stdout).toBe('');
}

const labelArgs = (unlabeled: string, out: string, teacherPath = teacher) => [
  'label', '--task', 'keypoints', '--teacher', teacherPath, '--unlabeled', unlabeled, '--images', data.images,
  '--labeled', data.annotations, '--boxes', data.annotations, '--plan', 'single', '--no-check', '--out', out,
];

/** The labeled COCO file with `edit` applied, written to `name`. */
function editedCoco(name: string, edit: (coco: { images: { id: unknown }[] }) => void): string {
  const coco = JSON.parse(readFileSync(data.annotations, 'utf8'));
  edit(coco);
  const file = join(work, name);
  writeFileSync(file, JSON.stringify(coco));
  return file;
}

describe('train: bad input exits 2 with one line naming the file and the fix', () => {
  it('--out that is a file', () => {
    const file = join(work, 'a-file');
    writeFileSync(file, 'x');
    expectOneLineFailure('train --out FILE', cli(trainArgs(data, file, 4)), 2, `--out ${file}: is a file, not a folder; choose another --out`);
    expectOneLineFailure('train --out FILE/sub', cli(trainArgs(data, join(file, 'sub'), 4)), 2, 'a part of the path is a file, not a folder', 'ENOTDIR');
  });

  it('--out on a read-only file system (or a folder without write permission)', (ctx) => {
    mkdirSync(readOnlyMount);
    if (userInfo().uid === 0) {
      // root writes through permission bits: only a read-only mount refuses it.
      const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', readOnlyMount]);
      if (m.status !== 0) return ctx.skip('running as root without permission to mount a read-only tmpfs');
      mounted = true;
      const r = cli(trainArgs(data, join(readOnlyMount, 'out'), 4));
      // Node's recursive mkdir reports ENOENT here; the check names the real cause.
      expectOneLineFailure('train --out on a read-only mount', r, 2, `--out ${join(readOnlyMount, 'out')}: cannot write there: the file system is read-only`, 'EROFS');
    } else {
      chmodSync(readOnlyMount, 0o555);
      const r = cli(trainArgs(data, join(readOnlyMount, 'out'), 4));
      expectOneLineFailure('train --out in a read-only folder', r, 2, 'cannot write there', 'permission denied', 'EACCES');
    }
  });

  it('a full disk while checkpointing: exit 2 naming the file, nothing partial left; with space the same command finishes identically', (ctx) => {
    if (userInfo().uid !== 0) return ctx.skip('mounting a small tmpfs needs root');
    const disk = join(work, 'small-disk');
    mkdirSync(disk);
    const mount = (size: string) => spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', disk]).status === 0;
    if (!mount('300k')) return ctx.skip('running as root without permission to mount a tmpfs');
    try {
      // A checkpoint of the reference keypoint model (~1 MB) does not fit in 300 kB.
      const full = cli(trainArgs(data, join(disk, 'out'), 20));
      expectOneLineFailure('train --out on a full disk', full, 2, 'cannot write', 'no space left on the device', 'ENOSPC');
      const leftovers = spawnSync('find', [disk, '-type', 'f', '-name', '*.tmp'], { encoding: 'utf8' }).stdout.trim();
      expect(leftovers).toBe('');
      spawnSync('mount', ['-o', 'remount,size=16m', disk]);
      const again = cli(trainArgs(data, join(disk, 'out'), 20));
      expect(again.code, again.stderr).toBe(0);
      const reference = cli(trainArgs(data, join(work, 'o-reference'), 20));
      expect(reference.code).toBe(0);
      expect(sha256(join(disk, 'out', 'keypoints.onnx'))).toBe(sha256(join(work, 'o-reference', 'keypoints.onnx')));
    } finally {
      spawnSync('umount', [disk]);
    }
  });

  it('a symbolic link loop as --labeled and inside --out', () => {
    const a = join(work, 'loop-a');
    const b = join(work, 'loop-b');
    symlinkSync(b, a);
    symlinkSync(a, b);
    expectOneLineFailure('train --labeled LOOP', cli(trainArgs({ ...data, annotations: a }, join(work, 'o1'), 4)), 2, `${a}: too many levels of symbolic links`, 'ELOOP');
    expectOneLineFailure('train --out LOOP/x', cli(trainArgs(data, join(a, 'x'), 4)), 2, 'too many levels of symbolic links', 'ELOOP');
  });

  it('--batch 1 explains the minimum', () => {
    const r = cli([...trainArgs(data, join(work, 'o2'), 4), '--batch', '1']);
    expectOneLineFailure('train --batch 1', r, 2, '--batch: expected at least 2 (batch normalisation needs two images per minibatch');
  });

  it('a missing, truncated or invalid --labeled file', () => {
    const missing = join(work, 'missing.json');
    expectOneLineFailure('train --labeled MISSING', cli(trainArgs({ ...data, annotations: missing }, join(work, 'o3'), 4)), 2, `${missing}: no such file or folder`, 'ENOENT');
    const truncated = join(work, 'truncated.json');
    writeFileSync(truncated, readFileSync(data.annotations, 'utf8').slice(0, 300));
    expectOneLineFailure('train --labeled TRUNCATED', cli(trainArgs({ ...data, annotations: truncated }, join(work, 'o3'), 4)), 2, truncated, /at byte \d+/);
    const duplicate = editedCoco('duplicate.json', (c) => (c.images[1].id = c.images[0].id));
    expectOneLineFailure('train --labeled DUPLICATE-ID', cli(trainArgs({ ...data, annotations: duplicate }, join(work, 'o3'), 4)), 2, duplicate, 'images[1].id: expected an id not already used by images[0]');
  });

  it('--checkpoint-every that is not a number of steps or seconds', () => {
    const r = cli([...trainArgs(data, join(work, 'o4'), 4), '--checkpoint-every', '5m']);
    expectOneLineFailure('train --checkpoint-every 5m', r, 2, '--checkpoint-every: expected a positive number of steps (e.g. 200) or seconds (e.g. 30s), received "5m"');
  });

  it('a damaged checkpoint record says how to start over', () => {
    const out = join(work, 'o5');
    expect(cli(trainArgs(data, out, 4)).code).toBe(0);
    const latest = join(out, 'keypoints.checkpoints', 'latest.json');
    writeFileSync(latest, readFileSync(latest, 'utf8').slice(0, 10));
    expectOneLineFailure('train, damaged latest.json', cli(trainArgs(data, out, 4)), 2, `${latest}: not valid JSON`, `delete ${join(out, 'keypoints.checkpoints')} to start the training over`);
  });
});

describe('label and demo: bad input exits 2 with one line', () => {
  it('invalid or duplicate-id --unlabeled', () => {
    const invalid = editedCoco('invalid-unlabeled.json', (c) => (c.images[0].id = 'x'));
    expectOneLineFailure('label --unlabeled INVALID', cli(labelArgs(invalid, join(work, 'l1'))), 2, invalid, 'images[0].id: expected an integer, received "x"');
    const duplicate = editedCoco('duplicate-unlabeled.json', (c) => (c.images[2].id = c.images[0].id));
    expectOneLineFailure('label --unlabeled DUPLICATE-ID', cli(labelArgs(duplicate, join(work, 'l1'))), 2, duplicate, 'images[2].id: expected an id not already used');
  });

  it('a corrupt ONNX teacher is named by its path, not "<N-byte model>"', () => {
    const corrupt = join(work, 'corrupt.onnx');
    writeFileSync(corrupt, readFileSync(teacher).subarray(0, 1000));
    writeFileSync(join(work, 'corrupt.json'), readFileSync(teacher.replace(/\.onnx$/, '.json')));
    const r = cli(labelArgs(data.annotations, join(work, 'l2'), corrupt));
    expectOneLineFailure('label --teacher CORRUPT.onnx', r, 2, `${corrupt}: onnxruntime could not load the model`);
    expect(r.stderr).not.toMatch(/-byte model/);
  });

  it('a truncated run.json of a finished label run: the rerun redoes the work and writes identical labels', () => {
    const out = join(work, 'l3');
    expect(cli(labelArgs(data.annotations, out)).code).toBe(0);
    const generated = sha256(join(out, 'generated.json'));
    const record = join(out, 'predictions', 'run.json');
    writeFileSync(record, readFileSync(record, 'utf8').slice(0, 40));
    const r = cli(labelArgs(data.annotations, out));
    rows.push(`label, truncated run.json | ${r.code} | ${r.stderr.split('\n').find((l) => /run\.json/.test(l)) ?? '(redone silently)'}`);
    expect(r.code).toBe(0);
    expect(sha256(join(out, 'generated.json'))).toBe(generated);
  });

  it('demo: --out that is a file, and a damaged stages.json', () => {
    const file = join(work, 'demo-file');
    writeFileSync(file, 'x');
    expectOneLineFailure('demo --out FILE', cli(['demo', '--quick', '--out', file]), 2, `--out ${file}: is a file, not a folder`);
    const out = join(work, 'demo');
    mkdirSync(out);
    writeFileSync(join(out, 'stages.json'), '{"format": "omnidistill-stages", "version": 1, "stages": {"data"');
    expectOneLineFailure('demo, damaged stages.json', cli(['demo', '--quick', '--out', out]), 2, `${join(out, 'stages.json')}: not valid JSON`, 'delete it and run the same command again');
  });
});

describe('the boundary prints stack traces only on request', () => {
  it('--debug (or OMNIDISTILL_DEBUG=1) adds the stack after the one line', () => {
    const args = [...trainArgs(data, join(work, 'o6'), 4), '--batch', '1'];
    for (const r of [cli([...args, '--debug']), cli(args, { OMNIDISTILL_DEBUG: '1' })]) {
      expect(r.code).toBe(2);
      expect(failureLine(r)).toContain('--batch: expected at least 2');
      expect(r.stderr).toMatch(/^UsageError: --batch/m);
      expect(r.stderr).toMatch(/^\s+at .*train\.js/m);
    }
  });
});

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Scratch, removeAbandonedScratch, scratchOwner } from '../src/spill.js';

const host = hostname().replace(/[^A-Za-z0-9.]/g, '_');
const parents: string[] = [];
afterEach(async () => {
  await Promise.all(parents.splice(0).map((p) => rm(p, { recursive: true, force: true })));
});

async function parent(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'spill-test-'));
  parents.push(dir);
  return dir;
}

/** The id of a process that has exited (a child run to completion). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '0']);
  return child.pid!;
}

async function scratchFolder(dir: string, name: string): Promise<string> {
  const path = join(dir, name);
  await mkdir(path);
  await writeFile(join(path, 'column-0.f64'), new Uint8Array(16));
  return path;
}

describe('scratch folders of killed calibrations', () => {
  it('names its folder after this process and host', async () => {
    const dir = await parent();
    const scratch = await Scratch.create(dir);
    const name = scratch.dir.slice(dir.length + 1);
    expect(scratchOwner(name)).toEqual({ pid: process.pid, host });
    await scratch.dispose();
    expect(await readdir(dir)).toEqual([]);
  });

  it('removes only folders of this host whose process is gone, on the next create', async () => {
    const dir = await parent();
    const dead = await scratchFolder(dir, `.omnidistill-select-${deadPid()}@${host}-abc123`);
    const live = await scratchFolder(dir, `.omnidistill-select-${process.pid}@${host}-def456`);
    const otherHost = await scratchFolder(dir, `.omnidistill-select-${deadPid()}@elsewhere.invalid-ghi789`);
    const unnamed = await scratchFolder(dir, '.omnidistill-select-Xy12Zq');
    const userFile = join(dir, 'generated.json');
    await writeFile(userFile, '{}');

    const scratch = await Scratch.create(dir);
    expect(existsSync(dead)).toBe(false);
    for (const kept of [live, otherHost, unnamed, userFile]) expect(existsSync(kept)).toBe(true);
    await scratch.dispose();
    expect(existsSync(scratch.dir)).toBe(false);
  });

  it('reports what it removed and tolerates a missing parent', async () => {
    const dir = await parent();
    const dead = await scratchFolder(dir, `.omnidistill-select-${deadPid()}@${host}-jkl012`);
    expect(await removeAbandonedScratch(dir)).toEqual([dead]);
    expect(await removeAbandonedScratch(join(dir, 'missing'))).toEqual([]);
  });
});

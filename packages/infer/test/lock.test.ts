// The output-folder lock: one run per folder, who holds it in the refusal, stale locks of
// dead processes taken over.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DirLockedError, LOCK_FILE, lockDirectory } from '@omnidistill/infer';

describe('lockDirectory', () => {
  it('refuses a second lock while the first is held, and allows it after release', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'omni-lock-'));
    const lock = await lockDirectory(dir);
    const holder = JSON.parse(await readFile(join(dir, LOCK_FILE), 'utf8'));
    expect(holder).toMatchObject({ pid: process.pid, host: hostname() });
    // A live process other than this one holds it: written as a lock of our parent process.
    await lock.release();
    expect(await readdir(dir)).toEqual([]);
    const live = { pid: process.ppid, host: hostname(), started: '2026-01-01T00:00:00.000Z' };
    await writeFile(join(dir, LOCK_FILE), JSON.stringify(live));
    const err = await lockDirectory(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DirLockedError);
    expect((err as Error).message).toBe(
      `${dir} is in use by pid ${process.ppid} on ${hostname()} (since 2026-01-01T00:00:00.000Z); wait for that run to finish, or use another --out folder (if that process is gone, delete ${join(dir, LOCK_FILE)})`,
    );
    expect((await readdir(dir)).sort()).toEqual([LOCK_FILE]);
  });

  it('takes over the lock of a process that is gone, saying so', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'omni-lock-'));
    const child = spawn(process.execPath, ['-e', '']);
    const deadPid = child.pid!;
    await new Promise((r) => child.on('exit', r));
    await writeFile(join(dir, LOCK_FILE), JSON.stringify({ pid: deadPid, host: hostname(), started: '2026-01-01T00:00:00.000Z' }));
    const seen: unknown[] = [];
    const lock = await lockDirectory(dir, { onTakeover: (h) => seen.push(h) });
    expect(seen).toEqual([{ pid: deadPid, host: hostname(), started: '2026-01-01T00:00:00.000Z' }]);
    expect(lock.tookOver?.pid).toBe(deadPid);
    expect(JSON.parse(await readFile(join(dir, LOCK_FILE), 'utf8')).pid).toBe(process.pid);
    await lock.release();
  });

  it.skipIf(process.platform !== 'linux')('takes over the lock of a process that exited but is not reaped yet (a zombie holds nothing)', async () => {
    // sh starts a subshell and becomes `sleep 5`, which never reaps it: a zombie for 5 s. The
    // subshell exits only once its parent has become `sleep` (its /proc comm says so): had it
    // exited before the exec, the shell itself could reap it first (the race CI once lost).
    const dir = await mkdtemp(join(tmpdir(), 'omni-lock-'));
    const script = 'p=$$; (c=; while [ "$c" != sleep ]; do read -r c < /proc/$p/comm; done) & echo $!; exec sleep 5';
    const parent = spawn('sh', ['-c', script], { stdio: ['ignore', 'pipe', 'ignore'] });
    const zombie = Number(await new Promise<string>((r) => parent.stdout.once('data', (d: Buffer) => r(d.toString()))));
    try {
      while (!(await readFile(`/proc/${zombie}/stat`, 'utf8')).includes(') Z ')) await new Promise((r) => setTimeout(r, 10));
      await writeFile(join(dir, LOCK_FILE), JSON.stringify({ pid: zombie, host: hostname(), started: '2026-01-01T00:00:00.000Z' }));
      const lock = await lockDirectory(dir);
      expect(lock.tookOver?.pid).toBe(zombie);
      await lock.release();
    } finally {
      parent.kill();
    }
  });

  it('once held, removes the temporaries killed runs left, and nothing else', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'omni-lock-'));
    const child = spawn(process.execPath, ['-e', '']);
    await new Promise((r) => child.on('exit', r));
    const left = ['.generated.json.4242.0a1b2c3d.tmp', `${LOCK_FILE}.${child.pid}.new`];
    const kept = ['generated.json', 'notes.tmp', `${LOCK_FILE}.${process.ppid}.new`];
    for (const n of [...left, ...kept]) await writeFile(join(dir, n), 'x');
    const lock = await lockDirectory(dir);
    expect((await readdir(dir)).sort()).toEqual([...kept, LOCK_FILE].sort());
    await lock.release();
  });

  it('does not guess about a lock from another host', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'omni-lock-'));
    await writeFile(join(dir, LOCK_FILE), JSON.stringify({ pid: 1, host: 'elsewhere', started: 'x' }));
    await expect(lockDirectory(dir)).rejects.toThrow(`${dir} is in use by pid 1 on elsewhere (since x)`);
  });
});

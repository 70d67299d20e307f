// One run per output folder: a lock file holding the pid and host of the run that owns the
// folder. A second run is refused with who holds it; a lock left by a killed run (its pid is
// no longer alive on this host) is taken over.
import { readFileSync } from 'node:fs';
import { link, mkdir, readdir, readFile, rm, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { removeAtomicTemps, writeFileAtomic } from '@omnidistill/coco';
import { FileWriteError, InputFileError } from '@omnidistill/core';

/** File name of the lock inside the locked folder. */
export const LOCK_FILE = '.omnidistill.lock';

/** Who holds a lock. */
export interface LockHolder {
  pid: number;
  host: string;
  /** ISO time the lock was taken. */
  started: string;
}

/** The folder is in use by another live run. */
export class DirLockedError extends InputFileError {
  readonly holder: LockHolder | null;
  constructor(file: string, dir: string, holder: LockHolder | null) {
    const who = holder ? `pid ${holder.pid} on ${holder.host} (since ${holder.started})` : 'another run';
    super(file, `${dir} is in use by ${who}; wait for that run to finish, or use another --out folder (if that process is gone, delete ${file})`);
    this.name = 'DirLockedError';
    this.holder = holder;
  }
}

/** A held lock; `release` removes it (only if it is still ours). */
export interface DirLock {
  file: string;
  /** The stale holder whose lock was taken over, if any. */
  tookOver: LockHolder | null;
  release(): Promise<void>;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
  return !isZombie(pid);
}

/**
 * Whether `pid` has exited but not yet been reaped (Linux: state Z in /proc/PID/stat). A run
 * whose parent was killed is reparented to init, which may reap it late; it holds nothing.
 */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false; // no /proc (not Linux): kill(pid, 0) decides
  }
}

async function readHolder(file: string): Promise<LockHolder | null | 'gone'> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw error;
  }
  try {
    const h = JSON.parse(text) as LockHolder;
    return Number.isInteger(h.pid) && typeof h.host === 'string' ? h : null;
  } catch {
    return null;
  }
}

/** A lock is stale when its process is provably gone: same host and the pid is dead (or is us). */
function isStale(holder: LockHolder | null): boolean {
  if (holder === null) return true; // unreadable content: written by nothing we know
  return holder.host === hostname() && (holder.pid === process.pid || !isAlive(holder.pid));
}

/**
 * Once the folder is ours: removes what killed runs left in it — temporaries of the atomic
 * write path and the lock files they were about to link — so a rerun ends with exactly the
 * files of an uninterrupted run.
 */
async function removeLeftovers(dir: string): Promise<void> {
  await removeAtomicTemps(dir);
  const names = await readdir(dir).catch(() => [] as string[]);
  const pending = new RegExp(`^${LOCK_FILE.replace(/\./g, '\\.')}\\.(\\d+)\\.new$`);
  for (const n of names) {
    const m = pending.exec(n);
    if (m && Number(m[1]) !== process.pid && !isAlive(Number(m[1]))) await rm(join(dir, n), { force: true });
  }
}

/**
 * Locks `dir` (created if needed) for this process. The lock file is written completely
 * through the atomic write path and then hard-linked into place, which fails if a lock
 * exists: two runs can never both believe they hold it. Once held, the temporary files killed
 * runs left in `dir` are removed.
 *
 * @example
 * const lock = await lockDirectory('runs/labels', { onTakeover: (h) => log(`took over the lock of pid ${h.pid}`) });
 * try { … } finally { await lock.release(); }
 */
export async function lockDirectory(dir: string, options: { onTakeover?: (holder: LockHolder | null) => void } = {}): Promise<DirLock> {
  const file = join(dir, LOCK_FILE);
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    throw new FileWriteError(dir, error);
  }
  const mine: LockHolder = { pid: process.pid, host: hostname(), started: new Date().toISOString() };
  const tmp = join(dir, `${LOCK_FILE}.${process.pid}.new`);
  await writeFileAtomic(tmp, `${JSON.stringify(mine)}\n`);
  let tookOver: LockHolder | null = null;
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await link(tmp, file);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw new FileWriteError(file, error);
      }
      const holder = await readHolder(file);
      if (holder === 'gone') continue; // released meanwhile
      if (attempt > 0 || !isStale(holder)) throw new DirLockedError(file, dir, holder);
      tookOver = holder;
      options.onTakeover?.(holder);
      await unlink(file).catch(() => undefined);
    }
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  await removeLeftovers(dir);
  return {
    file,
    tookOver,
    async release() {
      const holder = await readHolder(file).catch(() => null);
      if (holder !== null && holder !== 'gone' && holder.pid === mine.pid && holder.started === mine.started) await unlink(file).catch(() => undefined);
    },
  };
}

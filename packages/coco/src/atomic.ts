// The one write path of the project: every file omnidistill writes (COCO files, prediction
// shards, run records, models, reports) goes through writeAtomically, so that a crash or a
// full disk leaves either the old file or the complete new one, never a truncated file.
// The one exception to whole-file writes is an append-only log (openAppendLog): durable
// newline-terminated records, where a crash can only tear the last one, which the next
// opening cuts off.
import { mkdir, open, readdir, rename, rm, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { FileWriteError } from '@omnidistill/core';

/** Appends text (written as UTF-8) or bytes to the file being produced. */
export type Push = (chunk: string | Uint8Array) => Promise<void>;

/** The part of a FileHandle the write loop uses (a seam for tests that inject short writes). */
export interface WriteTarget {
  write(buffer: Uint8Array, offset: number, length: number, position: null): Promise<{ bytesWritten: number }>;
}

/**
 * Writes every byte of `bytes`. A write may legally return a short count (a nearly full
 * disk does), so the loop goes on from where it stopped; a write that makes no progress at
 * all is an error rather than an endless loop.
 */
export async function writeFully(target: WriteTarget, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.byteLength) {
    const { bytesWritten } = await target.write(bytes, offset, bytes.byteLength - offset, null);
    if (bytesWritten <= 0) {
      throw Object.assign(new Error(`the device accepted none of the remaining ${bytes.byteLength - offset} bytes`), { code: 'ENOSPC' });
    }
    offset += bytesWritten;
  }
}

const CHUNK_BYTES = 1 << 20;

/** Buffers pushed pieces and writes them in ~1 MB chunks (large byte arrays go straight through). */
class ChunkWriter {
  private parts: string[] = [];
  private size = 0;
  constructor(private readonly target: WriteTarget) {}
  async push(chunk: string | Uint8Array): Promise<void> {
    if (typeof chunk !== 'string') {
      await this.flush();
      await writeFully(this.target, chunk);
      return;
    }
    this.parts.push(chunk);
    this.size += chunk.length;
    if (this.size >= CHUNK_BYTES) await this.flush();
  }
  async flush(): Promise<void> {
    if (this.parts.length === 0) return;
    const bytes = Buffer.from(this.parts.join(''), 'utf8');
    this.parts = [];
    this.size = 0;
    await writeFully(this.target, bytes);
  }
}

/** Marks errors of the file system (as opposed to errors thrown by the content producer). */
class FsFailure {
  constructor(readonly error: unknown) {}
}

async function fsStep<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    throw new FsFailure(error);
  }
}

/** Fsyncs a directory so a rename in it survives a power cut (best effort: some file systems refuse). */
async function syncDirectory(dir: string): Promise<void> {
  const dh = await open(dir, 'r').catch(() => undefined);
  if (dh) await dh.sync().catch(() => undefined).finally(() => dh.close());
}

/**
 * Writes a file atomically: `produce` streams the content (strings and bytes) into a
 * temporary file next to `file`; every byte is written, the file is fsynced, renamed over
 * `file` and the directory fsynced. On any failure the temporary file is removed and `file`
 * is left as it was. File-system failures (full disk, quota, read-only, permissions) throw
 * a {@link FileWriteError} naming `file`; errors thrown by `produce` pass through unchanged.
 *
 * @example
 * await writeAtomically('out/labels.json', async (push) => { await push('{"a": '); await push('1}\n'); });
 */
export async function writeAtomically(file: string, produce: (push: Push) => Promise<void>): Promise<void> {
  const dir = dirname(file);
  // node:crypto is imported on the first write only: a reading command (eval) never pays for it
  const { randomBytes } = await import('node:crypto');
  const tmp = join(dir, `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`); // see TEMP_NAME
  let fh: FileHandle | undefined;
  let done = false;
  try {
    fh = await fsStep(() => open(tmp, 'wx'));
    const handle = fh;
    const writer = new ChunkWriter({ write: (b, o, l, p) => fsStep(() => handle.write(b, o, l, p)) });
    await produce((chunk) => writer.push(chunk));
    await writer.flush();
    await fsStep(() => handle.sync());
    await fsStep(() => handle.close());
    fh = undefined;
    await fsStep(() => rename(tmp, file));
    done = true;
  } catch (error) {
    if (error instanceof FsFailure) throw new FileWriteError(file, error.error);
    throw error;
  } finally {
    if (!done) {
      await fh?.close().catch(() => undefined);
      await unlink(tmp).catch(() => undefined);
    }
  }
  await syncDirectory(dir);
}

/** Names of the temporary files writeAtomically makes: `.<name>.<pid>.<8 hex>.tmp`. */
const TEMP_NAME = /^\..+\.\d+\.[0-9a-f]{8}\.tmp$/;

/**
 * Removes the temporary files a killed writer left in `dir` (not recursive). Call it only
 * where no other process writes at the same time (e.g. in a folder this process has locked).
 */
export async function removeAtomicTemps(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  await Promise.all(names.filter((n) => TEMP_NAME.test(n)).map((n) => rm(join(dir, n), { force: true })));
}

/**
 * Writes `data` (text as UTF-8, or bytes) to `file` atomically, creating its folder first.
 *
 * @example
 * await writeFileAtomic('run/model.onnx', onnxBytes);
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  try {
    await mkdir(dirname(file), { recursive: true });
  } catch (error) {
    throw new FileWriteError(file, error);
  }
  await writeAtomically(file, (push) => push(data));
}

/** An open append-only log (see {@link openAppendLog}). */
export interface AppendLog {
  /** Appends one record (`text` must end with a newline) and resolves once it is on disk (fsync). */
  append(text: string): Promise<void>;
  close(): Promise<void>;
}

const TAIL_BLOCK = 64 << 10;

/**
 * The length of `fh`'s content up to and including its last newline: what remains of a log
 * once a record torn by a crash (bytes after the last newline) is cut off.
 */
async function wholeRecordsLength(fh: FileHandle): Promise<number> {
  const size = (await fh.stat()).size;
  const block = Buffer.alloc(TAIL_BLOCK);
  for (let end = size; end > 0; ) {
    const start = Math.max(0, end - TAIL_BLOCK);
    const { bytesRead } = await fh.read(block, 0, end - start, start);
    const nl = block.subarray(0, bytesRead).lastIndexOf(0x0a);
    if (nl >= 0) return start + nl + 1;
    end = start;
  }
  return 0;
}

/**
 * Opens `file` (created if absent, with its folder) as an append-only log of
 * newline-terminated records. A crash can only leave the last record torn (no newline yet):
 * opening cuts such a tail off, so a reader sees whole records only, and each `append` is
 * written completely (short writes continued) and fsynced before it resolves. Only one
 * process may append at a time (the caller's folder lock). File-system failures throw a
 * {@link FileWriteError} naming `file`.
 *
 * @example
 * const log = await openAppendLog('run/chunks.jsonl');
 * await log.append(`${JSON.stringify({ chunk: 0 })}\n`);
 * await log.close();
 */
export async function openAppendLog(file: string): Promise<AppendLog> {
  let fh: FileHandle;
  try {
    await mkdir(dirname(file), { recursive: true });
    fh = await open(file, 'a+');
    const whole = await wholeRecordsLength(fh);
    if (whole < (await fh.stat()).size) {
      await fh.truncate(whole);
      await fh.sync();
    }
  } catch (error) {
    throw new FileWriteError(file, error);
  }
  await syncDirectory(dirname(file));
  const handle = fh;
  let closed = false;
  return {
    async append(text: string): Promise<void> {
      if (!text.endsWith('\n')) throw new RangeError(`${file}: a log record must end with a newline`);
      try {
        await writeFully({ write: (b, o, l, p) => handle.write(b, o, l, p) }, Buffer.from(text, 'utf8'));
        await handle.sync();
      } catch (error) {
        throw new FileWriteError(file, error);
      }
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await handle.close();
    },
  };
}

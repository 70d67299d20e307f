// The one write path of the project: every file omnidistill writes (COCO files, prediction
// shards, run records, models, reports) goes through writeAtomically, so that a crash or a
// full disk leaves either the old file or the complete new one, never a truncated file.
import { mkdir, open, readdir, rename, rm, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
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

// Scratch columns of float64 rows that calibration appends once and scans several times
// (count matching reads its scores in a few passes instead of holding them): a buffered
// temporary file per column in a private scratch folder, removed when calibration ends.
// These files are never outputs (nothing reads them after the process), so they bypass the
// atomic write path on purpose. A process killed mid-calibration cannot remove its folder:
// the next calibration into the same parent removes folders whose owner process is gone.
import { mkdtemp, open, readdir, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';

/** Numbers buffered per column before they are written (32 KiB). */
const BUFFER_VALUES = 4096;
/** Numbers read per block by a scan (1 MiB). */
const READ_VALUES = 1 << 17;

/**
 * The read blocks of a scratch folder's scans, kept for the next scan. Count matching scans
 * each column 5–7 times; a fresh 1 MiB block per scan is garbage the V8 heap barely notices
 * (a small object holding outside memory): a 100k-image `label merge` held up to 8.3 MiB of
 * array buffers at once (4.4 MiB with kept blocks), where a 1k-image one touches a few KiB of each.
 * Scans may overlap (one block each); a returned block waits for the next scan.
 */
class ReadBlocks {
  private readonly free: Float64Array[] = [];
  /** A block of {@link READ_VALUES} numbers: a kept one when there is one. */
  take(): Float64Array {
    return this.free.pop() ?? new Float64Array(READ_VALUES);
  }
  give(block: Float64Array): void {
    this.free.push(block);
  }
}

/** Scratch folders are `<prefix><pid>@<host>-XXXXXX` (mkdtemp's six random characters). */
const SCRATCH_PREFIX = '.omnidistill-select-';

/** The host part of a scratch folder's name: the hostname with only [A-Za-z0-9.] kept. */
function hostTag(): string {
  return hostname().replace(/[^A-Za-z0-9.]/g, '_');
}

/** Whether a process with this id runs on this host (EPERM: it runs, as another user). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The owner (pid, host) written in a scratch folder's name, or undefined for other names. */
export function scratchOwner(name: string): { pid: number; host: string } | undefined {
  const match = /^\.omnidistill-select-(\d+)@([A-Za-z0-9._]+)-[A-Za-z0-9]{6}$/.exec(name);
  return match ? { pid: Number(match[1]), host: match[2]! } : undefined;
}

/**
 * Removes scratch folders under `parent` left by calibrations that were killed (SIGKILL, power
 * loss): only folders made on this host whose process is gone. A folder of a live process, of
 * another host (a shared file system) or of the old unnamed form is left alone.
 */
export async function removeAbandonedScratch(parent: string): Promise<string[]> {
  const host = hostTag();
  const entries = await readdir(parent, { withFileTypes: true }).catch(() => []);
  const abandoned = entries
    .filter((e) => e.isDirectory())
    .map((e) => ({ name: e.name, owner: scratchOwner(e.name) }))
    .filter(({ owner }) => owner !== undefined && owner.host === host && owner.pid !== process.pid && !processAlive(owner.pid))
    .map(({ name }) => join(parent, name));
  await Promise.all(abandoned.map((dir) => rm(dir, { recursive: true, force: true })));
  return abandoned;
}

/** A private folder of scratch columns; `dispose()` removes it and everything in it. */
export class Scratch {
  private next = 0;
  private readonly columns: SpillColumn[] = [];
  private readonly blocks = new ReadBlocks();
  private constructor(readonly dir: string) {}

  /**
   * Creates the folder under `parent` (default: the OS temp folder), named after this process,
   * after removing the folders of killed calibrations there.
   */
  static async create(parent: string = tmpdir()): Promise<Scratch> {
    await removeAbandonedScratch(parent);
    return new Scratch(await mkdtemp(join(parent, `${SCRATCH_PREFIX}${process.pid}@${hostTag()}-`)));
  }

  /** A new empty column of rows of `width` numbers. */
  async column(width: number): Promise<SpillColumn> {
    const column = await SpillColumn.open(join(this.dir, `column-${this.next++}.f64`), width, this.blocks);
    this.columns.push(column);
    return column;
  }

  async dispose(): Promise<void> {
    await Promise.all(this.columns.map((c) => c.close().catch(() => undefined)));
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Rows of `width` float64 numbers, appended in order and scanned from the start. */
export class SpillColumn {
  private buffer = new Float64Array(BUFFER_VALUES);
  private used = 0;
  private written = 0;

  private constructor(
    private readonly fh: FileHandle,
    readonly width: number,
    private readonly blocks: ReadBlocks,
  ) {}

  static async open(path: string, width: number, blocks: ReadBlocks = new ReadBlocks()): Promise<SpillColumn> {
    return new SpillColumn(await open(path, 'w+'), width, blocks);
  }

  /** Rows appended so far. */
  get rows(): number {
    return (this.written + this.used) / this.width;
  }

  /** Appends one number (call it `width` times per row); call {@link flushIfFull} between records. */
  push(value: number): void {
    if (this.used === this.buffer.length) {
      const grown = new Float64Array(this.buffer.length * 2); // one record larger than the buffer
      grown.set(this.buffer);
      this.buffer = grown;
    }
    this.buffer[this.used++] = value;
  }

  /** Writes the buffered numbers once the buffer is full (keeps memory at one buffer). */
  async flushIfFull(): Promise<void> {
    if (this.used >= BUFFER_VALUES) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.used === 0) return;
    const bytes = new Uint8Array(this.buffer.buffer, 0, this.used * 8);
    let offset = 0;
    while (offset < bytes.byteLength) {
      const { bytesWritten } = await this.fh.write(bytes, offset, bytes.byteLength - offset, this.written * 8 + offset);
      offset += bytesWritten;
    }
    this.written += this.used;
    this.used = 0;
    if (this.buffer.length > BUFFER_VALUES) this.buffer = new Float64Array(BUFFER_VALUES);
  }

  /** Calls `visit(block, start)` for each row (`block[start … start + width - 1]`), in append order. */
  async scanRows(visit: (block: Float64Array, start: number) => void): Promise<void> {
    await this.flush();
    const perBlock = Math.max(1, Math.floor(READ_VALUES / this.width)) * this.width;
    // Only a row wider than a shared block (over 131072 numbers) needs a block of its own.
    const shared = perBlock <= READ_VALUES;
    const block = shared ? this.blocks.take() : new Float64Array(perBlock);
    const bytes = new Uint8Array(block.buffer, block.byteOffset, block.byteLength);
    try {
      for (let at = 0; at < this.written; at += perBlock) {
        const values = Math.min(perBlock, this.written - at);
        let got = 0;
        while (got < values * 8) {
          const { bytesRead } = await this.fh.read(bytes, got, values * 8 - got, at * 8 + got);
          if (bytesRead === 0) throw new Error(`scratch column ended early (${at + got / 8} of ${this.written} numbers)`);
          got += bytesRead;
        }
        for (let i = 0; i < values; i += this.width) visit(block, i);
      }
    } finally {
      if (shared) this.blocks.give(block);
    }
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

// The one write path (atomic.ts): short writes are completed, a device that accepts nothing
// is an error naming the file, failures leave no temporary file and the old content intact;
// and the reader refuses what is not JSON as early as it can (issue 12).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileWriteError } from '@omnidistill/core';
import { CocoValidationError, TopLevelSplitter, openAppendLog, readCocoDataset, readCocoResults, writeAtomically, writeFileAtomic, writeFully } from '@omnidistill/coco';
import type { WriteTarget } from '@omnidistill/coco';

const tmp = mkdtempSync(join(tmpdir(), 'omnidistill-atomic-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A write target that accepts at most `max` bytes per call and records what it got. */
function shortWriter(max: number): WriteTarget & { got: number[] } {
  const got: number[] = [];
  return {
    got,
    async write(buffer, offset, length) {
      const n = Math.min(max, length);
      for (let i = 0; i < n; i++) got.push(buffer[offset + i]);
      return { bytesWritten: n };
    },
  };
}

describe('writeFully', () => {
  it('keeps writing after short counts until every byte is written, in order', async () => {
    const bytes = Uint8Array.from({ length: 100_000 }, (_, i) => (i * 7) % 251);
    const target = shortWriter(8192);
    await writeFully(target, bytes);
    expect(Uint8Array.from(target.got)).toEqual(bytes);
  });

  it('fails instead of looping when the device accepts no byte', async () => {
    await expect(writeFully(shortWriter(0), new Uint8Array(10))).rejects.toMatchObject({ code: 'ENOSPC' });
  });
});

describe('writeAtomically', () => {
  it('writes strings and bytes mixed, creating the folder (writeFileAtomic)', async () => {
    const file = join(tmp, 'sub', 'mixed.bin');
    await writeFileAtomic(file, new Uint8Array([1, 2, 3]));
    expect([...readFileSync(file)]).toEqual([1, 2, 3]);
    await writeAtomically(file, async (push) => {
      await push('é');
      await push(new Uint8Array([0, 255]));
    });
    expect([...readFileSync(file)]).toEqual([0xc3, 0xa9, 0, 255]);
  });

  it('a file-system failure is a FileWriteError naming the file; the old file stays, no temp is left', async () => {
    const dir = join(tmp, 'ro');
    const file = join(dir, 'out.json');
    await writeFileAtomic(file, 'old\n');
    // A folder that cannot be entered stands in for a read-only one (this test may run as root,
    // who ignores permission bits): a path under a regular file fails with ENOTDIR.
    const blocked = join(file, 'inner.json');
    const err = await writeFileAtomic(blocked, 'x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FileWriteError);
    expect((err as FileWriteError).file).toBe(blocked);
    expect((err as Error).message).toContain(`cannot write ${blocked}`);
    expect(readFileSync(file, 'utf8')).toBe('old\n');
    expect(readdirSync(dir)).toEqual(['out.json']);
  });

  it('a full disk (ENOSPC) names the file and says what to do', () => {
    const e = new FileWriteError('/x/generated.json', Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }));
    expect(e.message).toBe('cannot write /x/generated.json: no space left on the device; free some space or write to another folder (ENOSPC)');
    expect(e.code).toBe('ENOSPC');
  });

  it('errors of the content producer pass through unchanged', async () => {
    const boom = new TypeError('producer failed');
    await expect(writeAtomically(join(tmp, 'p.json'), async () => { throw boom; })).rejects.toBe(boom);
    expect(readdirSync(tmp).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});

describe('reading refuses non-JSON early', () => {
  const split = (text: string | Buffer) => {
    const s = new TopLevelSplitter(new Set(['', 'images']), { member() {}, element() {} });
    s.feed(typeof text === 'string' ? Buffer.from(text) : text);
    s.finish();
  };

  it.each([
    ['[,,]', /expected a JSON value, received "," at byte 1/],
    ['[1,,2]', /expected a JSON value, received "," at byte 3/],
    ['[1,]', /expected a JSON value, received "\]" at byte 3/],
    ['[{} {}]', /expected "," or "\]", received "\{" at byte 4/],
    ['{,"images":[]}', /expected a member name, received "," at byte 1/],
    ['{"images":[],,"a":1}', /expected a member name, received "," at byte 13/],
    ['{"images":[1],}', /expected a member name, received "}" at byte 14/],
    ['{"a":\u0001}', /expected a JSON value, received byte 0x01 at byte 5/],
  ])('%j is rejected (%s)', (text, message) => {
    expect(() => split(text)).toThrow(message);
  });

  it('"[" followed by NUL bytes fails on the first NUL, without reading further', () => {
    const s = new TopLevelSplitter(new Set(['']), { member() {}, element() {} });
    const chunk = Buffer.alloc(1 << 20);
    chunk[0] = 0x5b;
    expect(() => s.feed(chunk)).toThrow(/received byte 0x00 at byte 1/);
    const t = new TopLevelSplitter(new Set(['']), { member() {}, element() {} });
    expect(() => t.feed(Buffer.concat([Buffer.from('[1'), Buffer.alloc(1000)]))).toThrow(/unexpected byte 0x00 at byte 2/);
    // an unterminated string full of NULs (a closed string's content is checked by JSON.parse)
    const u = new TopLevelSplitter(new Set(['']), { member() {}, element() {} });
    expect(() => u.feed(Buffer.concat([Buffer.from('["a'), Buffer.alloc(1000)]))).toThrow(/control character byte 0x00 in a string at byte 3/);
  });

  it('still accepts valid nesting, empty lists and whitespace', () => {
    expect(() => split(' [ {"a":[1,[2,{}],"x,]"]} , [] , 3 , "s" ] ')).not.toThrow();
    expect(() => split('{"images":[],"a":{"b":[1,2]}}')).not.toThrow();
    expect(() => split('{}')).not.toThrow();
    expect(() => split('[]')).not.toThrow();
  });

  it('a FIFO given as a COCO file is refused at once instead of blocking forever', async () => {
    const fifo = join(tmp, 'gt.fifo');
    execFileSync('mkfifo', [fifo]);
    const err = await readCocoDataset(fifo).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CocoValidationError);
    expect((err as Error).message).toContain('expected a regular JSON file, received a FIFO (named pipe)');
    await expect(readCocoResults(tmp, { images: [], annotations: [], categories: [] } as never)).rejects.toThrow('received a directory');
  });

  it('a results file of "[" and a megabyte of NUL bytes is refused as invalid JSON', async () => {
    const file = join(tmp, 'nul.json');
    writeFileSync(file, Buffer.concat([Buffer.from('['), Buffer.alloc(1 << 20)]));
    await expect(readCocoResults(file, { images: [], annotations: [], categories: [] } as never)).rejects.toThrow(/received byte 0x00 at byte 1/);
  });
});

describe('openAppendLog', () => {
  it('appends whole records and creates the file and its folder', async () => {
    const file = join(tmp, 'log-new', 'sub', 'chunks.jsonl');
    const log = await openAppendLog(file);
    await log.append('{"a":1}\n');
    await log.append('{"a":2}\n');
    await log.close();
    expect(readFileSync(file, 'utf8')).toBe('{"a":1}\n{"a":2}\n');
    await expect((await openAppendLog(file)).append('no newline')).rejects.toThrow(/must end with a newline/);
  });

  it('cuts off a record torn by a crash when opened again, keeping every whole one', async () => {
    const file = join(tmp, 'log-torn.jsonl');
    writeFileSync(file, '{"a":1}\n{"a":2}\n{"a":');
    const log = await openAppendLog(file);
    expect(readFileSync(file, 'utf8')).toBe('{"a":1}\n{"a":2}\n');
    await log.append('{"a":3}\n');
    await log.close();
    expect(readFileSync(file, 'utf8')).toBe('{"a":1}\n{"a":2}\n{"a":3}\n');
  });

  it('finds the last newline before a torn tail longer than its read block, or empties a log without one', async () => {
    const long = join(tmp, 'log-long-tail.jsonl');
    writeFileSync(long, `{"a":1}\n${'x'.repeat(200_000)}`);
    await (await openAppendLog(long)).close();
    expect(readFileSync(long, 'utf8')).toBe('{"a":1}\n');
    const none = join(tmp, 'log-no-newline.jsonl');
    writeFileSync(none, 'x'.repeat(70_000));
    await (await openAppendLog(none)).close();
    expect(readFileSync(none, 'utf8')).toBe('');
  });

  it('a folder it cannot create is a FileWriteError naming the file', async () => {
    const blocker = join(tmp, 'log-blocker');
    writeFileSync(blocker, 'a file, not a folder');
    const err = await openAppendLog(join(blocker, 'chunks.jsonl')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FileWriteError);
    expect((err as Error).message).toContain(join(blocker, 'chunks.jsonl'));
  });
});

// Test-only preload (node --import): FileHandle writes behave like a disk with
// OMNIDISTILL_FAULT_WRITE_LIMIT bytes free — the write that reaches the limit is short (as a
// nearly full disk does), every later one fails with ENOSPC. With OMNIDISTILL_FAULT_WRITE_FILE
// only files whose path contains that text count (e.g. the last file a run writes). Used by
// the fault suite beside (or instead of, where no tmpfs can be mounted) a real full tmpfs:
// it acts at the same seam, the FileHandle writes of the atomic write path.
import fsp from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';

const limit = Number(process.env.OMNIDISTILL_FAULT_WRITE_LIMIT);
const only = process.env.OMNIDISTILL_FAULT_WRITE_FILE;
const counted = new WeakSet();
let written = 0;

const open = fsp.open;
fsp.open = async function countedOpen(path, ...rest) {
  const handle = await open.call(this, path, ...rest);
  if (only === undefined || String(path).includes(only)) counted.add(handle);
  return handle;
};
syncBuiltinESMExports();

const probe = await open(process.execPath, 'r');
const proto = Object.getPrototypeOf(probe);
await probe.close();
const write = proto.write;
proto.write = async function limitedWrite(buffer, offset, length, position) {
  if (typeof buffer === 'string' || !counted.has(this)) return write.apply(this, arguments);
  const from = offset ?? 0;
  const wanted = length ?? buffer.byteLength - from;
  const room = limit - written;
  if (room <= 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
  const result = await write.call(this, buffer, from, Math.min(room, wanted), position);
  written += result.bytesWritten;
  return result;
};

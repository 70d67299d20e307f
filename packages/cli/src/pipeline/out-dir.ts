// The output folder is checked before any work starts, so that a file in its place, a
// read-only file system or a missing permission is reported at once with the flag that
// named it, not after an hour of training.
import { constants } from 'node:fs';
import { access, mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { UsageError } from '../commands/types.js';
import { fileSystemReason } from '../failures.js';

function codeOf(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** `flag dirArg: cannot write there (at AT): reason (CODE)`; `at` is shown when it is not the folder itself. */
function refusal(flag: string, dirArg: string, dir: string, at: string, err: unknown): UsageError {
  const code = codeOf(err);
  const reason = fileSystemReason(code) ?? (err as Error).message;
  const where = at === dir ? '' : ` (at ${at})`;
  return new UsageError(`${flag} ${dirArg}: cannot write there${where}: ${reason}${code ? ` (${code})` : ''}`);
}

/**
 * Creates `dir` if needed (each missing level on its own, so that a read-only file system is
 * reported as such rather than as ENOENT) and checks that it is a writable folder. Throws a
 * UsageError naming `flag` (e.g. `--out`) otherwise.
 */
export async function prepareOutputFolder(flag: string, dirArg: string): Promise<string> {
  const dir = resolve(dirArg);
  const missing: string[] = [];
  let existing = dir;
  for (;;) {
    try {
      const s = await stat(existing);
      if (!s.isDirectory()) {
        const what = existing === dir ? 'is a file, not a folder' : `${existing} is a file, not a folder`;
        throw new UsageError(`${flag} ${dirArg}: ${what}; choose another ${flag}`);
      }
      break;
    } catch (err) {
      if (err instanceof UsageError) throw err;
      if (codeOf(err) !== 'ENOENT' || dirname(existing) === existing) throw refusal(flag, dirArg, dir, existing, err);
      missing.unshift(existing);
      existing = dirname(existing);
    }
  }
  for (const level of missing) {
    try {
      await mkdir(level);
    } catch (err) {
      if (codeOf(err) !== 'EEXIST') throw refusal(flag, dirArg, dir, level, err);
    }
  }
  try {
    await access(dir, constants.W_OK | constants.X_OK);
  } catch (err) {
    throw refusal(flag, dirArg, dir, dir, err);
  }
  return dir;
}

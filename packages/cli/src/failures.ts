// The CLI's one error boundary: every failure a command throws becomes an exit code and one
// line. Known failures (bad flags, invalid files, file-system refusals, unloadable models,
// checkpoints of another run) are the user's to fix: exit 2, the file and the fix. Anything
// else is a bug or an accident: exit 1 and a pointer to --debug for the stack trace.
import { CocoValidationError } from '@omnidistill/coco';
import { FileWriteError, InputFileError, OmniRangeError, OmniTypeError } from '@omnidistill/core';
import { EXIT, UsageError } from './commands/types.js';

/** What the boundary prints and returns for a failure. */
export interface Failure {
  readonly exit: typeof EXIT.FAILURE | typeof EXIT.USAGE;
  /** One line, without the `omnidistill <command>:` prefix. */
  readonly message: string;
}

/** One kind of known failure: its one-line message when `err` is of this kind. */
interface KnownFailure {
  readonly kind: string;
  describe(err: unknown): string | undefined;
}

/** What a file-system error code means for the user, and what to do about it. */
const FILE_SYSTEM_REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or folder; check the path',
  EACCES: 'permission denied; check the permissions or use another location',
  EPERM: 'operation not permitted; check the permissions or use another location',
  EROFS: 'the file system is read-only; use a writable location',
  ENOTDIR: 'a part of the path is a file, not a folder; check the path',
  EISDIR: 'is a folder where a file is expected; check the path',
  ELOOP: 'too many levels of symbolic links (a link loop); fix or remove the link',
  ENOSPC: 'no space left on the device; free some space and run the same command again (finished work is kept)',
  EDQUOT: 'disk quota exceeded; free some space and run the same command again (finished work is kept)',
  ENAMETOOLONG: 'the path is too long; use a shorter one',
  EEXIST: 'something is already there (a file where a folder is needed?); remove it or use another path',
};

/** The reason and fix for a file-system error code, or undefined for codes the CLI does not explain. */
export function fileSystemReason(code: string | undefined): string | undefined {
  return code === undefined ? undefined : FILE_SYSTEM_REASONS[code];
}

interface ErrnoLike {
  code?: unknown;
  path?: unknown;
  syscall?: unknown;
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0];
}

/** A message written over several lines, as one line (`; ` between the parts). */
function oneLine(text: string): string {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .join('; ');
}

/** The first problem of a COCO validation error, on one line, with how many more there are. */
function describeCoco(err: CocoValidationError): string {
  const [head] = err.message.split('\n', 1);
  const what = head.replace(/: \d+ problems?$/, '');
  const first = err.problems[0]?.message ?? head;
  const more = err.problemCount > 1 ? ` (and ${err.problemCount - 1} more problem${err.problemCount > 2 ? 's' : ''})` : '';
  return `${what}: ${first}${more}; fix the file`;
}

const KNOWN_FAILURES: readonly KnownFailure[] = [
  { kind: 'usage', describe: (err) => (err instanceof UsageError ? oneLine(err.message) : undefined) },
  // Bad input naming its file (a damaged run record, a refused resume, a path escaping --images).
  { kind: 'input-file', describe: (err) => (err instanceof InputFileError ? oneLine(err.message) : undefined) },
  // A write the environment refused (full disk, read-only, permissions): the message names the
  // file and the fix, and the temporary file is gone; the same command resumes once fixed.
  { kind: 'write', describe: (err) => (err instanceof FileWriteError ? oneLine(err.message) : undefined) },
  { kind: 'coco', describe: (err) => (err instanceof CocoValidationError ? describeCoco(err) : undefined) },
  // By name: importing @omnidistill/train here would load onnxruntime for every command.
  { kind: 'checkpoint', describe: (err) => (err instanceof Error && err.name === 'CheckpointMismatchError' ? firstLine(err.message) : undefined) },
  // Validation errors of @omnidistill/core name the field path, what was expected and received.
  { kind: 'validation', describe: (err) => (err instanceof OmniTypeError || err instanceof OmniRangeError ? firstLine(err.message) : undefined) },
  {
    kind: 'file-system',
    describe: (err) => {
      const { code, path, syscall } = (typeof err === 'object' && err !== null ? err : {}) as ErrnoLike;
      const reason = typeof code === 'string' ? fileSystemReason(code) : undefined;
      if (reason === undefined || typeof path !== 'string') return undefined;
      return `${path}: ${reason} (${code}${typeof syscall === 'string' ? ` on ${syscall}` : ''})`;
    },
  },
];

/** Maps any thrown value to its exit code and one-line message. */
export function describeFailure(err: unknown): Failure {
  for (const known of KNOWN_FAILURES) {
    const message = known.describe(err);
    if (message !== undefined) return { exit: EXIT.USAGE, message };
  }
  const text = err instanceof Error ? `${err.name === 'Error' ? '' : `${err.name}: `}${firstLine(err.message)}` : String(err);
  return { exit: EXIT.FAILURE, message: `unexpected failure: ${text} (rerun with --debug for the stack trace)` };
}

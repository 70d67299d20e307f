// The CLI's error boundary: which failures are the user's to fix (exit 2, one line naming the
// file and the fix) and which are unexpected (exit 1, a pointer to --debug).
import { CocoValidationError } from '@omnidistill/coco';
import { FileWriteError, InputFileError, OmniRangeError } from '@omnidistill/core';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../src/commands/types.js';
import { describeFailure } from '../src/failures.js';

const errno = (code: string, path: string, syscall = 'open') => Object.assign(new Error(`${code}: …, ${syscall} '${path}'`), { code, path, syscall });

describe('describeFailure', () => {
  it.each([
    ['a usage error, joined to one line', new UsageError('--x: bad\n  more'), '--x: bad; more'],
    ['a core validation error', new OmniRangeError('options.batch', 'an integer >= 2', 1), 'options.batch: expected an integer >= 2, received 1 (number)'],
    ['a COCO validation error (first problem + count)', new CocoValidationError('/d/u.json', [{ path: 'images[1].id', message: 'images[1].id: expected an integer, received "x" (string)' }], 3), '/d/u.json: images[1].id: expected an integer, received "x" (string) (and 2 more problems); fix the file'],
    ['an input file error', new InputFileError('/r/run.json', '/r/run.json: not valid JSON; delete /r'), '/r/run.json: not valid JSON; delete /r'],
    ['a refused write', new FileWriteError('/o/m.onnx', errno('ENOSPC', '/o/.m.onnx.tmp', 'write')), 'cannot write /o/m.onnx: no space left on the device; free some space or write to another folder (ENOSPC)'],
    ['a read-only file system', errno('EROFS', '/ro/x', 'mkdir'), '/ro/x: the file system is read-only; use a writable location (EROFS on mkdir)'],
    ['a symbolic link loop', errno('ELOOP', '/l/a'), '/l/a: too many levels of symbolic links (a link loop); fix or remove the link (ELOOP on open)'],
  ])('%s → exit 2', (_name, err, message) => {
    expect(describeFailure(err)).toEqual({ exit: 2, message });
  });

  it('a checkpoint of another run → exit 2 (recognised by name: train is not loaded for every command)', () => {
    const err = Object.assign(new Error('/o/k.checkpoints: the checkpoints there come from a run with other inputs (changed: --lr 0.002 → 0.003); …'), { name: 'CheckpointMismatchError' });
    expect(describeFailure(err).exit).toBe(2);
  });

  it('anything else → exit 1, its first line and the --debug hint', () => {
    expect(describeFailure(new Error('boom\nsecond line'))).toEqual({ exit: 1, message: 'unexpected failure: boom (rerun with --debug for the stack trace)' });
    expect(describeFailure(new TypeError("Cannot read properties of undefined (reading 'x')")).message).toBe(
      "unexpected failure: TypeError: Cannot read properties of undefined (reading 'x') (rerun with --debug for the stack trace)",
    );
    // an errno code the CLI does not explain is not a known failure
    expect(describeFailure(errno('EIO', '/d/f')).exit).toBe(1);
    expect(describeFailure('a string').message).toBe('unexpected failure: a string (rerun with --debug for the stack trace)');
  });
});

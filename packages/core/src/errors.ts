// Precise validation errors shared by every package: each names the parameter path,
// what was expected and what was received, e.g.
// `options.scales[2]: expected a positive integer, received -400 (number)`.

/** Renders a received value for an error message: short, typed, never huge. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') {
    return `${String(value)} (${typeof value})`;
  }
  if (typeof value === 'string') {
    const shown = value.length > 40 ? `${value.slice(0, 37)}...` : value;
    return `${JSON.stringify(shown)} (string)`;
  }
  if (ArrayBuffer.isView(value)) {
    const name = value.constructor.name;
    const length = 'length' in value ? (value as unknown as { length: number }).length : value.byteLength;
    return `${name} of length ${length}`;
  }
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (typeof value === 'function') return 'a function';
  return `an object (${Object.prototype.toString.call(value).slice(8, -1)})`;
}

/** A TypeError whose message follows `path: expected X, received Y`. */
export class OmniTypeError extends TypeError {
  readonly path: string;
  constructor(path: string, expected: string, received: unknown) {
    super(`${path}: expected ${expected}, received ${describeValue(received)}`);
    this.name = 'TypeError';
    this.path = path;
  }
}

/** A RangeError whose message follows `path: expected X, received Y`. */
export class OmniRangeError extends RangeError {
  readonly path: string;
  constructor(path: string, expected: string, received: unknown) {
    super(`${path}: expected ${expected}, received ${describeValue(received)}`);
    this.name = 'RangeError';
    this.path = path;
  }
}

/** Throws a TypeError unless `value` is a finite number. */
export function expectFiniteNumber(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new OmniTypeError(path, 'a finite number', value);
  }
  return value;
}

/** Throws unless `value` is an integer >= `min` (default 0). */
export function expectInteger(value: unknown, path: string, min = 0): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new OmniTypeError(path, min === 1 ? 'a positive integer' : `an integer >= ${min}`, value);
  }
  if (value < min) throw new OmniRangeError(path, min === 1 ? 'a positive integer' : `an integer >= ${min}`, value);
  return value;
}

/** Throws a RangeError unless lo <= value <= hi (value must be a finite number). */
export function expectInRange(value: unknown, path: string, lo: number, hi: number): number {
  const v = expectFiniteNumber(value, path);
  if (v < lo || v > hi) throw new OmniRangeError(path, `a number in [${lo}, ${hi}]`, value);
  return v;
}

/** Throws unless `value` is one of `choices`. */
export function expectOneOf<T extends string>(value: unknown, path: string, choices: readonly T[]): T {
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
    throw new OmniTypeError(path, `one of ${choices.map((c) => JSON.stringify(c)).join(', ')}`, value);
  }
  return value as T;
}

export type NumericArray = Float32Array | Float64Array;

/** Throws unless `value` is a Float32Array/Float64Array of exactly `length` elements. */
export function expectFloatArray(value: unknown, path: string, length?: number): NumericArray {
  if (!(value instanceof Float32Array || value instanceof Float64Array)) {
    throw new OmniTypeError(path, 'a Float32Array or Float64Array', value);
  }
  if (length !== undefined && value.length !== length) {
    throw new OmniRangeError(path, `${length} elements`, value);
  }
  return value;
}

/** Throws a RangeError naming the first non-finite element of `values`. */
export function expectAllFinite(values: ArrayLike<number>, path: string): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) throw new OmniRangeError(`${path}[${i}]`, 'a finite number', values[i]);
  }
}

/**
 * Bad input that names the file at fault: a CLI maps it to exit 2 and prints the message
 * (one line: the file or field, what is wrong, how to fix it), never a stack trace.
 */
export class InputFileError extends Error {
  readonly file: string;
  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InputFileError';
    this.file = file;
  }
}

/** Why a write most likely failed, by errno code, with what the user can do about it. */
const WRITE_FAILURES: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on the device; free some space or write to another folder',
  EDQUOT: 'disk quota exceeded; free some space or write to another folder',
  EROFS: 'the file system is read-only; write to another folder',
  EACCES: 'permission denied; check the folder permissions or write to another folder',
  EPERM: 'operation not permitted; check the folder permissions or write to another folder',
};

/**
 * A file the project writes could not be written (disk full, quota, read-only file system,
 * permissions). The partial temporary file has been removed and `file` is as it was.
 * `code` is the errno code (`ENOSPC`, …) when there is one.
 */
export class FileWriteError extends Error {
  readonly file: string;
  readonly code: string | undefined;
  constructor(file: string, cause: unknown) {
    const raw = typeof cause === 'object' && cause !== null ? (cause as { code?: unknown }).code : undefined;
    const code = typeof raw === 'string' ? raw : undefined;
    const why = (code !== undefined && WRITE_FAILURES[code]) || (cause instanceof Error ? cause.message : String(cause));
    super(`cannot write ${file}: ${why}${code !== undefined && WRITE_FAILURES[code] ? ` (${code})` : ''}`, { cause });
    this.name = 'FileWriteError';
    this.file = file;
    this.code = code;
  }
}

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

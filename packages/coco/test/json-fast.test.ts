// The COCO JSON parser (json-fast.ts) against JSON.parse, its oracle: the same values (numbers
// bit for bit, -0 included) on random documents and hard numbers, a syntax error exactly where
// JSON.parse has one (random corruptions included), and the keypoint skipping of box evaluations.
import { describe, expect, it } from 'vitest';
import { FastJsonSyntaxError, parseJsonFast } from '../src/json-fast.js';
import { rng } from './generate.js';

/** Deep equality where numbers compare with Object.is (so -0 !== 0) and Float64Arrays as arrays. */
function same(a: unknown, b: unknown, path = '$'): string | null {
  if (a instanceof Float64Array) a = Array.from(a);
  if (typeof a === 'number' || typeof b === 'number') return Object.is(a, b) ? null : `${path}: ${String(a)} vs ${String(b)}`;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return `${path}: length ${a.length} vs ${b.length}`;
    for (let i = 0; i < a.length; i++) {
      const d = same(a[i], b[i], `${path}[${i}]`);
      if (d) return d;
    }
    return null;
  }
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return `${path}: prototypes differ`;
    const ka = Object.keys(a), kb = Object.keys(b);
    if (ka.join('\u0000') !== kb.join('\u0000')) return `${path}: keys ${ka.join(',')} vs ${kb.join(',')}`;
    for (const k of ka) {
      const d = same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`);
      if (d) return d;
    }
    return null;
  }
  return a === b ? null : `${path}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`;
}

/** Parses with both; expects the same value, or both to reject. */
function expectLikeJsonParse(text: string, shape = {}): void {
  let expected: unknown, expectedError = false;
  try {
    expected = JSON.parse(text);
  } catch {
    expectedError = true;
  }
  if (expectedError) {
    expect(() => parseJsonFast(text, shape), JSON.stringify(text)).toThrow(FastJsonSyntaxError);
    return;
  }
  expect(same(parseJsonFast(text, shape), expected), JSON.stringify(text)).toBeNull();
}

const HARD_NUMBERS = [
  '0', '-0', '0.0', '-0.0', '1', '-1', '0.1', '0.2', '0.30000000000000004', '1e22', '1e23', '9007199254740991', '9007199254740992',
  '9007199254740993', '18014398509481985', '123456789012345678901234567890', '0.000000000000000000000000001', '5e-324', '2.4703282292062327e-324',
  '2.4703282292062328e-324', '4.9406564584124654e-324', '2.2250738585072011e-308', '2.2250738585072014e-308', '1.7976931348623157e308',
  '1.7976931348623158e308', '1.7976931348623159e308', '1e309', '-1e309', '1e-400', '1E5', '1e+5', '1e-5', '123.456e-7', '0e10', '100e-2',
  '356.8188990181906', '0.9693019301630557', '1.00000000000000011102230246251565404236316680908203125', '7.0e-10', '89255.0e-22',
];

function randomDecimal(r: () => number): string {
  const digits = (n: number) => Array.from({ length: n }, () => Math.floor(r() * 10)).join('');
  let s = r() < 0.3 ? '-' : '';
  s += r() < 0.2 ? '0' : String(1 + Math.floor(r() * 9)) + digits(Math.floor(r() * 12));
  if (r() < 0.7) s += `.${digits(1 + Math.floor(r() * 20))}`;
  if (r() < 0.3) s += `${r() < 0.5 ? 'e' : 'E'}${['', '+', '-'][Math.floor(r() * 3)]}${Math.floor(r() * 330)}`;
  return s;
}

/** A random JSON document of nested objects, arrays, numbers, strings (escapes, unicode) and literals. */
function randomValue(r: () => number, depth: number): unknown {
  const pick = r();
  if (depth > 3 || pick < 0.35) {
    const kind = Math.floor(r() * 6);
    if (kind === 0) return Math.floor(r() * 1e6) - 5e5;
    if (kind === 1) return (r() - 0.5) * 10 ** Math.floor(r() * 40 - 20);
    if (kind === 2) return ['plain', 'a"quote', 'back\\slash', 'tab\there', 'ünïcødé ✓', '\u0001ctl', '', '😀'][Math.floor(r() * 8)];
    if (kind === 3) return [true, false, null][Math.floor(r() * 3)];
    if (kind === 4) return -0;
    return r();
  }
  if (pick < 0.65) return Array.from({ length: Math.floor(r() * 5) }, () => randomValue(r, depth + 1));
  const keys = ['id', 'image_id', 'bbox', 'keypoints', 'score', '__proto__', 'x', 'ü', 'constructor', 'toString'];
  const obj: Record<string, unknown> = {};
  for (let i = Math.floor(r() * 5); i > 0; i--) Object.defineProperty(obj, keys[Math.floor(r() * keys.length)], { value: randomValue(r, depth + 1), enumerable: true, writable: true, configurable: true });
  return obj;
}

describe('parseJsonFast equals JSON.parse', () => {
  it('on hard numbers (exactness, -0, overflow, underflow, long mantissas)', () => {
    for (const n of HARD_NUMBERS) {
      expectLikeJsonParse(n);
      expectLikeJsonParse(`[${n}]`, { numberArrays: new Set(['k']) });
      expectLikeJsonParse(`{"k":[${n},${n}]}`, { numberArrays: new Set(['k']) });
    }
  });

  it('on 20 000 random decimal strings and 20 000 shortest forms of random doubles', () => {
    const r = rng(17);
    const decimals = Array.from({ length: 20000 }, () => randomDecimal(r));
    const bits = new Float64Array(20000);
    const words = new Uint32Array(bits.buffer);
    for (let i = 0; i < words.length; i++) words[i] = Math.floor(r() * 2 ** 32);
    const doubles = Array.from(bits).filter((d) => Number.isFinite(d)).map(String);
    for (const list of [decimals, doubles]) {
      const text = `{"keypoints":[${list.join(',')}],"plain":[${list.join(',')}]}`;
      const got = parseJsonFast(text, { numberArrays: new Set(['keypoints']) }) as { keypoints: Float64Array; plain: number[] };
      const expected = list.map((s) => JSON.parse(s) as number);
      expect(got.keypoints).toBeInstanceOf(Float64Array);
      expect(same(got.keypoints, expected)).toBeNull();
      expect(same(got.plain, expected)).toBeNull();
    }
  });

  it('on 500 random documents, whitespace and all', () => {
    const r = rng(5);
    for (let i = 0; i < 500; i++) {
      const v = randomValue(r, 0);
      expectLikeJsonParse(JSON.stringify(v));
      expectLikeJsonParse(JSON.stringify(v, null, i % 3 === 0 ? '\t' : 2));
    }
  });

  it('rejects what JSON.parse rejects, on hand-picked and randomly corrupted texts', () => {
    const bad = ['', ' ', '[1,]', '{"a":1,}', '01', '-01', '1.', '.5', '-', '1e', '1e+', '+1', '"\u0001"', '[1 2]', '{"a" 1}', '{a:1}', 'tru', 'nul', 'nulls',
      '"abc', '[', '{"a":[1,2}', '1 2', "'a'", 'NaN', 'Infinity', '"\\x"', '"\\u12"', '[1]]', '{"a":1}}', '[-]', '[1,,2]', '{"a":1 "b":2}', '\u00a0[1]'];
    for (const text of bad) {
      expect(() => JSON.parse(text), text).toThrow();
      expect(() => parseJsonFast(text), text).toThrow(FastJsonSyntaxError);
      expect(() => parseJsonFast(`{"bbox":[1],"keypoints":${text}}`, { skip: { key: 'keypoints', unlessMissing: 'bbox' } }), text).toThrow(FastJsonSyntaxError);
    }
    const r = rng(9);
    const alphabet = '{}[],:"\\-+.eE0123456789 tfnul\n';
    for (let i = 0; i < 1500; i++) {
      const text = JSON.stringify(randomValue(r, 0));
      const at = Math.floor(r() * (text.length + 1));
      const op = Math.floor(r() * 3);
      const c = alphabet[Math.floor(r() * alphabet.length)];
      const mutated = op === 0 ? text.slice(0, at) + text.slice(at + 1) : op === 1 ? text.slice(0, at) + c + text.slice(at) : text.slice(0, at) + c + text.slice(at + 1);
      expectLikeJsonParse(mutated);
      expectLikeJsonParse(mutated, { numberArrays: new Set(['keypoints', 'bbox']) });
    }
  });
});

describe('skipping keypoints (a box evaluation)', () => {
  const shape = { numberArrays: new Set(['keypoints']), skip: { key: 'keypoints', unlessMissing: 'bbox' } };

  it('leaves out the keypoints of records with a box, keeps them (as numbers) where the box is missing', () => {
    const text = JSON.stringify([
      { image_id: 1, bbox: [1, 2, 3, 4], keypoints: [1.5, 2, 0], score: 0.5 },
      { image_id: 2, keypoints: [7.25, 8, 1], score: 0.25 },
      { image_id: 3, keypoints: ['not', 'numbers'], bbox: [0, 0, 1, 1] },
      { image_id: 4, keypoints: { odd: true }, score: 1 },
    ]);
    const got = parseJsonFast(text, shape) as Record<string, unknown>[];
    expect(got[0]).toEqual({ image_id: 1, bbox: [1, 2, 3, 4], score: 0.5 });
    expect(Array.from(got[1].keypoints as Float64Array)).toEqual([7.25, 8, 1]);
    expect(got[1].keypoints).toBeInstanceOf(Float64Array);
    expect(got[2]).toEqual({ image_id: 3, bbox: [0, 0, 1, 1] });
    expect(got[3].keypoints).toEqual({ odd: true });
  });

  it('still checks the syntax of a skipped value', () => {
    for (const kp of ['[1,2,]', '[1 2]', '[01]', '[1,"a]', '{"a":}', '[[1],[2]']) {
      expect(() => parseJsonFast(`[{"bbox":[1,2,3,4],"keypoints":${kp}}]`, shape), kp).toThrow(FastJsonSyntaxError);
    }
    expect(parseJsonFast('[{"bbox":[1,2,3,4],"keypoints":[[1],{"a":"\\u00e9"},"x",null]}]', shape)).toEqual([{ bbox: [1, 2, 3, 4] }]);
  });
});

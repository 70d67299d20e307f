// A small seeded PRNG whose whole state is four 32-bit words, so that it can be written into a
// checkpoint and restored exactly. xoshiro128** (Blackman & Vigna) seeded through splitmix32.

import { OmniTypeError, expectInteger } from '@omnidistill/core';

/** Serialisable state of a {@link Rng}: the four words of xoshiro128**. */
export type RngState = readonly [number, number, number, number];

/** Mixes a 32-bit seed into a well-spread 32-bit value (splitmix32 finaliser). */
function splitmix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/**
 * Seeded pseudo-random generator (xoshiro128**). Deterministic for a given seed and fully
 * restorable from {@link Rng.state}.
 *
 * @example
 * const rng = new Rng(7);
 * const u = rng.nextFloat(); // in [0, 1)
 * const copy = Rng.fromState(rng.state());
 */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** @param seed any integer (only its low 32 bits matter) or a list of integers mixed together. */
  constructor(seed: number | readonly number[]) {
    const parts = typeof seed === 'number' ? [seed] : seed;
    let h = 0x6a09e667;
    parts.forEach((p, i) => {
      if (typeof p !== 'number' || !Number.isInteger(p)) {
        throw new OmniTypeError(typeof seed === 'number' ? 'seed' : `seed[${i}]`, 'an integer', p);
      }
      h = splitmix32(h ^ (p >>> 0) ^ Math.floor(p / 0x100000000));
    });
    this.s0 = splitmix32(h);
    this.s1 = splitmix32(this.s0);
    this.s2 = splitmix32(this.s1);
    this.s3 = splitmix32(this.s2);
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1; // the all-zero state is a fixed point
  }

  /** Restores a generator from {@link Rng.state}. */
  static fromState(state: RngState): Rng {
    if (!Array.isArray(state as unknown) || state.length !== 4) throw new OmniTypeError('state', 'an array of 4 uint32 words', state);
    state.forEach((w, i) => {
      if (!Number.isInteger(w) || w < 0 || w > 0xffffffff) throw new OmniTypeError(`state[${i}]`, 'a uint32 word', w);
    });
    if (state.every((w) => w === 0)) throw new OmniTypeError('state', 'not all zero (xoshiro fixed point)', state);
    const rng = new Rng(0);
    [rng.s0, rng.s1, rng.s2, rng.s3] = state;
    return rng;
  }

  /** The generator's state; `Rng.fromState(r.state())` continues exactly where `r` is. */
  state(): RngState {
    return [this.s0, this.s1, this.s2, this.s3];
  }

  /** Next uniformly distributed uint32. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform float in [0, 1) with 32 random bits. */
  nextFloat(): number {
    return this.nextUint32() / 0x100000000;
  }

  /** Uniform integer in [0, n) without modulo bias (rejection sampling). */
  nextInt(n: number): number {
    expectInteger(n, 'n', 1);
    if (n > 0x100000000) throw new OmniTypeError('n', 'an integer <= 2^32', n);
    const limit = 0x100000000 - (0x100000000 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  /** Standard normal sample (Box–Muller; uses two uniforms per call). */
  nextNormal(): number {
    const u1 = 1 - this.nextFloat(); // (0, 1]: log stays finite
    const u2 = this.nextFloat();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  /** Fisher–Yates permutation of 0..n-1. */
  permutation(n: number): Uint32Array {
    expectInteger(n, 'n', 0);
    const p = new Uint32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }
}

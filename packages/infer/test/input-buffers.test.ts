import { describe, expect, it } from 'vitest';
import { FloatBufferPool } from '../src/input-buffers.js';

describe('FloatBufferPool', () => {
  it('hands a returned buffer out again for the same length only, and never to two holders', () => {
    const pool = new FloatBufferPool();
    const a = pool.take(12);
    const b = pool.take(12);
    expect(b).not.toBe(a); // a is still held
    pool.give(a);
    expect(pool.take(6)).not.toBe(a); // another length: a new buffer
    expect(pool.take(12)).toBe(a);
    expect(pool.take(12)).not.toBe(a); // taken again: no longer free
  });

  it('keeps at most maxBuffers and maxBytes of free buffers, dropping the oldest', () => {
    const pool = new FloatBufferPool(2, 1000);
    const [a, b, c] = [pool.take(10), pool.take(20), pool.take(30)];
    pool.give(a);
    pool.give(b);
    pool.give(c); // three free: the oldest (a) goes
    expect(pool.size).toBe(2);
    expect(pool.take(10)).not.toBe(a);
    expect(pool.take(20)).toBe(b);
    const big = pool.take(200); // 800 bytes: with c's 120 over the 1000-byte limit only together with more
    pool.give(big);
    pool.give(pool.take(100)); // +400 bytes: c (oldest) then big go until ≤ 1000
    expect(pool.size).toBe(1);
    pool.give(new Float32Array(new ArrayBuffer(80), 4, 4)); // a view: never pooled
    expect(pool.size).toBe(1);
  });
});

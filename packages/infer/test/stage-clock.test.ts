// StageClock: busy time is the union of a stage's calls (overlapping calls count once),
// in-flight calls count up to now, failures still end their call.
import { describe, expect, it } from 'vitest';
import { StageClock, timeStage } from '@omnidistill/infer';

describe('StageClock', () => {
  it('counts overlapping calls of a stage once and stages independently', () => {
    let now = 0;
    const clock = new StageClock(() => now);
    clock.begin('model'); // 0
    now = 10;
    clock.begin('model'); // overlaps: 10 … 30
    clock.begin('decode');
    now = 20;
    clock.end('model');
    now = 30;
    clock.end('model');
    clock.end('decode');
    now = 50;
    clock.begin('model'); // in flight at the snapshot: 50 … 55
    now = 55;
    const t = clock.snapshot();
    expect(t.busyMs.model).toBe(35);
    expect(t.busyMs.decode).toBe(20);
    expect(t.busyMs.ensemble).toBe(0);
    expect(t.calls).toEqual({ decode: 1, transform: 0, model: 3, ensemble: 0, write: 0 });
  });

  it('times sync and async work, including work that fails', async () => {
    let now = 0;
    const clock = new StageClock(() => now);
    expect(clock.time('transform', () => ((now += 4), 'sync'))).toBe('sync');
    await expect(clock.time('ensemble', async () => {
      now += 6;
      throw new Error('bad');
    })).rejects.toThrow('bad');
    expect(() => clock.time('write', () => {
      now += 1;
      throw new Error('full disk');
    })).toThrow('full disk');
    expect(timeStage(undefined, 'model', () => 7)).toBe(7);
    expect(clock.snapshot().busyMs).toEqual({ decode: 0, transform: 4, model: 0, ensemble: 6, write: 1 });
    expect(() => clock.end('decode')).toThrow("StageClock.end('decode') without a matching begin");
  });
});

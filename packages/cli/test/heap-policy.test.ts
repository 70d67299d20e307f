// The heap policy of the streaming labeling commands: which commands get it, and that a
// user's own V8 flags for the same settings are left alone.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { STREAMING_HEAP_FLAGS, applyStreamingHeapPolicy, isStreamingCommand } from '../src/runtime/heap-policy.js';

describe('streaming heap policy', () => {
  it('applies to label, label plan and label merge only', () => {
    expect(isStreamingCommand(['label', '--task', 'detection'])).toBe(true);
    expect(isStreamingCommand(['--debug', 'label', 'merge', '--out', 'x'])).toBe(true);
    expect(isStreamingCommand(['train', '--out', 'label'])).toBe(false);
    expect(isStreamingCommand([])).toBe(false);
  });

  it('leaves the settings a user gave on the node command line or in NODE_OPTIONS', () => {
    const names = Object.keys(STREAMING_HEAP_FLAGS);
    expect(applyStreamingHeapPolicy([`--${names[0]}=4`], `--${names[1].replace(/-/g, '_')}=50`)).toEqual([]);
  });

  it('changes the heuristics of a fresh process (V8 reads them at each resize)', () => {
    // A child allocating young garbage: the semi-space grows by default and stays put with the policy.
    const policyModule = new URL('../src/runtime/heap-policy.ts', import.meta.url).pathname;
    const script = (policy: boolean) => `
      ${policy ? `(await import(${JSON.stringify(policyModule)})).applyStreamingHeapPolicy();` : ''}
      const v8 = await import('node:v8');
      const before = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
      let keep = [];
      for (let i = 0; i < 3e6; i++) { keep.push({ i }); if (keep.length > 2e4) keep = []; }
      const after = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
      console.log(JSON.stringify({ before, after }));`;
    const run = (policy: boolean) => {
      const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script(policy)], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(r.stderr);
      return JSON.parse(r.stdout) as { before: number; after: number };
    };
    const plain = run(false);
    const withPolicy = run(true);
    expect(plain.after).toBeGreaterThan(plain.before);
    expect(withPolicy.after).toBe(withPolicy.before);
  });
});

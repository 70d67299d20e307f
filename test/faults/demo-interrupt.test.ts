// `omnidistill demo` honours Ctrl-C within seconds during its training stages (the keypoint
// teacher trains in-process beside the person detector in a child; the student in-process and
// the supervised baseline in a child `omnidistill train`; children get the signal forwarded), exits 130, and the same command
// resumes every training from its checkpoint to the numbers of an uninterrupted run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, cliInterrupted, latestStep, resumedStep } from './train-setup.js';

const work = mkdtempSync(join(tmpdir(), 'omnidistill-demo-faults-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const TINY = ['--quick', '--labeled', '10', '--unlabeled', '10', '--val', '8', '--image-size', '64', '--teacher-steps', '30', '--student-steps', '30'];
/** A generous bound: "within seconds" on an idle machine, more on a loaded CI runner. */
const LATENCY_BOUND_MS = 30_000;

interface Row {
  name: string;
  singleStats: number[];
  multiStats: number[];
}

const statsOf = (stdout: string) => (JSON.parse(stdout) as { rows: Row[] }).rows.map((r) => ({ name: r.name, single: r.singleStats, multi: r.multiStats }));

describe('omnidistill demo: Ctrl-C during training', () => {
  it('exits 130 within seconds in the teacher and in the student stage, and resumes to the uninterrupted numbers', async () => {
    const straight = cli(['demo', ...TINY, '--out', join(work, 'straight'), '--json']);
    expect(straight.code, straight.stderr).toBe(0);

    const out = join(work, 'interrupted');
    const models = join(out, 'models');
    const args = ['demo', ...TINY, '--out', out, '--json'];

    // 1. During the teacher's training (in-process).
    const first = await cliInterrupted(args, 'SIGINT', (stderr) => /train teacher \[/.test(stderr));
    console.log(`demo SIGINT during the teacher's training → exit ${first.code} after ${first.latencyMs.toFixed(0)} ms`);
    expect(first.code, first.stderr).toBe(130);
    expect(first.latencyMs).toBeLessThan(LATENCY_BOUND_MS);
    expect(first.stderr).toContain('interrupted: finished steps are kept; run the same command again to resume');
    expect(latestStep(join(models, 'teacher.checkpoints'))).toBeGreaterThan(0);

    // 2. During the student stage: the in-process student and the child's baseline both stop.
    const second = await cliInterrupted(args, 'SIGINT', (stderr) => /train student \[/.test(stderr));
    console.log(`demo SIGINT during the student stage → exit ${second.code} after ${second.latencyMs.toFixed(0)} ms`);
    expect(second.code, second.stderr).toBe(130);
    expect(second.latencyMs).toBeLessThan(LATENCY_BOUND_MS);
    // The first interrupt stopped whichever teacher training was still running (the keypoint
    // teacher in-process, or the person detector in its child): one of them resumes past step 0.
    const resumed = second.stderr.split('\n').filter((l) => /^(\[(teacher|detector)\] )?resuming from/.test(l));
    expect(resumed.length, second.stderr).toBeGreaterThan(0);
    expect(Math.max(...resumed.map((l) => resumedStep(l) ?? 0)), second.stderr).toBeGreaterThan(0);
    expect(second.stderr).toMatch(/\[supervised-long\] interrupted at step \d+\/30; latest checkpoint/);

    // 3. The same command finishes, resuming both student trainings, with the uninterrupted numbers.
    const last = cli(args);
    expect(last.code, last.stderr).toBe(0);
    expect(last.stderr).toContain('train-teacher: already done (resuming)');
    expect(last.stderr).toMatch(/\[student\] resuming from \S+ at step [1-9]\d*\/30/);
    expect(last.stderr).toMatch(/\[supervised-long\] resuming from \S+ at step [1-9]\d*\/30/);
    expect(statsOf(last.stdout)).toEqual(statsOf(straight.stdout));
  }, 900_000);
});

// `omnidistill train` keeps its work: Ctrl-C (SIGINT) checkpoints and exits 130, SIGKILL loses
// at most the steps since the last checkpoint, and the same command then resumes to the same
// final parameters as an uninterrupted run (byte-identical model and final checkpoint).
// Changed inputs are refused with what changed.
import { copyFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, cliInterrupted, latestStep, resumedStep, sha256, trainArgs, writeTrainData } from './train-setup.js';
import type { TrainData } from './train-setup.js';

const STEPS = 60;
const work = mkdtempSync(join(tmpdir(), 'omnidistill-train-faults-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let data: TrainData;
/** The uninterrupted run's model and final checkpoint. */
let reference: { onnx: string; checkpoint: string };

const finalCheckpoint = (out: string) => join(out, 'keypoints.checkpoints', `step-${String(STEPS).padStart(8, '0')}`, 'checkpoint.ckpt');

beforeAll(async () => {
  data = await writeTrainData(join(work, 'data'));
  const out = join(work, 'straight');
  const r = cli(trainArgs(data, out, STEPS));
  expect(r.stderr).not.toMatch(/unexpected failure/);
  expect(r.code).toBe(0);
  expect(JSON.parse(r.stdout).resumedFrom).toBe(0);
  reference = { onnx: sha256(join(out, 'keypoints.onnx')), checkpoint: sha256(finalCheckpoint(out)) };
}, 300_000);

describe('omnidistill train: interruption and resume', () => {
  it('SIGINT finishes the step, writes a checkpoint, exits 130; the same command resumes to identical parameters', async () => {
    const out = join(work, 'sigint');
    const folder = join(out, 'keypoints.checkpoints');
    // Interrupt once the first periodic checkpoint exists, i.e. mid-run.
    const stopped = await cliInterrupted(trainArgs(data, out, STEPS), 'SIGINT', () => latestStep(folder) >= 10);
    expect(stopped.code).toBe(130);
    const m = /interrupted at step (\d+)\/60; latest checkpoint \S+: run the same command again to resume/.exec(stopped.stderr);
    expect(m).not.toBeNull();
    const at = Number(m![1]);
    expect(at).toBeGreaterThanOrEqual(10);
    expect(at).toBeLessThan(STEPS);
    expect(latestStep(folder)).toBe(at); // the step in progress was checkpointed, not only the last periodic one
    console.log(`train SIGINT → exit 130 after ${stopped.latencyMs.toFixed(0)} ms (stopped at step ${at}/${STEPS})`);

    const resumed = cli(trainArgs(data, out, STEPS));
    expect(resumed.code).toBe(0);
    expect(resumedStep(resumed.stderr)).toBe(at);
    expect(JSON.parse(resumed.stdout).resumedFrom).toBe(at);
    expect(sha256(join(out, 'keypoints.onnx'))).toBe(reference.onnx);
    expect(sha256(finalCheckpoint(out))).toBe(reference.checkpoint);
  }, 300_000);

  it('SIGKILL at half the steps: the rerun resumes from the last checkpoint (not step 0) to identical parameters', async () => {
    const out = join(work, 'sigkill');
    const folder = join(out, 'keypoints.checkpoints');
    const killed = await cliInterrupted(trainArgs(data, out, STEPS), 'SIGKILL', () => latestStep(folder) >= STEPS / 2);
    expect(killed.signal).toBe('SIGKILL');
    const kept = latestStep(folder);
    expect(kept).toBeGreaterThanOrEqual(STEPS / 2);

    const resumed = cli(trainArgs(data, out, STEPS));
    expect(resumed.code).toBe(0);
    const from = resumedStep(resumed.stderr);
    expect(from).toBe(kept);
    expect(from).toBeGreaterThan(0);
    expect(sha256(join(out, 'keypoints.onnx'))).toBe(reference.onnx);
    expect(sha256(finalCheckpoint(out))).toBe(reference.checkpoint);
  }, 300_000);

  it('refuses to resume with changed flags or changed data, naming what changed (exit 2)', async () => {
    const out = join(work, 'changed');
    const folder = join(out, 'keypoints.checkpoints');
    const stopped = await cliInterrupted(trainArgs(data, out, STEPS), 'SIGINT', () => latestStep(folder) >= 10);
    expect(stopped.code).toBe(130);

    const lr = cli(trainArgs(data, out, STEPS, ['--lr', '0.003']));
    expect(lr.code).toBe(2);
    expect(lr.stderr.trim().split('\n')).toHaveLength(1);
    expect(lr.stderr).toContain('changed: --lr 0.002 → 0.003');
    expect(lr.stderr).toContain(`delete ${folder} to start over`);

    // The same file names with other content: one annotation's keypoint moved by a pixel.
    const copy = join(work, 'data-edited');
    cpSync(join(work, 'data'), copy, { recursive: true });
    const edited = { annotations: data.annotations.replace(join(work, 'data'), copy), images: data.images.replace(join(work, 'data'), copy) };
    const coco = JSON.parse(readFileSync(edited.annotations, 'utf8'));
    coco.annotations[0].keypoints[0] += 1;
    writeFileSync(edited.annotations, JSON.stringify(coco));
    const moved = cli(trainArgs(edited, out, STEPS));
    expect(moved.code).toBe(2);
    expect(moved.stderr).toMatch(/changed: --labeled \(content\) [0-9a-f]{12}… → [0-9a-f]{12}…/);
    expect(moved.stderr).not.toContain('--images (content)'); // the images are the same bytes

    // An image replaced by another one (same name): the image content changed.
    const images = JSON.parse(readFileSync(edited.annotations, 'utf8')).images as { file_name: string }[];
    copyFileSync(join(data.images, images[1].file_name), join(edited.images, images[0].file_name));
    const swapped = cli(trainArgs({ annotations: data.annotations, images: edited.images }, out, STEPS));
    expect(swapped.code).toBe(2);
    expect(swapped.stderr).toMatch(/changed: --images \(content\)/);

    // The original command still resumes.
    const resumed = cli(trainArgs(data, out, STEPS));
    expect(resumed.code).toBe(0);
    expect(resumedStep(resumed.stderr)).toBeGreaterThan(0);
    expect(sha256(join(out, 'keypoints.onnx'))).toBe(reference.onnx);
  }, 300_000);
});

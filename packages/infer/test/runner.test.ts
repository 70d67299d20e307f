import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { CHUNK_JOURNAL, StageClock, freezeImageStream, listImages, readPredictions, readRunManifest, readSkipped, runFingerprint, runInference, RunMismatchError, summariseSkipped, type RunEvent, type RunProgress } from '@omnidistill/infer';
import { selectLabels } from '@omnidistill/select';
import { writeRunImages } from './fixtures.js';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const COUNT = 22; // 6 shards of 4 (the last has 2)
const CORRUPT = [5];

let imagesDir: string;
beforeAll(async () => {
  imagesDir = await mkdtemp(join(tmpdir(), 'omni-run-images-'));
  await writeRunImages(imagesDir, COUNT, CORRUPT);
});

interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts the child run; `killWhen` is polled and SIGKILLs the child once it returns true. */
function runChild(outDir: string, hangFrom: number, killWhen?: () => Promise<boolean>): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'test/run-child.ts', imagesDir, outDir, String(hangFrom)], {
      cwd: packageDir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    let polling = killWhen !== undefined;
    child.on('exit', (code, signal) => {
      polling = false;
      resolve({ code, signal, stdout, stderr });
    });
    const poll = async () => {
      if (!polling) return;
      if (await killWhen!()) {
        polling = false;
        child.kill('SIGKILL');
        return;
      }
      setTimeout(poll, 20);
    };
    void poll();
  });
}

async function shardTexts(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir)).filter((n) => n.startsWith('shard-')).sort()) out[name] = await readFile(join(dir, name), 'utf8');
  return out;
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('runInference in a child process killed with SIGKILL', () => {
  it('resumes with the same arguments and ends with the same predictions as an uninterrupted run', async () => {
    const reference = await mkdtemp(join(tmpdir(), 'omni-run-ref-'));
    const ref = await runChild(reference, -1);
    expect(ref.code, ref.stderr).toBe(0);
    expect(JSON.parse(ref.stdout).summary).toMatchObject({ complete: true, total: COUNT, predicted: COUNT - 1, skipped: 1, shardCount: 6, resumedShards: 0 });

    const resumed = await mkdtemp(join(tmpdir(), 'omni-run-kill-'));
    // Images 12+ hang, so shards 0-2 complete and the run is certainly killed mid-way.
    const killed = await runChild(resumed, 12, async () => ((await readRunManifest(resumed).catch(() => null))?.completed.length ?? 0) >= 3);
    expect(killed.signal).toBe('SIGKILL');
    const mid = await readRunManifest(resumed);
    expect(mid!.completed).toEqual([0, 1, 2]);
    await expect(collect(readPredictions(resumed))).rejects.toThrow('the run is incomplete (3 of 6 shards; missing 3, 4, 5); rerun the same command to finish it');

    const restart = await runChild(resumed, -1);
    expect(restart.code, restart.stderr).toBe(0);
    const { summary, events } = JSON.parse(restart.stdout);
    expect(summary).toMatchObject({ complete: true, total: COUNT, predicted: 10, skipped: 0, resumedShards: 3 });
    expect(events[0]).toBe('resumed');

    // Same files, byte for byte; every image once, in order; the corrupt one reported.
    expect(await shardTexts(resumed)).toEqual(await shardTexts(reference));
    const predictions = await collect(readPredictions(resumed));
    expect(predictions.map((p) => p.imageId)).toEqual([...Array(COUNT).keys()].map((i) => i + 1).filter((id) => id !== 6));
    expect(predictions.every((p) => p.instances.length === 2 && p.instances[0].keypoints!.length === 9)).toBe(true);
    expect(await readSkipped(resumed)).toEqual([{ imageId: 6, fileName: 'img005.png', skipped: expect.objectContaining({ reason: 'not-an-image' }) }]);
    expect((await readdir(resumed)).filter((n) => n.endsWith('.tmp'))).toEqual([]);

    // The shards feed selection directly: one person per image (scores 0.9 / 0.8 → threshold 0.9).
    const { dataset, calibration } = await selectLabels(() => readPredictions(resumed), { instancesPerImage: 1, keypointsPerInstance: 2 }, {
      task: 'keypoints',
      categories: [{ id: 1, name: 'blocks', keypoints: ['red', 'green', 'blue'] }],
    });
    expect(calibration.instanceThresholds[0]).toMatchObject({ threshold: Math.fround(0.9), kept: COUNT - 1 });
    expect(dataset.images).toHaveLength(COUNT - 1);
    expect(dataset.annotations.map((a) => a.bbox)).toEqual(new Array(COUNT - 1).fill([0, 8, 32, 32]));
  });
});

describe('runInference', () => {
  const images = () => [...Array(COUNT).keys()].map((i) => ({ imageId: 100 + i, fileName: `img${String(i).padStart(3, '0')}.png` }));
  const fake = async (image: { width: number }, entry: { imageId: number }) => [{ bbox: [0, 0, image.width, 1] as [number, number, number, number], score: entry.imageId / 1000, categoryId: 1 }];

  it('reports progress up to done = total and skips the corrupt image with an event', async () => {
    const outDir = await mkdtemp(join(tmpdir(), 'omni-run-'));
    const progress: RunProgress[] = [];
    const skippedEvents: unknown[] = [];
    const summary = await runInference({
      images: images(),
      imageRoot: imagesDir,
      outDir,
      fingerprint: 'fake',
      shardSize: 5,
      concurrency: 3,
      predict: fake,
      onProgress: (p) => progress.push(p),
      onEvent: (e) => e.type === 'image-skipped' && skippedEvents.push(e),
    });
    expect(summary).toEqual({ complete: true, total: COUNT, predicted: COUNT - 1, skipped: 1, transientSkipped: 0, shardCount: 5, resumedShards: 0 });
    expect(progress[0]).toMatchObject({ done: 0, etaMs: null });
    expect(progress.at(-1)).toMatchObject({ done: COUNT, total: COUNT, skipped: 1, etaMs: 0 });
    for (let i = 1; i < progress.length; i++) expect(progress[i].done).toBeGreaterThanOrEqual(progress[i - 1].done);
    expect(skippedEvents).toEqual([{ type: 'image-skipped', imageId: 105, fileName: 'img005.png', failure: expect.objectContaining({ reason: 'not-an-image' }) }]);
    const preds = await collect(readPredictions(outDir));
    expect(preds.map((p) => p.imageId)).toEqual(images().map((i) => i.imageId).filter((id) => id !== 105));
    expect(preds[0]).toEqual({ imageId: 100, fileName: 'img000.png', width: 64, height: 48, instances: [{ bbox: [0, 0, 64, 1], score: 0.1, categoryId: 1 }] });
  });

  it("turns libvips' operation cache off during the run only, then restores the caller's limits", async () => {
    const limits = () => { const c = sharp.cache(); return [c.memory.max, c.files.max, c.items.max]; };
    sharp.cache({ memory: 30, files: 7, items: 40 });
    let during: number[] = [];
    await runInference({
      images: images(),
      imageRoot: imagesDir,
      outDir: await mkdtemp(join(tmpdir(), 'omni-run-')),
      fingerprint: 'fake',
      predict: async (image, entry) => {
        during = limits();
        return fake(image, entry);
      },
    });
    expect(during).toEqual([0, 0, 0]);
    expect(limits()).toEqual([30, 7, 40]);
    sharp.cache(true);
  });

  it('keeps at most `concurrency` images in flight', async () => {
    for (const concurrency of [1, 3]) {
      let inFlight = 0;
      let peak = 0;
      await runInference({
        images: images(),
        imageRoot: imagesDir,
        outDir: await mkdtemp(join(tmpdir(), 'omni-run-')),
        fingerprint: 'fake',
        shardSize: 2,
        concurrency,
        predict: async (image, entry) => {
          peak = Math.max(peak, ++inFlight);
          await new Promise((r) => setImmediate(r));
          inFlight--;
          return fake(image, entry);
        },
      });
      // The bound is what keeps memory flat; how close a run gets to it depends on timing.
      expect(peak).toBeGreaterThanOrEqual(1);
      expect(peak).toBeLessThanOrEqual(concurrency);
    }
  });

  it('decodes up to `prefetch` images ahead of prediction, never more, and times decode and write', async () => {
    for (const prefetch of [0, 3]) {
      const clock = new StageClock();
      let handed = 0; // images given to predict, or skipped before it (the corrupt one)
      const aheadSeen: number[] = [];
      await runInference({
        images: images(),
        imageRoot: imagesDir,
        outDir: await mkdtemp(join(tmpdir(), 'omni-run-')),
        fingerprint: 'fake',
        shardSize: 5,
        concurrency: 1,
        prefetch,
        clock,
        onEvent: (e) => e.type === 'image-skipped' && handed++,
        predict: async (image, entry) => {
          // Decodes started but not yet handed over (this image is handed over).
          aheadSeen.push(clock.snapshot().calls.decode - handed - 1);
          handed++;
          await new Promise((r) => setTimeout(r, 2));
          return fake(image, entry);
        },
      });
      expect(Math.max(...aheadSeen)).toBe(prefetch);
      const t = clock.snapshot();
      expect(t.calls.decode).toBe(COUNT);
      expect(t.calls.write).toBe(5);
      expect(t.busyMs.decode).toBeGreaterThan(0);
    }
  });

  it('stops on abort with whole shards only, and finishes on the next call', async () => {
    const outDir = await mkdtemp(join(tmpdir(), 'omni-run-'));
    const controller = new AbortController();
    const first = await runInference({
      images: images(),
      imageRoot: imagesDir,
      outDir,
      fingerprint: 'fake',
      shardSize: 4,
      concurrency: 1,
      predict: async (image, entry) => {
        if (entry.imageId === 109) controller.abort();
        return fake(image, entry);
      },
      signal: controller.signal,
    });
    expect(first).toMatchObject({ complete: false, predicted: 9, skipped: 1 });
    expect((await readRunManifest(outDir))!.completed).toEqual([0, 1]);
    const second = await runInference({ images: images(), imageRoot: imagesDir, outDir, fingerprint: 'fake', shardSize: 4, predict: fake });
    expect(second).toMatchObject({ complete: true, resumedShards: 2, predicted: COUNT - 8 });
    expect((await collect(readPredictions(outDir))).length).toBe(COUNT - 1);
  });

  it('refuses to resume a directory made with other arguments', async () => {
    const outDir = await mkdtemp(join(tmpdir(), 'omni-run-'));
    await runInference({ images: images().slice(0, 3), imageRoot: imagesDir, outDir, fingerprint: 'a', predict: fake });
    await expect(runInference({ images: images().slice(0, 3), imageRoot: imagesDir, outDir, fingerprint: 'b', predict: fake })).rejects.toThrow(
      `${outDir} holds a run of another configuration (fingerprint a… ≠ b…); rerun with the original inputs to resume it, or start over with a new --out folder (or delete ${outDir})`,
    );
    await expect(runInference({ images: images().slice(0, 4), imageRoot: imagesDir, outDir, fingerprint: 'a', predict: fake })).rejects.toThrow('holds a run made with other inputs: the image list changed since it started');
    await expect(runInference({ images: images().slice(0, 3), imageRoot: imagesDir, outDir, fingerprint: 'a', shardSize: 2, predict: fake })).rejects.toThrow('(shardSize 64 ≠ 2)');
  });

  it('names the inputs that changed when it refuses to resume', async () => {
    const outDir = await mkdtemp(join(tmpdir(), 'omni-run-'));
    const inputs = { teacher: 't1', boxes: 'b1', plan: 'p1' };
    await runInference({ images: images().slice(0, 3), imageRoot: imagesDir, outDir, fingerprint: 'a', inputs, predict: fake });
    const err = await runInference({ images: images().slice(0, 3), imageRoot: imagesDir, outDir, fingerprint: 'b', inputs: { ...inputs, boxes: 'b2', plan: 'p2' }, predict: fake }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunMismatchError);
    expect((err as RunMismatchError).changed).toEqual(['boxes', 'plan']);
    expect((err as Error).message).toContain(`${outDir} holds a run made with other inputs: boxes, plan changed since it started;`);
  });

  it('refuses an image path that escapes the image folder, naming the image', async () => {
    const outDir = await mkdtemp(join(tmpdir(), 'omni-run-'));
    for (const fileName of ['../outside.png', '/etc/hostname', 'sub/../../x.png']) {
      await expect(runInference({ images: [{ imageId: 7, fileName }], imageRoot: imagesDir, outDir, fingerprint: 'x', predict: fake })).rejects.toThrow(
        `options.images[0].fileName (image 7): expected a relative path inside the image folder ${imagesDir}, received ${JSON.stringify(fileName)} (string)`,
      );
    }
  });

  it('redoes a shard whose file was damaged, and ends with the same predictions', async () => {
    const outDir = await mkdtemp(join(tmpdir(), 'omni-run-'));
    const run = (onEvent?: (e: RunEvent) => void) => runInference({ images: images(), imageRoot: imagesDir, outDir, fingerprint: 'x', shardSize: 4, predict: fake, onEvent });
    await run();
    const before = await collect(readPredictions(outDir));
    const shard = join(outDir, 'shard-000002.jsonl');
    const text = await readFile(shard, 'utf8');
    await writeFile(shard, text.slice(0, text.length - 10)); // a cut last line
    const size = Buffer.byteLength(text);
    await expect(collect(readPredictions(outDir))).rejects.toThrow(`${shard}: damaged (${size - 10} bytes, expected ${size}); rerun the same label command to redo it`);
    const events: RunEvent[] = [];
    const summary = await run((e) => events.push(e));
    expect(events.filter((e) => e.type === 'shard-redone')).toEqual([{ type: 'shard-redone', shard: 2, why: `shard file damaged (${size - 10} bytes, expected ${size})` }]);
    expect(summary).toMatchObject({ complete: true, resumedShards: 5, predicted: 4 });
    expect(await readFile(shard, 'utf8')).toBe(text);
    expect(await collect(readPredictions(outDir))).toEqual(before);
  });

  it('starts over when run.json is damaged, instead of failing', async () => {
    const outDir = await mkdtemp(join(tmpdir(), 'omni-run-'));
    await runInference({ images: images().slice(0, 4), imageRoot: imagesDir, outDir, fingerprint: 'x', predict: fake });
    await writeFile(join(outDir, 'run.json'), '{"format": "omnidistill-predictions", "vers');
    await expect(readRunManifest(outDir)).rejects.toThrow(/run\.json: damaged \(not valid JSON: .*\); rerun the same label command to redo it/);
    const events: RunEvent['type'][] = [];
    const summary = await runInference({ images: images().slice(0, 4), imageRoot: imagesDir, outDir, fingerprint: 'x', predict: fake, onEvent: (e) => events.push(e.type) });
    expect(events).toContain('manifest-damaged');
    expect(summary).toMatchObject({ complete: true, resumedShards: 0, predicted: 4 });
  });

  it('retries transient failures (a missing file) on the next run, and redoes shards whose images changed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'omni-run-images-'));
    await writeRunImages(dir, 4, []);
    const gone = join(dir, 'img001.png');
    const saved = await readFile(gone);
    await rm(gone);
    const outDir = await mkdtemp(join(tmpdir(), 'omni-run-'));
    const entries = images().slice(0, 4).map((e, i) => ({ ...e, fileName: `img${String(i).padStart(3, '0')}.png` }));
    const run = (onEvent?: (e: RunEvent) => void) => runInference({ images: entries, imageRoot: dir, outDir, fingerprint: 'x', shardSize: 2, predict: fake, onEvent });
    expect(await run()).toMatchObject({ skipped: 1, transientSkipped: 1 });
    expect((await readRunManifest(outDir))!.retry).toEqual([0]);
    expect(await readSkipped(outDir)).toEqual([{ imageId: 101, fileName: 'img001.png', skipped: expect.objectContaining({ reason: 'missing', transient: true }) }]);
    await writeFile(gone, saved);
    const events: RunEvent[] = [];
    expect(await run((e) => events.push(e))).toMatchObject({ complete: true, predicted: 2, skipped: 0, resumedShards: 1 });
    expect(events.filter((e) => e.type === 'shard-redone')).toEqual([{ type: 'shard-redone', shard: 0, why: 'retrying images that failed transiently' }]);
    expect(await readSkipped(outDir)).toEqual([]);
    expect((await collect(readPredictions(outDir))).map((p) => p.imageId)).toEqual([100, 101, 102, 103]);
    // an image touched since (same name, new mtime): its shard is redone, the other kept
    await utimes(join(dir, 'img003.png'), new Date(), new Date(Date.now() + 5000));
    const again: RunEvent[] = [];
    expect(await run((e) => again.push(e))).toMatchObject({ predicted: 2, resumedShards: 1 });
    expect(again.filter((e) => e.type === 'shard-redone')).toEqual([{ type: 'shard-redone', shard: 1, why: 'images changed since it was written' }]);
  });

  it('keeps run.json fixed and journals one line per shard; a torn last line (crash mid-append) only redoes that shard', async () => {
    const outDir = await mkdtemp(join(tmpdir(), 'omni-run-'));
    const run = (onEvent?: (e: RunEvent) => void) => runInference({ images: images().slice(0, 12), imageRoot: imagesDir, outDir, fingerprint: 'x', shardSize: 4, predict: fake, onEvent });
    await run();
    const header = await readFile(join(outDir, 'run.json'), 'utf8');
    expect(Object.keys(JSON.parse(header)).sort()).toEqual(['fingerprint', 'format', 'imagesHash', 'partition', 'shardCount', 'shardSize', 'total', 'version']);
    const journal = await readFile(join(outDir, CHUNK_JOURNAL), 'utf8');
    const lines = journal.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { shard: number });
    expect(lines.map((l) => l.shard).sort()).toEqual([0, 1, 2]);
    const before = await collect(readPredictions(outDir));
    // A crash in the middle of appending shard 2's line again: readers ignore the torn line.
    const torn = journal.split('\n').filter(Boolean).find((l) => l.startsWith('{"shard":2,'))!;
    await writeFile(join(outDir, CHUNK_JOURNAL), journal + torn.slice(0, 20));
    expect(await collect(readPredictions(outDir))).toEqual(before);
    const events: RunEvent['type'][] = [];
    expect(await run((e) => events.push(e.type))).toMatchObject({ complete: true, resumedShards: 3, predicted: 0 });
    expect(await readFile(join(outDir, CHUNK_JOURNAL), 'utf8')).toBe(journal); // the torn tail is cut off
    expect(await readFile(join(outDir, 'run.json'), 'utf8')).toBe(header);
    // A line damaged in the middle: that shard alone is not vouched for, and is redone.
    await writeFile(join(outDir, CHUNK_JOURNAL), journal.replace('{"shard":1,', '{"shard":1;'));
    expect(await run()).toMatchObject({ complete: true, resumedShards: 2, predicted: 3, skipped: 1 }); // shard 1 holds the corrupt image 5
    expect(await collect(readPredictions(outDir))).toEqual(before);
  });

  it('resumes a folder of the version 1 layout (run.json listing the shards), converting it to run.json + journal', async () => {
    const outDir = await mkdtemp(join(tmpdir(), 'omni-run-'));
    const run = () => runInference({ images: images().slice(0, 12), imageRoot: imagesDir, outDir, fingerprint: 'x', shardSize: 4, predict: fake });
    await run();
    const folded = (await readRunManifest(outDir))!;
    const before = await collect(readPredictions(outDir));
    // What version 1 wrote: the header with the shards listed in it, and no journal.
    await writeFile(join(outDir, 'run.json'), JSON.stringify({ ...folded, version: 1, retry: [] }));
    await rm(join(outDir, CHUNK_JOURNAL));
    expect(await collect(readPredictions(outDir))).toEqual(before);
    expect(await run()).toMatchObject({ complete: true, resumedShards: 3, predicted: 0 });
    expect(JSON.parse(await readFile(join(outDir, 'run.json'), 'utf8'))).not.toHaveProperty('completed');
    expect((await readRunManifest(outDir))!).toEqual({ ...folded, version: 2 });
  });

  it('isolates per-image failures: a model error or a malformed prediction is recorded for that image and the run goes on', async () => {
    const outDir = await mkdtemp(join(tmpdir(), 'omni-run-'));
    const summary = await runInference({
      images: images().slice(0, 6),
      imageRoot: imagesDir,
      outDir,
      fingerprint: 'x',
      concurrency: 2,
      predict: async (image, entry) => {
        if (entry.imageId === 101) throw new Error('Failed to allocate memory for requested buffer of size 37748736000');
        if (entry.imageId === 102) return [{ bbox: [0, 0, 1, 1] as [number, number, number, number], score: Number.NaN, categoryId: 1 }];
        return fake(image, entry);
      },
    });
    expect(summary).toMatchObject({ complete: true, predicted: 3, skipped: 3, transientSkipped: 2 });
    expect(await readSkipped(outDir)).toEqual([
      { imageId: 101, fileName: 'img001.png', skipped: { reason: 'inference-failed', message: 'Failed to allocate memory for requested buffer of size 37748736000', transient: true } },
      { imageId: 102, fileName: 'img002.png', skipped: { reason: 'inference-failed', message: 'prediction.instances[0].score: expected a finite number, received NaN (number)', transient: true } },
      { imageId: 105, fileName: 'img005.png', skipped: expect.objectContaining({ reason: 'not-an-image' }) },
    ]);
    expect(await summariseSkipped(outDir)).toMatchObject({ total: 3, transient: 2, byReason: { 'inference-failed': 2, 'not-an-image': 1 } });
  });

  it('validates its options', async () => {
    const outDir = await mkdtemp(join(tmpdir(), 'omni-run-'));
    const dup = [{ imageId: 1, fileName: 'img000.png' }, { imageId: 1, fileName: 'img001.png' }];
    await expect(runInference({ images: dup, imageRoot: imagesDir, outDir, fingerprint: 'x', predict: fake })).rejects.toThrow('options.images[1].imageId: expected an id not used by an earlier image, received 1 (number)');
    await expect(runInference({ images: images(), imageRoot: imagesDir, outDir, fingerprint: 'x', shardSize: 0, predict: fake })).rejects.toThrow('options.shardSize: expected a positive integer, received 0 (number)');
  });
});

describe('partitioned runs', () => {
  const images = () => [...Array(COUNT).keys()].map((i) => ({ imageId: i + 1, fileName: `img${String(i).padStart(3, '0')}.png` }));
  const fake = async (image: { width: number }, entry: { imageId: number }) => [{ bbox: [0, 0, image.width, 2] as [number, number, number, number], score: entry.imageId / 100, categoryId: 1 }];

  it('splits shards over jobs whose directories read back as one run', async () => {
    const whole = await mkdtemp(join(tmpdir(), 'omni-part-'));
    await runInference({ images: images(), imageRoot: imagesDir, outDir: whole, fingerprint: 'p', shardSize: 4, predict: fake });
    const parts = await Promise.all([0, 1, 2].map(() => mkdtemp(join(tmpdir(), 'omni-part-'))));
    const summaries = [];
    for (const index of [2, 0, 1]) {
      summaries[index] = await runInference({ images: images(), imageRoot: imagesDir, outDir: parts[index], fingerprint: 'p', shardSize: 4, predict: fake, partition: { index, count: 3 } });
    }
    // 6 shards: partition 0 has shards 0 and 3 (8 images), 1 has 1 and 4 (8), 2 has 2 and 5 (4 + 2).
    expect(summaries.map((s) => [s.total, s.complete])).toEqual([[8, true], [8, true], [6, true]]);
    expect((await readRunManifest(parts[1]))!.completed).toEqual([1, 4]);
    expect(await collect(readPredictions([parts[2], parts[0], parts[1]]))).toEqual(await collect(readPredictions(whole)));
    expect(await readSkipped(parts)).toEqual(await readSkipped(whole));
    await expect(collect(readPredictions([parts[0], parts[1]]))).rejects.toThrow('the run is incomplete (4 of 6 shards; missing 2, 5)');
    // Directories of one run may overlap (a job rerun elsewhere); another run's may not be mixed in.
    await expect(collect(readPredictions([parts[0], whole]))).resolves.toHaveLength(COUNT - 1);
    const other = await mkdtemp(join(tmpdir(), 'omni-part-'));
    await runInference({ images: images(), imageRoot: imagesDir, outDir: other, fingerprint: 'q', shardSize: 4, predict: fake });
    await expect(collect(readPredictions([parts[0], other]))).rejects.toThrow(`${other}: belongs to another run than ${parts[0]}`);
    await expect(runInference({ images: images(), imageRoot: imagesDir, outDir: parts[0], fingerprint: 'p', shardSize: 4, predict: fake, partition: { index: 1, count: 3 } })).rejects.toThrow('(partition 0/3 ≠ 1/3)');
    await expect(runInference({ images: images(), imageRoot: imagesDir, outDir: parts[0], fingerprint: 'p', predict: fake, partition: { index: 3, count: 3 } })).rejects.toThrow('options.partition.index: expected an integer < count = 3, received 3 (number)');
  });
});

describe('runs over a streamed image list', () => {
  const images = () => [...Array(COUNT).keys()].map((i) => ({ imageId: i + 1, fileName: `img${String(i).padStart(3, '0')}.png` }));
  const fake = async (image: { width: number }, entry: { imageId: number }) => [{ bbox: [0, 0, image.width, 2] as [number, number, number, number], score: entry.imageId / 100, categoryId: 1 }];

  it('writes the same files from the frozen images.jsonl as from the array, whole and by partition, and resumes from it', async () => {
    const fromArray = await mkdtemp(join(tmpdir(), 'omni-list-run-'));
    await runInference({ images: images(), imageRoot: imagesDir, outDir: fromArray, fingerprint: 'l', shardSize: 4, predict: fake });
    const root = await mkdtemp(join(tmpdir(), 'omni-list-run-'));
    const { frozen } = await freezeImageStream(root, [...images()].reverse());
    const fromList = join(root, 'whole');
    await runInference({ images: frozen, imageRoot: imagesDir, outDir: fromList, fingerprint: 'l', shardSize: 4, predict: fake });
    expect(await shardTexts(fromList)).toEqual(await shardTexts(fromArray));
    expect((await readRunManifest(fromList))!.imagesHash).toBe((await readRunManifest(fromArray))!.imagesHash);
    const part = join(root, 'part');
    await runInference({ images: frozen, imageRoot: imagesDir, outDir: part, fingerprint: 'l', shardSize: 4, predict: fake, partition: { index: 1, count: 2 } });
    expect((await readRunManifest(part))!.completed).toEqual([1, 3, 5]);
    const events: string[] = [];
    const again = await runInference({ images: frozen, imageRoot: imagesDir, outDir: fromList, fingerprint: 'l', shardSize: 4, predict: fake, onEvent: (e) => events.push(e.type) });
    expect([again.resumedShards, again.predicted, events]).toEqual([6, 0, ['resumed']]);
  });

  it('checks ids of a list out of id order with a set, and refuses a list shorter than it announces', async () => {
    const unordered = [{ imageId: 3, fileName: 'img000.png' }, { imageId: 1, fileName: 'img001.png' }, { imageId: 3, fileName: 'img002.png' }];
    const list = { count: 3, entries: async function* () { yield* unordered; } };
    const outDir = await mkdtemp(join(tmpdir(), 'omni-list-run-'));
    await expect(runInference({ images: list, imageRoot: imagesDir, outDir, fingerprint: 'x', predict: fake })).rejects.toThrow('options.images[2].imageId: expected an id not used by an earlier image, received 3 (number)');
    await expect(runInference({ images: { ...list, count: 4 }, imageRoot: imagesDir, outDir, fingerprint: 'x', predict: fake })).rejects.toThrow();
    const short = { count: 4, entries: async function* () { yield* unordered.slice(0, 2); } };
    await expect(runInference({ images: short, imageRoot: imagesDir, outDir, fingerprint: 'x', predict: fake })).rejects.toThrow('options.images: expected the 4 images the list announces, received 2 (number)');
  });
});

describe('listImages', () => {
  it('lists images recursively by extension, in code-point order, with ids from 1', async () => {
    const root = await mkdtemp(join(tmpdir(), 'omni-list-'));
    await mkdir(join(root, 'b', 'c'), { recursive: true });
    for (const f of ['z.JPG', 'a.png', 'b/c/d.webp', 'b/e.jpeg', 'notes.txt', 'B.png']) await writeFile(join(root, f), '');
    expect(await listImages(root)).toEqual([
      { imageId: 1, fileName: 'B.png' },
      { imageId: 2, fileName: 'a.png' },
      { imageId: 3, fileName: 'b/c/d.webp' },
      { imageId: 4, fileName: 'b/e.jpeg' },
      { imageId: 5, fileName: 'z.JPG' },
    ]);
    expect((await listImages(root, { firstId: 100 }))[0].imageId).toBe(100);
  });
});

describe('runFingerprint and empty runs', () => {
  it('hashes parts in order and tells strings from bytes', () => {
    expect(runFingerprint('a', { plan: [1, 2] })).toBe(runFingerprint('a', { plan: [1, 2] }));
    expect(runFingerprint('a', 'b')).not.toBe(runFingerprint('b', 'a'));
    expect(runFingerprint('ab')).not.toBe(runFingerprint('a', 'b'));
    expect(runFingerprint('a')).not.toBe(runFingerprint(Uint8Array.of(97)));
  });

  it('completes an empty image list at once', async () => {
    const outDir = await mkdtemp(join(tmpdir(), 'omni-run-'));
    const summary = await runInference({ images: [], imageRoot: imagesDir, outDir, fingerprint: 'empty', predict: async () => [] });
    expect(summary).toEqual({ complete: true, total: 0, predicted: 0, skipped: 0, transientSkipped: 0, shardCount: 0, resumedShards: 0 });
    expect(await collect(readPredictions(outDir))).toEqual([]);
  });
});

// Writing splits: reproducible bytes, disjoint splits, valid COCO files, resumable runs,
// and precise errors for bad options.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateDataset } from '@omnidistill/coco';
import { COCO_PERSON } from '@omnidistill/core';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { DEMO_SETTINGS, generateSplits, OBJECT_CATEGORIES, type GenerateProgress, type SynthCocoFile } from '../src/index.js';

/** True when dist/ holds a build at least as new as every source file. */
function distIsFresh(): boolean {
  const src = fileURLToPath(new URL('../src', import.meta.url));
  const dist = fileURLToPath(new URL('../dist', import.meta.url));
  if (!existsSync(join(dist, 'render-worker.js'))) return false;
  const newestSrc = Math.max(...readdirSync(src).map((f) => statSync(join(src, f)).mtimeMs));
  const files = readdirSync(src).filter((f) => f.endsWith('.ts')).map((f) => join(dist, f.replace(/\.ts$/, '.js')));
  return files.every((f) => existsSync(f) && statSync(f).mtimeMs >= newestSrc);
}

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'omni-synth-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function readCoco(path: string): Promise<SynthCocoFile> {
  return JSON.parse(await readFile(path, 'utf8')) as SynthCocoFile;
}

async function pixels(path: string): Promise<Buffer> {
  return sharp(path).raw().toBuffer();
}

const counts = { labeled: 6, labeledLarge: 5, unlabeled: 7, val: 4 };

describe('generateSplits', () => {
  it('is deterministic: same seed, byte-identical COCO files and identical pixels; another seed differs', async () => {
    const [a, b, c] = [await tempDir(), await tempDir(), await tempDir()];
    const ra = await generateSplits({ outDir: a, seed: 3, imageSize: 64, counts });
    await generateSplits({ outDir: b, seed: 3, imageSize: 64, counts });
    await generateSplits({ outDir: c, seed: 4, imageSize: 64, counts });
    for (const split of ['labeled', 'labeled-large', 'unlabeled', 'val']) {
      const ja = await readFile(join(a, split, 'annotations.json'));
      expect((await readFile(join(b, split, 'annotations.json'))).equals(ja)).toBe(true);
      expect((await readFile(join(c, split, 'annotations.json'))).equals(ja)).toBe(false);
      for (const f of await readdir(join(a, split, 'images'))) {
        const pa = await pixels(join(a, split, 'images', f));
        expect((await pixels(join(b, split, 'images', f))).equals(pa)).toBe(true);
        expect((await pixels(join(c, split, 'images', f))).equals(pa)).toBe(false);
      }
    }
    expect((await readFile(join(b, 'synth.json'), 'utf8'))).toBe(await readFile(ra.manifest, 'utf8'));
  });

  it('writes disjoint splits with unique ids, a valid COCO file each, and the unlabeled split without labels', async () => {
    const out = await tempDir();
    const r = await generateSplits({ outDir: out, seed: 5, imageSize: 80, counts });
    const imageIds = new Set<number>();
    const annIds = new Set<number>();
    const files = new Set<string>();
    const hashes = new Set<string>();
    let images = 0;
    for (const split of ['labeled', 'labeledLarge', 'unlabeled', 'val'] as const) {
      const s = r.splits[split]!;
      const coco = await readCoco(s.annotations);
      validateDataset(JSON.parse(await readFile(s.annotations, 'utf8')), s.annotations);
      expect(coco.images.length).toBe(counts[split]);
      expect(coco.categories).toEqual([{ id: 1, name: 'person', supercategory: 'person', keypoints: [...COCO_PERSON.keypoints], skeleton: COCO_PERSON.skeleton.map(([x, y]) => [x + 1, y + 1]) }]);
      const labels = split === 'unlabeled' ? await readCoco(s.hiddenAnnotations!) : coco;
      if (split === 'unlabeled') {
        expect(coco.annotations).toEqual([]);
        expect(labels.images).toEqual(coco.images);
        validateDataset(JSON.parse(await readFile(s.hiddenAnnotations!, 'utf8')), s.hiddenAnnotations!);
      }
      for (const img of coco.images) {
        images++;
        imageIds.add(img.id);
        files.add(img.file_name);
        expect(img.width).toBe(80);
        hashes.add(createHash('sha1').update(await pixels(join(s.imagesDir, img.file_name))).digest('hex'));
      }
      for (const a of labels.annotations) {
        annIds.add(a.id);
        expect(a.iscrowd).toBe(0);
        expect(a.keypoints!.length).toBe(51);
        expect(a.area).toBeLessThanOrEqual(a.bbox[2] * a.bbox[3]);
        expect(a.bbox[0] + a.bbox[2]).toBeLessThanOrEqual(80);
      }
      expect(s.stats.images).toBe(counts[split]);
      expect(s.stats.instances).toBe(labels.annotations.length);
    }
    expect(imageIds.size).toBe(images);
    expect(files.size).toBe(images);
    expect(hashes.size).toBe(images);
    const manifest = JSON.parse(await readFile(r.manifest, 'utf8')) as { splits: Record<string, { annotations: string }> };
    expect(manifest.splits.unlabeled!.annotations).toBe('unlabeled/annotations.json');
  });

  it('writes the objects variant with its five categories and no keypoints', async () => {
    const out = await tempDir();
    const r = await generateSplits({ outDir: out, style: 'objects', seed: 2, imageSize: 96, counts: { val: 30 } });
    const raw = JSON.parse(await readFile(r.splits.val!.annotations, 'utf8')) as SynthCocoFile;
    const ds = validateDataset(raw, 'objects val');
    expect(ds.categories.map((c) => [c.id, c.name])).toEqual(OBJECT_CATEGORIES.map((n, i) => [i + 1, n]));
    expect(new Set(raw.annotations.map((a) => a.category_id)).size).toBe(5);
    expect(raw.annotations.every((a) => a.keypoints === undefined && a.area > 0)).toBe(true);
    expect(Object.values(r.splits.val!.stats.categoryCounts!).reduce((x, y) => x + y, 0)).toBe(raw.annotations.length);
  });

  it('resumes: a second run skips every correct image and rewrites a damaged one', async () => {
    const out = await tempDir();
    const events: GenerateProgress[] = [];
    const first = await generateSplits({ outDir: out, seed: 8, imageSize: 48, counts: { labeled: 5, val: 3 }, onProgress: (p) => events.push(p) });
    expect(first.splits.labeled!.written).toBe(5);
    expect(events.map((e) => e.overallDone)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(events.every((e) => e.overallTotal === 8 && e.done <= e.total)).toBe(true);
    const json = await readFile(first.splits.labeled!.annotations);
    const damaged = join(first.splits.labeled!.imagesDir, 'labeled-000003.png');
    await writeFile(damaged, 'not a png');
    const second = await generateSplits({ outDir: out, seed: 8, imageSize: 48, counts: { labeled: 5, val: 3 } });
    expect([second.splits.labeled!.skipped, second.splits.labeled!.written]).toEqual([4, 1]);
    expect([second.splits.val!.skipped, second.splits.val!.written]).toEqual([3, 0]);
    expect((await readFile(second.splits.labeled!.annotations)).equals(json)).toBe(true);
    expect((await sharp(damaged).metadata()).width).toBe(48);
    // A different seed into the same folder: nothing matches, everything is rewritten.
    const third = await generateSplits({ outDir: out, seed: 9, imageSize: 48, counts: { labeled: 5 } });
    expect(third.splits.labeled!.written).toBe(5);
  });

  it('stops between images on abort, keeps what was written, and resumes from there', async () => {
    const out = await tempDir();
    const ctrl = new AbortController();
    const run = generateSplits({
      outDir: out, seed: 4, imageSize: 48, counts: { val: 8 }, concurrency: 1,
      signal: ctrl.signal, onProgress: (p) => { if (p.done === 3) ctrl.abort(new Error('stop here')); },
    });
    await expect(run).rejects.toThrow('stop here');
    const resumed = await generateSplits({ outDir: out, seed: 4, imageSize: 48, counts: { val: 8 } });
    expect([resumed.splits.val!.skipped, resumed.splits.val!.written]).toEqual([3, 5]);
  });

  it('offers the two DEMO-NOTES settings with the upper-bound split as large as labeled + unlabeled', () => {
    for (const s of Object.values(DEMO_SETTINGS)) expect(s.counts.labeledLarge).toBe(s.counts.labeled + s.counts.unlabeled);
    expect([DEMO_SETTINGS.Q.imageSize, DEMO_SETTINGS.Q.counts.unlabeled, DEMO_SETTINGS.B.imageSize, DEMO_SETTINGS.B.counts.unlabeled]).toEqual([96, 800, 128, 1500]);
  });

  it('refuses worker threads when running from TypeScript sources, naming the option', async () => {
    await expect(generateSplits({ outDir: await tempDir(), counts: { val: 1 }, workers: 2 })).rejects.toThrow(/options\.workers.*built package/);
  });

  // Worker threads load dist/ (Node cannot run the .ts sources in a worker). turbo builds the
  // package before its tests, so in CI this runs; a bare `vitest run` with no or an outdated
  // build skips it rather than testing stale code.
  it.skipIf(!distIsFresh())('writes the same bytes with worker threads as on the calling thread (built package; skipped when dist/ is missing or older than src/)', async () => {
    const dist = (await import(new URL('../dist/index.js', import.meta.url).href)) as typeof import('../src/index.js');
    const [a, b] = [await tempDir(), await tempDir()];
    const c = { labeled: 9, unlabeled: 7 };
    await dist.generateSplits({ outDir: a, seed: 6, imageSize: 64, counts: c });
    const r = await dist.generateSplits({ outDir: b, seed: 6, imageSize: 64, counts: c, workers: 2, concurrency: 2 });
    expect(r.splits.labeled!.written).toBe(9);
    for (const split of ['labeled', 'unlabeled']) {
      expect((await readFile(join(b, split, 'annotations.json'))).equals(await readFile(join(a, split, 'annotations.json')))).toBe(true);
      for (const f of await readdir(join(a, split, 'images'))) {
        expect((await readFile(join(b, split, 'images', f))).equals(await readFile(join(a, split, 'images', f)))).toBe(true);
      }
    }
  });

  it('rejects (without stray unhandled rejections) when an image cannot be written', async () => {
    const out = await tempDir();
    await mkdir(join(out, 'val', 'images', 'val-000002.png'), { recursive: true }); // a folder where a file must go
    await expect(generateSplits({ outDir: out, seed: 1, imageSize: 32, counts: { val: 6 } })).rejects.toThrow(/val-000002\.png/);
    // Settled means settled: the images that were in flight beside the failed one have
    // finished, so the folder no longer changes (a caller may remove it at once).
    const listing = async () => (await readdir(join(out, 'val', 'images'))).sort();
    const atRejection = await listing();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await listing()).toEqual(atRejection);
  });

  it('rejects bad options with the field, the expectation and the value', async () => {
    await expect(generateSplits({ outDir: '', counts: {} })).rejects.toThrow(/options\.outDir/);
    await expect(generateSplits({ outDir: 'x', style: 'cats' as never, counts: {} })).rejects.toThrow(/options\.style.*cats/);
    await expect(generateSplits({ outDir: 'x', counts: { labeled: -1 } })).rejects.toThrow(/options\.counts\.labeled.*-1/);
    await expect(generateSplits({ outDir: 'x', counts: { train: 3 } as never })).rejects.toThrow(/options\.counts.*train/);
    await expect(generateSplits({ outDir: 'x', imageSize: 8, counts: {} })).rejects.toThrow(/options\.imageSize.*8/);
    await expect(generateSplits({ outDir: 'x', instances: { min: 0, max: 9 }, counts: {} })).rejects.toThrow(/options\.instances\.max/);
    await expect(generateSplits({ outDir: 'x', workers: -1, counts: {} })).rejects.toThrow(/options\.workers.*-1/);
  });
});

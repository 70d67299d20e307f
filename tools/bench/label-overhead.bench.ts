// Throughput of `omnidistill label` against a bare onnxruntime-node loop running the same
// model over the same transformed inputs (identity + flip, tensors prepared beforehand), on
// procedural 96 px object images with the reference detector (two training steps: the
// architecture's real cost, not a useful model). Prints both rates and label's overhead:
// loop rate from label's own "time:" line (prediction loop only) and wall rate incl. start-up.
// Env: BENCH_IMAGES (default 300).
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createModelSession, decodeImage, inputSizeFor, parseManifest, toInputTensor, type DetectorManifest } from '@omnidistill/infer';
import { trainDetector } from '@omnidistill/models';
import { generateSplits } from '@omnidistill/synth';

const IMAGES = Number(process.env.BENCH_IMAGES ?? 300);
const bin = resolve(dirname(fileURLToPath(import.meta.url)), '../../packages/cli/dist/bin.js');
// onnxruntime-node is a dependency of packages/infer (not of this package): resolve it there.
const ort = createRequire(new URL('../../packages/infer/package.json', import.meta.url))('onnxruntime-node') as typeof import('onnxruntime-node');

const work = await mkdtemp(join(tmpdir(), 'omnidistill-label-overhead-'));
try {
  const splits = await generateSplits({ outDir: work, style: 'objects', imageSize: 96, counts: { labeled: 16, unlabeled: IMAGES }, seed: 5, hiddenLabels: false });
  const labeled = splits.splits.labeled!;
  const unlabeled = splits.splits.unlabeled!;
  const teacher = await trainDetector({ train: { coco: labeled.annotations, imageDir: labeled.imagesDir }, steps: 2, batch: 2, outDir: join(work, 'teacher'), name: 'teacher' });

  // Bare loop: every image decoded and turned into its two input tensors first; only session.run is timed.
  const manifest = parseManifest(JSON.parse(await readFile(teacher.manifestPath, 'utf8'))) as DetectorManifest;
  const model = await createModelSession(new Uint8Array(await readFile(teacher.onnxPath)), manifest);
  const coco = JSON.parse(await readFile(unlabeled.annotations, 'utf8')) as { images: { file_name: string }[] };
  const feeds: Record<string, import('onnxruntime-node').Tensor>[] = [];
  for (const im of coco.images) {
    const decoded = await decodeImage(join(unlabeled.imagesDir, im.file_name));
    if (!decoded.ok) throw new Error(`${im.file_name}: ${decoded.failure.reason}`);
    const size = { width: decoded.image.width, height: decoded.image.height };
    const padded = inputSizeFor(size, model.inputs.image.dims, manifest.pixels.sizeDivisor);
    for (const flip of [false, true]) {
      feeds.push({ [model.inputs.image.name]: new ort.Tensor('float32', toInputTensor(decoded.image, manifest.pixels, flip, padded), [1, 3, padded.height, padded.width]) });
    }
  }
  await model.session.run(feeds[0]); // warm-up
  const t0 = performance.now();
  for (const feed of feeds) await model.session.run(feed);
  const bareRate = IMAGES / ((performance.now() - t0) / 1000);

  const t1 = performance.now();
  const r = spawnSync(
    process.execPath,
    [bin, 'label', '--task', 'detection', '--teacher', teacher.onnxPath, '--unlabeled', unlabeled.annotations, '--images', unlabeled.imagesDir, '--labeled', labeled.annotations, '--plan', 'flip', '--out', join(work, 'labels')],
    { encoding: 'utf8' },
  );
  const wallRate = IMAGES / ((performance.now() - t1) / 1000);
  if (r.status !== 0) throw new Error(`label failed: ${r.stderr.slice(-2000)}`);
  const time = /^time: .*$/m.exec(r.stderr)?.[0] ?? '';
  const loopRate = Number(/prediction [^;]*; \d+ images, ([\d.]+) img\/s/.exec(time)?.[1]);
  console.log(`${IMAGES} images of 96 px, reference detector, identity + flip (2 model runs per image)`);
  console.log(`  bare onnxruntime-node loop (prepared tensors, session.run only): ${bareRate.toFixed(1)} images/s`);
  console.log(`  omnidistill label, prediction loop:                             ${loopRate.toFixed(1)} images/s  → overhead ${((bareRate / loopRate - 1) * 100).toFixed(0)} %`);
  console.log(`  omnidistill label, whole command incl. start-up and selection:  ${wallRate.toFixed(1)} images/s  → ${(bareRate / wallRate).toFixed(2)}× the bare loop's time`);
  console.log(`  ${time}`);
} finally {
  await rm(work, { recursive: true, force: true });
}

// The labeling runner on the paper's keypoint workload shape: 640×480 JPEGs, 10 RoIs,
// K = 17, M = 56, the paper's 19-transform plan. The "model" is tiny (RoIAlign + 1×1 conv),
// so the figures are the pipeline's own cost: decode, 19 resizes + normalisation, RoI
// batching, ensembling + decoding, shard writing.
// Prints, from one process: the runner at its default concurrency vs concurrency 1 (the
// baseline), and the paper plan vs single-pass inference, with images/s and peak RSS.
// Env: BENCH_IMAGES (default 8).
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { GraphBuilder, encodeModel, type ValueInfo } from '@omnidistill/artifacts';
import { COCO_PERSON } from '@omnidistill/core';
import {
  createModelSession,
  defaultConcurrency,
  keypointPredictor,
  parseManifest,
  runInference,
  type KeypointManifest,
  type KeypointSession,
} from '@omnidistill/infer';
import { customPlan, paperPlan, type TransformPlan } from '@omnidistill/transforms';

const IMAGES = Number(process.env.BENCH_IMAGES ?? 8);
const W = 640, H = 480, K = 17, M = 56, N = 10;

/** RoIAlign of the image at M×M, then a fixed 1×1 conv to K channels; dynamic H, W, N. */
function keypointModel(): Uint8Array {
  const g = new GraphBuilder({ name: 'bench_kp' });
  const image = g.input('image', 'float32', [1, 3, 64, 64]);
  const rois = g.input('rois', 'float32', [2, 4]);
  const int = (value: number) => ({ type: 'int' as const, value });
  const [batch] = g.node('Cast', [g.reduceSum(g.mul(rois, 0), [1], false)], [{ dtype: 'int64', shape: [2] }], { to: int(7) });
  const [aligned] = g.node('RoiAlign', [image, rois, batch], [{ dtype: 'float32', shape: [2, 3, M, M] }], {
    output_height: int(M), output_width: int(M), sampling_ratio: int(2),
    coordinate_transformation_mode: { type: 'string', value: 'half_pixel' },
  });
  const w = g.floats(Array.from({ length: K * 3 }, (_, i) => Math.sin(i + 1)), [K, 3, 1, 1]);
  g.output(g.conv(aligned, w), 'heatmaps');
  const dynamic: Record<string, number[]> = { image: [2, 3], rois: [0], heatmaps: [0] };
  const mark = (v: ValueInfo): ValueInfo =>
    v.type.kind === 'tensor' && dynamic[v.name] ? { ...v, type: { ...v.type, shape: v.type.shape.map((d, i) => (dynamic[v.name].includes(i) ? -1 : d)) } } : v;
  const model = g.toModel();
  return encodeModel({ ...model, inputs: model.inputs.map(mark), outputs: model.outputs.map(mark), valueInfo: [] });
}

const manifest = parseManifest({
  format: 'omnidistill-model', version: 1, role: 'keypoints',
  inputs: { image: 'image', rois: 'rois' }, outputs: { heatmaps: 'heatmaps' },
  pixels: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  keypoints: { schema: COCO_PERSON.name, heatmapSize: M },
}) as KeypointManifest;

async function writeImages(dir: string): Promise<string[]> {
  const names: string[] = [];
  let s = 1;
  for (let i = 0; i < IMAGES; i++) {
    const data = new Uint8Array(W * H * 3);
    for (let j = 0; j < data.length; j++) data[j] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
    const name = `im${i}.jpg`;
    await sharp(data, { raw: { width: W, height: H, channels: 3 } }).jpeg({ quality: 85 }).toFile(join(dir, name));
    names.push(name);
  }
  return names;
}

const rois = Float64Array.from(Array.from({ length: N }, (_, n) => [20 + 50 * n, 40, 140 + 45 * n, 100 + 35 * n]).flat());

async function run(model: KeypointSession, imagesDir: string, names: string[], plan: TransformPlan, concurrency: number): Promise<number> {
  const outDir = await mkdtemp(join(tmpdir(), 'omni-bench-infer-'));
  const predict = keypointPredictor(model, { kind: 'given', rois: () => ({ boxes: rois, scores: new Float64Array(N).fill(1), categoryIds: new Int32Array(N).fill(1) }) }, { plan });
  const start = performance.now();
  await runInference({ images: names.map((fileName, i) => ({ imageId: i + 1, fileName })), imageRoot: imagesDir, outDir, fingerprint: 'bench', shardSize: 4, concurrency, predict });
  const ms = performance.now() - start;
  await rm(outDir, { recursive: true, force: true });
  return ms;
}

async function main(): Promise<void> {
  const imagesDir = await mkdtemp(join(tmpdir(), 'omni-bench-images-'));
  const names = await writeImages(imagesDir);
  const model = await createModelSession(keypointModel(), manifest);
  const paper = paperPlan();
  const single = customPlan([]);
  const conc = defaultConcurrency();
  console.log(`${IMAGES} images ${W}x${H}, ${N} RoIs, K=${K}, M=${M}; ${availableParallelism()} cores; default concurrency ${conc}`);
  await run(model, imagesDir, names.slice(0, 1), paper, 1); // warm-up
  const singleMs = await run(model, imagesDir, names, single, conc);
  const serialMs = await run(model, imagesDir, names, paper, 1);
  const concMs = await run(model, imagesDir, names, paper, conc);
  const rate = (ms: number) => ((IMAGES * 1000) / ms).toFixed(2);
  console.log(`single pass, concurrency ${conc}:  ${singleMs.toFixed(0)} ms (${rate(singleMs)} img/s)`);
  console.log(`paper plan (T=${paper.transforms.length}), concurrency 1 (baseline): ${serialMs.toFixed(0)} ms (${rate(serialMs)} img/s)`);
  console.log(`paper plan (T=${paper.transforms.length}), concurrency ${conc}: ${concMs.toFixed(0)} ms (${rate(concMs)} img/s)`);
  console.log(`ratio concurrency ${conc} vs 1: ${(serialMs / concMs).toFixed(2)}x; paper plan costs ${(concMs / singleMs).toFixed(1)}x single pass`);
  console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
  await model.session.release();
  await rm(imagesDir, { recursive: true, force: true });
}

await main();

// Prints how far each layout adapter is from torch on the committed fixtures
// (packages/infer/test/layouts, made by export.py): the largest coordinate difference in
// pixels and the largest score difference, per model, over the fixture images.
//   npx tsx tools/layouts/parity.ts
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IDENTITY, customPlan, resolveTransform } from '@omnidistill/transforms';
import { createModelSession, decodeImage, detectOnce, loadManifest, predictKeypoints, predictRegressedKeypoints } from '@omnidistill/infer';
import type { DecodedImage, DetectorManifest, KeypointManifest, ModelManifest } from '@omnidistill/infer';

const DIR = join(dirname(fileURLToPath(import.meta.url)), '../../packages/infer/test/layouts');
const golden = JSON.parse(await readFile(join(DIR, 'golden.json'), 'utf8'));

const xyOf = (a: ArrayLike<number>) => Array.from(a).filter((_, i) => i % 3 !== 2);
const thirdOf = (a: ArrayLike<number>) => Array.from(a).filter((_, i) => i % 3 === 2);
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

async function image(name: string): Promise<DecodedImage> {
  const d = await decodeImage(join(DIR, 'images', name));
  if (!d.ok) throw new Error(d.failure.message);
  return d.image;
}

async function open<M extends ModelManifest>(name: string) {
  return createModelSession<M>(join(DIR, `${name}.onnx`), (await loadManifest(join(DIR, `${name}.json`))) as M, { threads: 1 });
}

type Row = { model: string; image: string; px: number; score: number };
const rows: Row[] = [];
for (const file of golden.images as string[]) {
  const img = await image(file);
  const id = resolveTransform(IDENTITY, img);
  const det = await open<DetectorManifest>('fasterrcnn');
  const d = await detectOnce(det, img, id);
  rows.push({ model: 'fasterrcnn', image: file, px: maxDiff(d.boxes, golden.fasterrcnn[file].boxes), score: maxDiff(d.scores, golden.fasterrcnn[file].scores) });
  const kr = await predictRegressedKeypoints(await open<KeypointManifest>('keypointrcnn'), img, { plan: customPlan([]) });
  const kw = golden.keypointrcnn[file];
  rows.push({ model: 'keypointrcnn', image: file, px: Math.max(maxDiff(kr.boxes, kw.boxes), maxDiff(xyOf(kr.keypoints.data), xyOf(kw.keypoints))), score: maxDiff(kr.scores, kw.scores) });
  const yd = await open<DetectorManifest>('yolo-detect');
  const y = await detectOnce(yd, img, id);
  const yw = golden['yolo-detect'][file] as { box: number[]; score: number }[];
  rows.push({ model: 'yolo-detect', image: file, px: maxDiff(y.boxes, yw.flatMap((w) => w.box)), score: maxDiff(y.scores, yw.map((w) => w.score)) });
  const yp = await predictRegressedKeypoints(await open<KeypointManifest>('yolo-pose'), img, { plan: customPlan([]) });
  const pw = golden['yolo-pose'][file] as { box: number[]; score: number; keypoints: number[] }[];
  rows.push({ model: 'yolo-pose', image: file, px: Math.max(maxDiff(yp.boxes, pw.flatMap((w) => w.box)), maxDiff(xyOf(yp.keypoints.data), xyOf(pw.flatMap((w) => w.keypoints)))), score: maxDiff(yp.scores, pw.map((w) => w.score)) });
  for (const name of ['topdown', 'simcc']) {
    const want = golden[name][file];
    const model = await open<KeypointManifest>(name);
    for (const [plan, key] of [[customPlan([]), 'single'], [customPlan([{ flip: true }]), 'flip']] as const) {
      const kp = await predictKeypoints(model, img, Float64Array.from(want.boxes.flat()), { plan });
      const w = want[key].flat();
      rows.push({ model: `${name} (${key})`, image: file, px: maxDiff(xyOf(kp.data), xyOf(w)), score: maxDiff(thirdOf(kp.data), thirdOf(w)) });
    }
  }
}
console.log('model                image            max |Δ| px   max |Δ| score');
for (const r of rows) console.log(`${r.model.padEnd(20)} ${r.image.padEnd(16)} ${r.px.toExponential(2).padStart(11)} ${r.score.toExponential(2).padStart(14)}`);

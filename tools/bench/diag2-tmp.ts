const ort = (await import('../../packages/infer/node_modules/onnxruntime-node/dist/index.js')).default ?? (await import('../../packages/infer/node_modules/onnxruntime-node/dist/index.js'));
import { readFileSync } from 'node:fs';
import { COCO_PERSON } from '../../packages/core/src/index.js';
import { TopDownBatchBuilder, heatmapTargets, loadCocoSource } from '../../packages/models/src/index.js';
import { createModelSession, loadManifest, decodeImage, predictKeypoints, type KeypointManifest } from '../../packages/infer/src/index.js';
import { HEATMAP_TARGET_INPUT, HEATMAP_WEIGHT_INPUT } from '../../packages/artifacts/src/index.js';
import { Rng } from '../../packages/train/src/index.js';
import { join } from 'node:path';
const [onnx, json, ann, img] = process.argv.slice(2);
const src = await loadCocoSource({ coco: ann, imageDir: img });
const spec = { image: 'input', heatmaps: 'heatmaps', pixels: { channelOrder: 'rgb' as const, scale: 255, mean: [0.5, 0.5, 0.5] as [number, number, number], std: [0.25, 0.25, 0.25] as [number, number, number] }, schema: COCO_PERSON };
const b = new TopDownBatchBuilder({ batch: 1, height: 64, width: 48, targets: heatmapTargets(32, 24), spec, flipProbability: 0, jitter: 0 });
const s = await ort.InferenceSession.create(onnx);
let hit = 0, n = 0, dist = 0;
for (let i = 0; i < 40; i++) {
  const f = b.build([src.images[i]], new Rng(1));
  const out = await s.run({ input: new ort.Tensor('float32', f.input.data as Float32Array, [1, 3, 64, 48]) });
  const h = out.heatmaps.data as Float32Array;
  const t = f[HEATMAP_TARGET_INPUT].data as BigInt64Array, w = f[HEATMAP_WEIGHT_INPUT].data as Float32Array;
  for (let k = 0; k < 17; k++) {
    if (!w[k]) continue;
    let best = 0; for (let c = 1; c < 768; c++) if (h[k * 768 + c] > h[k * 768 + best]) best = c;
    const tt = Number(t[k]);
    const d = Math.hypot((best % 24) - (tt % 24), Math.floor(best / 24) - Math.floor(tt / 24));
    dist += d; n++; if (d <= 1.5) hit++;
  }
}
console.log(`train-crop argmax: ${hit}/${n} within 1.5 cells, mean dist ${(dist / n).toFixed(2)} cells`);
// infer path on the same images with GT boxes (first instance with keypoints)
const m = (await loadManifest(json)) as KeypointManifest;
const sess = await createModelSession(onnx, m);
let d2 = 0, n2 = 0;
for (let i = 0; i < 40; i++) {
  const im = src.images[i];
  const a = im.annotations.find((x) => x.keypoints && x.keypoints.some((v, j) => j % 3 === 2 && v > 0));
  if (!a) continue;
  const dec = await decodeImage(join(img, (src.dataset.images.find((x) => x.id === a.image_id))!.file_name));
  if (!dec.ok) continue;
  const kp = await predictKeypoints(sess, dec.image, Float64Array.of(a.bbox[0], a.bbox[1], a.bbox[0] + a.bbox[2], a.bbox[1] + a.bbox[3]), { plan: (await import('../../packages/transforms/src/index.js')).customPlan([]) });
  for (let k = 0; k < 17; k++) if (a.keypoints![3 * k + 2] > 0) { d2 += Math.hypot(kp.data[3 * k] - a.keypoints![3 * k], kp.data[3 * k + 1] - a.keypoints![3 * k + 1]); n2++; }
}
console.log(`infer path: mean keypoint error ${(d2 / n2).toFixed(2)} px over ${n2}`);

// Measures the fusion of regressed keypoints across transforms (regressed.ts, an extension
// beyond the paper) against single-pass inference: keypoint and box AP of a self-detecting
// keypoint teacher (e.g. the keypoint R-CNN trained by train_keypointrcnn.py) on a COCO
// split, under several plans.
//   npx tsx tools/layouts/regressed-ap.ts MODEL.onnx VAL_DIR   (VAL_DIR: annotations.json + images/)
import { join } from 'node:path';
import { createParams, evaluate, readCocoDataset, summarize, type CocoResult } from '@omnidistill/coco';
import { createModelSession, decodeImage, loadManifest, predictRegressedKeypoints, type KeypointManifest } from '@omnidistill/infer';
import { customPlan, relativePlan, type TransformPlan } from '@omnidistill/transforms';

const [model, valDir] = process.argv.slice(2);
if (!model || !valDir) throw new Error('usage: regressed-ap.ts MODEL.onnx VAL_DIR');
const session = await createModelSession<KeypointManifest>(model, (await loadManifest(model.replace(/\.onnx$/, '.json'))) as KeypointManifest);
const gt = await readCocoDataset(join(valDir, 'annotations.json'));
const categoryId = session.manifest.keypoints.categoryId;

const plans: [string, TransformPlan, number?][] = [
  ['single pass', customPlan([])],
  ['identity + flip', customPlan([{ flip: true }])],
  ['0.75x, 1x, 1.25x ± flip', relativePlan({ factors: [0.75, 1.25] })],
  ['identity + flip, match OKS > 0.3', customPlan([{ flip: true }]), 0.3],
];
console.log('plan                               T   keypoint AP  AP50   box AP   s/image');
for (const [name, plan, matchThreshold] of plans) {
  const results: { kp: CocoResult[]; box: CocoResult[] } = { kp: [], box: [] };
  const t0 = performance.now();
  for (const im of gt.images) {
    const decoded = await decodeImage(join(valDir, 'images', im.file_name));
    if (!decoded.ok) throw new Error(`${im.file_name}: ${decoded.failure.message}`);
    const found = await predictRegressedKeypoints(session, decoded.image, { plan, ...(matchThreshold === undefined ? {} : { matchThreshold }) });
    const k = found.keypoints.k;
    for (let i = 0; i < found.scores.length; i++) {
      const [x1, y1, x2, y2] = found.boxes.subarray(4 * i, 4 * i + 4);
      const score = found.scores[i];
      results.kp.push({ image_id: im.id, category_id: categoryId, score, keypoints: Array.from(found.keypoints.data.subarray(3 * k * i, 3 * k * (i + 1))) });
      results.box.push({ image_id: im.id, category_id: categoryId, score, bbox: [x1, y1, x2 - x1, y2 - y1] });
    }
  }
  const seconds = (performance.now() - t0) / 1000 / gt.images.length;
  const kp = summarize(evaluate(gt, results.kp, createParams('keypoints', gt, { catIds: [categoryId] }))).stats;
  const box = summarize(evaluate(gt, results.box, createParams('bbox', gt, { catIds: [categoryId] }))).stats;
  const pct = (v: number) => (100 * v).toFixed(1).padStart(6);
  console.log(`${name.padEnd(34)} ${String(plan.transforms.length).padStart(2)} ${pct(kp[0])}      ${pct(kp[1])} ${pct(box[0])}   ${seconds.toFixed(3)}`);
}

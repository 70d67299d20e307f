// @omnidistill/models: cost of building a keypoint minibatch (pixel normalisation, flips, RoI
// jitter, targets) against one native training step of the reference keypoint model
// (DEMO-NOTES setting Q: 96 px, batch 16, 32 RoIs), in one process. The ratio is the data
// pipeline's overhead per step (target: ≤ 10%).
import { instantiate } from '@omnidistill/artifacts';
import { COCO_PERSON } from '@omnidistill/core';
import { KeypointBatchBuilder, defineKeypointModel, type LoadedImage } from '@omnidistill/models';
import { Rng, nativeStepArtifacts, createNativeEngine } from '@omnidistill/train';

const B = 16, S = 96, R = 32, K = 17;
const rng = new Rng(1);
function fakeImage(id: number): LoadedImage {
  const pixels = new Uint8Array(S * S * 3).map(() => rng.nextInt(256));
  const annotations = [0, 1].map((i) => {
    const [x, y, w, h] = [5 + 40 * i, 10, 40, 70];
    const keypoints = new Float64Array(3 * K).map((_, j) => (j % 3 === 0 ? x + rng.nextFloat() * w : j % 3 === 1 ? y + rng.nextFloat() * h : 2));
    return { id: 2 * id + i + 1, image_id: id, category_id: 1, bbox: [x, y, w, h] as [number, number, number, number], area: w * h, iscrowd: 0 as const, keypoints, num_keypoints: K };
  });
  return { id, fileName: `${id}.png`, width: S, height: S, pixels, annotations };
}
const images = Array.from({ length: 64 }, (_, i) => fakeImage(i));
const builder = new KeypointBatchBuilder({ height: S, width: S, rois: R, heatmapSize: 28, schema: COCO_PERSON });

const define = defineKeypointModel({ keypoints: K }, { batch: B, height: S, width: S, rois: R });
const { g } = instantiate(define, 'eval', 'standard');
const engine = await createNativeEngine(nativeStepArtifacts(define, { optimizer: { type: 'adamw', learningRate: 2e-3 }, schedule: { totalSteps: 100 } }), {
  initialParameters: new Map(g.params.map((p) => [p.name, p.init])),
});

const batchRng = new Rng(2);
const pick = (i: number) => images.slice((i * B) % 64, ((i * B) % 64) + B);
await engine.step(builder.build(pick(0), batchRng)); // warm-up
const n = 10;
let tBatch = 0;
let tStep = 0;
for (let i = 0; i < n; i++) {
  const t0 = performance.now();
  const feeds = builder.build(pick(i), batchRng);
  const t1 = performance.now();
  await engine.step(feeds);
  tStep += performance.now() - t1;
  tBatch += t1 - t0;
}
await engine.release();
console.log(`keypoint minibatch build: ${(tBatch / n).toFixed(2)} ms   native training step: ${(tStep / n).toFixed(1)} ms   [${engine.info.description}]`);
console.log(`data pipeline overhead: ${((100 * tBatch) / tStep).toFixed(2)}% of a step (target ≤ 10%)`);

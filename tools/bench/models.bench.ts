// @omnidistill/models: cost of building a keypoint minibatch (pixel normalisation, flips, RoI
// jitter, targets) against one native training step of the reference keypoint model
// (DEMO-NOTES setting Q: 96 px, batch 16, 32 RoIs), in one process. The ratio is the data
// pipeline's overhead per step (target: ≤ 10%).
import { instantiate } from '@omnidistill/artifacts';
import { COCO_PERSON } from '@omnidistill/core';
import { KeypointBatchBuilder, defineKeypointModel } from '@omnidistill/models';
import { Rng, nativeStepArtifacts, createNativeEngine } from '@omnidistill/train';
import { fakePeopleImages } from './fake-people.js';

const B = 16, S = 96, R = 32, K = 17;
const images = fakePeopleImages(64, S, 1);
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

// Reference runs of @omnidistill/models ("done when" figures of issue 6): generates the
// synthetic splits if missing, trains the keypoint teacher on the small labeled split
// (DEMO-NOTES setting Q) and on the large labeled split (upper bound), trains the detector on
// the objects variant, and prints COCO AP of each exported model on its validation split.
//
//   cd tools/models && node --import tsx --conditions=source train-reference.ts [which] [dataDir] [runDir]
//   which: all (default) | kp-small | kp-large | detector
//   env: STEPS_KP_SMALL (400), STEPS_KP_LARGE (800), STEPS_DET (2700), LR_DET (3e-3), SEED (0)
import { existsSync } from 'node:fs';
import { generateSplits } from '@omnidistill/synth';
import { evaluateKeypointModel, trainKeypointModel, trainDetector, evaluateDetector, type TrainedModel, type EvaluationResult } from '@omnidistill/models';
import { formatProgress } from '@omnidistill/train';

const which = process.argv[2] ?? 'all';
const dataDir = process.argv[3] ?? '/tmp/omni-models-data';
const runDir = process.argv[4] ?? '/tmp/omni-models-runs';
const steps = (name: string, d: number) => Number(process.env[`STEPS_${name}`] ?? d);

async function data(): Promise<void> {
  if (!existsSync(`${dataDir}/keypoints/val/annotations.json`)) {
    await generateSplits({ outDir: `${dataDir}/keypoints`, style: 'keypoints', imageSize: 96, seed: 1, counts: { labeled: 200, labeledLarge: 2000, val: 300 } });
  }
  if (!existsSync(`${dataDir}/objects/val/annotations.json`)) {
    await generateSplits({ outDir: `${dataDir}/objects`, style: 'objects', imageSize: 96, seed: 1, counts: { labeled: 1000, val: 300 } });
  }
}
const split = (style: string, dir: string) => ({ coco: `${dataDir}/${style}/${dir}/annotations.json`, imageDir: `${dataDir}/${style}/${dir}/images` });

function report(name: string, run: TrainedModel, ev: EvaluationResult): void {
  console.log(
    `${name}: AP ${ev.ap.toFixed(3)} (AP50 ${ev.stats[1].toFixed(3)}) | ${run.parameterCount} params | train ${run.seconds.toFixed(0)} s ` +
      `(${run.stepsPerSecond.toFixed(2)} steps/s, minibatch building ${((100 * run.batchSeconds) / run.seconds).toFixed(1)}%) | eval ${ev.seconds.toFixed(0)} s | ${run.engine}`,
  );
  console.log(ev.text);
}
const onProgress = (p: Parameters<typeof formatProgress>[0]) => console.error(formatProgress(p));

await data();
const seed = Number(process.env.SEED ?? 0);
if (which === 'all' || which === 'kp-small') {
  const run = await trainKeypointModel({ train: split('keypoints', 'labeled'), steps: steps('KP_SMALL', 400), batch: 16, seed, outDir: `${runDir}/kp-small`, onProgress });
  report('keypoints, 200 labeled, 400 steps', run, await evaluateKeypointModel({ onnxPath: run.onnxPath, split: split('keypoints', 'val') }));
}
if (which === 'all' || which === 'kp-large') {
  const run = await trainKeypointModel({ train: split('keypoints', 'labeled-large'), steps: steps('KP_LARGE', 800), batch: 16, seed, outDir: `${runDir}/kp-large`, onProgress });
  report('keypoints, 2000 labeled, 800 steps', run, await evaluateKeypointModel({ onnxPath: run.onnxPath, split: split('keypoints', 'val') }));
}
if (which === 'all' || which === 'detector') {
  const run = await trainDetector({ train: split('objects', 'labeled'), steps: steps('DET', 2700), lr: Number(process.env.LR_DET ?? 3e-3), batch: 16, seed, outDir: `${runDir}/detector`, onProgress });
  report(`detector, 1000 labeled objects, ${run.history.at(-1)?.step} steps`, run, await evaluateDetector({ onnxPath: run.onnxPath, split: split('objects', 'val') }));
}

// Child process of the kill/resume test: one labeling run over a folder of test images.
// Usage: node --conditions=source --import tsx test/run-child.ts <imagesDir> <outDir> <hangFrom>
// Images with index >= hangFrom never finish (so the parent can SIGKILL a run that is
// certainly mid-way); hangFrom = -1 runs to completion. Prints the summary as JSON.
import { readdir } from 'node:fs/promises';
import { createModelSession, keypointPredictor, runInference, type RunEvent } from '@omnidistill/infer';
import { customPlan } from '@omnidistill/transforms';
import { detectorManifest, fixedRoiDetector, keypointManifest, roiAlignKeypointModel } from './fixtures.js';

const [imagesDir, outDir, hangArg] = process.argv.slice(2);
const hangFrom = Number(hangArg);
const names = (await readdir(imagesDir)).filter((n) => n.startsWith('img')).sort();
const images = names.map((fileName, i) => ({ imageId: i + 1, fileName }));
const detector = await createModelSession(fixedRoiDetector(), detectorManifest, { threads: 1 });
const model = await createModelSession(roiAlignKeypointModel(2), keypointManifest, { threads: 1 });
const predict = keypointPredictor(model, { kind: 'detector', detector }, { plan: customPlan([{ flip: true }, { shortSide: 96 }]), backend: 'ts' });
const events: RunEvent['type'][] = [];
// A hanging run must stay alive until the parent kills it: a never-settling promise alone does
// not hold the event loop, and the child would exit by itself once the other images drained
// (a race with the parent's 20 ms poll that a loaded machine lost).
if (hangFrom >= 0) setInterval(() => undefined, 1 << 30);
const summary = await runInference({
  images,
  imageRoot: imagesDir,
  outDir,
  fingerprint: 'kill-test/v1',
  shardSize: 4,
  concurrency: 2,
  predict: async (image, entry) => {
    if (hangFrom >= 0 && entry.imageId - 1 >= hangFrom) await new Promise(() => {});
    return predict(image, entry);
  },
  onEvent: (e) => events.push(e.type),
});
process.stdout.write(`${JSON.stringify({ summary, events })}\n`);

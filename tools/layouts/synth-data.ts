// The synthetic keypoint data of the regressed-keypoint measurement (README "Regressed
// keypoints"): 1500 labeled + 300 validation images, 96 px, seed 11.
//   npx tsx tools/layouts/synth-data.ts DATA_DIR
import { generateSplits } from '@omnidistill/synth';

const outDir = process.argv[2];
if (!outDir) throw new Error('usage: synth-data.ts DATA_DIR');
const out = await generateSplits({ outDir, imageSize: 96, seed: 11, counts: { labeled: 1500, val: 300 }, hiddenLabels: false });
for (const split of Object.values(out.splits)) console.log(`${split!.split}: ${split!.stats.images} images, ${split!.stats.instances} instances → ${split!.dir}`);

// The list of omnidistill commands. Adding a command = one file in this folder plus one
// entry here; bin.ts needs no change.
import type { Command, CommandModule } from './types.js';

export type { Command, CommandIO, CommandModule } from './types.js';
export { EXIT, UsageError } from './types.js';

/**
 * A command whose module is imported only when it runs: `omnidistill eval` loads the COCO
 * package alone instead of onnxruntime, sharp and the models, which was about 0.2 s of CPU
 * per process, a third of a 5k-image evaluation.
 */
function lazy(name: string, summary: string, load: () => Promise<CommandModule>): Command {
  return { name, summary, run: async (argv, io) => (await load()).run(argv, io) };
}

/** Every command, in the order `omnidistill --help` lists them. */
export const commands: readonly Command[] = [
  lazy('demo', 'run the whole method on built-in synthetic data and print the paper-style table', async () => (await import('./demo.js')).demoCommand),
  lazy('experiment', "ask one of the paper's questions (transforms, selection, schedule, ...) over seeds: results.json, SVG plot, report", async () => (await import('./experiment.js')).experimentCommand),
  lazy('synth', 'write the built-in synthetic data set (images + COCO files) to try label/train/eval on', async () => (await import('./synth.js')).synthCommand),
  lazy('label', 'generate labels for unlabeled images with a teacher (multi-transform + count matching)', async () => (await import('./label.js')).labelCommand),
  lazy('train', 'train a reference model (teacher or student) and export it to ONNX', async () => (await import('./train.js')).trainCommand),
  lazy('eval', 'COCO AP/AR of a results file against a ground truth (pycocotools-exact, bbox or keypoints)', async () => (await import('./eval.js')).evalCommand),
  lazy('report', 'write the HTML report (table, calibration curve, label grid, losses) of a demo run', async () => (await import('./report.js')).reportCommand),
  lazy('predict', 'run a model on images (single pass or multi-transform) and write COCO results for eval/report', async () => (await import('./predict.js')).predictCommand),
  lazy('check-model', 'try a teacher on a few labeled images (AP, flip and 2x agreement, ONNX traps) before a long run', async () => (await import('./check-model.js')).checkModelCommand),
  lazy('inspect', "show an ONNX model's opset, inputs/outputs, risky ops (RoiAlign, in-graph Resize), guessed layout and manifest", async () => (await import('./inspect.js')).inspectCommand),
];

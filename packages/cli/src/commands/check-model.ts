// `omnidistill check-model`: a teacher tried on a few labeled images before it labels
// thousands — AP, flip and 2× agreement, and the traps of its ONNX file, in one report.
import { layoutAdapter } from '@omnidistill/infer';
import { parseFlags, positiveInt, required } from './args.js';
import { imageSizes, readCocoFlag } from './labeled-sizes.js';
import { PLAN_FLAGS, PLAN_HELP, planFromFlags } from './plan-flags.js';
import { runTeacherCheck } from './teacher-check.js';
import { openModel, teacherSessions } from './teacher-models.js';
import { EXIT } from './types.js';
import type { CommandIO, CommandModule } from './types.js';

const HELP = `Usage: omnidistill check-model --model M.onnx --labeled L.json --images DIR
                               [--manifest F] [--detector D.onnx | --boxes B.json] [--plan …] [--sample N] [--json]

Runs the model on a few labeled images (default 8) three times — identity, flipped, 2× —
and prints its AP on them and how well the flipped and 2× passes agree with the identity,
plus what its ONNX file shows (RoiAlign alignment, a Resize of the input inside the graph).
Warnings: near-zero AP (wrong pixel scale / normalisation), zero detections, an in-graph
resize that undoes scale transforms, an opset-11 RoiAlign (aligned=False only) or a default
aligned=True at opset ≥ 16, a flipped pass that disagrees (wrong flip pairs). A plan that
cannot fit a fixed-input model is an error (exit 2). 'omnidistill label' runs the same check
on its labeled set first (skip with --no-check).

Options:
  --model FILE        the model (detector or keypoint model; its manifest is FILE with .json)
  --manifest FILE     the model's manifest
  --labeled FILE      labeled COCO set;  --images DIR  its image folder
  --detector FILE     keypoint models: also check this RoI detector on the sample
  --boxes FILE        accepted for symmetry with label/predict (the check uses the labeled boxes)
  --sample N          labeled images to run on (default 8)
${PLAN_HELP}
                      (checked against a fixed model input and the labeled image sizes)
  --json              print the reports as one JSON object
  -h, --help          show this help

Exit codes: 0 checked (read the warnings), 2 bad usage, unreadable input or a plan that cannot fit.
`;

export const checkModelCommand: CommandModule = {
  async run(argv: string[], io: CommandIO): Promise<number> {
    const v = parseFlags(argv, {
      model: { type: 'string' },
      manifest: { type: 'string' },
      labeled: { type: 'string' },
      images: { type: 'string' },
      detector: { type: 'string' },
      boxes: { type: 'string' },
      sample: { type: 'string' },
      ...PLAN_FLAGS,
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    });
    if (v.help) {
      io.stdout.write(HELP);
      return EXIT.OK;
    }
    const modelPath = required(v, 'model');
    const manifestPath = typeof v.manifest === 'string' ? v.manifest : undefined;
    const labeledPath = required(v, 'labeled');
    const imageDir = required(v, 'images');
    const sample = positiveInt(v, 'sample', 8);
    const peek = await openModel(modelPath, manifestPath);
    const task = peek.manifest.role === 'keypoints' ? 'keypoints' : 'detection';
    // The check runs on the labeled boxes; a --detector is checked beside the model.
    const traits = layoutAdapter(peek.manifest.layout).traits;
    const selfDetecting = traits.selfDetecting;
    const roiFlags = task === 'keypoints' && !selfDetecting ? { detector: v.detector, boxes: v.detector === undefined ? labeledPath : undefined } : {};
    const model = peek;
    const sessions = await teacherSessions(model, roiFlags);
    const labeled = await readCocoFlag('labeled', labeledPath);
    const sizes = imageSizes(labeled);
    const lines: string[] = [];
    const log = (line: string) => (v.json ? lines.push(line) : io.stdout.write(`${line}\n`));
    const { plan, description, warnings } = planFromFlags(v, sizes, traits);
    log(description);
    for (const w of warnings) log(`WARNING: ${w}`);
    const reports = await runTeacherCheck({ model, sessions, plan, sizes, labeled, labeledPath, labeledImages: imageDir, sample, log });
    if (v.json) io.stdout.write(`${JSON.stringify({ model: modelPath, plan: plan.transforms.map((t) => t.name), planWarnings: warnings, reports })}\n`);
    return EXIT.OK;
  },
};

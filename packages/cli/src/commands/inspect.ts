// `omnidistill inspect MODEL.onnx`: what a model is before it is used as a teacher — opset,
// inputs/outputs, the ops that trap real exports, a guessed layout and a manifest to edit.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { writeAtomically } from '@omnidistill/coco';
import { guessLayout, modelInfo } from '@omnidistill/infer';
import type { LayoutGuess, ModelInfo, TensorInfo } from '@omnidistill/infer';
import { EXIT, UsageError } from './types.js';
import type { Command, CommandIO } from './types.js';

const HELP = `Usage: omnidistill inspect MODEL.onnx [--json] [--manifest-out FILE]

Reads an ONNX model (no inference) and prints: producer and opset, inputs and outputs with
dtypes and shapes (symbolic dimensions by name), the ops that matter for a teacher —
RoiAlign with the alignment it really computes (opset < 16: aligned=False only), a Resize of
the input inside the graph (undoes scale transforms), NonMaxSuppression — warnings for each
trap, a guessed layout and a manifest skeleton to edit and save beside the model.

Options:
  --json               print one JSON object {model, info, layout, manifest, edit, warnings}
  --manifest-out FILE  also write the manifest skeleton to FILE
  -h, --help           show this help

Exit codes: 0 success (warnings included), 2 unreadable or invalid model file.
`;

function shape(t: TensorInfo): string {
  return t.shape === null ? '(no shape)' : `[${t.shape.map((d) => (d === null ? '?' : String(d))).join(', ')}]`;
}

function describe(model: string, info: ModelInfo, guess: LayoutGuess | null): string {
  const lines: string[] = [];
  lines.push(`${model}: ${info.producer || 'unknown producer'}, opset ${info.opset}${info.opsets.length > 1 ? ` (+ ${info.opsets.filter((o) => o.domain !== '').map((o) => `${o.domain} ${o.version}`).join(', ')})` : ''}, IR ${info.irVersion}`);
  lines.push('inputs:');
  for (const t of info.inputs) lines.push(`  ${t.name}  ${t.dtype} ${shape(t)}`);
  lines.push('outputs:');
  for (const t of info.outputs) lines.push(`  ${t.name}  ${t.dtype} ${shape(t)}`);
  lines.push('ops that matter:');
  for (const r of info.roiAligns) {
    const aligned = r.coordinateTransformationMode === 'half_pixel' ? 'aligned=True' : 'aligned=False';
    lines.push(`  RoiAlign ${r.node}: mode ${r.mode}, coordinate_transformation_mode ${r.coordinateTransformationMode}${r.explicit ? '' : ' (opset default)'} → ${aligned}; spatial_scale ${r.spatialScale}, sampling_ratio ${r.samplingRatio}, output ${r.outputSize.join('×')}`);
  }
  for (const r of info.inputResizes) lines.push(`  Resize ${r.node}: resamples the input image (${r.mode}) inside the graph`);
  if (info.nonMaxSuppressions > 0) lines.push(`  NonMaxSuppression ×${info.nonMaxSuppressions}: the model filters its own detections`);
  if (info.roiAligns.length + info.inputResizes.length + info.nonMaxSuppressions === 0) lines.push('  none (no RoiAlign, no input Resize, no NonMaxSuppression)');
  lines.push(`  (${Object.keys(info.opCounts).length} op types, ${Object.values(info.opCounts).reduce((a, b) => a + b, 0)} nodes)`);
  for (const w of info.warnings) lines.push(`warning: ${w}`);
  if (guess === null) {
    lines.push('layout: not recognised (none of rois, torchvision-detection, yolo, topdown-heatmap, simcc matches the inputs/outputs); see "Bring your own model" in packages/infer/README.md');
    return `${lines.join('\n')}\n`;
  }
  lines.push(`layout: ${guess.layout} (${guess.role}) — ${guess.reason}`);
  lines.push('edit before use:');
  for (const e of guess.edit) lines.push(`  - ${e}`);
  lines.push(`manifest (save as ${model.replace(/\.onnx$/i, '')}.json):`);
  lines.push(JSON.stringify(guess.manifest, null, 2));
  return `${lines.join('\n')}\n`;
}

export const inspectCommand: Command = {
  name: 'inspect',
  summary: 'show an ONNX model\'s opset, inputs/outputs, risky ops (RoiAlign, in-graph Resize), guessed layout and manifest',
  async run(argv: string[], io: CommandIO): Promise<number> {
    let parsed;
    try {
      parsed = parseArgs({
        args: argv,
        strict: true,
        allowPositionals: true,
        options: { json: { type: 'boolean', default: false }, 'manifest-out': { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } },
      });
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const { values, positionals } = parsed;
    if (values.help) {
      io.stdout.write(HELP);
      return EXIT.OK;
    }
    if (positionals.length !== 1) throw new UsageError(`expected one MODEL.onnx argument, received ${positionals.length}`);
    const model = positionals[0];
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(model));
    } catch (err) {
      throw new UsageError(`cannot read model ${model} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    let info: ModelInfo;
    try {
      info = modelInfo(bytes);
    } catch (err) {
      throw new UsageError(`${model} is not a readable ONNX model (${(err as Error).message}); export it with torch.onnx.export or check the file`);
    }
    const guess = guessLayout(info);
    if (typeof values['manifest-out'] === 'string') {
      if (guess === null) throw new UsageError(`--manifest-out: no layout recognised for ${model}, so there is no skeleton to write`);
      const text = `${JSON.stringify(guess.manifest, null, 2)}\n`;
      await writeAtomically(values['manifest-out'], (push) => push(text));
    }
    if (values.json) {
      io.stdout.write(`${JSON.stringify({ model, info, layout: guess?.layout ?? null, role: guess?.role ?? null, manifest: guess?.manifest ?? null, edit: guess?.edit ?? [], warnings: info.warnings })}\n`);
    } else io.stdout.write(describe(model, info, guess));
    return EXIT.OK;
  },
};

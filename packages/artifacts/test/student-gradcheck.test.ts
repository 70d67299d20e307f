// Gradient parity of imported torch.onnx exports with torch autograd: reduced-width real
// models (ResNet-18 blocks + torchvision FPN, MobileNetV3 blocks with HardSwish/SE, Keypoint
// R-CNN's head, a top-down heatmap model, a YOLO-style head, an attention block with
// batch-statistics BatchNorm, a transformer block with LayerNorm and GELU, torchvision
// roi_align aligned and not), fixtures written by
// tools/student/fixtures.py. Standard lowering, run in onnxruntime-node.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildTrainingArtifacts, decodeOnnxModel, gradientModel, gradientOutputName, studentDefinition, type ModelDefinition } from '@omnidistill/artifacts';
import { loadOrtTraining, withReadableErrors } from './ortweb.js';
import { relError, runNode } from './helpers.js';

interface Fixture {
  input: { name: string; dims: number[]; at: [number, number] };
  weights: Record<string, [number, number]>;
  loss: number;
  grads: Record<string, [number, number]>;
  batchNorm: 'frozen' | 'batch';
  buffers: string[];
  renamed: Record<string, string>;
}

const FIXTURES = ['resnet18_fpn', 'mobilenetv3_blocks', 'keypoint_rcnn_head', 'topdown_heatmap', 'yolo_head', 'attention_block', 'transformer_block', 'roi_align_aligned', 'roi_align_legacy'];
const TOLERANCE = 1e-4;
const dir = new URL('./fixtures/student/', import.meta.url);

function load(name: string) {
  const meta = JSON.parse(readFileSync(new URL(`${name}.json`, dir), 'utf8')) as Fixture;
  const bin = readFileSync(new URL(`${name}.bin`, dir));
  const all = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength));
  const at = ([start, length]: [number, number]) => all.subarray(start, start + length);
  return { meta, at, onnx: new Uint8Array(readFileSync(new URL(`${name}.onnx`, dir))) };
}

/** The fixture's model with its weighted-sum loss; torch buffers frozen by name, as a user would with --freeze. */
function fixtureDefinition(meta: Fixture, at: (span: [number, number]) => Float32Array, onnx: Uint8Array): ModelDefinition {
  const weights = Object.fromEntries(Object.entries(meta.weights).map(([k, v]) => [k, at(v)]));
  return studentDefinition(decodeOnnxModel(onnx), { loss: { kind: 'weighted-sum', weights }, freeze: meta.buffers, batchNorm: meta.batchNorm });
}

/** Largest |gradient| of the fixture: relative errors are floored at 1% of it (exact zeros have no relative error). */
function caseScaleOf(meta: Fixture, at: (span: [number, number]) => Float32Array): number {
  return Math.max(...Object.values(meta.grads).map((s) => Math.max(...at(s).map(Math.abs))));
}

describe('imported torch.onnx models: parameter gradients match torch autograd', () => {
  for (const name of FIXTURES) {
    it(name, async () => {
      const { meta, at, onnx } = load(name);
      const define = fixtureDefinition(meta, at, onnx);
      const model = gradientModel(define, 'standard');
      const feeds: Record<string, { data: Float32Array; dims: readonly number[] }> = { [meta.input.name]: { data: at(meta.input.at), dims: meta.input.dims } };
      for (const p of model.params) feeds[p.name] = { data: p.init, dims: p.shape };
      const out = await runNode(model.bytes, feeds);
      const loss = (out.loss.data as Float32Array)[0];
      expect(Math.abs(loss - meta.loss) / Math.max(Math.abs(meta.loss), 1)).toBeLessThan(TOLERANCE);

      const trainable = model.params.filter((p) => p.trainable);
      // Every torch parameter is imported under its own name, or under the name of the
      // transposed copy torch.onnx stored for a MatMul (checked as that copy), except ones the
      // export dropped (unused by the outputs), whose torch gradient must then be zero.
      const imported = new Set(model.params.map((p) => p.name));
      for (const [param, span] of Object.entries(meta.grads)) {
        if (!imported.has(param) && !imported.has(meta.renamed[param] ?? '')) expect(Math.max(...at(span).map(Math.abs)), `${param} is not in the export`).toBe(0);
      }
      expect(trainable.length).toBeGreaterThan(0);
      const caseScale = caseScaleOf(meta, at);
      let worst = 0;
      for (const p of trainable) {
        expect(meta.grads[p.name], `torch gradient for ${p.name}`).toBeDefined();
        const err = relError(out[gradientOutputName(p.name)].data as Float32Array, at(meta.grads[p.name]), 0.01 * caseScale);
        worst = Math.max(worst, err);
        expect(err, `${name}: d loss / d ${p.name}`).toBeLessThan(TOLERANCE);
      }
      console.log(`${name}: ${trainable.length} parameters, max relative gradient error ${worst.toExponential(2)}`);
    });
  }
});

describe('imported torch.onnx models: ORT training artifacts (ort lowering, onnxruntime-web) match torch autograd', () => {
  for (const name of FIXTURES) {
    it(name, async () => {
      const { meta, at, onnx } = load(name);
      const ort = await loadOrtTraining();
      const art = buildTrainingArtifacts(fixtureDefinition(meta, at, onnx), {
        lowering: 'ort',
        exposeGradients: true,
        optimizer: { type: 'sgd', learningRate: 1e-3 },
        schedule: { totalSteps: 10, warmupSteps: 0 },
      });
      const session = await withReadableErrors(`${name}: create`, () =>
        ort.TrainingSession.create({ checkpointState: art.checkpoint, trainModel: art.trainingModel, optimizerModel: art.optimizerModel }),
      );
      try {
        const feeds = { [meta.input.name]: new ort.Tensor('float32', at(meta.input.at), meta.input.dims) };
        const out = await withReadableErrors(`${name}: runTrainStep`, () => session.runTrainStep(feeds));
        expect(Math.abs(out.loss.data[0] - meta.loss) / Math.max(Math.abs(meta.loss), 1)).toBeLessThan(TOLERANCE);
        const caseScale = caseScaleOf(meta, at);
        for (const p of art.params.filter((q) => q.trainable)) {
          const got = out[gradientOutputName(p.name)].data as Float32Array;
          expect(relError(got, at(meta.grads[p.name]), 0.01 * caseScale), `${name}: d loss / d ${p.name}`).toBeLessThan(TOLERANCE);
        }
      } finally {
        await session.release();
      }
    });
  }
});

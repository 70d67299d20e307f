// Gradient parity with torch autograd: every case in gradcases.ts, standard lowering run
// in onnxruntime-node, against the float64 references in fixtures/gradcheck.json
// (regenerate with tools/gradcheck/run.sh).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DIFFERENTIABLE_OPS, buildGradientGraph, buildTrainingArtifacts, gradientModel, gradientOutputName, type GradientOptions } from '@omnidistill/artifacts';
import { loadOrtTraining, withReadableErrors } from './ortweb.js';
import { GRAD_CASES } from './gradcases.js';
import { relError, runNode } from './helpers.js';

interface Reference {
  loss: number;
  grads: Record<string, number[]>;
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/gradcheck.json', import.meta.url), 'utf8')) as { cases: Record<string, Reference> };

const TOLERANCE = 1e-4;

/** Runs one case's standard-lowering gradient model in onnxruntime-node and compares with torch. */
async function checkStandard(c: (typeof GRAD_CASES)[number], options: GradientOptions): Promise<void> {
  const ref = fixture.cases[c.name];
  expect(ref, `fixture for ${c.name}; run tools/gradcheck/run.sh`).toBeDefined();
  const model = gradientModel(c.define, 'standard', options);
  expect(Object.keys(c.feeds).sort()).toEqual(Object.keys(model.inputShapes).sort());
  for (const [k, f] of Object.entries(c.feeds)) expect(f.dims, `feed ${k}`).toEqual(model.inputShapes[k]);
  const feeds: Record<string, { data: Float32Array | BigInt64Array; dims: readonly number[] }> = { ...c.feeds };
  for (const p of model.params) feeds[p.name] = { data: p.init, dims: p.shape };
  const out = await runNode(model.bytes, feeds);
  expect(Math.abs((out.loss.data as Float32Array)[0] - ref.loss) / Math.max(Math.abs(ref.loss), 1e-6)).toBeLessThan(TOLERANCE);
  const trainable = model.params.filter((p) => p.trainable);
  expect(Object.keys(ref.grads).sort()).toEqual(trainable.map((p) => p.name).sort());
  // Relative to the tensor's own scale, floored at 1% of the case's largest gradient:
  // some gradients are zero by construction (a bias under a softmax) and float32 noise
  // on an exact zero has no meaningful relative error.
  const caseScale = Math.max(...Object.values(ref.grads).flatMap((g) => g.map(Math.abs)));
  for (const p of trainable) {
    const got = out[gradientOutputName(p.name)].data as Float32Array;
    const err = relError(got, ref.grads[p.name], 0.01 * caseScale);
    expect(err, `${c.name}: d loss / d ${p.name}`).toBeLessThan(TOLERANCE);
  }
}

describe('gradients match torch autograd (standard lowering, onnxruntime-node)', () => {
  for (const c of GRAD_CASES) {
    it(`${c.name} (${c.covers.join(', ')})`, () => checkStandard(c, {}));
  }

  // Convolution weight gradients have three forms: per-tap MatMuls over the whole batch (stride
  // 1, ≥ 32 input channels), im2col + one MatMul (the default otherwise) and, for
  // layers whose im2col buffer would exceed the limit, per-tap MatMuls (2-D) or a conv of
  // transposed tensors (ConvTranspose, N-D). A limit of 0 forces the fallbacks.
  for (const c of GRAD_CASES.filter((k) => k.covers.some((op) => op === 'Conv' || op === 'ConvTranspose'))) {
    it(`${c.name}, weight gradients without im2col`, () => checkStandard(c, { im2colMaxElements: 0 }));
  }

  // The conv form (a convolution of Xᵀ by dYᵀ, explicitly padded to an output of exactly the
  // kernel) for every 2-D group-1 convolution: strides 1 and 2, dilation, asymmetric pads, a
  // stride that does not divide the input evenly (output sliced), 32 input channels.
  for (const c of GRAD_CASES.filter((k) => k.covers.includes('Conv'))) {
    it(`${c.name}, weight gradients as convolutions`, () => checkStandard(c, { convWeightGradient: 'conv' }));
  }

  it('the im2col limit decides which weight-gradient form is emitted', () => {
    const convCase = GRAD_CASES.find((k) => k.name === 'conv_strided_padded_dilated')!;
    const groupedConvs = (options: GradientOptions) =>
      buildGradientGraph(convCase.define, 'standard', options).g.nodes.filter((n) => n.opType === 'Conv' && n.attributes.group?.type === 'int' && n.attributes.group.value > 1).length;
    // Default: one grouped one-hot conv (im2col) per weight gradient; limit 0: none.
    expect(groupedConvs({})).toBe(4);
    expect(groupedConvs({ im2colMaxElements: 0 })).toBe(0);
    expect(() => gradientModel(convCase.define, 'standard', { im2colMaxElements: -1 })).toThrow(/im2colMaxElements/);
    expect(() => gradientModel(convCase.define, 'standard', { convWeightGradient: 'taps' as never })).toThrow(/convWeightGradient/);
    // The conv form: no im2col, no per-tap MatMul; one more Conv per weight gradient.
    const convForm = buildGradientGraph(convCase.define, 'standard', { convWeightGradient: 'conv' }).g.nodes;
    expect(convForm.filter((n) => n.opType === 'Conv' && n.attributes.group?.type === 'int' && n.attributes.group.value > 1)).toHaveLength(0);
    expect(convForm.filter((n) => n.opType === 'MatMul')).toHaveLength(0);
    // Stride 1 with ≥ 32 input channels: per-tap MatMuls over the whole batch instead of im2col.
    const wide = GRAD_CASES.find((k) => k.name === 'conv_wide_channels')!;
    const wideGraph = buildGradientGraph(wide.define, 'standard', {}).g;
    expect(wideGraph.nodes.filter((n) => n.opType === 'Conv' && n.attributes.group?.type === 'int' && n.attributes.group.value > 1)).toHaveLength(0);
    expect(wideGraph.nodes.filter((n) => n.opType === 'MatMul').length).toBeGreaterThanOrEqual(9 + 6);
  });

  it('covers every op that has a gradient rule', () => {
    const covered = new Set(GRAD_CASES.flatMap((c) => c.covers));
    // BatchNormInternal is the ORT-lowered train-phase BatchNormalization.
    covered.add('BatchNormInternal');
    const missing = DIFFERENTIABLE_OPS.filter((op) => !covered.has(op) && op !== 'Cast');
    expect(missing).toEqual([]);
  });
});

describe('gradients match torch autograd (ort lowering, onnxruntime-web training session)', () => {
  for (const c of GRAD_CASES) {
    it(c.name, async () => {
      const ref = fixture.cases[c.name];
      const ort = await loadOrtTraining();
      const art = buildTrainingArtifacts(c.define, {
        lowering: 'ort',
        exposeGradients: true,
        optimizer: { type: 'sgd', learningRate: 1e-3 },
        schedule: { totalSteps: 10, warmupSteps: 0 },
      });
      const session = await withReadableErrors(`${c.name}: create`, () =>
        ort.TrainingSession.create({ checkpointState: art.checkpoint, trainModel: art.trainingModel, optimizerModel: art.optimizerModel }),
      );
      try {
        // 1.19.2 takes runTrainStep feeds by position (object key order), not by name.
        const feeds: Record<string, unknown> = {};
        for (const k of session.trainingInputNames as string[]) {
          const f = c.feeds[k];
          feeds[k] = new ort.Tensor(f.data instanceof BigInt64Array ? 'int64' : 'float32', f.data, [...f.dims]);
        }
        const out = await withReadableErrors(`${c.name}: runTrainStep`, () => session.runTrainStep(feeds));
        expect(Math.abs(out.loss.data[0] - ref.loss) / Math.max(Math.abs(ref.loss), 1e-6)).toBeLessThan(TOLERANCE);
        const caseScale = Math.max(...Object.values(ref.grads).flatMap((g) => g.map(Math.abs)));
        for (const p of art.params.filter((q) => q.trainable)) {
          const got = out[gradientOutputName(p.name)].data as Float32Array;
          expect(relError(got, ref.grads[p.name], 0.01 * caseScale), `${c.name}: d loss / d ${p.name}`).toBeLessThan(TOLERANCE);
        }
      } finally {
        await session.release();
      }
    });
  }
});

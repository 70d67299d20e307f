// Importing ONNX models: a builder-made model round-trips through encode → decode → import
// with identical outputs in onnxruntime-node; errors name the node, op and opset; freezing by
// pattern; initializer replacement keeps the rest of the model byte for byte.
import { describe, expect, it } from 'vitest';
import {
  GraphBuilder,
  IMPORTABLE_OPS,
  OnnxImportError,
  attr,
  decodeOnnxModel,
  encodeModel,
  instantiate,
  replaceInitializers,
  studentDefinition,
  tensorValues,
} from '@omnidistill/artifacts';
import { randn, relError, runNode } from './helpers.js';

/** A small CNN exercising the common ops, written as an ordinary inference model. */
function referenceModel(): Uint8Array {
  const g = new GraphBuilder({ phase: 'eval', name: 'ref' });
  const x = g.input('image', 'float32', [2, 3, 16, 16]);
  let seed = 1;
  const p = (name: string, shape: number[], scale = 0.3) => g.param(name, shape, randn(shape.reduce((a, b) => a * b, 1), seed++, scale));
  const c1 = g.relu(g.conv(x, p('backbone.conv1.weight', [8, 3, 3, 3]), p('backbone.conv1.bias', [8]), { pads: [1, 1, 1, 1], strides: [2, 2] }));
  const bn = g.batchNorm(c1, p('backbone.bn.weight', [8]), p('backbone.bn.bias', [8]), p('backbone.bn.running_mean', [8], 0.1), g.param('backbone.bn.running_var', [8], Float32Array.from({ length: 8 }, (_, i) => 0.5 + i / 8)));
  const dw = g.conv(bn, p('backbone.dw.weight', [8, 1, 3, 3]), undefined, { pads: [1, 1, 1, 1], group: 8 });
  const pooled = g.maxPool(dw, { kernel: [2, 2] }); // [2, 8, 4, 4]
  const up = g.resize(pooled, { mode: 'nearest', scales: [2, 2] }); // [2, 8, 8, 8]
  const cat = g.concat([up, dw], 1); // [2, 16, 8, 8]
  const head = g.sigmoid(g.conv(cat, p('head.weight', [4, 16, 1, 1]), p('head.bias', [4])));
  g.output(head, 'heatmaps');
  const flat = g.reshape(g.reduceMean(cat, [2, 3], true), [2, 16]);
  const fc = g.node('Gemm', [flat, p('fc.weight', [5, 16]), p('fc.bias', [5])], [{ dtype: 'float32', shape: [2, 5] }], { transB: attr.int(1) })[0];
  g.output(fc, 'logits');
  return g.toModelBytes();
}

/** A model of one node `opType` from x to y (shape with -1 = symbolic dims). */
function oneNodeModel(opType: string, name: string, shape: number[]): Uint8Array {
  const io = (n: string) => ({ name: n, type: { kind: 'tensor' as const, dtype: 'float32' as const, shape } });
  return encodeModel({
    graphName: 'g',
    irVersion: 8,
    producerName: 't',
    opsets: [{ domain: '', version: 17 }],
    inputs: [io('x')],
    outputs: [io('y')],
    valueInfo: [],
    initializers: [],
    nodes: [{ opType, domain: '', name, inputs: ['x'], outputs: ['y'], attributes: {} }],
  });
}

describe('importOnnxGraph', () => {
  it('re-emits a model with the same outputs (onnxruntime-node), parameters under their names', async () => {
    const bytes = referenceModel();
    const model = decodeOnnxModel(bytes);
    const define = studentDefinition(model, { loss: { kind: 'output', output: 'logits' } });
    const { g, parts } = instantiate(define, 'eval', 'standard');
    expect(g.params.map((q) => q.name)).toContain('backbone.conv1.weight');
    expect(g.params.find((q) => q.name === 'backbone.bn.running_mean')!.trainable).toBe(false); // running statistics are never trained
    for (const [k, v] of Object.entries(parts.outputs!)) g.output(v, k);
    const imported = g.toModelBytes();
    const feeds = { image: { data: randn(2 * 3 * 16 * 16, 99), dims: [2, 3, 16, 16] } };
    const [a, b] = [await runNode(bytes, feeds), await runNode(imported, feeds)];
    for (const name of ['heatmaps', 'logits']) {
      expect(b[name].dims).toEqual(a[name].dims);
      expect(relError(b[name].data as Float32Array, a[name].data as Float32Array)).toBeLessThan(1e-5);
    }
  });

  it('MaxPool in ceil mode (extra end padding) gives onnxruntime\'s shapes and values', async () => {
    const g = new GraphBuilder({ phase: 'eval' });
    const x = g.input('x', 'float32', [1, 2, 9, 8]);
    const w = g.param('w', [2, 2, 1, 1], randn(4, 5));
    const pool = (v: typeof x, k: number, s: number, p: number, out: number[]) =>
      g.node('MaxPool', [v], [{ dtype: 'float32', shape: out }], { kernel_shape: attr.ints([k, k]), strides: attr.ints([s, s]), pads: attr.ints([p, p, p, p]), ceil_mode: attr.int(1) })[0];
    // 9×8, k3 s2 p0 → ceil: 4×4 (floor would give 4×3); k2 s2 p1 on that → 3×3.
    g.output(pool(pool(g.conv(x, w, undefined), 3, 2, 0, [1, 2, 4, 4]), 2, 2, 1, [1, 2, 3, 3]), 'y');
    const bytes = g.toModelBytes();
    const { g: imported, parts } = instantiate(studentDefinition(decodeOnnxModel(bytes), { loss: { kind: 'output', output: 'y' } }), 'eval', 'standard');
    imported.output(parts.outputs!.y, 'y');
    const feeds = { x: { data: randn(144, 6), dims: [1, 2, 9, 8] } };
    const [a, b] = [await runNode(bytes, feeds), await runNode(imported.toModelBytes(), feeds)];
    expect(b.y.dims).toEqual([1, 2, 3, 3]);
    expect(Array.from(b.y.data as Float32Array)).toEqual(Array.from(a.y.data as Float32Array));
  });

  it('freezes parameters by name pattern', () => {
    const define = studentDefinition(decodeOnnxModel(referenceModel()), { loss: { kind: 'output', output: 'logits' }, freeze: ['backbone.*'] });
    const { g } = instantiate(define, 'eval', 'standard');
    const trainable = g.params.filter((q) => q.trainable).map((q) => q.name);
    expect(trainable.sort()).toEqual(['fc.bias', 'fc.weight', 'head.bias', 'head.weight']);
  });

  it('makes weights and named initializers parameters, exporter-folded literals constants', () => {
    const g = new GraphBuilder({ phase: 'eval' });
    const x = g.input('x', 'float32', [2, 4]);
    const h = g.mul(g.matMul(x, g.param('onnx::MatMul_5', [4, 4], randn(16, 1))), g.param('onnx::Mul_7', [1], Float32Array.of(0.5)));
    g.output(g.add(g.mul(h, g.param('layer_scale', [4], randn(4, 2))), g.param('const_3', [4], randn(4, 3))), 'y');
    const define = studentDefinition(decodeOnnxModel(g.toModelBytes()), { loss: { kind: 'output', output: 'y' } });
    const { g: imported } = instantiate(define, 'eval', 'standard');
    // A MatMul operand is a weight whatever its name; a generated name elsewhere is a literal.
    expect(imported.params.map((q) => q.name).sort()).toEqual(['layer_scale', 'onnx::MatMul_5']);
  });

  it('needs static shapes for symbolic input dims, and says how to give them', () => {
    const bytes = oneNodeModel('Relu', 'r', [-1, 4]);
    const define = studentDefinition(decodeOnnxModel(bytes), { loss: { kind: 'output', output: 'y' } });
    expect(() => instantiate(define, 'eval', 'standard')).toThrow(/input "x".*inputShapes\.x/);
    const ok = studentDefinition(decodeOnnxModel(bytes), { loss: { kind: 'output', output: 'y' }, inputShapes: { x: [3, 4] } });
    expect(() => instantiate(ok, 'eval', 'standard')).toThrow(/at least one g.param/); // imported fine, but a model without parameters cannot train
  });

  it('names the node, op type and opset of an unsupported op and lists the supported ones', () => {
    const bytes = oneNodeModel('Celu', 'act/celu', [2, 4]);
    const define = studentDefinition(decodeOnnxModel(bytes), { loss: { kind: 'output', output: 'y' } });
    let err: unknown;
    try {
      instantiate(define, 'eval', 'standard');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OnnxImportError);
    expect((err as Error).message).toMatch(/node "act\/celu" \(Celu, opset 17\)/);
    expect((err as Error).message).toContain(IMPORTABLE_OPS.join(', '));
  });

  it('refuses a BatchNorm statistic that is one tensor with a parameter (torch.onnx merges equal-valued initializers), saying how to export', () => {
    const g = new GraphBuilder({ phase: 'eval' });
    const x = g.input('x', 'float32', [2, 3, 4, 4]);
    const zeros = g.param('bn.bias', [3], new Float32Array(3)); // bias 0 and running mean 0: merged by the exporter
    const y = g.batchNorm(g.conv(x, g.param('conv.weight', [3, 3, 1, 1], randn(9, 1, 0.3)), undefined, {}), g.param('bn.weight', [3], new Float32Array(3).fill(1)), zeros, zeros, g.param('bn.running_var', [3], new Float32Array(3).fill(1)));
    g.output(y, 'y');
    const model = decodeOnnxModel(g.toModelBytes());
    for (const batchNorm of ['frozen', 'batch'] as const) {
      const define = studentDefinition(model, { loss: { kind: 'output', output: 'y' }, batchNorm });
      expect(() => instantiate(define, 'eval', 'standard')).toThrow(/\(BatchNormalization\): its running statistic "bn\.bias" is one tensor with 1 other input\(s\).*export the model after training/);
    }
  });

  it('replaceInitializers writes new weights and keeps the rest of the model', () => {
    const bytes = referenceModel();
    const before = decodeOnnxModel(bytes);
    const w = Float32Array.from({ length: 5 * 16 }, (_, i) => i / 10);
    const after = decodeOnnxModel(replaceInitializers(bytes, new Map([['fc.weight', w]])));
    expect(after.graph.nodes).toEqual(before.graph.nodes);
    expect(after.graph.outputs).toEqual(before.graph.outputs);
    const fc = after.graph.initializers.find((t) => t.name === 'fc.weight')!;
    expect(fc.dims).toEqual([5, 16]);
    expect(Array.from(tensorValues(fc))).toEqual(Array.from(w));
    const other = (m: typeof before) => tensorValues(m.graph.initializers.find((t) => t.name === 'head.weight')!);
    expect(other(after)).toEqual(other(before));
    expect(() => replaceInitializers(bytes, new Map([['nope', w]]))).toThrow(/no initializer named "nope"/);
  });
});

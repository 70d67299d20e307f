// An imported CenterNet-style detector (tools/student/centernet_det.py: torch.onnx, opset 17,
// decoding with TopK inside the graph): the training graph stops at the raw heads named by the
// loss, the decode subgraph is pruned, and the reference detector's CenterNet loss gives the
// same loss and parameter gradients as torch autograd of that loss.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GraphBuilder, decodeOnnxModel, importOnnxGraph, instantiate, studentDefinition } from '@omnidistill/artifacts';
import { expectTorchGradients, type TorchGradientFixture } from './helpers.js';

interface Fixture extends TorchGradientFixture {
  heads: { heatmap: string; size: string; offset: string };
}

const dir = new URL('./fixtures/student/', import.meta.url);
const meta = JSON.parse(readFileSync(new URL('centernet_det.json', dir), 'utf8')) as Fixture;
const bin = readFileSync(new URL('centernet_det.bin', dir));
const all = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength));
const at = ([start, length]: [number, number]) => all.subarray(start, start + length);
const model = decodeOnnxModel(new Uint8Array(readFileSync(new URL('centernet_det.onnx', dir))));
const inputShapes = { image: meta.input.dims };

describe('imported CenterNet-style detector', () => {
  it('the full graph is refused for training (TopK has no importer), the heads import without the decode subgraph', () => {
    expect(() => instantiate((g) => ({ outputs: importOnnxGraph(g, model, { inputShapes }).outputs }), 'eval', 'standard')).toThrow(/TopK, opset 17\): no importer/);
    const g = new GraphBuilder();
    const { outputs } = importOnnxGraph(g, model, { inputShapes, outputs: ['heat_logits', 'size', 'offset'] });
    expect(Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, v.shape]))).toEqual({ heat_logits: [2, 3, 16, 16], size: [2, 2, 16, 16], offset: [2, 2, 16, 16] });
    expect(g.params.map((p) => p.name)).toContain('heat.2.weight');
  });

  it('a head name that is no tensor of the model is an error listing the graph outputs', () => {
    const define = studentDefinition(model, { inputShapes, loss: { kind: 'centernet', heads: { heatmap: 'hm', size: 'size', offset: 'offset' } } });
    expect(() => instantiate(define, 'train', 'standard')).toThrow(/output "hm": no tensor of that name in the model \(graph outputs: boxes, scores, labels; outputs of its last layers: [^)]*heat_logits, [^)]*size, [^)]*offset\)/);
  });

  it('heads of the wrong shape are an error naming the head and the expected shape', () => {
    const define = studentDefinition(model, { inputShapes, loss: { kind: 'centernet', heads: { heatmap: 'heat_logits', size: 'offset', offset: 'heat_logits' } } });
    expect(() => instantiate(define, 'train', 'standard')).toThrow(/heads\.offset "heat_logits": expected \[2, 2, 16, 16\] \(the heatmap's N, h, w\), received "\[2, 3, 16, 16\]"/);
  });

  it('loss and parameter gradients match torch autograd of the reference detector loss', async () => {
    const define = studentDefinition(model, { inputShapes, loss: { kind: 'centernet', heads: meta.heads } });
    const { loss, worst, parameters } = await expectTorchGradients(define, meta, at);
    console.log(`centernet_det: ${parameters} parameters, loss ${loss} (torch ${meta.loss}), max relative gradient error ${worst.toExponential(2)}`);
  });
});

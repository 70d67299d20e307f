// An imported Ultralytics-style detector (tools/student/yolo_det.py: torch.onnx, opset 17, DFL
// box decoding against a constant anchor grid and Sigmoid class scores inside the graph, raw
// predictions [N, 4 + C, A]): yoloLoss gives the same loss and parameter gradients as torch
// autograd of the same loss; the anchor grid and the manifest-side checks.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GraphBuilder, YOLO_TARGETS, decodeOnnxModel, studentDefinition, yoloAnchorGrid, yoloLoss } from '@omnidistill/artifacts';
import { expectTorchGradients, runNode, type TorchGradientFixture } from './helpers.js';

interface Fixture extends TorchGradientFixture {
  predictions: string;
  strides: number[];
  inputSize: [number, number];
}

const dir = new URL('./fixtures/student/', import.meta.url);
const meta = JSON.parse(readFileSync(new URL('yolo_det.json', dir), 'utf8')) as Fixture;
const bin = readFileSync(new URL('yolo_det.bin', dir));
const all = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength));
const at = ([start, length]: [number, number]) => all.subarray(start, start + length);
const model = decodeOnnxModel(new Uint8Array(readFileSync(new URL('yolo_det.onnx', dir))));
const inputShapes = { image: meta.input.dims };

describe('yoloAnchorGrid', () => {
  it('lays out cell centres per stride, row-major, strides in order (Ultralytics make_anchors)', () => {
    const g = yoloAnchorGrid(20, 16, [8, 16]);
    // stride 8: ceil(20/8) = 3 rows × 2 columns; stride 16: 2 × 1.
    expect(g.count).toBe(8);
    expect(Array.from(g.x)).toEqual([4, 12, 4, 12, 4, 12, 8, 8]);
    expect(Array.from(g.y)).toEqual([4, 4, 12, 12, 20, 20, 8, 24]);
    expect(Array.from(g.stride)).toEqual([8, 8, 8, 8, 8, 8, 16, 16]);
  });

  it('refuses strides that are not positive integers', () => {
    expect(() => yoloAnchorGrid(64, 64, [])).toThrow(/yolo strides/);
    expect(() => yoloAnchorGrid(64, 64, [8, 0.5])).toThrow(/positive integers/);
  });
});

describe('yoloLoss', () => {
  it('refuses strides whose anchor count is not the predictions\' A, naming both', () => {
    const g = new GraphBuilder();
    const p = g.input('p', 'float32', [2, 7, 80]);
    expect(() => yoloLoss(g, p, { strides: [8, 16, 32], inputSize: [64, 64] })).toThrow(/add up to the predictions' 80 anchors.*\[8, 16, 32\] \(84 anchors\)/);
    expect(() => yoloLoss(g, g.input('q', 'float32', [2, 4, 80]), { strides: [8, 16], inputSize: [64, 64] })).toThrow(/\[B, 4 \+ C, A\]/);
  });

  it('logit scores give the same loss as their sigmoid probabilities', async () => {
    const b = 2, c = 3, a = 80;
    const rand = (n: number, f: (i: number) => number) => Float32Array.from({ length: n }, (_, i) => f(i));
    const grid = yoloAnchorGrid(64, 64, [8, 16]);
    const logits = rand(b * c * a, (i) => Math.sin(i * 1.7) * 3);
    const boxes = rand(b * 4 * a, (i) => {
      const [ch, anchor] = [Math.floor(i / a) % 4, i % a];
      return ch === 0 ? grid.x[anchor] + Math.sin(i) : ch === 1 ? grid.y[anchor] + Math.cos(i) : 6 + 4 * Math.abs(Math.sin(i * 0.3));
    });
    const fg = rand(b * a, (i) => (i % 13 === 0 ? 1 : 0));
    const classes = rand(b * c * a, (i) => (fg[Math.floor(i / (c * a)) * a + (i % a)] && Math.floor(i / a) % c === i % c ? 1 : 0));
    const target = rand(b * 4 * a, (i) => (fg[Math.floor(i / (4 * a)) * a + (i % a)] ? boxes[i] + Math.cos(i * 0.9) * 2 : 0));
    const lossOf = async (scores: 'logits' | 'probabilities') => {
      const g = new GraphBuilder();
      const box = g.input('box', 'float32', [b, 4, a]);
      const s = g.input('s', 'float32', [b, c, a]);
      g.output(yoloLoss(g, g.concat([box, scores === 'logits' ? s : g.sigmoid(s)], 1), { strides: [8, 16], inputSize: [64, 64], scores }), 'loss');
      const T = YOLO_TARGETS;
      const out = await runNode(g.toModelBytes(), {
        box: { data: boxes, dims: [b, 4, a] }, s: { data: logits, dims: [b, c, a] },
        [T.classes]: { data: classes, dims: [b, c, a] }, [T.boxes]: { data: target, dims: [b, 4, a] }, [T.foreground]: { data: fg, dims: [b, 1, a] },
      });
      return (out.loss.data as Float32Array)[0];
    };
    const viaLogits = await lossOf('logits');
    expect(viaLogits).toBeGreaterThan(0);
    expect(Math.abs(viaLogits - (await lossOf('probabilities'))) / viaLogits).toBeLessThan(1e-5);
  });
});

describe('imported Ultralytics-style detector', () => {
  it('loss and parameter gradients match torch autograd of the same loss', async () => {
    const define = studentDefinition(model, { inputShapes, loss: { kind: 'yolo', predictions: meta.predictions, strides: meta.strides, inputSize: meta.inputSize } });
    const { loss, worst, parameters } = await expectTorchGradients(define, meta, at);
    console.log(`yolo_det: ${parameters} parameters, loss ${loss} (torch ${meta.loss}), max relative gradient error ${worst.toExponential(2)}`);
  });
});

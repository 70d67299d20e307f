import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GraphBuilder, allNodes, decodeOnnxModel, defaultOpset, encodeModel, feedInputs, OnnxReadError, tensorValues } from '@omnidistill/artifacts';

const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`../../cli/test/fixtures/models/${name}`, import.meta.url)));

describe('decodeOnnxModel', () => {
  it('reads back what encodeModel wrote: opsets, inputs with dynamic dims, nodes, attributes, initializers', () => {
    const bytes = encodeModel({
      graphName: 'g',
      irVersion: 8,
      producerName: 'test',
      opsets: [{ domain: '', version: 17 }, { domain: 'com.microsoft', version: 1 }],
      inputs: [{ name: 'x', type: { kind: 'tensor', dtype: 'float32', shape: [1, 3, -1, -1] } }],
      outputs: [{ name: 'y', type: { kind: 'tensor', dtype: 'float32', shape: [1, 3, -1, -1] } }],
      valueInfo: [],
      initializers: [{ name: 'w', dtype: 'float32', dims: [2, 2], data: Float32Array.from([1, -2, 3.5, 4]) }],
      nodes: [
        {
          opType: 'Resize',
          domain: '',
          name: 'r',
          inputs: ['x', '', 'w'],
          outputs: ['y'],
          attributes: { mode: { type: 'string', value: 'linear' }, axes: { type: 'ints', value: [-1, 2] }, cubic: { type: 'float', value: -0.75 } },
        },
      ],
    });
    const m = decodeOnnxModel(bytes);
    expect(m.irVersion).toBe(8);
    expect(m.producerName).toBe('test');
    expect(defaultOpset(m)).toBe(17);
    expect(m.opsets).toEqual([{ domain: '', version: 17 }, { domain: 'com.microsoft', version: 1 }]);
    expect(m.graph.inputs[0]).toEqual({ name: 'x', type: { kind: 'tensor', dtype: 'float32', shape: [1, 3, 'x_dim2', 'x_dim3'] } });
    const node = m.graph.nodes[0];
    expect(node).toMatchObject({ opType: 'Resize', name: 'r', inputs: ['x', '', 'w'], outputs: ['y'] });
    expect(node.attributes.mode).toEqual({ type: 'string', value: 'linear' });
    expect(node.attributes.axes).toEqual({ type: 'ints', value: [-1, 2] });
    expect(node.attributes.cubic).toEqual({ type: 'float', value: -0.75 });
    expect(Array.from(tensorValues(m.graph.initializers[0]))).toEqual([1, -2, 3.5, 4]);
  });

  it('reads a GraphBuilder model and lists only fed inputs', () => {
    const g = new GraphBuilder();
    const x = g.input('image', 'float32', [1, 3, 8, 8]);
    const w = g.param('conv.w', [2, 3, 3, 3], new Float32Array(54).fill(0.5));
    g.output(g.conv(x, w, undefined, { pads: [1, 1, 1, 1] }), 'features');
    const m = decodeOnnxModel(g.toModelBytes());
    expect(feedInputs(m.graph).map((v) => v.name)).toEqual(['image']);
    expect(allNodes(m.graph).map((n) => n.opType)).toContain('Conv');
    const init = m.graph.initializers.find((t) => t.name === 'conv.w')!;
    expect(init.dims).toEqual([2, 3, 3, 3]);
    expect(tensorValues(init).every((v) => v === 0.5)).toBe(true);
  });

  it('reads real torch.onnx exports: symbolic dims, RoiAlign attributes, ops inside If subgraphs', () => {
    const kp = decodeOnnxModel(fixture('roi-kp-opset11.onnx'));
    expect(kp.producerName).toBe('pytorch');
    expect(defaultOpset(kp)).toBe(11);
    expect(kp.graph.inputs.map((i) => i.type)).toEqual([
      { kind: 'tensor', dtype: 'float32', shape: [1, 3, 'height', 'width'] },
      { kind: 'tensor', dtype: 'float32', shape: ['n', 4] },
    ]);
    const roi = kp.graph.nodes.find((n) => n.opType === 'RoiAlign')!;
    expect(roi.attributes.spatial_scale).toEqual({ type: 'float', value: 0.5 });
    expect(roi.attributes.output_height).toEqual({ type: 'int', value: 7 });
    const tv = decodeOnnxModel(fixture('tv-frcnn-opset11.onnx'));
    const top = new Set(tv.graph.nodes.map((n) => n.opType));
    expect(top.has('NonMaxSuppression')).toBe(false); // torchvision's batched NMS sits in an If branch
    expect(allNodes(tv.graph).some((n) => n.opType === 'NonMaxSuppression')).toBe(true);
    expect(tv.graph.outputs.map((o) => o.name)).toEqual(['boxes', 'labels', 'scores']);
  });

  it('rejects bytes that are not a model, naming the problem', () => {
    expect(() => decodeOnnxModel(new TextEncoder().encode('{"not": "onnx"}'))).toThrow(OnnxReadError);
    expect(() => decodeOnnxModel(Uint8Array.from([0x3a, 0x05, 1]))).toThrow(/overruns its message at byte 2/);
  });
});

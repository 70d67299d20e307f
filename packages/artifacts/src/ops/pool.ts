// MaxPool (floor or ceil mode), AveragePool (floor mode; count_include_pad either way), GlobalAveragePool.

import { type GraphBuilder, type Value, attr } from '../graph.js';
import { convOutDim } from '../shapes.js';
import { explicitPads } from './conv.js';
import { type OpContext, type OpImporter, op } from './types.js';

function poolGeometry(c: OpContext, spatial: readonly number[], allowCeil = false) {
  const kernel = c.attrInts('kernel_shape');
  if (kernel.length !== spatial.length) c.fail('kernel_shape', `${spatial.length} values`, kernel);
  const strides = c.attrInts('strides', kernel.map(() => 1));
  const dilations = c.attrInts('dilations', kernel.map(() => 1));
  if (dilations.some((d) => d !== 1)) c.fail('dilations', 'all 1', dilations);
  const ceil = c.attrInt('ceil_mode', 0) !== 0;
  if (ceil && !allowCeil) c.fail('ceil_mode', '0 (floor; export with ceil_mode=False)', 1);
  const pads = explicitPads(c, spatial, kernel, strides, dilations);
  if (ceil) {
    // Ceil mode = floor mode with extra end padding (−∞ for MaxPool) covering the last,
    // partial window; a window starting inside the end padding is dropped (ONNX/torch rule).
    const nsp = spatial.length;
    spatial.forEach((d, i) => {
      const span = d + pads[i] + pads[nsp + i] - kernel[i];
      let out = Math.ceil(span / strides[i]) + 1;
      if ((out - 1) * strides[i] >= d + pads[i]) out--;
      pads[nsp + i] += Math.max(0, (out - 1) * strides[i] + kernel[i] - (d + pads[i] + pads[nsp + i]));
    });
  }
  return { kernel, strides, pads };
}

export const maxPool: OpImporter = op('MaxPool', (c) => {
  const x = c.value(0);
  if (c.attrInt('storage_order', 0) !== 0) c.fail('storage_order', '0', c.attrInt('storage_order', 0));
  if (c.node.outputs.length > 1 && c.node.outputs[1] !== '') c.fail('outputs', 'one output (no Indices)', c.node.outputs.length);
  return [c.g.maxPool(x, poolGeometry(c, x.shape.slice(2), true))];
});

/**
 * The zero Pad feeding `x`, if `x` is the output of a builder Pad that pads only spatial axes:
 * its input and spatial pads. torch exports AvgPool2d(padding=p, count_include_pad=True) as
 * Pad + AveragePool; the training runtime's Pad fusion folds that Pad into the pool without
 * counting the padding (measured: 2 % off in onnxruntime-web 1.19.2), so it is re-expressed
 * as one AveragePool with count_include_pad = 1, which is what it means.
 */
function zeroPadBefore(g: GraphBuilder, x: Value): { source: Value; pads: number[] } | undefined {
  const pad = g.producer(x.name);
  if (!pad || pad.opType !== 'Pad' || pad.inputs.length > 2) return undefined;
  const spec = g.constantData(pad.inputs[1]);
  if (!spec) return undefined;
  const pads = Array.from(spec.data as BigInt64Array, Number);
  const r = x.shape.length;
  if (pads[0] || pads[1] || pads[r] || pads[r + 1] || pads.some((p) => p < 0)) return undefined;
  return { source: g.value(pad.inputs[0]), pads: [...pads.slice(2, r), ...pads.slice(r + 2)] };
}

export const averagePool: OpImporter = op('AveragePool', (c) => {
  let x = c.value(0);
  let { kernel, strides, pads } = poolGeometry(c, x.shape.slice(2));
  let includePad = c.attrInt('count_include_pad', 0);
  const padded = pads.every((p) => p === 0) ? zeroPadBefore(c.g, x) : undefined;
  if (padded) {
    x = padded.source;
    pads = padded.pads;
    includePad = 1;
  }
  const nsp = kernel.length;
  const out = [x.shape[0], x.shape[1], ...kernel.map((k, i) => convOutDim(x.shape[2 + i], k, strides[i], pads[i], pads[nsp + i], 1))];
  return c.g.node('AveragePool', [x], [{ dtype: 'float32', shape: out }], {
    kernel_shape: attr.ints(kernel),
    strides: attr.ints(strides),
    pads: attr.ints(pads),
    count_include_pad: attr.int(includePad),
  });
});

export const globalAveragePool: OpImporter = op('GlobalAveragePool', (c) => {
  const x = c.value(0);
  return [c.g.reduceMean(x, x.shape.slice(2).map((_, i) => i + 2), true)];
});

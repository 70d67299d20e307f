// LayerNormalization (opset 17; torch.nn.LayerNorm's export): normalised over the axes from
// `axis` to the last, then scale (and bias), written with builder ops so autodiff handles it.

import { type OpImporter, op } from './types.js';

export const layerNormalization: OpImporter = op(
  'LayerNormalization',
  (c) => {
    const { g } = c;
    const x = c.value(0);
    const r = x.shape.length;
    const axis = c.attrInt('axis', -1);
    const first = axis < 0 ? axis + r : axis;
    const axes = Array.from({ length: r - first }, (_, i) => first + i);
    const centred = g.sub(x, g.reduceMean(x, axes, true));
    const variance = g.reduceMean(g.mul(centred, centred), axes, true);
    let y = g.div(centred, g.sqrt(g.add(variance, c.attrFloat('epsilon', 1e-5))));
    y = g.mul(y, c.value(1, 'weight'));
    if (c.has(2)) y = g.add(y, c.value(2, 'weight'));
    if (c.node.outputs.length > 1 && c.node.outputs.slice(1).some((o) => o !== '')) c.fail('outputs', 'Y only (no Mean / InvStdDev outputs)', c.node.outputs);
    return [y];
  },
  17,
);

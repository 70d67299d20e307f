// Resize as torch exports F.interpolate: nearest (asymmetric, floor) and bilinear
// (half_pixel, align_corners=False). Its gradient is lowered in autodiff.ts (ORT has no ResizeGrad).

import { type OpImporter, op } from './types.js';

export const resize: OpImporter = op(
  'Resize',
  (c) => {
    const x = c.value(0);
    if (x.shape.length !== 4) c.fail('input rank', '4 (NCHW)', x.shape.length);
    let sizes: number[];
    if (c.has(3)) sizes = c.ints(3, 'sizes');
    else if (c.has(2)) sizes = c.floats(2, 'scales').map((s, i) => Math.floor(x.shape[i] * s));
    else return c.fail('inputs', 'scales or sizes', 'neither');
    if (sizes.length !== 4 || sizes[0] !== x.shape[0] || sizes[1] !== x.shape[1]) c.fail('output size', 'N and C unchanged (spatial resize only)', sizes);
    if (c.attrInt('antialias', 0) !== 0) c.fail('antialias', '0', 1);
    const mode = c.attrString('mode', 'nearest');
    const ctm = c.attrString('coordinate_transformation_mode', 'half_pixel');
    if (mode === 'nearest') {
      const nearest = c.attrString('nearest_mode', 'round_prefer_floor');
      if (ctm !== 'asymmetric' || nearest !== 'floor') c.fail('nearest resize', "coordinate_transformation_mode 'asymmetric' with nearest_mode 'floor' (torch's 'nearest')", `${ctm} / ${nearest}`);
    } else if (mode === 'linear') {
      const halfPixel = ctm === 'half_pixel' || (ctm === 'pytorch_half_pixel' && sizes[2] > 1 && sizes[3] > 1);
      if (!halfPixel) c.fail('linear resize', "coordinate_transformation_mode 'half_pixel' (torch align_corners=False)", ctm);
    } else {
      c.fail('mode', "'nearest' or 'linear'", mode);
    }
    return [c.g.resize(x, { mode: mode as 'nearest' | 'linear', sizes: sizes.slice(2) })];
  },
  13,
);

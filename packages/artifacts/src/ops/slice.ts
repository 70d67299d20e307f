// Slice (bounds known at import time) and Gather (constant indices), both folded on 1-D
// shape vectors.

import { resolveSlice } from '../shapes.js';
import { folded, numbers } from './fold.js';
import { type OpImporter, op } from './types.js';

export const slice: OpImporter = op('Slice', (c) => {
  const starts = c.ints(1, 'starts');
  const ends = c.ints(2, 'ends');
  const f = c.folded(0);
  const rank = f && c.allFolded() ? f.dims.length : c.value(0).shape.length;
  const axes = c.has(3) ? c.ints(3, 'axes') : starts.map((_, i) => i);
  const steps = c.has(4) ? c.ints(4, 'steps') : starts.map(() => 1);
  // Exporters write INT64_MAX/MIN for "to the end"; clamp to a safe integer range.
  const clamp = (v: number) => Math.max(Math.min(v, 2 ** 31 - 1), -(2 ** 31));
  if (f && c.allFolded() && rank === 1) {
    const s = resolveSlice(f.dims[0], clamp(starts[0]), clamp(ends[0]), steps[0]);
    const v = numbers(f);
    const out = Array.from({ length: s.length }, (_, i) => v[s.start + i * s.step]);
    return [folded(f.dtype, [out.length], out)];
  }
  return [c.g.slice(c.value(0), starts.map(clamp), ends.map(clamp), axes, steps)];
});

export const gather: OpImporter = op('Gather', (c) => {
  const data = c.folded(0);
  const idx = c.folded(1);
  const axis = c.attrInt('axis', 0);
  if (data && idx && c.allFolded() && data.dims.length === 1) {
    const v = numbers(data);
    const out = numbers(idx).map((i) => v[i < 0 ? i + v.length : i]);
    return [folded(data.dtype, idx.dims, out)];
  }
  return [c.g.gather(c.value(0), c.value(1), axis)];
});

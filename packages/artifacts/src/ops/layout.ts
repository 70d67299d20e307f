// Transpose, Expand, Pad (constant zero) and ReduceMean / ReduceSum.

import { type OpContext, type OpImporter, op } from './types.js';

export const transpose: OpImporter = op('Transpose', (c) => {
  const x = c.value(0);
  const perm = c.attrInts('perm', x.shape.map((_, i) => x.shape.length - 1 - i));
  return [c.g.transpose(x, perm)];
});

export const expand: OpImporter = op('Expand', (c) => [c.g.expand(c.value(0), c.ints(1, 'shape'))]);

export const pad: OpImporter = op('Pad', (c) => {
  const x = c.value(0);
  const mode = c.attrString('mode', 'constant');
  if (mode !== 'constant') c.fail('mode', "'constant'", mode);
  if (c.has(2) && c.floats(2, 'constant_value')[0] !== 0) c.fail('constant_value', '0', c.floats(2, 'constant_value')[0]);
  let pads = c.ints(1, 'pads');
  if (c.has(3)) {
    // opset 18 axes: expand to every axis.
    const r = x.shape.length;
    const axes = c.ints(3, 'axes').map((a) => (a < 0 ? a + r : a));
    const full = new Array<number>(2 * r).fill(0);
    axes.forEach((a, i) => {
      full[a] = pads[i];
      full[r + a] = pads[axes.length + i];
    });
    pads = full;
  }
  if (pads.some((p) => p < 0)) c.fail('pads', 'non-negative pads (use Slice to crop)', pads);
  return [pads.every((p) => p === 0) ? x : c.g.pad(x, pads)];
});

function reduceAxes(c: OpContext, rank: number): number[] | undefined {
  const axes = c.has(1) ? c.ints(1, 'axes') : c.node.attributes.axes?.type === 'ints' ? c.attrInts('axes') : undefined;
  if (axes === undefined || axes.length === 0) return c.attrInt('noop_with_empty_axes', 0) ? [] : Array.from({ length: rank }, (_, i) => i);
  return axes.map((a) => (a < 0 ? a + rank : a));
}

export const reduceMean: OpImporter = op('ReduceMean', (c) => {
  const x = c.value(0);
  const axes = reduceAxes(c, x.shape.length)!;
  return [axes.length === 0 ? x : c.g.reduceMean(x, axes, c.attrInt('keepdims', 1) === 1)];
});

export const reduceSum: OpImporter = op('ReduceSum', (c) => {
  const x = c.value(0);
  const axes = reduceAxes(c, x.shape.length)!;
  return [axes.length === 0 ? x : c.g.reduceSum(x, axes, c.attrInt('keepdims', 1) === 1)];
});

export const depthToSpace: OpImporter = op('DepthToSpace', (c) => {
  const mode = c.attrString('mode', 'DCR');
  if (mode !== 'DCR' && mode !== 'CRD') c.fail('mode', "'DCR' or 'CRD'", mode);
  return [c.g.depthToSpace(c.value(0), c.attrInt('blocksize', 1), mode as 'DCR' | 'CRD')];
});

export const spaceToDepth: OpImporter = op('SpaceToDepth', (c) => [c.g.spaceToDepth(c.value(0), c.attrInt('blocksize', 1))]);

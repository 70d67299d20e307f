// Conv and ConvTranspose (grouped and dilated included; auto_pad resolved to explicit pads).

import type { Value } from '../graph.js';
import { type OpContext, type OpImporter, op } from './types.js';

/** Explicit [begins..., ends...] pads of a conv-like node, resolving auto_pad against static shapes. */
export function explicitPads(c: OpContext, inSpatial: readonly number[], kernel: readonly number[], strides: readonly number[], dilations: readonly number[]): number[] {
  const nsp = inSpatial.length;
  const autoPad = c.attrString('auto_pad', 'NOTSET');
  if (autoPad === 'NOTSET') return c.attrInts('pads', new Array<number>(2 * nsp).fill(0));
  if (autoPad === 'VALID') return new Array<number>(2 * nsp).fill(0);
  if (autoPad !== 'SAME_UPPER' && autoPad !== 'SAME_LOWER') c.fail('auto_pad', 'NOTSET, VALID, SAME_UPPER or SAME_LOWER', autoPad);
  const begins: number[] = [];
  const ends: number[] = [];
  inSpatial.forEach((d, i) => {
    const out = Math.ceil(d / strides[i]);
    const total = Math.max(0, (out - 1) * strides[i] + dilations[i] * (kernel[i] - 1) + 1 - d);
    const small = Math.floor(total / 2);
    begins.push(autoPad === 'SAME_UPPER' ? small : total - small);
    ends.push(autoPad === 'SAME_UPPER' ? total - small : small);
  });
  return [...begins, ...ends];
}

function geometry(c: OpContext, x: Value, w: Value) {
  const nsp = x.shape.length - 2;
  const kernel = w.shape.slice(2);
  const strides = c.attrInts('strides', new Array<number>(nsp).fill(1));
  const dilations = c.attrInts('dilations', new Array<number>(nsp).fill(1));
  const pads = explicitPads(c, x.shape.slice(2), kernel, strides, dilations);
  return { nsp, kernel, strides, dilations, pads, group: c.attrInt('group', 1) };
}

export const conv: OpImporter = op('Conv', (c) => {
  const x = c.value(0);
  const w = c.value(1, 'weight');
  const b = c.has(2) ? c.value(2, 'weight') : undefined;
  const { strides, pads, dilations, group } = geometry(c, x, w);
  return [c.g.conv(x, w, b, { strides, pads, dilations, group })];
});

export const convTranspose: OpImporter = op('ConvTranspose', (c) => {
  const x = c.value(0);
  const w = c.value(1, 'weight');
  const b = c.has(2) ? c.value(2, 'weight') : undefined;
  const { nsp, kernel, strides, dilations, group } = geometry(c, x, w);
  if (c.attrString('auto_pad', 'NOTSET') !== 'NOTSET') c.fail('auto_pad', 'NOTSET (explicit pads)', c.attrString('auto_pad', ''));
  const pads = c.attrInts('pads', new Array<number>(2 * nsp).fill(0));
  let outputPadding = c.attrInts('output_padding', new Array<number>(nsp).fill(0));
  const outputShape = c.attrInts('output_shape');
  if (outputShape.length > 0) {
    // The spec's output_shape: pads/output padding follow from the requested size.
    const target = outputShape.slice(-nsp);
    outputPadding = target.map((t, i) => t - (strides[i] * (x.shape[2 + i] - 1) + dilations[i] * (kernel[i] - 1) + 1 - pads[i] - pads[nsp + i]));
    if (outputPadding.some((p) => p < 0)) c.fail('output_shape', 'a size reachable with the given pads', outputShape);
  }
  return [c.g.convTranspose(x, w, b, { strides, pads, dilations, group, outputPadding })];
});

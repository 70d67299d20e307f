// Convolutions of a training step in ONNX Runtime's blocked channel layout (NCHWc). ORT's own
// NCHWc layout transformer only rewrites convolutions whose weights are constant initializers
// (it reorders them once, at load time); in a training step the weights are graph inputs that
// change every step, so every convolution stays on the generic im2col + GEMM path. This pass
// does the rewrite itself: the weight is reordered in the graph (a Reshape/Transpose of a few
// thousand floats per step) and the activations go through ORT's ReorderInput/ReorderOutput
// around a `com.microsoft.nchwc` Conv, whose direct AVX2/AVX-512 kernels beat im2col + GEMM on
// the small channel counts of the reference models even with the two reorders.
//
// The block size is the CPU's (MLAS: 8 with AVX2, 16 with AVX-512), so the native engine
// probes it from onnxruntime-node before building the step (see @omnidistill/train).

import { OmniRangeError } from '@omnidistill/core';
import type { AttributeValue, ModelDef, NodeDef, TensorData, ValueInfo } from './onnx.js';

export const NCHWC_DOMAIN = 'com.microsoft.nchwc';

/** Static shape of a tensor the model declares (input, initializer or value_info), or undefined. */
function shapeTable(model: ModelDef): Map<string, readonly number[]> {
  const shapes = new Map<string, readonly number[]>();
  const add = (v: ValueInfo) => {
    if (v.type.kind === 'tensor') shapes.set(v.name, v.type.shape);
  };
  model.inputs.forEach(add);
  model.outputs.forEach(add);
  model.valueInfo.forEach(add);
  model.initializers.forEach((t: TensorData) => shapes.set(t.name, t.dims));
  return shapes;
}

function ints(node: NodeDef, name: string): readonly number[] | undefined {
  const a = node.attributes[name];
  return a?.type === 'ints' ? a.value : undefined;
}

function roundUp(n: number, block: number): number {
  return Math.ceil(n / block) * block;
}

/** Which weight layout an eligible Conv needs, or null when it stays a plain Conv. */
function layoutOf(node: NodeDef, x: readonly number[] | undefined, w: readonly number[] | undefined, block: number): 'blocked' | 'nchw-input' | null {
  if (node.opType !== 'Conv' || node.domain !== '' || !x || !w || x.length !== 4 || w.length !== 4) return null;
  const group = node.attributes.group;
  if (group && !(group.type === 'int' && group.value === 1)) return null;
  const autoPad = node.attributes.auto_pad;
  if (autoPad && !(autoPad.type === 'string' && autoPad.value === 'NOTSET')) return null;
  const c = w[1];
  if (x[1] !== c) return null;
  // MLAS's NCHW algorithm: few input channels (an RGB image) read straight from NCHW.
  if (c < block) return 'nchw-input';
  // ReorderInput pads the channels up to a whole block but needs a multiple of 4.
  return c % 4 === 0 ? 'blocked' : null;
}

/**
 * Rewrites every group-1 2-D Conv (input channels fewer than `block` or a multiple of 4) into
 * ORT's NCHWc Conv with its weight zero-padded to whole channel blocks and reordered in-graph. Node names keep the original name before a `/`, so per-node profiles
 * still attribute them to the part of the step the Conv belonged to. The result only loads in
 * onnxruntime with the CPU provider on a machine whose MLAS block size is `block`.
 *
 * @example
 * const model = nchwcConvolutions(g.toModel({ paramsAs: 'inputs' }), 16);
 */
export function nchwcConvolutions(model: ModelDef, block: number): ModelDef {
  if (!Number.isInteger(block) || block < 4 || (block & (block - 1)) !== 0) throw new OmniRangeError('nchwcConvolutions: block', 'a power of two ≥ 4 (the MLAS NCHWc block size)', block);
  const shapes = shapeTable(model);
  const nodes: NodeDef[] = [];
  const extraInfo: ValueInfo[] = [];
  const initializers: TensorData[] = [...model.initializers];
  let rewritten = 0;
  // A Conv whose only reader is a Relu takes the Relu into the NCHWc kernel (its `activation`),
  // as ORT's Conv + Relu fusion would have done for the plain Conv.
  const readers = new Map<string, NodeDef[]>();
  for (const n of model.nodes) for (const i of n.inputs) readers.set(i, [...(readers.get(i) ?? []), n]);
  const graphOutputs = new Set(model.outputs.map((o) => o.name));
  const fusedRelus = new Set<NodeDef>();
  const shapeConst = (name: string, dims: readonly number[]): string => {
    initializers.push({ name, dtype: 'int64', dims: [dims.length], data: BigInt64Array.from(dims.map(BigInt)) });
    return name;
  };
  const info = (name: string, shape: readonly number[]) => extraInfo.push({ name, type: { kind: 'tensor', dtype: 'float32', shape } });
  for (const node of model.nodes) {
    const [xName, wName, bName] = node.inputs;
    const x = shapes.get(xName);
    const w = shapes.get(wName);
    const layout = layoutOf(node, x, w, block);
    const y = shapes.get(node.outputs[0]);
    if (fusedRelus.has(node)) continue;
    if (!layout || !x || !w || !y) {
      nodes.push(node);
      continue;
    }
    const only = readers.get(node.outputs[0]);
    const relu = only?.length === 1 && only[0].opType === 'Relu' && only[0].domain === '' && !graphOutputs.has(node.outputs[0]) ? only[0] : undefined;
    if (relu) fusedRelus.add(relu);
    rewritten++;
    const [o, c, kh, kw] = w;
    const id = `${node.name}/nchwc`;
    // Channels padded with zeros to whole blocks (ReorderInput pads the input the same way;
    // ReorderOutput drops the padded output channels).
    const op = roundUp(o, block);
    const cp = layout === 'blocked' ? roundUp(c, block) : c;
    let weight = wName;
    if (op !== o || cp !== c) {
      weight = `${id}/w_padded`;
      nodes.push({ opType: 'Pad', domain: '', inputs: [wName, shapeConst(`${id}/w_pads`, [0, 0, 0, 0, op - o, cp - c, 0, 0])], outputs: [weight], attributes: {}, name: `${id}/w_pad_node` });
      info(weight, [op, cp, kh, kw]);
    }
    let bias = bName;
    if (bName && op !== o) {
      bias = `${id}/b_padded`;
      nodes.push({ opType: 'Pad', domain: '', inputs: [bName, shapeConst(`${id}/b_pads`, [0, op - o])], outputs: [bias], attributes: {}, name: `${id}/b_pad_node` });
      info(bias, [op]);
    }
    // Weight: OIHW → OIHWBiBo ([O/B, C/B, kh, kw, Bi, Bo]) or OIHWBo ([O/B, C, kh, kw, Bo]), viewed as [O, C, kh, kw].
    const split = layout === 'blocked' ? [op / block, block, cp / block, block, kh, kw] : [op / block, block, cp, kh, kw];
    const perm = layout === 'blocked' ? [0, 2, 4, 5, 3, 1] : [0, 2, 3, 4, 1];
    const wSplit = `${id}/w_split`, wPerm = `${id}/w_perm`, wBlocked = `${id}/w`;
    nodes.push({ opType: 'Reshape', domain: '', inputs: [weight, shapeConst(`${id}/w_split_shape`, split)], outputs: [wSplit], attributes: {}, name: `${id}/w_split_node` });
    nodes.push({ opType: 'Transpose', domain: '', inputs: [wSplit], outputs: [wPerm], attributes: { perm: { type: 'ints', value: perm } }, name: `${id}/w_perm_node` });
    nodes.push({ opType: 'Reshape', domain: '', inputs: [wPerm, shapeConst(`${id}/w_shape`, [op, cp, kh, kw])], outputs: [wBlocked], attributes: {}, name: `${id}/w_node` });
    info(wSplit, split);
    info(wPerm, perm.map((p) => split[p]));
    info(wBlocked, [op, cp, kh, kw]);
    let input = xName;
    if (layout === 'blocked') {
      input = `${id}/x`;
      nodes.push({ opType: 'ReorderInput', domain: NCHWC_DOMAIN, inputs: [xName], outputs: [input], attributes: {}, name: `${id}/x_node` });
      info(input, [x[0], cp, x[2], x[3]]);
    }
    const attributes: Record<string, AttributeValue> = { kernel_shape: { type: 'ints', value: [kh, kw] } };
    if (relu) attributes.activation = { type: 'string', value: 'Relu' };
    for (const a of ['strides', 'pads', 'dilations']) {
      const v = ints(node, a);
      if (v) attributes[a] = { type: 'ints', value: v };
    }
    const blockedOut = `${id}/y`;
    nodes.push({ opType: 'Conv', domain: NCHWC_DOMAIN, inputs: bias ? [input, wBlocked, bias] : [input, wBlocked], outputs: [blockedOut], attributes, name: `${id}/conv` });
    info(blockedOut, [y[0], op, y[2], y[3]]);
    nodes.push({ opType: 'ReorderOutput', domain: NCHWC_DOMAIN, inputs: [blockedOut], outputs: [relu ? relu.outputs[0] : node.outputs[0]], attributes: { channels: { type: 'int', value: o } }, name: `${id}/y_node` });
  }
  if (rewritten === 0) return model;
  const opsets = model.opsets.some((s) => s.domain === NCHWC_DOMAIN) ? model.opsets : [...model.opsets, { domain: NCHWC_DOMAIN, version: 1 }];
  return { ...model, nodes, initializers, valueInfo: [...model.valueInfo, ...extraInfo], opsets };
}

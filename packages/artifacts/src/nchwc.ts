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

/** The Transpose(T, [1, 0, 2, 3]) producing a Conv's weight, when that Conv is its only reader. */
function transposedWeightSource(producer: NodeDef | undefined, weightReaders: readonly NodeDef[] | undefined): NodeDef | undefined {
  if (!producer || producer.opType !== 'Transpose' || producer.domain !== '' || weightReaders?.length !== 1) return undefined;
  const perm = ints(producer, 'perm');
  return perm && perm.join(',') === '1,0,2,3' ? producer : undefined;
}

/**
 * [top, left, bottom, right] of a Pad that adds zeros around H and W of a 4-D tensor and
 * nothing else (constant mode, default value, pads from an initializer), or undefined.
 */
function spatialZeroPads(pad: NodeDef | undefined, initializers: ReadonlyMap<string, TensorData>): number[] | undefined {
  if (!pad || pad.opType !== 'Pad' || pad.domain !== '' || pad.inputs.length > 2) return undefined;
  const mode = pad.attributes.mode;
  if (mode && !(mode.type === 'string' && mode.value === 'constant')) return undefined;
  const t = initializers.get(pad.inputs[1]);
  if (!t || !(t.data instanceof BigInt64Array) || t.data.length !== 8) return undefined;
  const [n0, c0, h0, w0, n1, c1, h1, w1] = Array.from(t.data, Number);
  return n0 === 0 && c0 === 0 && n1 === 0 && c1 === 0 && [h0, w0, h1, w1].every((v) => v >= 0) ? [h0, w0, h1, w1] : undefined;
}

/**
 * Rewrites every group-1 2-D Conv (input channels fewer than `block` or a multiple of 4) into
 * ORT's NCHWc Conv with its weight zero-padded to whole channel blocks and reordered in-graph. Node names keep the original name before a `/`, so per-node profiles
 * still attribute them to the part of the step the Conv belonged to. A zero Pad of H and W that
 * only feeds such a Conv (a weight gradient's Xᵀ) moves behind the reorder: ReorderInput of the
 * unpadded tensor, then a depthwise 1 × 1 NCHWc convolution by ones with that padding — exact,
 * and on all of ORT's threads where its Pad runs on one; and where that Xᵀ is a [1, 0, 2, 3]
 * Transpose of a batch of exactly one block, X viewed as [1, N, C·H, W] reorders straight to
 * it (no Transpose). The result only loads in
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
  const producers = new Map<string, NodeDef>();
  for (const n of model.nodes) for (const o of n.outputs) producers.set(o, n);
  // Transposes folded into the blocked weight of the Conv that was their only reader.
  const skippedTransposes = new Set<NodeDef>();
  const fusedRelus = new Set<NodeDef>();
  // Pads done in the blocked layout instead (see blockedPadded).
  const skippedPads = new Set<NodeDef>();
  const initializerByName = new Map(model.initializers.map((t) => [t.name, t]));
  const shapeConst = (name: string, dims: readonly number[]): string => {
    initializers.push({ name, dtype: 'int64', dims: [dims.length], data: BigInt64Array.from(dims.map(BigInt)) });
    return name;
  };
  const info = (name: string, shape: readonly number[]) => extraInfo.push({ name, type: { kind: 'tensor', dtype: 'float32', shape } });
  // X of `source` = Transpose(X, [1, 0, 2, 3]) when X's batch is exactly one channel block and
  // the transpose feeds nothing else (a weight gradient's Xᵀ at a batch of `block`).
  const batchSwapSource = (source: string): { x: string; shape: readonly number[]; transpose: NodeDef } | undefined => {
    const t = producers.get(source);
    const x = t?.inputs[0];
    const shape = x === undefined ? undefined : shapes.get(x);
    if (!t || t.opType !== 'Transpose' || t.domain !== '' || ints(t, 'perm')?.join(',') !== '1,0,2,3') return undefined;
    if (!shape || shape.length !== 4 || shape[0] !== block || readers.get(source)?.length !== 1 || graphOutputs.has(source)) return undefined;
    return { x: x!, shape, transpose: t };
  };
  // ReorderInput of each tensor once: a weight gradient's dY is also its input gradient's input.
  const blockedInputs = new Map<string, string>();
  const reordered = (source: string, prefix: string, shape: readonly number[]): string => {
    const known = blockedInputs.get(source);
    if (known) return known;
    const out = `${prefix}_blocked`;
    const swapped = batchSwapSource(source);
    if (swapped) {
      // source = Transpose(X, [1, 0, 2, 3]) with X [N, C, H, W] and N one whole block: X viewed
      // as one image of N channels of C·H rows is reordered to [(c, h), w, n], which is the
      // blocked source [C, N/block = 1, H, W, n] already: one pass instead of ORT's Transpose
      // and then the reorder (it runs on one thread, as that Transpose did: ORT splits a
      // reorder by image and channel block, and this view is one of each).
      const [n, c, h, w] = swapped.shape;
      const view = `${prefix}_batch_view`, blocked = `${prefix}_batch_blocked`;
      nodes.push({ opType: 'Reshape', domain: '', inputs: [swapped.x, shapeConst(`${prefix}_batch_view_shape`, [1, n, c * h, w])], outputs: [view], attributes: {}, name: `${prefix}_batch_view_node` });
      nodes.push({ opType: 'ReorderInput', domain: NCHWC_DOMAIN, inputs: [view], outputs: [blocked], attributes: {}, name: `${prefix}_node` });
      nodes.push({ opType: 'Reshape', domain: '', inputs: [blocked, shapeConst(`${prefix}_shape`, shape)], outputs: [out], attributes: {}, name: `${prefix}_batch_swap_node` });
      info(view, [1, n, c * h, w]);
      info(blocked, [1, n, c * h, w]);
      skippedTransposes.add(swapped.transpose);
    } else {
      nodes.push({ opType: 'ReorderInput', domain: NCHWC_DOMAIN, inputs: [source], outputs: [out], attributes: {}, name: `${prefix}_node` });
    }
    info(out, shape);
    blockedInputs.set(source, out);
    return out;
  };
  // `source` zero-padded by `pads` ([top, left, bottom, right]) as blocked tensor `shape`: the
  // unpadded tensor reordered, then padded by a depthwise 1 × 1 convolution by ones (x·1 is x).
  const blockedPadded = (source: string, prefix: string, unpadded: readonly number[], pads: readonly number[], shape: readonly number[]): string => {
    const channels = unpadded[1];
    const ones = `nchwc_ones_${channels}`;
    if (!initializerByName.has(ones)) {
      const t: TensorData = { name: ones, dtype: 'float32', dims: [channels, 1, 1, 1], data: new Float32Array(channels).fill(1) };
      initializers.push(t);
      initializerByName.set(ones, t);
    }
    const out = `${prefix}_padded`;
    const attributes: Record<string, AttributeValue> = { kernel_shape: { type: 'ints', value: [1, 1] }, pads: { type: 'ints', value: pads }, group: { type: 'int', value: channels } };
    nodes.push({ opType: 'Conv', domain: NCHWC_DOMAIN, inputs: [reordered(source, prefix, unpadded), ones], outputs: [out], attributes, name: `${prefix}_pad_node` });
    info(out, shape);
    return out;
  };
  // `source` viewed as `split`, transposed by `perm` and viewed as `shape` (the blocked weight `${prefix}`).
  const permuted = (prefix: string, source: string, split: readonly number[], perm: readonly number[], shape: readonly number[]): string => {
    const splitName = `${prefix}_split`, permName = `${prefix}_perm`, out = `${prefix}_blocked_weight`;
    nodes.push({ opType: 'Reshape', domain: '', inputs: [source, shapeConst(`${prefix}_split_shape`, split)], outputs: [splitName], attributes: {}, name: `${prefix}_split_node` });
    nodes.push({ opType: 'Transpose', domain: '', inputs: [splitName], outputs: [permName], attributes: { perm: { type: 'ints', value: perm } }, name: `${prefix}_perm_node` });
    nodes.push({ opType: 'Reshape', domain: '', inputs: [permName, shapeConst(`${prefix}_shape`, shape)], outputs: [out], attributes: {}, name: `${prefix}_node` });
    info(splitName, split);
    info(permName, perm.map((p) => split[p]));
    info(out, shape);
    return out;
  };
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
    // A zero Pad of H and W whose only reader is this Conv is done after the reorder.
    const padNode = producers.get(xName);
    const pads = readers.get(xName)?.length === 1 && !graphOutputs.has(xName) ? spatialZeroPads(padNode, initializerByName) : undefined;
    const padSource = padNode && pads ? shapes.get(padNode.inputs[0]) : undefined;
    const blockedInput = (): string => {
      if (!padNode || !pads || !padSource || padSource.length !== 4) return reordered(xName, `${id}/x`, [x[0], cp, x[2], x[3]]);
      skippedPads.add(padNode);
      return blockedPadded(padNode.inputs[0], `${id}/x`, [padSource[0], cp, padSource[2], padSource[3]], pads, [x[0], cp, x[2], x[3]]);
    };
    const emitConv = (wBlocked: string): void => {
      let bias = bName;
      if (bName && op !== o) {
        bias = `${id}/b_padded`;
        nodes.push({ opType: 'Pad', domain: '', inputs: [bName, shapeConst(`${id}/b_pads`, [0, op - o])], outputs: [bias], attributes: {}, name: `${id}/b_pad_node` });
        info(bias, [op]);
      }
      const input = layout === 'blocked' ? blockedInput() : xName;
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
    };
    const wT = !graphOutputs.has(wName) ? transposedWeightSource(producers.get(wName), readers.get(wName)) : undefined;
    if (wT) {
      // W = Transpose(T, [1, 0, 2, 3]) (a weight gradient's dYᵀ): ReorderInput blocks T's axis 1
      // (W's output channels, zero-padded) with its fast kernel, and a transpose that moves
      // whole 64-byte blocks puts T's axis 0 (W's input channels) in place: no element-wise
      // 6-D transpose and no separate [1, 0, 2, 3] transpose.
      const t = wT.inputs[0];
      let tIn = t;
      // ReorderInput takes channel counts that are multiples of 4; T's axis 0 must fill whole blocks.
      const o4 = roundUp(o, 4);
      if (cp !== c || o4 !== o) {
        tIn = `${id}/t_padded`;
        nodes.push({ opType: 'Pad', domain: '', inputs: [t, shapeConst(`${id}/t_pads`, [0, 0, 0, 0, cp - c, o4 - o, 0, 0])], outputs: [tIn], attributes: {}, name: `${id}/t_pad_node` });
        info(tIn, [cp, o4, kh, kw]);
      }
      const tBlocked = reordered(tIn, `${id}/t_reorder`, [cp, op, kh, kw]);
      const split = layout === 'blocked' ? [cp / block, block, op / block, kh, kw, block] : [cp, op / block, kh, kw, block];
      const perm = layout === 'blocked' ? [2, 0, 3, 4, 1, 5] : [1, 0, 2, 3, 4];
      skippedTransposes.add(wT);
      emitConv(permuted(`${id}/t`, tBlocked, split, perm, [op, cp, kh, kw]));
      continue;
    }
    let weight = wName;
    if (op !== o || cp !== c) {
      weight = `${id}/w_padded`;
      nodes.push({ opType: 'Pad', domain: '', inputs: [wName, shapeConst(`${id}/w_pads`, [0, 0, 0, 0, op - o, cp - c, 0, 0])], outputs: [weight], attributes: {}, name: `${id}/w_pad_node` });
      info(weight, [op, cp, kh, kw]);
    }
    // Weight: OIHW → OIHWBiBo ([O/B, C/B, kh, kw, Bi, Bo]) or OIHWBo ([O/B, C, kh, kw, Bo]), viewed as [O, C, kh, kw].
    const split = layout === 'blocked' ? [op / block, block, cp / block, block, kh, kw] : [op / block, block, cp, kh, kw];
    const perm = layout === 'blocked' ? [0, 2, 4, 5, 3, 1] : [0, 2, 3, 4, 1];
    emitConv(permuted(`${id}/w`, weight, split, perm, [op, cp, kh, kw]));
  }
  if (rewritten === 0) return model;
  const kept = skippedTransposes.size + skippedPads.size === 0 ? nodes : nodes.filter((n) => !skippedTransposes.has(n) && !skippedPads.has(n));
  // A skipped Pad's pads constant goes too unless another node reads it (ORT warns about unused initializers).
  const read = new Set(kept.flatMap((n) => n.inputs));
  const padConstants = new Set([...skippedPads].map((p) => p.inputs[1]));
  const keptInitializers = initializers.filter((t) => read.has(t.name) || !padConstants.has(t.name));
  const opsets = model.opsets.some((s) => s.domain === NCHWC_DOMAIN) ? model.opsets : [...model.opsets, { domain: NCHWC_DOMAIN, version: 1 }];
  return { ...model, nodes: kept, initializers: keptInitializers, valueInfo: [...model.valueInfo, ...extraInfo], opsets };
}

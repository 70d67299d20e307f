// What a user needs to know about an ONNX model before using it as a teacher, read from the
// file alone (no session): opset, inputs/outputs, the ops whose semantics trap real exports
// (RoiAlign's alignment before/after opset 16, an input Resize inside the graph, NMS), and the
// warnings they imply. `omnidistill inspect` prints it; `check-model` and `label` act on it.
import { allNodes, decodeOnnxModel, defaultOpset, feedInputs } from '@omnidistill/artifacts';
import type { ReadDim, ReadGraph, ReadModel, ReadNode, ReadValueInfo } from '@omnidistill/artifacts';

/** One graph input or output. */
export interface TensorInfo {
  name: string;
  /** onnxruntime's dtype name (`float32`, `int64`, …) or the container kind. */
  dtype: string;
  /** null: the exporter declared no shape. Strings are symbolic (dynamic) dimensions. */
  shape: ReadDim[] | null;
}

/**
 * One RoiAlign node and the alignment it really computes. ONNX RoiAlign before opset 16 has no
 * `coordinate_transformation_mode` and always behaves like torchvision's `aligned=False`; from
 * opset 16 the attribute defaults to `half_pixel`, i.e. `aligned=True`.
 */
export interface RoiAlignInfo {
  node: string;
  mode: string;
  /** `output_half_pixel` (aligned=False) or `half_pixel` (aligned=True). */
  coordinateTransformationMode: 'output_half_pixel' | 'half_pixel';
  /** Whether the mode was written in the graph (false: the opset's default). */
  explicit: boolean;
  spatialScale: number;
  samplingRatio: number;
  outputSize: [number, number];
}

/** A Resize/Upsample that the image input reaches with no convolution in between. */
export interface InputResizeInfo {
  node: string;
  input: string;
  mode: string;
}

export interface ModelInfo {
  producer: string;
  irVersion: number;
  /** The default-domain opset. */
  opset: number;
  opsets: { domain: string; version: number }[];
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  /** Node count per op type, including nodes inside If/Loop bodies. */
  opCounts: Record<string, number>;
  roiAligns: RoiAlignInfo[];
  inputResizes: InputResizeInfo[];
  nonMaxSuppressions: number;
  /** Things that silently cost accuracy, in words (each names the fix). */
  warnings: string[];
}

/**
 * Reads a model's structure and the traps it contains.
 *
 * @example
 * const info = modelInfo(await readFile('teacher.onnx'));
 * info.opset; info.roiAligns[0]?.coordinateTransformationMode; info.warnings;
 */
export function modelInfo(bytes: Uint8Array): ModelInfo {
  const model = decodeOnnxModel(bytes);
  const opset = defaultOpset(model);
  const nodes = allNodes(model.graph);
  const opCounts: Record<string, number> = {};
  for (const n of nodes) opCounts[n.opType] = (opCounts[n.opType] ?? 0) + 1;
  const info: ModelInfo = {
    producer: [model.producerName, model.producerVersion].filter((s) => s !== '').join(' '),
    irVersion: model.irVersion,
    opset,
    opsets: model.opsets,
    inputs: feedInputs(model.graph).map(tensorInfo),
    outputs: model.graph.outputs.map(tensorInfo),
    opCounts,
    roiAligns: nodes.filter((n) => n.opType === 'RoiAlign' && n.domain === '').map((n) => roiAlignInfo(n, opset)),
    inputResizes: inputResizes(model),
    nonMaxSuppressions: opCounts.NonMaxSuppression ?? 0,
    warnings: [],
  };
  info.warnings = modelWarnings(info);
  return info;
}

function tensorInfo(v: ReadValueInfo): TensorInfo {
  return v.type.kind === 'tensor' ? { name: v.name, dtype: v.type.dtype, shape: v.type.shape } : { name: v.name, dtype: v.type.kind, shape: null };
}

function attrString(n: ReadNode, name: string): string | undefined {
  const a = n.attributes[name];
  return a?.type === 'string' ? a.value : undefined;
}

function attrNumber(n: ReadNode, name: string, fallback: number): number {
  const a = n.attributes[name];
  return a?.type === 'int' || a?.type === 'float' ? a.value : fallback;
}

function roiAlignInfo(n: ReadNode, opset: number): RoiAlignInfo {
  const written = attrString(n, 'coordinate_transformation_mode');
  const ctm = written === 'half_pixel' || (written === undefined && opset >= 16) ? 'half_pixel' : 'output_half_pixel';
  return {
    node: n.name || n.outputs[0] || 'RoiAlign',
    mode: attrString(n, 'mode') ?? 'avg',
    coordinateTransformationMode: ctm,
    explicit: written !== undefined && opset >= 16,
    spatialScale: attrNumber(n, 'spatial_scale', 1),
    samplingRatio: attrNumber(n, 'sampling_ratio', 0),
    outputSize: [attrNumber(n, 'output_height', 1), attrNumber(n, 'output_width', 1)],
  };
}

/**
 * Ops through which the image input still "is the image" (normalisation, layout changes): a
 * Resize reached through only these resamples the input itself, before any feature is computed.
 */
const PIXEL_PRESERVING_OPS = new Set([
  'Sub', 'Div', 'Mul', 'Add', 'Cast', 'Identity', 'Unsqueeze', 'Squeeze', 'Reshape', 'Transpose', 'Pad', 'Slice', 'Concat', 'Split', 'Gather', 'Expand', 'If', 'Clip',
]);

/** Resize/Upsample nodes on the image path before any Conv (torchvision's GeneralizedRCNNTransform). */
function inputResizes(model: ReadModel): InputResizeInfo[] {
  const out: InputResizeInfo[] = [];
  const imageLike = new Set(feedInputs(model.graph).filter((v) => v.type.kind === 'tensor' && (v.type.shape?.length ?? 4) >= 3).map((v) => v.name));
  const visit = (g: ReadGraph) => {
    for (const n of g.nodes) {
      const fromImage = n.inputs.length > 0 && imageLike.has(n.inputs[0]);
      if ((n.opType === 'Resize' || n.opType === 'Upsample') && fromImage) {
        out.push({ node: n.name || n.outputs[0], input: n.inputs[0], mode: attrString(n, 'mode') ?? 'nearest' });
        n.outputs.forEach((o) => imageLike.add(o));
      } else if (PIXEL_PRESERVING_OPS.has(n.opType) && n.inputs.some((i) => imageLike.has(i))) {
        n.outputs.forEach((o) => imageLike.add(o));
      }
      // Subgraph bodies see outer values by name: walk them with the same set.
      for (const a of Object.values(n.attributes)) {
        if (a.type === 'graph') visit(a.value);
        else if (a.type === 'graphs') a.value.forEach(visit);
      }
    }
  };
  visit(model.graph);
  return out;
}

/** Whether an input has fixed spatial dimensions (the last two are numbers). */
export function fixedInputSize(t: TensorInfo): { width: number; height: number } | null {
  const s = t.shape;
  if (s === null || s.length < 3) return null;
  const h = s[s.length - 2];
  const w = s[s.length - 1];
  return typeof h === 'number' && typeof w === 'number' && h > 0 && w > 0 ? { width: w, height: h } : null;
}

function modelWarnings(info: ModelInfo): string[] {
  const out: string[] = [];
  // torchvision's detection heads (rank-3 image exports) pool with aligned=False: opset 11 is right for them.
  const torchvisionDetection = info.inputs.length === 1 && info.inputs[0].shape?.length === 3;
  for (const r of info.roiAligns) {
    if (r.explicit) continue; // the exporter wrote the mode it meant
    if (info.opset < 16 && !torchvisionDetection) {
      out.push(
        `RoiAlign "${r.node}" at opset ${info.opset} has no aligned mode: it computes torchvision's aligned=False (output_half_pixel). If the head was trained with aligned=True (roi_align(..., aligned=True), Detectron2, MMDetection) it loses most of its AP (22.0 → 9.1 in issue 13): re-export with opset_version=16 or later`,
      );
    } else if (r.coordinateTransformationMode === 'half_pixel') {
      out.push(
        `RoiAlign "${r.node}" at opset ${info.opset} computes aligned=True (half_pixel, the opset-16 default; the exporter wrote no mode). torchvision's MultiScaleRoIAlign (Faster/Mask/Keypoint R-CNN) uses aligned=False: if this head was trained that way, export at opset 11 or set coordinate_transformation_mode="output_half_pixel"`,
      );
    }
  }
  for (const r of info.inputResizes) {
    out.push(
      `Resize "${r.node}" resamples the input image inside the graph (${r.mode}) before any convolution: every scale transform is resized back to the model's own size, so only flips change what the network sees (torchvision detectors: GeneralizedRCNNTransform min_size/max_size). Use --plan flip, or export the model without its transform`,
    );
  }
  return out;
}

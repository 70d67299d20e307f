// The JSON manifest that sits beside a model (DESIGN.md "Model contract"): role, layout,
// tensor names, pixel normalisation, keypoint schema and heatmap size. Validated with errors
// that name the field, the expectation and the received value; what each layout adds is
// parsed by that layout's adapter (layouts/).
import { readFile } from 'node:fs/promises';
import {
  COCO_PERSON,
  OmniRangeError,
  OmniTypeError,
  expectFiniteNumber,
  expectInteger,
  expectOneOf,
  validateFlipPairs,
} from '@omnidistill/core';
import { DEFAULT_LAYOUT, LAYOUT_NAMES, layoutAdapter, type LayoutName } from './layouts/index.js';
import type { LayoutOptions } from './layouts/types.js';

/** The manifest format tag and version this package reads. */
export const MANIFEST_FORMAT = 'omnidistill-model';
export const MANIFEST_VERSION = 1;

export type ModelRole = 'detector' | 'keypoints';

/** sharp resize kernels allowed for test-time resizing. */
export const RESIZE_KERNELS = ['nearest', 'linear', 'cubic', 'lanczos3'] as const;
export type ResizeKernel = (typeof RESIZE_KERNELS)[number];

/** How 8-bit pixels become the model's float input: `(pixel / scale − mean[c]) / std[c]`. */
export interface PixelSpec {
  /** Channel order of the input tensor (Detectron models use "bgr"). Default "rgb". */
  channelOrder: 'rgb' | 'bgr';
  /** Divisor applied first (255 → [0, 1] inputs, 1 → raw 0..255 values). Default 255. */
  scale: number;
  /** Per-channel mean, in `channelOrder`, after dividing by `scale`. Default [0, 0, 0]. */
  mean: [number, number, number];
  /** Per-channel standard deviation, in `channelOrder`. Default [1, 1, 1]. */
  std: [number, number, number];
  /** sharp kernel used to resize for the scale transforms. Default "linear" (bilinear). */
  resizeKernel: ResizeKernel;
  /**
   * The input's height and width are padded (bottom/right, with zeros in normalised space)
   * up to a multiple of this (FPN backbones need 32). Default 1. Models with a static input
   * size are padded to that size instead.
   */
  sizeDivisor: number;
}

/** Keypoint schema of a keypoint model. */
export interface KeypointSpec {
  /** Schema name, e.g. "coco-person". */
  schema: string;
  /** Keypoint names in channel order (K). Optional for "coco-person". */
  names: string[];
  /** 0-based left/right channel pairs swapped by a horizontal flip. */
  flipPairs: [number, number][];
  /** Heatmap side M of the `[N, K, M, M]` output (`rois` layout; null for the others). */
  heatmapSize: number | null;
  /** COCO category id of the instances (default 1, COCO's person). */
  categoryId: number;
}

/** Tensor role (e.g. `image`, `heatmaps`) → the model's tensor name; the roles depend on the layout. */
export type TensorNames = Readonly<Record<string, string>>;

interface ManifestBase {
  format: typeof MANIFEST_FORMAT;
  version: typeof MANIFEST_VERSION;
  /** How the exporter's graph maps onto the internal contract (default `rois`). */
  layout: LayoutName;
  inputs: TensorNames;
  outputs: TensorNames;
  pixels: PixelSpec;
  /** The layout's own settings with their defaults (`layoutOptions` in the file). */
  layoutOptions: LayoutOptions;
}

/**
 * A detector. With the `rois` layout: `image` [1, 3, H, W] → `boxes` [D, 4] (x1, y1, x2, y2
 * in input pixels), `scores` [D], `labels` [D]; other layouts name other tensors.
 */
export interface DetectorManifest extends ManifestBase {
  role: 'detector';
  /** `categoryIds[label]` is the COCO category id of a label; absent: the label is the id. */
  categoryIds: number[] | null;
}

/**
 * A keypoint model. With the `rois` layout: `image` [1, 3, H, W] + `rois` [N, 4] →
 * `heatmaps` [N, K, M, M] logits in each RoI's frame; other layouts name other tensors.
 */
export interface KeypointManifest extends ManifestBase {
  role: 'keypoints';
  keypoints: KeypointSpec;
}

export type ModelManifest = DetectorManifest | KeypointManifest;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function expectObject(value: unknown, path: string): Record<string, unknown> {
  if (!isObject(value)) throw new OmniTypeError(path, 'an object', value);
  return value;
}

function expectName(value: unknown, path: string): string {
  if (typeof value !== 'string' || value === '') throw new OmniTypeError(path, 'a non-empty tensor name', value);
  return value;
}

function expectTriple(value: unknown, path: string, positive: boolean): [number, number, number] {
  if (!Array.isArray(value) || value.length !== 3) throw new OmniTypeError(path, 'an array of 3 numbers', value);
  value.forEach((v, i) => {
    expectFiniteNumber(v, `${path}[${i}]`);
    if (positive && v <= 0) throw new OmniRangeError(`${path}[${i}]`, 'a positive number', v);
  });
  return [value[0], value[1], value[2]];
}

function rejectUnknownKeys(obj: Record<string, unknown>, path: string, known: readonly string[]): void {
  for (const key of Object.keys(obj)) {
    if (!known.includes(key)) throw new OmniRangeError(`${path}.${key}`, `no such field (known: ${known.join(', ')})`, obj[key]);
  }
}

function parsePixels(value: unknown, path: string): PixelSpec {
  const p = value === undefined ? {} : expectObject(value, path);
  rejectUnknownKeys(p, path, ['channelOrder', 'scale', 'mean', 'std', 'resizeKernel', 'sizeDivisor']);
  const scale = p.scale === undefined ? 255 : expectFiniteNumber(p.scale, `${path}.scale`);
  if (scale <= 0) throw new OmniRangeError(`${path}.scale`, 'a positive number', scale);
  return {
    channelOrder: p.channelOrder === undefined ? 'rgb' : expectOneOf(p.channelOrder, `${path}.channelOrder`, ['rgb', 'bgr'] as const),
    scale,
    mean: p.mean === undefined ? [0, 0, 0] : expectTriple(p.mean, `${path}.mean`, false),
    std: p.std === undefined ? [1, 1, 1] : expectTriple(p.std, `${path}.std`, true),
    resizeKernel: p.resizeKernel === undefined ? 'linear' : expectOneOf(p.resizeKernel, `${path}.resizeKernel`, RESIZE_KERNELS),
    sizeDivisor: p.sizeDivisor === undefined ? 1 : expectInteger(p.sizeDivisor, `${path}.sizeDivisor`, 1),
  };
}

function parseKeypoints(value: unknown, path: string, needsHeatmapSize: boolean, layout: string): KeypointSpec {
  const k = expectObject(value, path);
  rejectUnknownKeys(k, path, ['schema', 'names', 'flipPairs', 'heatmapSize', 'categoryId']);
  if (typeof k.schema !== 'string' || k.schema === '') throw new OmniTypeError(`${path}.schema`, 'a non-empty schema name', k.schema);
  let names: string[];
  if (k.names === undefined && k.schema === COCO_PERSON.name) names = [...COCO_PERSON.keypoints];
  else {
    if (!Array.isArray(k.names) || k.names.length === 0) {
      throw new OmniTypeError(`${path}.names`, `a non-empty array of keypoint names (required unless schema is "${COCO_PERSON.name}")`, k.names);
    }
    k.names.forEach((n, i) => {
      if (typeof n !== 'string' || n === '') throw new OmniTypeError(`${path}.names[${i}]`, 'a non-empty string', n);
    });
    names = [...(k.names as string[])];
  }
  let flipPairs: [number, number][];
  if (k.flipPairs === undefined && k.schema === COCO_PERSON.name) flipPairs = COCO_PERSON.flipPairs.map(([a, b]) => [a, b]);
  else {
    validateFlipPairs(k.flipPairs as [number, number][], names.length, `${path}.flipPairs`);
    flipPairs = (k.flipPairs as [number, number][]).map(([a, b]) => [a, b]);
  }
  return {
    schema: k.schema,
    names,
    flipPairs,
    heatmapSize: parseHeatmapSize(k.heatmapSize, `${path}.heatmapSize`, needsHeatmapSize, layout),
    categoryId: k.categoryId === undefined ? 1 : expectInteger(k.categoryId, `${path}.categoryId`, 0),
  };
}

function parseHeatmapSize(value: unknown, path: string, needed: boolean, layout: string): number | null {
  if (needed) return expectInteger(value, path, 1);
  if (value !== undefined) throw new OmniRangeError(path, `no heatmapSize with layout "${layout}" (the model's output shape gives it)`, value);
  return null;
}

/** Tensor names for the roles a layout needs: every role named, no other key. */
function parseTensorNames(value: unknown, path: string, roles: readonly string[]): TensorNames {
  const obj = expectObject(value, path);
  rejectUnknownKeys(obj, path, roles);
  const names: Record<string, string> = {};
  for (const role of roles) names[role] = expectName(obj[role], `${path}.${role}`);
  return names;
}

/**
 * Validates a parsed manifest and returns it with defaults filled in.
 *
 * @example
 * parseManifest({ format: 'omnidistill-model', version: 1, role: 'keypoints',
 *   inputs: { image: 'image', rois: 'rois' }, outputs: { heatmaps: 'heatmaps' },
 *   keypoints: { schema: 'coco-person', heatmapSize: 56 } });
 */
export function parseManifest(value: unknown, path = 'manifest'): ModelManifest {
  const m = expectObject(value, path);
  if (m.format !== MANIFEST_FORMAT) throw new OmniTypeError(`${path}.format`, JSON.stringify(MANIFEST_FORMAT), m.format);
  if (m.version !== MANIFEST_VERSION) throw new OmniRangeError(`${path}.version`, String(MANIFEST_VERSION), m.version);
  const role = expectOneOf(m.role, `${path}.role`, ['detector', 'keypoints'] as const);
  const layout = m.layout === undefined ? DEFAULT_LAYOUT : expectOneOf(m.layout, `${path}.layout`, LAYOUT_NAMES);
  const adapter = layoutAdapter(layout);
  const tensors = adapter.roles[role];
  if (!tensors) {
    const roles = Object.keys(adapter.roles).join(', ');
    throw new OmniRangeError(`${path}.role`, `a role the "${layout}" layout supports (${roles})`, role);
  }
  // `training`: what `omnidistill train --model` reads (a detector's raw heads); inference ignores it.
  const common = ['format', 'version', 'role', 'layout', 'layoutOptions', 'inputs', 'outputs', 'pixels', 'training'];
  rejectUnknownKeys(m, path, role === 'detector' ? [...common, 'categoryIds'] : [...common, 'keypoints']);
  const base = {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    layout,
    inputs: parseTensorNames(m.inputs, `${path}.inputs`, tensors.inputs),
    outputs: parseTensorNames(m.outputs, `${path}.outputs`, tensors.outputs),
    pixels: parsePixels(m.pixels, `${path}.pixels`),
    layoutOptions: adapter.parseOptions(m.layoutOptions, role, `${path}.layoutOptions`),
  } as const;
  if (role === 'detector') return { ...base, role, categoryIds: parseCategoryIds(m.categoryIds, `${path}.categoryIds`) };
  return { ...base, role, keypoints: parseKeypoints(m.keypoints, `${path}.keypoints`, adapter.needsHeatmapSize, layout) };
}

function parseCategoryIds(value: unknown, path: string): number[] | null {
  if (value === undefined) return null;
  if (!Array.isArray(value) || value.length === 0) throw new OmniTypeError(path, 'a non-empty array of COCO category ids (index = label)', value);
  return value.map((id, i) => expectInteger(id, `${path}[${i}]`, 0));
}

/** Reads and validates a manifest file; errors are prefixed with the file path. */
export async function loadManifest(file: string): Promise<ModelManifest> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new Error(`${file}: cannot read the model manifest (${(error as Error).message})`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new SyntaxError(`${file}: the model manifest is not valid JSON (${(error as Error).message})`, { cause: error });
  }
  return parseManifest(json, file);
}

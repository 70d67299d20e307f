// `layoutOptions` of the crop-based keypoint layouts (topdown-heatmap, simcc).
import { OmniRangeError, OmniTypeError, expectFiniteNumber, expectInRange } from '@omnidistill/core';
import type { KeypointSession, ModelSession } from '../session.js';
import type { CropOptions } from './types.js';

const FIELDS = { 'topdown-heatmap': ['padding', 'padValue'], simcc: ['padding', 'padValue', 'splitRatio'] } as const;

/** Parses `{ padding?, padValue?, splitRatio? (simcc) }` with MMPose's defaults. */
export function parseCropOptions(layout: CropOptions['layout'], value: unknown, path: string): CropOptions {
  const o = value === undefined ? {} : value;
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new OmniTypeError(path, 'an object', value);
  const rec = o as Record<string, unknown>;
  const known: readonly string[] = FIELDS[layout];
  for (const key of Object.keys(rec)) {
    if (!known.includes(key)) throw new OmniRangeError(`${path}.${key}`, `no such field (known for layout "${layout}": ${known.join(', ')})`, rec[key]);
  }
  const positive = (key: string, fallback: number) => {
    if (rec[key] === undefined) return fallback;
    const v = expectFiniteNumber(rec[key], `${path}.${key}`);
    if (v <= 0) throw new OmniRangeError(`${path}.${key}`, 'a positive number', v);
    return v;
  };
  return {
    layout,
    padding: positive('padding', 1.25),
    padValue: rec.padValue === undefined ? 0 : expectInRange(rec.padValue, `${path}.padValue`, 0, 255),
    splitRatio: positive('splitRatio', 2),
  };
}

/** The crop options of a session whose manifest names a crop layout. */
export function cropOptionsOf(model: KeypointSession): CropOptions {
  const o = model.manifest.layoutOptions;
  if (o.layout !== 'topdown-heatmap' && o.layout !== 'simcc') throw new Error(`${model.source}: layout "${o.layout}" has no crop options`);
  return o;
}

/**
 * Crop layouts resample every crop to the model's input: it must have a fixed H and W. The
 * batch dimension is 1 (a crop per call) or dynamic (several crops per call).
 */
export function fixedCropInput(model: ModelSession): void {
  const dims = model.inputs.image.dims;
  if (dims[0] !== null && dims[0] !== 1) {
    throw new Error(`${model.source}: layout "${model.manifest.layout}" needs a batch dimension of 1 or a dynamic one, but input "${model.inputs.image.name}" has [${dims.map((d) => d ?? '?').join(', ')}]; export with batch 1 or a dynamic batch axis`);
  }
  if (dims[2] === null || dims[3] === null) {
    throw new Error(`${model.source}: layout "${model.manifest.layout}" needs a fixed input size [1, 3, H, W], but input "${model.inputs.image.name}" has [${dims.map((d) => d ?? '?').join(', ')}]; export with a fixed crop size (e.g. 256×192)`);
  }
}

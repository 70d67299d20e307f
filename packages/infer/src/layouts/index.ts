// The model layouts, one module each, in one explicit table keyed by the manifest's
// `layout` name (STYLE.md "Open-ended sets"). Adding a layout: one module, one line here.
import { OmniRangeError } from '@omnidistill/core';
import type { ModelManifest } from '../manifest.js';
import { roisLayout } from './rois.js';
import { simccLayout } from './simcc.js';
import { topdownHeatmapLayout } from './topdown-heatmap.js';
import { torchvisionDetectionLayout } from './torchvision-detection.js';
import { yoloLayout } from './yolo.js';
import type { LayoutAdapter } from './types.js';

export const LAYOUTS = {
  rois: roisLayout,
  'torchvision-detection': torchvisionDetectionLayout,
  yolo: yoloLayout,
  'topdown-heatmap': topdownHeatmapLayout,
  simcc: simccLayout,
} as const satisfies Record<string, LayoutAdapter>;

/** A layout name a manifest may give. */
export type LayoutName = keyof typeof LAYOUTS;

/** Every known layout name, in table order. */
export const LAYOUT_NAMES = Object.freeze(Object.keys(LAYOUTS)) as readonly LayoutName[];

/** The layout of manifests that name none: omnidistill's own contract. */
export const DEFAULT_LAYOUT: LayoutName = 'rois';

/** The adapter of a layout name; an unknown name is an error listing the known ones. */
export function layoutAdapter(name: string, path = 'manifest.layout'): LayoutAdapter {
  if (!Object.hasOwn(LAYOUTS, name)) throw new OmniRangeError(path, `one of the known layouts (${LAYOUT_NAMES.join(', ')})`, name);
  return LAYOUTS[name as LayoutName];
}

/** The adapter of a validated manifest. */
export function layoutOf(manifest: ModelManifest): LayoutAdapter {
  return layoutAdapter(manifest.layout);
}

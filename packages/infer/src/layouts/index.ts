// The model layouts, one module each, in one explicit table keyed by the manifest's
// `layout` name (STYLE.md "Open-ended sets"). Adding a layout: one module, one line here.
import { OmniRangeError } from '@omnidistill/core';
import type { ModelManifest } from '../manifest.js';
import { roisLayout } from './rois.js';
import { simccLayout } from './simcc.js';
import { topdownHeatmapLayout } from './topdown-heatmap.js';
import { torchvisionDetectionLayout } from './torchvision-detection.js';
import { yoloLayout } from './yolo.js';
import type { KeypointRunner, Layout, LayoutAdapter } from './types.js';

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

/** The layouts with their defaults, made once per name. */
const resolved = new Map<string, Layout>();

/** The adapter of a layout name, with its defaults ({@link Layout}); an unknown name is an error listing the known ones. */
export function layoutAdapter(name: string, path = 'manifest.layout'): Layout {
  if (!Object.hasOwn(LAYOUTS, name)) throw new OmniRangeError(path, `one of the known layouts (${LAYOUT_NAMES.join(', ')})`, name);
  let layout = resolved.get(name);
  if (layout === undefined) resolved.set(name, (layout = withDefaults(LAYOUTS[name as LayoutName])));
  return layout;
}

/** The adapter of a validated manifest. */
export function layoutOf(manifest: ModelManifest): Layout {
  return layoutAdapter(manifest.layout);
}

/** Each geometry through `one`, one call after the other, results in order. */
async function oneByOne<G, R>(geometries: readonly G[], one: (g: G) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (const g of geometries) out.push(await one(g));
  return out;
}

/** A module's adapter with the many-transforms entry points it leaves out filled in (one transform per call). */
function withDefaults(module: LayoutAdapter): Layout {
  const { detect, detectAll, keypoints } = module;
  const regressed = keypoints?.kind === 'regressed' ? keypoints : undefined;
  const keypointRunner: KeypointRunner | undefined =
    regressed && !regressed.runAll
      ? { ...regressed, runAll: (model, image, gs) => oneByOne(gs, (g) => regressed.run(model, image, g)) }
      : keypoints;
  return {
    ...module,
    ...(detect && !detectAll ? { detectAll: (model, image, gs) => oneByOne(gs, (g) => detect(model, image, g)) } : {}),
    ...(keypointRunner ? { keypoints: keypointRunner } : {}),
    batchesTransforms: { detector: detectAll !== undefined, keypoints: regressed?.runAll !== undefined },
  };
}

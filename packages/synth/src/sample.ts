// One dataset sample, pure and deterministic: (style, size, seed, split, index) → pixels and
// COCO-ready annotations. File IO lives in generate.ts.
import { COCO_PERSON } from '@omnidistill/core';
import { KeypointState } from './figure.js';
import { renderKeypointScene } from './keypoint-scene.js';
import { OBJECT_CATEGORIES, renderObjectScene } from './object-scene.js';
import type { Canvas } from './raster.js';
import { Rng } from './rng.js';
import { KEYPOINT_STYLES } from './styles.js';

/** Dataset styles: frontal people (default), people under a distribution shift, or shape objects. */
export type SynthStyle = 'keypoints' | 'shifted' | 'objects';
export const SYNTH_STYLES: readonly SynthStyle[] = ['keypoints', 'shifted', 'objects'];

/** The paper's splits: small labeled, large labeled, unlabeled (labels withheld) and validation. */
export type SplitName = 'labeled' | 'labeledLarge' | 'unlabeled' | 'val';
export const SPLIT_NAMES: readonly SplitName[] = ['labeled', 'labeledLarge', 'unlabeled', 'val'];

/** Per split: its seed stream (disjoint images), folder name and id base (ids unique across splits). */
export const SPLIT_INFO: Readonly<Record<SplitName, { readonly stream: number; readonly dir: string }>> = {
  labeled: { stream: 1, dir: 'labeled' },
  labeledLarge: { stream: 2, dir: 'labeled-large' },
  unlabeled: { stream: 3, dir: 'unlabeled' },
  val: { stream: 4, dir: 'val' },
};
/** Image ids are `stream · ID_STRIDE + index + 1`, so merged splits never collide. */
export const ID_STRIDE = 10_000_000;
/** Probability that an occluded keypoint is labeled (v = 1) rather than left unlabeled (v = 0). */
export const OCCLUDED_LABEL_PROB = 0.6;

const STYLE_CODE: Readonly<Record<SynthStyle, number>> = { keypoints: 1, shifted: 2, objects: 3 };
/** Extra seed word of the labeling stream, kept apart from the pixels' stream. */
const LABEL_STREAM = 0x1abe1;

/** A COCO image entry as written. */
export interface SynthImage {
  id: number;
  file_name: string;
  width: number;
  height: number;
}

/** A COCO annotation as written (keypoints only for the person styles). */
export interface SynthAnnotation {
  id: number;
  image_id: number;
  category_id: number;
  bbox: [number, number, number, number];
  area: number;
  iscrowd: 0;
  keypoints?: number[];
  num_keypoints?: number;
}

/** A COCO category as written. */
export interface SynthCategory {
  id: number;
  name: string;
  supercategory: string;
  keypoints?: string[];
  skeleton?: [number, number][];
}

/** What identifies one sample. */
export interface SampleKey {
  readonly style: SynthStyle;
  readonly width: number;
  readonly height: number;
  readonly seed: number;
  readonly split: SplitName;
  readonly index: number;
  /** Instances per image drawn uniformly from [min, max] instead of the style's default distribution. */
  readonly instances?: { readonly min: number; readonly max: number };
}

/** A rendered sample: pixels, image entry and annotations (ids still 0; the writer numbers them). */
export interface Sample {
  readonly canvas: Canvas;
  readonly image: SynthImage;
  readonly annotations: SynthAnnotation[];
  /** Keypoint styles: the states before labeling, per annotation (visible / occluded / outside). */
  readonly states?: readonly (readonly KeypointState[])[];
}

/** The COCO categories of a style. */
export function categoriesFor(style: SynthStyle): SynthCategory[] {
  if (style === 'objects') return OBJECT_CATEGORIES.map((name, i) => ({ id: i + 1, name, supercategory: 'shape' }));
  return [{
    id: 1,
    name: 'person',
    supercategory: 'person',
    keypoints: [...COCO_PERSON.keypoints],
    skeleton: COCO_PERSON.skeleton.map(([a, b]) => [a + 1, b + 1] as [number, number]),
  }];
}

/** The image id of sample `index` of `split`. */
export function imageId(split: SplitName, index: number): number {
  return SPLIT_INFO[split].stream * ID_STRIDE + index + 1;
}

/** The file name of sample `index` of `split`, e.g. `labeled-000001.png`. */
export function imageFileName(split: SplitName, index: number): string {
  return `${SPLIT_INFO[split].dir}-${String(index + 1).padStart(6, '0')}.png`;
}

const round2 = (v: number): number => Math.round(v * 100) / 100;

/** Renders one sample. Same key → identical pixels and annotations. */
export function renderSample(key: SampleKey): Sample {
  const { style, width, height, seed, split, index } = key;
  const words = [seed >>> 0, SPLIT_INFO[split].stream, index, STYLE_CODE[style]];
  const rng = new Rng(...words);
  const id = imageId(split, index);
  const image: SynthImage = { id, file_name: imageFileName(split, index), width, height };
  if (style === 'objects') {
    const scene = renderObjectScene(rng, width, height, undefined, key.instances);
    const annotations = scene.instances.map((inst) => ({
      id: 0, image_id: id, category_id: inst.category + 1, bbox: [...inst.bbox] as [number, number, number, number], area: inst.area, iscrowd: 0 as const,
    }));
    return { canvas: scene.canvas, image, annotations };
  }
  const scene = renderKeypointScene(rng, width, height, KEYPOINT_STYLES[style], key.instances === undefined ? {} : { instances: key.instances });
  const labelRng = new Rng(...words, LABEL_STREAM);
  const annotations: SynthAnnotation[] = [];
  const states: KeypointState[][] = [];
  for (const inst of scene.instances) {
    const kps: number[] = [];
    let labeled = 0;
    for (let k = 0; k < 17; k++) {
      const s = inst.states[k] as KeypointState;
      const v = s === KeypointState.Visible ? 2 : s === KeypointState.Occluded && labelRng.chance(OCCLUDED_LABEL_PROB) ? 1 : 0;
      if (v === 0) kps.push(0, 0, 0);
      else {
        kps.push(round2(inst.keypoints[2 * k] as number), round2(inst.keypoints[2 * k + 1] as number), v);
        labeled++;
      }
    }
    annotations.push({
      id: 0, image_id: id, category_id: 1, bbox: [...inst.bbox] as [number, number, number, number], area: inst.area, iscrowd: 0, keypoints: kps, num_keypoints: labeled,
    });
    states.push([...inst.states]);
  }
  return { canvas: scene.canvas, image, annotations, states };
}

// The two reference models of the training benches (torch-train, train-ab, train-profile): the keypoint model on 16 images of 96 px with 32 RoIs and 28 × 28 heatmaps,
// and the CenterNet-style detector on 16 images of 96 px, each with a few fixed minibatches
// built by the real batch builders from synthetic people images, and AdamW at a constant rate.

import type { ModelDefinition } from '@omnidistill/artifacts';
import { COCO_PERSON } from '@omnidistill/core';
import { DetectorBatchBuilder, KeypointBatchBuilder, defineDetector, defineKeypointModel, resolveDetectorConfig, resolveKeypointConfig } from '@omnidistill/models';
import { Rng, type Feeds, type TrainingSetup } from '@omnidistill/train';
import { fakePeopleImages } from './fake-people.js';

export const SIDE = 96, BATCH = 16, ROIS = 32, HEATMAP = 28;

/** No warm-up and no decay within a bench: torch's AdamW runs at the constant rate. */
export const BENCH_SETUP: TrainingSetup = { optimizer: { type: 'adamw', learningRate: 2e-3, weightDecay: 1e-4 }, schedule: { totalSteps: 1_000_000, warmupSteps: 0 } };

export type BenchModelKind = 'keypoints' | 'detector';

export interface TrainBenchModel {
  readonly kind: BenchModelKind;
  /** One line saying what is trained. */
  readonly label: string;
  readonly define: ModelDefinition;
  /** The resolved configuration (the torch twin builds the same architecture from it). */
  readonly arch: object;
  readonly batches: Feeds[];
}

/** Both models (or the one named by `only`), each with `batches` minibatches. */
export function trainBenchModels(batches: number, only?: string): TrainBenchModel[] {
  const all: [BenchModelKind, () => TrainBenchModel][] = [
    ['keypoints', () => keypointModel(batches)],
    ['detector', () => detectorModel(batches)],
  ];
  if (only && !all.some(([k]) => k === only)) throw new Error(`unknown model "${only}": keypoints or detector`);
  return all.filter(([k]) => !only || k === only).map(([, make]) => make());
}

function keypointModel(batches: number): TrainBenchModel {
  const config = resolveKeypointConfig({ keypoints: COCO_PERSON.keypoints.length, heatmapSize: HEATMAP });
  const builder = new KeypointBatchBuilder({ height: SIDE, width: SIDE, rois: ROIS, heatmapSize: HEATMAP, schema: COCO_PERSON });
  const images = fakePeopleImages(BATCH * batches, SIDE, 1);
  const rng = new Rng(5);
  return {
    kind: 'keypoints',
    label: `reference keypoint model: ${BATCH} × 3 × ${SIDE} × ${SIDE}, ${ROIS} RoIs, ${HEATMAP} × ${HEATMAP} heatmaps`,
    define: defineKeypointModel(config, { batch: BATCH, height: SIDE, width: SIDE, rois: ROIS }),
    arch: config,
    batches: Array.from({ length: batches }, (_, b) => builder.build(images.slice(b * BATCH, (b + 1) * BATCH), rng)),
  };
}

function detectorModel(batches: number): TrainBenchModel {
  const config = resolveDetectorConfig({ classes: 1 });
  const builder = new DetectorBatchBuilder({ height: SIDE, width: SIDE, categoryIds: [1] });
  const images = fakePeopleImages(BATCH * batches, SIDE, 2);
  const rng = new Rng(6);
  return {
    kind: 'detector',
    label: `reference detector (CenterNet-style, 1 class): ${BATCH} × 3 × ${SIDE} × ${SIDE}`,
    define: defineDetector(config, { batch: BATCH, height: SIDE, width: SIDE }),
    arch: config,
    batches: Array.from({ length: batches }, (_, b) => builder.build(images.slice(b * BATCH, (b + 1) * BATCH), rng)),
  };
}

// The contract between the inference core and one model layout (DESIGN.md "Model contract
// and layouts"): which tensors a manifest names, what the model must declare, and how one
// forward pass becomes the internal detector / keypoint contracts.
import type { Tensor } from 'onnxruntime-node';
import type { KeypointArray } from '@omnidistill/core';
import type { TransformGeometry } from '@omnidistill/transforms';
import type { DecodedImage } from '../image.js';
import type { ModelManifest, ModelRole } from '../manifest.js';
import type { KeypointInferenceOptions } from '../keypoint-options.js';
import type { RawDetections } from '../run-model.js';
import type { DetectorSession, Dim, KeypointSession, ModelSession } from '../session.js';

/** What a model must declare for one tensor role (checked when the session opens). */
export interface TensorExpectation {
  rank: number;
  types: readonly Tensor.Type[];
  /** Fixed sizes required where the model has a fixed dimension (null: anything). */
  dims: Dim[];
}

/** Expectations keyed by tensor role (the keys of the manifest's `inputs` / `outputs`). */
export interface LayoutExpectations {
  inputs: Record<string, TensorExpectation>;
  outputs: Record<string, TensorExpectation>;
}

/** The tensor roles a manifest must name for one model role. */
export interface TensorRoles {
  inputs: readonly string[];
  outputs: readonly string[];
}

/**
 * Instances a model finds and regresses keypoints for by itself (keypoint R-CNN, YOLO-pose),
 * in the pixels of the image it saw: boxes `[D, 4]`, scores `[D]`, keypoints `[D, K, 3]`.
 */
export interface RegressedInstances {
  boxes: Float64Array;
  scores: Float64Array;
  keypoints: KeypointArray;
  /**
   * What the keypoints' third value is: a probability (YOLO-pose visibility) or a logit
   * (keypoint R-CNN's heatmap maximum); the ensemble weights coordinates by its sigmoid then.
   */
  keypointScore: 'probability' | 'logit';
}

/**
 * How a keypoint layout produces keypoints:
 * - `rois`: for given RoIs (original-image pixels) under every transform of the plan,
 *   ensembled by the layout (heatmaps in each RoI's / crop's frame);
 * - `regressed`: the model finds the people itself; one pass per transform, ensembled by
 *   instance matching (regressed.ts).
 */
export type KeypointRunner =
  | { kind: 'rois'; predict(model: KeypointSession, image: DecodedImage, rois: Float64Array, options: KeypointInferenceOptions): Promise<KeypointArray> }
  | {
      kind: 'regressed';
      run(model: KeypointSession, image: DecodedImage, geometry: TransformGeometry): Promise<RegressedInstances>;
      /** Every geometry at once (in order), as `run` each would give: layouts that batch transforms into fewer model calls. */
      runAll?(model: KeypointSession, image: DecodedImage, geometries: readonly TransformGeometry[]): Promise<RegressedInstances[]>;
    };

/** One model layout: its manifest fields, its model checks and its forward passes. */
export interface LayoutAdapter {
  readonly name: string;
  /**
   * What the adapter does to the user's model, in a sentence or two, including what a user
   * must know before a long run (e.g. an in-graph resize that undoes scale transforms).
   */
  readonly description: string;
  /** Facts `inspect` / `check-model` act on. */
  readonly traits: LayoutTraits;
  /** Tensor roles per supported model role (a role not listed is refused). */
  readonly roles: Partial<Record<ModelRole, TensorRoles>>;
  /** Whether `keypoints.heatmapSize` is required (the `rois` contract) or meaningless. */
  readonly needsHeatmapSize: boolean;
  /** Parses the manifest's `layoutOptions` (undefined when absent) for `role`. */
  parseOptions(value: unknown, role: ModelRole, path: string): LayoutOptions;
  /** What the model must declare, given its validated manifest. */
  expectations(manifest: ModelManifest): LayoutExpectations;
  /** Checks beyond the tensor expectations, once the session is open (throws naming the fix). */
  check?(model: ModelSession): void;
  /** Detector role: one pass on `image` under `geometry`; boxes in `geometry.target` pixels. */
  detect?(model: DetectorSession, image: DecodedImage, geometry: TransformGeometry): Promise<RawDetections>;
  /**
   * Detector role, every geometry at once (in order), as `detect` each would give: layouts
   * whose models may take several transforms per call (a dynamic batch dimension) batch them.
   */
  detectAll?(model: DetectorSession, image: DecodedImage, geometries: readonly TransformGeometry[]): Promise<RawDetections[]>;
  /** Keypoints role. */
  readonly keypoints?: KeypointRunner;
}

/**
 * A layout as the registry hands it out ({@link LayoutAdapter} plus defaults): wherever the
 * module has `detect` there is a `detectAll`, and a regressed keypoint runner has `runAll` —
 * one transform per call when the module gives no batched one — so callers never choose.
 */
export interface Layout extends LayoutAdapter {
  /** Per role, whether the module runs several transforms per model call (given a dynamic batch dimension). */
  readonly batchesTransforms: Readonly<Record<ModelRole, boolean>>;
}

/** Facts about a layout that tools warn on. */
export interface LayoutTraits {
  /** The graph resizes every input to its own size (scale transforms only resample). */
  readonly resizesInGraph: boolean;
  /** The model finds the instances itself (no RoIs / detector needed for keypoints). */
  readonly selfDetecting: boolean;
  /**
   * Plan scales are crop scales: the person is always resampled to the fixed crop input, and a
   * scale s crops `box · padding / s` — beyond `padding` it cuts into the person.
   */
  readonly cropsPerson: boolean;
}

/** Settings of the `yolo` layout (manifest `layoutOptions`). */
export interface YoloOptions {
  layout: 'yolo';
  /** Candidates scoring below this are dropped before NMS (default 0.001, Ultralytics' val). */
  scoreThreshold: number;
  /** Class-wise NMS IoU (default 0.7, Ultralytics' val). */
  nmsThreshold: number;
  /** At most this many detections per pass (default 300). */
  maxDetections: number;
  /** Letterbox fill, 0..255 per channel (default 114). */
  padValue: number;
  /** Dynamic-size models: the input is padded to a multiple of this (default 32). */
  stride: number;
}

/** Settings of the `topdown-heatmap` and `simcc` layouts (manifest `layoutOptions`). */
export interface CropOptions {
  layout: 'topdown-heatmap' | 'simcc';
  /** The crop is the box made to the input's aspect ratio, times this (default 1.25, MMPose's). */
  padding: number;
  /** Fill of the crop outside the image, 0..255 (default 0). */
  padValue: number;
  /** SimCC only: bins per input pixel (default 2, RTMPose's `simcc_split_ratio`). */
  splitRatio: number;
}

/** Layouts without settings. */
export interface NoOptions {
  layout: 'rois' | 'torchvision-detection';
}

export type LayoutOptions = YoloOptions | CropOptions | NoOptions;

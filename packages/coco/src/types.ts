// The shapes of COCO files as omnidistill holds them after validation: plain objects whose
// keypoints live in Float64Arrays (compact, and exact for the OKS arithmetic).

/** `[x, y, width, height]` in pixels, top-left origin (COCO's box convention). */
export type CocoBox = [number, number, number, number];

/** One entry of a dataset's `images`. Fields not listed here are kept as read. */
export interface CocoImage {
  id: number;
  width: number;
  height: number;
  file_name: string;
}

/** One entry of a dataset's `categories`; keypoint datasets name their keypoints here. */
export interface CocoCategory {
  id: number;
  name: string;
  supercategory?: string;
  /** Keypoint names in channel order (K = length); annotations then carry 3·K numbers. */
  keypoints?: string[];
  /** Limb connections, 1-based as in COCO files. */
  skeleton?: [number, number][];
}

/** One ground-truth instance. Fields not listed here (e.g. `segmentation`) are kept as read. */
export interface CocoAnnotation {
  id: number;
  image_id: number;
  category_id: number;
  bbox: CocoBox;
  /** The instance area (segment area in COCO); OKS and the area ranges use this, not the box. */
  area: number;
  /** 1 for a crowd region: never a false negative, may absorb many detections. */
  iscrowd: 0 | 1;
  /** `[x1, y1, v1, x2, y2, v2, ...]`, v ∈ {0 unlabeled, 1 occluded, 2 visible}. */
  keypoints?: Float64Array;
  /** Number of keypoints with v > 0 (checked against `keypoints`). */
  num_keypoints?: number;
  segmentation?: unknown;
}

/** A whole COCO dataset file. */
export interface CocoDataset {
  info?: unknown;
  licenses?: unknown[];
  images: CocoImage[];
  annotations: CocoAnnotation[];
  categories: CocoCategory[];
}

/** One detection in a COCO results file (a JSON array of these). */
export interface CocoResult {
  image_id: number;
  category_id: number;
  score: number;
  bbox?: CocoBox;
  /** `[x1, y1, s1, ...]`; the third number of each triple is a free score, not a visibility. */
  keypoints?: Float64Array;
}

/** The two evaluation kinds this package implements. */
export type IouType = 'bbox' | 'keypoints';

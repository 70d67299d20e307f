// The slice of the COCO format selection reads (labeled statistics) and writes
// (generated labels). Structural, so a dataset typed by @omnidistill/coco fits it.

export interface CocoImageLike {
  id: number;
  file_name: string;
  width: number;
  height: number;
}

export interface CocoAnnotationLike {
  id: number;
  image_id: number;
  category_id: number;
  /** `[x, y, width, height]`. */
  bbox: number[];
  area: number;
  iscrowd: 0 | 1;
  keypoints?: number[];
  num_keypoints?: number;
}

export interface CocoCategoryLike {
  id: number;
  name: string;
  supercategory?: string;
  keypoints?: string[];
  skeleton?: number[][];
}

export interface CocoDatasetLike {
  images: CocoImageLike[];
  annotations: CocoAnnotationLike[];
  categories: CocoCategoryLike[];
}

/** A generated annotation: a COCO ground-truth annotation, optionally with its score. */
export interface GeneratedAnnotation extends CocoAnnotationLike {
  iscrowd: 0;
  /** Only with `includeScores`: the instance score the label was selected by. */
  score?: number;
}

/** The generated-labels dataset: a plain COCO ground-truth file. */
export interface GeneratedDataset {
  info: Record<string, unknown>;
  images: CocoImageLike[];
  annotations: GeneratedAnnotation[];
  categories: CocoCategoryLike[];
}

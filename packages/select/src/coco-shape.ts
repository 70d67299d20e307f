// The generated labels are a plain COCO ground-truth dataset, typed by @omnidistill/coco, so
// they go straight into its writer, its COCOeval and the training data loader.
import type { CocoAnnotation, CocoDataset } from '@omnidistill/coco';

/** A generated annotation: a COCO ground-truth instance, optionally with its score. */
export interface GeneratedAnnotation extends CocoAnnotation {
  iscrowd: 0;
  /** Only with `includeScores`: the instance score the label was selected by. */
  score?: number;
}

/** The generated-labels dataset. */
export interface GeneratedDataset extends CocoDataset {
  info: Record<string, unknown>;
  annotations: GeneratedAnnotation[];
}

// Ground truths that a columnar parser (the native addon's scanner) already read and checked:
// turned into the CocoDataset readCocoDataset returns. The parser accepts only valid files of
// the common shape and checks every rule of validateDataset that concerns images and
// annotations; the categories come back as text and are validated here by validateDataset
// itself. Anything the parser cannot read (or categories validation rejects) is re-read by the
// general parsers, whose errors name the record: this module never words an error.
import type { CocoAnnotation, CocoDataset, CocoImage } from './types.js';
import { CocoValidationError, validateDataset } from './validate.js';

/** A dataset file as columns: images and annotations in file order, the other members as JSON text. */
export interface CocoDatasetColumns {
  imageId: Float64Array;
  width: Float64Array;
  height: Float64Array;
  /** 1 where the image's entry in `imageText` is the whole record's JSON (it has other fields), 0 where it is its file_name. */
  imageWhole: Uint8Array;
  /** One entry per image, each followed by a NUL character (never part of a JSON text). */
  imageText: string;
  annId: Float64Array;
  annImageId: Float64Array;
  annCategoryId: Float64Array;
  area: Float64Array;
  /** [4 n]: x, y, w, h. */
  bbox: Float64Array;
  /** 0 or 1 (0 where the file has none, as validation sets it). */
  iscrowd: Uint8Array;
  /** num_keypoints (counted from the keypoints where the file has none); -1: absent, without keypoints. */
  numKeypoints: Float64Array;
  /** Where each annotation's keypoints start in `keypoints`, and how many numbers (-1: none). */
  kpStart: Int32Array;
  kpCount: Int32Array;
  keypoints: Float64Array;
  /** A JSON object of every top-level member but images and annotations (categories, info, licenses, ...), as written. */
  restJson: string;
}

/** The annotation columns of a dataset file: what COCOeval reads of its annotations. */
export type AnnotationColumns = Pick<CocoDatasetColumns, 'annId' | 'annImageId' | 'annCategoryId' | 'area' | 'bbox' | 'iscrowd' | 'numKeypoints' | 'kpStart' | 'kpCount' | 'keypoints'>;

/**
 * Reads and parses a dataset file (its path) into columns, or resolves null when the file
 * cannot be read or is not a valid file of the common shape (then it is parsed in
 * JavaScript). Numbers must be JSON.parse's doubles, and every image and annotation must pass
 * validateDataset's checks (ids unique, references resolved, keypoint counts and visibility
 * flags, num_keypoints). `skipKeypoints` leaves out annotation keypoints. Annotation fields
 * other than those of CocoAnnotation (and `segmentation`) are left out.
 */
export type DatasetColumnParser = (file: string, options: { skipKeypoints: boolean }) => Promise<CocoDatasetColumns | null>;

/**
 * The dataset of `c`, with the records validateDataset would return (keypoints as views of
 * `c.keypoints`), or null when its categories fail validation: the caller then re-reads the
 * file to report them. Its `annotations` are built when first read (see lazyAnnotations).
 */
export function datasetFromColumns(c: CocoDatasetColumns): CocoDataset | null {
  const rest = JSON.parse(c.restJson) as Record<string, unknown>;
  try {
    validateDataset({ images: [], annotations: [], categories: rest.categories });
  } catch (err) {
    if (err instanceof CocoValidationError) return null;
    throw err;
  }
  rest.images = imagesOf(c);
  const d = rest as unknown as CocoDataset;
  lazyAnnotations(d, c);
  return d;
}

/** Datasets whose `annotations` no one has read yet, and the columns they come from. */
const unreadAnnotations = new WeakMap<CocoDataset, AnnotationColumns>();

/**
 * Makes `d.annotations` an accessor that builds the records from `c` on first use (or takes
 * the value assigned first) and then becomes a plain property. Until then the columns are the
 * annotations' only form, so evaluate() reads them as they are (annotationColumnsOf): an
 * evaluation never builds the records (15 000 objects at 5k images, and their collection).
 */
function lazyAnnotations(d: CocoDataset, c: CocoDatasetColumns): void {
  unreadAnnotations.set(d, c);
  const settle = (value: CocoAnnotation[]): CocoAnnotation[] => {
    unreadAnnotations.delete(d);
    Object.defineProperty(d, 'annotations', { value, writable: true, enumerable: true, configurable: true });
    return value;
  };
  Object.defineProperty(d, 'annotations', {
    enumerable: true,
    configurable: true,
    get: () => settle(annotationsOf(c)),
    set: (value: CocoAnnotation[]) => settle(value),
  });
}

/** The columns behind `d.annotations` while they have not been read (a dataset from datasetFromColumns), else undefined. */
export function annotationColumnsOf(d: CocoDataset): AnnotationColumns | undefined {
  return unreadAnnotations.get(d);
}

/** The number of annotations of `d`, without building the records of a dataset whose annotations are still columns. */
export function annotationCount(d: CocoDataset): number {
  return annotationColumnsOf(d)?.annId.length ?? d.annotations.length;
}

function imagesOf(c: CocoDatasetColumns): CocoImage[] {
  const texts = c.imageText.split('\0');
  const n = c.imageId.length;
  const images = new Array<CocoImage>(n);
  for (let i = 0; i < n; i++) {
    images[i] = c.imageWhole[i] === 1 ? (JSON.parse(texts[i]) as CocoImage) : { id: c.imageId[i], width: c.width[i], height: c.height[i], file_name: texts[i] };
  }
  return images;
}

function annotationsOf(c: CocoDatasetColumns): CocoAnnotation[] {
  const n = c.annId.length;
  const out = new Array<CocoAnnotation>(n);
  const { bbox, kpStart, kpCount } = c;
  for (let i = 0; i < n; i++) {
    const count = kpCount[i];
    const num = c.numKeypoints[i];
    // one object shape for every annotation (absent fields are undefined): the evaluator's loops stay monomorphic
    out[i] = {
      id: c.annId[i],
      image_id: c.annImageId[i],
      category_id: c.annCategoryId[i],
      bbox: [bbox[4 * i], bbox[4 * i + 1], bbox[4 * i + 2], bbox[4 * i + 3]],
      area: c.area[i],
      iscrowd: c.iscrowd[i] === 1 ? 1 : 0,
      keypoints: count >= 0 ? c.keypoints.subarray(kpStart[i], kpStart[i] + count) : undefined,
      num_keypoints: num >= 0 ? num : undefined,
    };
  }
  return out;
}

// Evaluation of exported reference models: run the ONNX model with onnxruntime-node on every
// image of a COCO split (ground-truth boxes as RoIs for keypoints, as in DEMO-NOTES) and
// score the results with @omnidistill/coco's COCOeval.
import { createParams, evaluate, summarize, type CocoResult } from '@omnidistill/coco';
import { decodeHeatmaps } from '@omnidistill/ensemble';
import * as ort from 'onnxruntime-node';
import { DEFAULT_PIXELS, ImageWriter, loadCocoSource, type CocoSource, type LoadedImage, type PixelNormalisation } from './data.js';

/** What an evaluation returns. */
export interface EvaluationResult {
  /** COCO AP (stats[0]). */
  readonly ap: number;
  /** pycocotools' summary stats. */
  readonly stats: readonly number[];
  /** The printed summary. */
  readonly text: string;
  readonly images: number;
  readonly detections: number;
  readonly seconds: number;
}

/** Options shared by the evaluation helpers. */
export interface EvaluateOptions {
  readonly onnxPath: string;
  readonly split: CocoSource;
  readonly pixels?: PixelNormalisation;
  /** onnxruntime intra-op threads. Default: all cores. */
  readonly threads?: number;
}

const roundUp4 = (v: number) => Math.ceil(v / 4) * 4;

/** The normalised input tensor of one image, padded bottom/right to a multiple of 4. */
export function inputTensor(image: LoadedImage, writer: ImageWriter): ort.Tensor {
  const h = roundUp4(image.height);
  const w = roundUp4(image.width);
  const data = new Float32Array(3 * h * w);
  writer.write(image, false, data, 0, h, w);
  return new ort.Tensor('float32', data, [1, 3, h, w]);
}

async function session(options: EvaluateOptions): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(options.onnxPath, {
    ...(options.threads ? { intraOpNumThreads: options.threads } : {}),
    graphOptimizationLevel: 'all',
  });
}

/**
 * COCO keypoint AP of an exported keypoint model on a split, with the ground-truth boxes as
 * RoIs. Each instance's score is the mean spatial-softmax probability at its decoded keypoints.
 */
export async function evaluateKeypointModel(options: EvaluateOptions & { readonly categoryId?: number }): Promise<EvaluationResult> {
  const t0 = performance.now();
  const data = await loadCocoSource(options.split);
  const s = await session(options);
  const writer = new ImageWriter(options.pixels ?? DEFAULT_PIXELS);
  const category = options.categoryId ?? 1;
  const results: CocoResult[] = [];
  for (const image of data.images) {
    const anns = image.annotations.filter((a) => a.category_id === category && a.bbox[2] > 0 && a.bbox[3] > 0);
    if (anns.length === 0) continue;
    const rois = new Float32Array(anns.length * 4);
    anns.forEach((a, i) => rois.set([a.bbox[0], a.bbox[1], a.bbox[0] + a.bbox[2], a.bbox[1] + a.bbox[3]], 4 * i));
    const out = await s.run({ image: inputTensor(image, writer), rois: new ort.Tensor('float32', rois, [anns.length, 4]) });
    const maps = out.heatmaps;
    const [n, k, m] = maps.dims;
    const decoded = await decodeHeatmaps({ data: maps.data as Float32Array, t: 1, n, k, m }, rois, { probability: true, backend: 'ts' });
    const kp = decoded.keypoints.data;
    for (let i = 0; i < n; i++) {
      const keypoints = new Float64Array(3 * k);
      let score = 0;
      for (let j = 0; j < k; j++) {
        keypoints[3 * j] = kp[3 * (i * k + j)];
        keypoints[3 * j + 1] = kp[3 * (i * k + j) + 1];
        keypoints[3 * j + 2] = kp[3 * (i * k + j) + 2];
        score += decoded.probability![i * k + j];
      }
      results.push({ image_id: image.id, category_id: category, score: score / k, keypoints });
    }
  }
  await s.release();
  const params = createParams('keypoints', data.dataset, { catIds: [category] });
  const summary = summarize(evaluate(data.dataset, results, params));
  return { ap: summary.stats[0], stats: summary.stats, text: summary.text, images: data.images.length, detections: results.length, seconds: (performance.now() - t0) / 1000 };
}

// Deterministic synthetic COCO ground truth + results for tests and the benchmark:
// person-like boxes with 17 keypoints, crowd regions, unlabeled (num_keypoints = 0)
// instances, images without annotations, noisy detections with tied (rounded) scores.

export interface GenerateOptions {
  seed: number;
  images: number;
  /** mean instances per image (uniform 0..2·mean) */
  instancesPerImage?: number;
  categories?: number;
  /** detections per ground-truth instance (mean) */
  detectionsPerInstance?: number;
  /** fraction of results that are pure false positives */
  falsePositives?: number;
  /** round scores to this many decimals (creates ties); undefined = full precision */
  scoreDecimals?: number;
  crowdRate?: number;
  /** first annotation id (0 exercises pycocotools' id-0 quirk) */
  firstAnnotationId?: number;
}

export interface GeneratedCase {
  gt: {
    images: { id: number; width: number; height: number; file_name: string }[];
    annotations: Record<string, unknown>[];
    categories: Record<string, unknown>[];
  };
  results: Record<string, unknown>[];
}

/** mulberry32: small, fast, good enough for test data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const KP_NAMES = [
  'nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder', 'right_shoulder', 'left_elbow',
  'right_elbow', 'left_wrist', 'right_wrist', 'left_hip', 'right_hip', 'left_knee', 'right_knee', 'left_ankle', 'right_ankle',
];

export function generateCase(o: GenerateOptions): GeneratedCase {
  const r = rng(o.seed);
  const mean = o.instancesPerImage ?? 3;
  const nCats = o.categories ?? 1;
  const dpi = o.detectionsPerInstance ?? 1.6;
  const fpRate = o.falsePositives ?? 0.2;
  const crowdRate = o.crowdRate ?? 0.04;
  const round = (s: number): number => (o.scoreDecimals === undefined ? s : Number(s.toFixed(o.scoreDecimals)));
  const images = [];
  const annotations: Record<string, unknown>[] = [];
  const results: Record<string, unknown>[] = [];
  const categories = Array.from({ length: nCats }, (_, c) => ({
    id: c + 1,
    name: c === 0 ? 'person' : `c${c + 1}`,
    supercategory: 'thing',
    keypoints: KP_NAMES,
    skeleton: [[16, 14], [14, 12], [17, 15], [15, 13], [12, 13]],
  }));
  let annId = o.firstAnnotationId ?? 1;
  for (let i = 0; i < o.images; i++) {
    const width = 320 + Math.floor(r() * 400);
    const height = 240 + Math.floor(r() * 400);
    const imageId = 1000 + i * 3; // sparse, unsorted-looking ids are fine
    images.push({ id: imageId, width, height, file_name: `${imageId}.jpg` });
    const count = Math.floor(r() * (2 * mean + 1));
    for (let j = 0; j < count; j++) {
      const scale = r() < 0.3 ? 0.05 + r() * 0.1 : 0.1 + r() * 0.5;
      const w = Math.max(2, width * scale * (0.5 + r()));
      const h = Math.max(2, height * scale * (0.5 + r()));
      const x = r() * (width - w * 0.5);
      const y = r() * (height - h * 0.5);
      const crowd = r() < crowdRate ? 1 : 0;
      const unlabeled = r() < 0.06;
      const kps: number[] = [];
      let labeled = 0;
      for (let k = 0; k < 17; k++) {
        const v = unlabeled ? 0 : r() < 0.25 ? 0 : r() < 0.3 ? 1 : 2;
        if (v > 0) labeled++;
        kps.push(v > 0 ? x + r() * w : 0, v > 0 ? y + r() * h : 0, v);
      }
      const categoryId = 1 + Math.floor(r() * nCats);
      annotations.push({
        id: annId++,
        image_id: imageId,
        category_id: categoryId,
        bbox: [x, y, w, h],
        area: w * h * (0.45 + 0.5 * r()),
        iscrowd: crowd,
        keypoints: kps,
        num_keypoints: labeled,
      });
      const nd = Math.floor(r() * (2 * dpi + 1));
      for (let d = 0; d < nd; d++) {
        const jit = 0.02 + r() * 0.25;
        const bx = x + (r() - 0.5) * w * jit;
        const by = y + (r() - 0.5) * h * jit;
        const bw = w * (1 + (r() - 0.5) * jit);
        const bh = h * (1 + (r() - 0.5) * jit);
        const dk: number[] = [];
        for (let k = 0; k < 17; k++) {
          const gx = kps[3 * k + 2] > 0 ? kps[3 * k] : x + r() * w;
          const gy = kps[3 * k + 2] > 0 ? kps[3 * k + 1] : y + r() * h;
          dk.push(gx + (r() - 0.5) * w * jit, gy + (r() - 0.5) * h * jit, r());
        }
        const cat = r() < 0.9 ? categoryId : 1 + Math.floor(r() * nCats);
        results.push({ image_id: imageId, category_id: cat, bbox: [bx, by, bw, bh], score: round(0.2 + 0.8 * r() * (1 - jit)), keypoints: dk });
      }
    }
    const nfp = Math.floor(r() * (2 * fpRate * mean + 1));
    for (let f = 0; f < nfp; f++) {
      const w = 10 + r() * width * 0.4;
      const h = 10 + r() * height * 0.4;
      const x = r() * (width - w);
      const y = r() * (height - h);
      const dk: number[] = [];
      for (let k = 0; k < 17; k++) dk.push(x + r() * w, y + r() * h, r());
      results.push({ image_id: imageId, category_id: 1 + Math.floor(r() * nCats), bbox: [x, y, w, h], score: round(r() * 0.6), keypoints: dk });
    }
  }
  // results arrive in no particular image order
  for (let i = results.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [results[i], results[j]] = [results[j], results[i]];
  }
  return { gt: { images, annotations, categories }, results };
}

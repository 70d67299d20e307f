// Test fixtures: two small model definitions on toy tasks, written once with the artifacts'
// GraphBuilder and run through both engines.
// - heatmap: a conv net finds two bright dots (one per input channel) with the Mask R-CNN
//   keypoint loss (spatial softmax cross-entropy over a 16×16 heatmap per keypoint);
// - detection: a conv head predicts per-cell objectness (sigmoid focal loss) and box offsets
//   (smooth-L1 on positive cells) for squares on an 8×8 grid.

import type { GraphBuilder, ModelDefinition, Value } from '@omnidistill/artifacts';
import { sigmoidFocalLoss, smoothL1Loss, spatialSoftmaxCrossEntropy } from '@omnidistill/artifacts';
import { Rng, type Feeds } from '@omnidistill/train';

/** Kaiming-uniform-like init from our seeded RNG (fan-in scaled). */
function convParam(g: GraphBuilder, rng: Rng, name: string, cout: number, cin: number, k: number, bias = true): { w: Value; b: Value } {
  const bound = Math.sqrt(6 / (cin * k * k));
  const w = Float32Array.from({ length: cout * cin * k * k }, () => (rng.nextFloat() * 2 - 1) * bound);
  const pw = g.param(`${name}.w`, [cout, cin, k, k], w);
  return { w: pw, b: bias ? g.param(`${name}.b`, [cout], new Float32Array(cout)) : pw };
}

function conv(g: GraphBuilder, x: Value, p: { w: Value; b: Value }, pad: number): Value {
  return g.conv(x, p.w, p.b, { pads: [pad, pad, pad, pad] });
}

export const HEATMAP = { batch: 8, size: 16, keypoints: 2, channels: 8 } as const;

/** Heatmap network: 2 × (conv3×3 + ReLU) → conv1×1 to K logit maps; spatial softmax CE. */
export function defineHeatmapNet(seed = 1): ModelDefinition {
  return (g) => {
    const { batch, size, keypoints, channels } = HEATMAP;
    const rng = new Rng(seed); // same init in every phase
    const image = g.input('image', 'float32', [batch, keypoints, size, size]);
    const c1 = convParam(g, rng, 'c1', channels, keypoints, 3);
    const c2 = convParam(g, rng, 'c2', channels, channels, 3);
    // No bias on the head: a per-map constant cancels in the spatial softmax, so its true
    // gradient is 0 and Adam would turn rounding noise into updates.
    const head = convParam(g, rng, 'head', keypoints, channels, 1, false);
    const h = g.relu(conv(g, g.relu(conv(g, image, c1, 1)), c2, 1));
    const logits = g.conv(h, head.w, undefined);
    if (g.phase === 'eval') return { outputs: { heatmaps: logits } };
    const target = g.input('kp.target', 'int64', [batch, keypoints]);
    const weight = g.input('kp.weight', 'float32', [batch, keypoints]);
    return { loss: spatialSoftmaxCrossEntropy(g, logits, target, weight) };
  };
}

/** Toy keypoint data: one bright 3×3 dot per channel on noise; target = its centre. */
export function heatmapBatch(rng: Rng, withTargets = true): Feeds {
  const { batch, size, keypoints } = HEATMAP;
  const image = new Float32Array(batch * keypoints * size * size);
  const target = new BigInt64Array(batch * keypoints);
  for (let i = 0; i < image.length; i++) image[i] = (rng.nextFloat() - 0.5) * 0.2;
  for (let n = 0; n < batch; n++) {
    for (let k = 0; k < keypoints; k++) {
      const y = 1 + rng.nextInt(size - 2), x = 1 + rng.nextInt(size - 2);
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) image[((n * keypoints + k) * size + y + dy) * size + x + dx] += dx === 0 && dy === 0 ? 1 : 0.5;
      }
      target[n * keypoints + k] = BigInt(y * size + x);
    }
  }
  const feeds: Record<string, Feeds[string]> = { image: { data: image, dims: [batch, keypoints, size, size] } };
  if (withTargets) {
    feeds['kp.target'] = { data: target, dims: [batch, keypoints] };
    feeds['kp.weight'] = { data: new Float32Array(batch * keypoints).fill(1), dims: [batch, keypoints] };
  }
  return feeds;
}

export const DETECTION = { batch: 8, grid: 8, cell: 4, channels: 8 } as const;

/** Detection head: conv3×3 + ReLU → (objectness 1 ch, box offsets 4 ch) per grid cell. */
export function defineDetectionHead(seed = 2): ModelDefinition {
  return (g) => {
    const { batch, grid, cell, channels } = DETECTION;
    const rng = new Rng(seed);
    const image = g.input('image', 'float32', [batch, 1, grid * cell, grid * cell]);
    // Stride-4 patchify conv as the "backbone", then the head.
    const stem = convParam(g, rng, 'stem', channels, 1, cell);
    const feat = g.relu(g.conv(image, stem.w, stem.b, { strides: [cell, cell] }));
    const mid = convParam(g, rng, 'mid', channels, channels, 3);
    const h = g.relu(conv(g, feat, mid, 1));
    const cls = convParam(g, rng, 'cls', 1, channels, 1);
    const box = convParam(g, rng, 'box', 4, channels, 1);
    const logits = conv(g, h, cls, 0);
    const deltas = conv(g, h, box, 0);
    if (g.phase === 'eval') return { outputs: { objectness: logits, boxes: deltas } };
    const objTarget = g.input('det.objectness', 'float32', [batch, 1, grid, grid]);
    const boxTarget = g.input('det.boxes', 'float32', [batch, 4, grid, grid]);
    const positives = g.reduceSum(objTarget, [0, 1, 2, 3]);
    const clsLoss = sigmoidFocalLoss(g, logits, objTarget, { normalizer: positives });
    // Box loss on positive cells only: both sides masked by the objectness target.
    const regLoss = smoothL1Loss(g, g.mul(deltas, objTarget), g.mul(boxTarget, objTarget), 1 / 9);
    return { loss: g.add(clsLoss, g.mul(regLoss, 10)) };
  };
}

/** Toy detection data: 1–3 bright squares; positives = the cell holding each centre. */
export function detectionBatch(rng: Rng): Feeds {
  const { batch, grid, cell } = DETECTION;
  const size = grid * cell;
  const image = new Float32Array(batch * size * size);
  const obj = new Float32Array(batch * grid * grid);
  const boxes = new Float32Array(batch * 4 * grid * grid);
  for (let i = 0; i < image.length; i++) image[i] = (rng.nextFloat() - 0.5) * 0.1;
  for (let n = 0; n < batch; n++) {
    const count = 1 + rng.nextInt(3);
    for (let o = 0; o < count; o++) {
      const w = 3 + rng.nextInt(6), h = 3 + rng.nextInt(6);
      const x0 = rng.nextInt(size - w), y0 = rng.nextInt(size - h);
      for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) image[(n * size + y) * size + x] = 1;
      const cx = x0 + w / 2, cy = y0 + h / 2;
      const gx = Math.min(grid - 1, Math.floor(cx / cell)), gy = Math.min(grid - 1, Math.floor(cy / cell));
      obj[(n * grid + gy) * grid + gx] = 1;
      // Targets: centre offset inside the cell and log size, in cell units.
      const t = [cx / cell - gx - 0.5, cy / cell - gy - 0.5, Math.log(w / cell), Math.log(h / cell)];
      t.forEach((v, c) => (boxes[((n * 4 + c) * grid + gy) * grid + gx] = v));
    }
  }
  return {
    image: { data: image, dims: [batch, 1, size, size] },
    'det.objectness': { data: obj, dims: [batch, 1, grid, grid] },
    'det.boxes': { data: boxes, dims: [batch, 4, grid, grid] },
  };
}

/** Initial parameter values of a definition (its `g.param` inits), by name. */
export function initialParameters(define: ModelDefinition, instantiate: (d: ModelDefinition) => { g: GraphBuilder }): Map<string, Float32Array> {
  const { g } = instantiate(define);
  return new Map(g.params.map((p) => [p.name, p.init]));
}

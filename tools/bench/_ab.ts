import { COCO_PERSON } from '@omnidistill/core';
import { checkEnsemble, checkDecode } from '@omnidistill/ensemble';
import { fastEnsembleAndDecode as newF } from '../../packages/ensemble/src/fast.js';
import { fastEnsembleAndDecode as oldF } from '../../packages/ensemble/src/_oldfast.js';
const T = 18, N = 100, K = 17, M = 56;
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function workload(kind: 'peaky' | 'noise') {
  const r = rng(2018);
  const heatmaps = new Float32Array(T * N * K * M * M);
  const flipped = Array.from({ length: T }, (_, t) => t % 2 === 1);
  const perm = new Int32Array(K).map((_, i) => i);
  for (const [a, b] of COCO_PERSON.flipPairs) [perm[a], perm[b]] = [b, a];
  if (kind === 'noise') {
    for (let i = 0; i < heatmaps.length; i++) heatmaps[i] = r() * 8 - 4;
  } else {
    const centres = Array.from({ length: N * K }, () => [4 + r() * (M - 8), 4 + r() * (M - 8), 1 + r() * 2.5] as const);
    for (let t = 0; t < T; t++) {
      for (let n = 0; n < N; n++) {
        for (let k = 0; k < K; k++) {
          const [cx0, cy, sigma] = centres[n * K + k];
          const cx = cx0 + (r() - 0.5) * 2, cyj = cy + (r() - 0.5) * 2, amp = 6 + r() * 6;
          // A flipped pass sees the mirrored image: keypoint k's bump lands mirrored in channel perm[k].
          const channel = flipped[t] ? perm[k] : k;
          const base = ((t * N + n) * K + channel) * M * M;
          for (let y = 0; y < M; y++) {
            for (let x = 0; x < M; x++) {
              const xs = flipped[t] ? M - 1 - x : x;
              const d2 = (xs - cx) ** 2 + (y - cyj) ** 2;
              heatmaps[base + y * M + x] = amp * Math.exp(-d2 / (2 * sigma * sigma)) - 4 + r() * 0.5;
            }
          }
        }
      }
    }
  }
  const rois = new Float32Array(N * 4);
  for (let n = 0; n < N; n++) {
    const w = 30 + r() * 370, h = 30 + r() * 370, x = r() * 600, y = r() * 400;
    rois.set([x, y, x + w, y + h], 4 * n);
  }
  return { heatmaps, rois, flipped };
}
for (const kind of ['peaky', 'noise'] as const) {
  const { heatmaps, rois, flipped } = workload(kind);
  const job = checkEnsemble({ data: heatmaps, t: T, n: N, k: K, m: M }, { mode: 'avg' as const, flipped, flipPairs: COCO_PERSON.flipPairs });
  const dj = checkDecode({}, N, rois);
  const res: Record<string, number[]> = { old: [], new: [] };
  for (let r = 0; r < 4; r++) for (const [name, fn] of [['old', oldF], ['new', newF]] as const) {
    const c0 = process.cpuUsage(); fn(job, dj); const c = process.cpuUsage(c0); res[name].push((c.user + c.system) / 1000);
  }
  console.log(kind, 'old', res.old.map((v) => v.toFixed(0)).join(' '), '| new', res.new.map((v) => v.toFixed(0)).join(' '));
}

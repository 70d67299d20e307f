// Synthetic decoded images for the training benches: random pixels and two people per image
// with all 17 keypoints labeled, so the real minibatch builders (RoIs, flips, targets) run as in
// training without reading files.
import type { LoadedImage } from '@omnidistill/models';
import { Rng } from '@omnidistill/train';

/** `count` square images of `side` pixels, each with two person annotations (category 1, K = 17). */
export function fakePeopleImages(count: number, side: number, seed: number): LoadedImage[] {
  const rng = new Rng(seed);
  const K = 17;
  return Array.from({ length: count }, (_, id) => {
    const pixels = new Uint8Array(side * side * 3).map(() => rng.nextInt(256));
    const annotations = [0, 1].map((i) => {
      const [x, y, w, h] = [5 + 40 * i, 10, 40, 70];
      const keypoints = new Float64Array(3 * K).map((_, j) => (j % 3 === 0 ? x + rng.nextFloat() * w : j % 3 === 1 ? y + rng.nextFloat() * h : 2));
      return { id: 2 * id + i + 1, image_id: id, category_id: 1, bbox: [x, y, w, h] as [number, number, number, number], area: w * h, iscrowd: 0 as const, keypoints, num_keypoints: K };
    });
    return { id, fileName: `${id}.png`, width: side, height: side, pixels, annotations };
  });
}

// Top-down crop augmentation: the sampled scale / rotation / flip stay in their documented
// ranges, and the crop pixels and the keypoint targets agree under every transform.
import { describe, expect, it } from 'vitest';
import { COCO_PERSON } from '@omnidistill/core';
import { Rng } from '@omnidistill/train';
import {
  CROP_AUGMENTATION_DEFAULTS,
  NO_CROP_AUGMENTATION,
  TopDownBatchBuilder,
  cropToImage,
  heatmapTargets,
  invertAffine,
  keypointsInCrop,
  resolveCropAugmentation,
  sampleCropPose,
  type TopDownStudentSpec,
} from '@omnidistill/models';

const K = COCO_PERSON.keypoints.length;
const LEFT_WRIST = COCO_PERSON.keypoints.indexOf('left_wrist');
const RIGHT_WRIST = COCO_PERSON.keypoints.indexOf('right_wrist');
const NOSE = COCO_PERSON.keypoints.indexOf('nose');
const identity = Int32Array.from({ length: K }, (_, i) => i);
const spec: TopDownStudentSpec = { image: 'input', heatmaps: 'heatmaps', pixels: { channelOrder: 'rgb', scale: 255, mean: [0, 0, 0], std: [1, 1, 1] }, schema: COCO_PERSON };

describe('sampleCropPose', () => {
  const box = [20, 10, 40, 50];
  const input = { height: 32, width: 24 };

  it('without augmentation: the inference crop (aspect-fixed, padded, same centre), unrotated, unmirrored', () => {
    const p = sampleCropPose(box, input, 1.25, NO_CROP_AUGMENTATION, new Rng(1));
    expect(p).toEqual({ cx: 30, cy: 30, w: 30 * 1.25, h: 40 * 1.25, angle: 0, flip: false });
  });

  it('scale within 1 ± f and rotation within ±2r degrees, applied with its probability', () => {
    const aug = resolveCropAugmentation({ jitter: 0, scaleFactor: 0.5, rotationFactor: 40, rotationProbability: 0.6 });
    const rng = new Rng(2);
    const poses = Array.from({ length: 1000 }, () => sampleCropPose(box, input, 1, aug, rng));
    const scales = poses.map((p) => p.h / 40);
    expect(Math.min(...scales)).toBeGreaterThanOrEqual(0.5);
    expect(Math.max(...scales)).toBeLessThanOrEqual(1.5);
    expect(scales.filter((s) => s < 0.8).length).toBeGreaterThan(100); // |N(0,1)| > 0.4 about 69% of the time, half of it below
    expect(scales.filter((s) => s > 1.2).length).toBeGreaterThan(100);
    poses.forEach((p) => expect(p.w / p.h).toBeCloseTo(24 / 32, 9)); // still the input's aspect
    const degrees = poses.map((p) => (p.angle * 180) / Math.PI);
    expect(Math.max(...degrees.map(Math.abs))).toBeLessThanOrEqual(80 + 1e-9);
    const rotated = degrees.filter((d) => d !== 0).length / poses.length;
    expect(rotated).toBeGreaterThan(0.55);
    expect(rotated).toBeLessThan(0.65);
    expect(poses.filter((p) => p.flip).length).toBeGreaterThan(450); // default flip probability 0.5
  });

  it('takes presets or fields over the defaults; rejects out-of-range settings and unknown names, naming the field', () => {
    expect(() => resolveCropAugmentation({ scaleFactor: 1.5 }, 'm.json.training.augmentation')).toThrow(/m\.json\.training\.augmentation\.scaleFactor.*\[0, 1\)/);
    expect(() => resolveCropAugmentation({ rotationProbability: '0.5' })).toThrow(/augmentation\.rotationProbability/);
    expect(() => resolveCropAugmentation({ rotate: 30 } as never)).toThrow(/augmentation\.rotate: expected one of the fields/);
    expect(resolveCropAugmentation({ rotationFactor: 30 })).toEqual({ ...CROP_AUGMENTATION_DEFAULTS, rotationFactor: 30 });
    expect(resolveCropAugmentation('mmpose')).toEqual({ flipProbability: 0.5, jitter: 0.05, scaleFactor: 0.5, rotationFactor: 40, rotationProbability: 0.6 });
    expect(() => resolveCropAugmentation('heavy', 'm.json.training.augmentation')).toThrow(/m\.json\.training\.augmentation: expected a preset \("default", "mmpose", "none"\)/);
  });
});

describe('crop ↔ image maps', () => {
  const input = { height: 40, width: 20 };

  it('a 90° rotation turns the crop: a point above the centre in the image lies right of the crop centre', () => {
    const pose = { cx: 50, cy: 50, w: 20, h: 40, angle: Math.PI / 2, flip: false };
    const kps = keypointsInCrop([50, 40, 2], pose, input, identity); // 10 px above the centre
    expect(kps[0]).toBeCloseTo(10 + 10, 9); // crop centre u = 10, +10 crop px (1 image px per crop px)
    expect(kps[1]).toBeCloseTo(20, 9);
    expect(kps[2]).toBe(2);
  });

  it('crop → image and back is the identity, with scale, rotation and mirroring', () => {
    const pose = { cx: 31, cy: 47, w: 26, h: 52, angle: 0.7, flip: true };
    const m = cropToImage(pose, input);
    const back = invertAffine(m);
    const [u, v] = [3.25, 17.5];
    const [x, y] = [m.a * u + m.b * v + m.c, m.d * u + m.e * v + m.f];
    expect(back.a * x + back.b * y + back.c).toBeCloseTo(u, 9);
    expect(back.d * x + back.e * y + back.f).toBeCloseTo(v, 9);
    // The crop centre is the pose's centre whatever the transform.
    expect(m.a * 10 + m.b * 20 + m.c).toBeCloseTo(31, 9);
    expect(m.d * 10 + m.e * 20 + m.f).toBeCloseTo(47, 9);
  });

  it('mirroring moves each keypoint to its flip partner\'s channel, x mirrored about the crop centre', () => {
    const kps = new Array<number>(3 * K).fill(0);
    kps.splice(3 * LEFT_WRIST, 3, 45, 60, 2);
    kps.splice(3 * NOSE, 3, 52, 40, 1);
    const pose = { cx: 50, cy: 50, w: 20, h: 40, angle: 0, flip: true };
    const perm = Int32Array.from({ length: K }, (_, i) => i);
    for (const [a, b] of COCO_PERSON.flipPairs) [perm[a], perm[b]] = [b, a];
    const out = keypointsInCrop(kps, pose, input, perm);
    // Left wrist at image x 45 = 5 px left of centre → the right-wrist channel, 5 px right of the crop centre.
    expect([out[3 * RIGHT_WRIST], out[3 * RIGHT_WRIST + 1], out[3 * RIGHT_WRIST + 2]]).toEqual([15, 30, 2]);
    expect(out[3 * LEFT_WRIST + 2]).toBe(0);
    expect([out[3 * NOSE], out[3 * NOSE + 1], out[3 * NOSE + 2]]).toEqual([8, 10, 1]); // unpaired: own channel
  });
});

describe('TopDownBatchBuilder with scale, rotation and flip', () => {
  it('the target cell of a keypoint is where its pixels land in the augmented crop, and mirrored crops swap the channel', () => {
    // A black 96×96 image; a white 9×9 square on the person's left wrist (the only labeled keypoint).
    const [W, H, kx, ky] = [96, 96, 38, 60];
    const pixels = new Uint8Array(W * H * 3);
    for (let y = ky - 4; y <= ky + 4; y++) for (let x = kx - 4; x <= kx + 4; x++) pixels.fill(255, (y * W + x) * 3, (y * W + x) * 3 + 3);
    const kps = new Array<number>(3 * K).fill(0);
    kps.splice(3 * LEFT_WRIST, 3, kx + 0.5, ky + 0.5, 2); // the square's centre (pixel centres at +0.5)
    const image = { id: 1, fileName: 'a.png', width: W, height: H, pixels, annotations: [{ id: 1, image_id: 1, category_id: 1, bbox: [30, 20, 30, 60], area: 1800, iscrowd: 0, keypoints: kps, num_keypoints: 1 }] };
    const [ch, cw] = [32, 24];
    const augmentation = resolveCropAugmentation({ scaleFactor: 0.5, rotationFactor: 40, rotationProbability: 1, jitter: 0.1 });
    const builder = new TopDownBatchBuilder({ batch: 1, height: ch, width: cw, targets: heatmapTargets(ch, cw), spec, augmentation });
    const rng = new Rng(4);
    const seen = new Set<number>();
    let checked = 0;
    for (let i = 0; i < 40; i++) {
      const f = builder.build([image as never], rng);
      const weight = f.heatmap_target_weights.data as Float32Array;
      const channel = [LEFT_WRIST, RIGHT_WRIST].find((j) => weight[j] === 1);
      if (channel === undefined) continue; // rotated or scaled out of the crop: no target
      expect(weight.reduce((a, b) => a + b, 0)).toBe(1);
      seen.add(channel);
      const cell = Number((f.heatmap_targets.data as BigInt64Array)[channel]);
      const crop = f.input.data as Float32Array;
      expect(crop[cell]).toBeGreaterThan(0.9); // red channel of the target cell's pixel: inside the white square
      expect(crop.subarray(0, ch * cw).filter((v) => v > 0.9).length).toBeLessThan(100); // and the square is small
      checked++;
    }
    expect(checked).toBeGreaterThan(30);
    expect([...seen].sort()).toEqual([LEFT_WRIST, RIGHT_WRIST].sort()); // both unmirrored and mirrored crops
  });
});

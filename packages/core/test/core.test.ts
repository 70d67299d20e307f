import { describe, expect, it } from 'vitest';
import { COCO_PERSON, defineKeypointSchema, describeValue, expectInteger, flipPermutation } from '@omnidistill/core';

describe('keypoint schemas', () => {
  it('COCO person has 17 keypoints, 8 flip pairs, and sigmas in COCO order', () => {
    expect(COCO_PERSON.keypoints).toHaveLength(17);
    expect(COCO_PERSON.flipPairs).toHaveLength(8);
    expect(COCO_PERSON.sigmas[0]).toBe(0.026);
    expect(COCO_PERSON.sigmas[16]).toBe(0.089);
    expect(COCO_PERSON.skeleton).toHaveLength(19);
  });

  it('flip permutation is an involution that swaps left/right and keeps the nose', () => {
    const perm = flipPermutation(COCO_PERSON.flipPairs, 17);
    expect(perm[0]).toBe(0);
    expect(perm[1]).toBe(2);
    expect(COCO_PERSON.keypoints[perm[5]]).toBe('right_shoulder');
    for (let c = 0; c < 17; c++) expect(perm[perm[c]]).toBe(c);
  });

  it('another schema is one object away', () => {
    const hand = defineKeypointSchema({
      name: 'tiny-hand',
      keypoints: ['wrist', 'thumb', 'index'],
      flipPairs: [],
      sigmas: [0.05, 0.05, 0.05],
      skeleton: [[0, 1], [0, 2]],
    });
    expect(flipPermutation(hand.flipPairs, 3)).toEqual(new Int32Array([0, 1, 2]));
  });

  it('rejects flip pairs that do not fit K, naming the field', () => {
    expect(() => flipPermutation([[1, 17]], 17)).toThrow(/flipPairs\[0\]: expected indices in \[0, 16\] \(K = 17\), received 17/);
    expect(() => flipPermutation([[1, 2], [2, 3]], 17)).toThrow(/flipPairs\[1\]: expected each keypoint in at most one pair/);
    expect(() =>
      defineKeypointSchema({ ...COCO_PERSON, sigmas: COCO_PERSON.sigmas.slice(1) }),
    ).toThrow(/schema\.sigmas: expected 17 sigmas/);
  });
});

describe('validation errors', () => {
  it('name path, expectation and received value', () => {
    expect(() => expectInteger(-400, 'options.scales[2]', 1)).toThrow(
      'options.scales[2]: expected a positive integer, received -400 (number)',
    );
    expect(describeValue(new Float32Array(3))).toBe('Float32Array of length 3');
  });
});

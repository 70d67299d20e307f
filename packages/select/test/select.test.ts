import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { createParams, evaluate, readCocoDataset, summarize } from '@omnidistill/coco';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  calibrate,
  generateLabels,
  selectLabels,
  targetsFromDataset,
  toCocoResults,
  writeCalibrationRecord,
  writeGeneratedLabels,
  writeGeneratedLabelsStreaming,
} from '@omnidistill/select';
import type { RawImagePrediction, RawInstance } from '@omnidistill/select';

const K = 3;
const categories = [{ id: 1, name: 'person', keypoints: ['a', 'b', 'c'], skeleton: [] }];

/** A keypoint instance whose keypoint k sits at (x1 + k, y1 + k) with the given scores. */
function person(x1: number, y1: number, score: number, kpScores: number[]): RawInstance {
  return {
    bbox: [x1, y1, x1 + 10, y1 + 20],
    score,
    categoryId: 1,
    keypoints: kpScores.flatMap((s, k) => [x1 + k + 0.5, y1 + k + 0.5, s]),
  };
}

function image(id: number, instances: RawInstance[]): RawImagePrediction {
  return { imageId: id, fileName: `img${id}.png`, width: 64, height: 48, instances };
}

// Four images, six instances. Instance scores sorted: .95 .9 .8 .6 .3 .1
const keypointPredictions: RawImagePrediction[] = [
  image(1, [person(0, 0, 0.95, [5, 1, -2]), person(20, 5, 0.3, [4, 4, 4])]),
  image(2, [person(3, 4, 0.9, [3, 2, 0])]),
  image(3, [person(1, 1, 0.1, [9, 9, 9])]), // only a low-score instance: ends up empty
  image(4, [person(7, 2, 0.8, [6, -1, 2]), person(9, 9, 0.6, [-3, -4, -5])]),
];

describe('keypoint selection', () => {
  // Labeled: 1 instance per image, 2 labeled keypoints per instance.
  const targets = { instancesPerImage: 1, keypointsPerInstance: 2 };

  it('calibrates one global instance threshold, then the keypoint threshold over kept instances', async () => {
    const cal = await calibrate(keypointPredictions, targets, { task: 'keypoints' });
    expect(cal.images).toBe(4);
    expect(cal.instanceThresholds).toHaveLength(1);
    // 4 images × 1 = 4 instances: .95 .9 .8 .6
    expect(cal.instanceThresholds[0]).toMatchObject({ categoryId: null, threshold: 0.6, kept: 4, status: 'matched', before: 1.5, after: 1 });
    // Kept keypoint scores: 5 1 -2 | 3 2 0 | 6 -1 2 | -3 -4 -5; 2 per instance × 4 → top 8.
    // Sorted desc: 6 5 3 2 2 1 0 -1 -2 -3 -4 -5; top 8 ends at -1 (no tie there).
    expect(cal.keypointThreshold).toMatchObject({ threshold: -1, kept: 8, units: 4, candidates: 12, before: K, after: 2 });
    expect(cal.instancesPerImage).toEqual({ target: 1, before: 1.5, after: 1 });
  });

  it('writes kept keypoints with v=2, the rest as (0,0,0), and keeps an image with no kept instance', async () => {
    const { dataset } = await selectLabels(() => keypointPredictions, targets, { task: 'keypoints', categories });
    expect(dataset.images.map((i) => i.id)).toEqual([1, 2, 3, 4]);
    expect(dataset.annotations.map((a) => a.image_id)).toEqual([1, 2, 4, 4]);
    expect(dataset.annotations.map((a) => a.id)).toEqual([1, 2, 3, 4]);
    const [first, , , last] = dataset.annotations;
    expect(first).toEqual({
      id: 1,
      image_id: 1,
      category_id: 1,
      bbox: [0, 0, 10, 20],
      area: 200,
      iscrowd: 0,
      keypoints: Float64Array.of(0.5, 0.5, 2, 1.5, 1.5, 2, 0, 0, 0),
      num_keypoints: 2,
    });
    // Every keypoint below threshold: the instance stays (its box is a label) with num_keypoints 0.
    expect(last).toMatchObject({ bbox: [9, 9, 10, 20], keypoints: new Float64Array(9), num_keypoints: 0 });
    expect(dataset.categories).toBe(categories);
    expect(dataset.annotations.reduce((s, a) => s + a.num_keypoints!, 0) / dataset.annotations.length).toBe(2);
  });

  it('skips images with no kept instance on request, and scales the keypoint area', async () => {
    const { dataset } = await selectLabels(() => keypointPredictions, targets, {
      task: 'keypoints',
      categories,
      dropEmptyImages: true,
      keypointAreaFactor: 0.5,
      includeScores: true,
    });
    expect(dataset.images.map((i) => i.id)).toEqual([1, 2, 4]);
    expect(dataset.annotations[0]).toMatchObject({ area: 100, score: 0.95 });
  });

  it('reads async sources and keeps every image when nothing passes', async () => {
    async function* stream() {
      yield* keypointPredictions;
    }
    const { dataset, calibration } = await selectLabels(stream, { instancesPerImage: 0, keypointsPerInstance: 2 }, { task: 'keypoints', categories });
    expect(calibration.instanceThresholds[0].threshold).toBeNull();
    expect(calibration.keypointThreshold).toMatchObject({ status: 'no-candidates', threshold: null, units: 0 });
    expect(dataset.images).toHaveLength(4);
    expect(dataset.annotations).toHaveLength(0);
  });

  it('zero detections and tied scores are never reported as a match, and warn', async () => {
    const none = await calibrate([image(1, []), image(2, [])], targets, { task: 'keypoints' });
    expect(none.instanceThresholds[0]).toMatchObject({ status: 'no-candidates', threshold: null });
    expect(none.warnings[0]).toMatch(/^instances: the teacher predicted nothing on 2 images although the labeled set has 1\.00 per image/);
    const tied = [image(1, [person(0, 0, 0.5, [1, 2, 3]), person(0, 0, 0.5, [1, 2, 3])]), image(2, [person(0, 0, 0.5, [1, 2, 3]), person(0, 0, 0.5, [1, 2, 3])])];
    const cal = await calibrate(tied, { instancesPerImage: 0.5, keypointsPerInstance: 2 }, { task: 'keypoints' });
    expect(cal.instanceThresholds[0]).toMatchObject({ status: 'tied', threshold: null, kept: 0 });
    expect(cal.warnings[0]).toBe(
      "instances: all 4 scores are equal (0.5), so count matching cannot rank the predictions: nothing is kept (target 0.50 per unit); the teacher's scores carry no confidence — check its score output",
    );
  });

  it('handles an empty prediction set', async () => {
    const { dataset, calibration } = await selectLabels(() => [], targets, { task: 'keypoints', categories });
    expect(calibration.images).toBe(0);
    expect(calibration.instanceThresholds[0].status).toBe('no-candidates');
    expect(dataset.images).toEqual([]);
  });

  it('reports malformed records precisely', async () => {
    const bad = [image(1, [person(0, 0, 0.5, [1, 2, 3])]), image(2, [{ ...person(0, 0, 0.5, [1, 2, 3]), keypoints: [1, 2, 3] }])];
    await expect(calibrate(bad, targets, { task: 'keypoints' })).rejects.toThrow(
      'predictions[1].instances[0].keypoints: expected 9 numbers (K = 3 × (x, y, score)), received an array of length 3',
    );
    const dup = [image(1, []), image(1, [])];
    await expect(calibrate(dup, targets, { task: 'keypoints' })).rejects.toThrow('predictions[1].imageId: expected an image id not used by an earlier record, received 1 (number)');
    const nan = [image(1, [person(0, 0, Number.NaN, [1, 2, 3])])];
    await expect(calibrate(nan, targets, { task: 'keypoints' })).rejects.toThrow('predictions[0].instances[0].score: expected a finite number, received NaN');
    const box = [image(1, [{ ...person(0, 0, 0.5, [1, 2, 3]), bbox: [5, 0, 4, 1] as [number, number, number, number] }])];
    await expect(calibrate(box, targets, { task: 'keypoints' })).rejects.toThrow('predictions[0].instances[0].bbox[2]: expected x2 >= x1 = 5, received 4 (number)');
    await expect(calibrate([], { instancesPerImage: 1 }, { task: 'keypoints' })).rejects.toThrow('targets.keypointsPerInstance: expected a finite number, received undefined');
  });

  it('refuses to generate from a source other than the one calibrated on', async () => {
    const cal = await calibrate(keypointPredictions, targets, { task: 'keypoints' });
    await expect(generateLabels(keypointPredictions.slice(1), cal, { categories })).rejects.toThrow('source: expected the 4 records the calibration was made on, received 3');
  });
});

describe('detection selection', () => {
  const det = (score: number, categoryId: number): RawInstance => ({ bbox: [1, 2, 11, 7], score, categoryId });
  const predictions = [
    image(1, [det(0.9, 1), det(0.8, 1), det(0.7, 2), det(0.6, 3)]),
    image(2, [det(0.5, 1), det(0.95, 2), det(0.4, 2)]),
  ];
  const detCategories = [
    { id: 1, name: 'a' },
    { id: 2, name: 'b' },
    { id: 4, name: 'd' },
  ];

  it('calibrates one threshold per category; unlabeled categories keep nothing', async () => {
    const targets = { instancesPerImage: 1.5, perCategory: new Map([[1, 1], [2, 0.5], [4, 1]]) };
    const cal = await calibrate(predictions, targets, { task: 'detection' });
    expect(cal.keypointThreshold).toBeNull();
    const byId = Object.fromEntries(cal.instanceThresholds.map((t) => [t.categoryId, t]));
    expect(Object.keys(byId)).toEqual(['1', '2', '3', '4']);
    expect(byId[1]).toMatchObject({ threshold: 0.8, kept: 2, after: 1 });
    expect(byId[2]).toMatchObject({ threshold: 0.95, kept: 1, after: 0.5 });
    expect(byId[3]).toMatchObject({ threshold: null, kept: 0, target: 0, status: 'matched' }); // predicted, never labeled
    expect(byId[4]).toMatchObject({ threshold: null, kept: 0, status: 'no-candidates' }); // labeled, never predicted
    expect(cal.instancesPerImage).toEqual({ target: 1.5, before: 3.5, after: 1.5 });
    expect(cal.warnings).toEqual([
      'category 4: the teacher predicted nothing on 2 images although the labeled set has 1.00 per image; no labels are generated (check the model with omnidistill check-model: pixel scale, normalisation, input layout)',
    ]);

    const dataset = await generateLabels(predictions, cal, { categories: detCategories });
    expect(dataset.annotations.map((a) => [a.image_id, a.category_id])).toEqual([[1, 1], [1, 1], [2, 2]]);
    expect(dataset.annotations[0]).toEqual({ id: 1, image_id: 1, category_id: 1, bbox: [1, 2, 10, 5], area: 50, iscrowd: 0 });
  });

  it('shared: one threshold over every category matches all instances per image, whatever the category', async () => {
    // 2 per image in all, but 0.5 / 1 / 0.5 of categories 1 / 2 / 3: per category keeps the best
    // 1 / 2 / 1 of each; one shared threshold keeps the 4 highest scores of any category.
    const targets = { instancesPerImage: 2, perCategory: new Map([[1, 0.5], [2, 1], [3, 0.5]]) };
    const per = await calibrate(predictions, targets, { task: 'detection' });
    const shared = await calibrate(predictions, targets, { task: 'detection', categoryThresholds: 'shared' });
    expect(shared.instanceThresholds).toHaveLength(1);
    expect(shared.instanceThresholds[0]).toMatchObject({ categoryId: null, threshold: 0.7, kept: 4, candidates: 7, target: 2, after: 2, status: 'matched' });
    expect(shared.instancesPerImage).toEqual({ target: 2, before: 3.5, after: 2 });
    expect(per.instanceThresholds.map((t) => [t.categoryId, t.threshold])).toEqual([[1, 0.9], [2, 0.7], [3, 0.6]]);
    const kept = async (cal: typeof per) => (await generateLabels(predictions, cal, { categories: detCategories })).annotations.map((a) => [a.image_id, a.category_id]);
    expect(await kept(per)).toEqual([[1, 1], [1, 2], [1, 3], [2, 2]]);
    expect(await kept(shared)).toEqual([[1, 1], [1, 1], [1, 2], [2, 2]]);
  });

  it('rejects an unknown categoryThresholds', async () => {
    await expect(calibrate(predictions, { instancesPerImage: 1, perCategory: new Map() }, { task: 'detection', categoryThresholds: 'some' as never })).rejects.toThrow(/options.categoryThresholds/);
  });

  it('needs per-category targets', async () => {
    await expect(calibrate(predictions, { instancesPerImage: 1 }, { task: 'detection' })).rejects.toThrow(
      'targets.perCategory: expected a Map from category id to instances per image (detection), received undefined',
    );
  });
});

describe('targetsFromDataset', () => {
  it('counts non-crowd instances per image, per category, and labeled keypoints per instance', () => {
    const t = targetsFromDataset({
      images: [1, 2, 3, 4].map((id) => ({ id, file_name: `${id}.png`, width: 10, height: 10 })),
      categories: [{ id: 1, name: 'person' }, { id: 2, name: 'other' }],

      annotations: [
        { id: 1, image_id: 1, category_id: 1, bbox: [0, 0, 1, 1], area: 1, iscrowd: 0, keypoints: Float64Array.of(1, 1, 2, 0, 0, 0, 3, 3, 1), num_keypoints: 2 },
        { id: 2, image_id: 1, category_id: 1, bbox: [0, 0, 1, 1], area: 1, iscrowd: 0, keypoints: Float64Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0), num_keypoints: 0 },
        { id: 3, image_id: 2, category_id: 1, bbox: [0, 0, 1, 1], area: 1, iscrowd: 1, keypoints: Float64Array.of(1, 1, 2, 1, 1, 2, 1, 1, 2), num_keypoints: 3 },
        { id: 4, image_id: 3, category_id: 1, bbox: [0, 0, 1, 1], area: 1, iscrowd: 0, keypoints: Float64Array.of(1, 1, 2, 1, 1, 2, 1, 1, 2), num_keypoints: 3 },
      ],
    });
    expect(t.instancesPerImage).toBe(3 / 4);
    expect([...t.perCategory!]).toEqual([[1, 3 / 4], [2, 0]]);
    expect(t.keypointsPerInstance).toBe(5 / 3);
  });

  it('rejects a dataset without images', () => {
    expect(() => targetsFromDataset({ images: [], annotations: [], categories: [] })).toThrow('dataset.images: expected at least one labeled image');
  });
});

describe('writing', () => {
  it('writes the labels and the calibration record as complete JSON files and leaves no temp file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'omni-select-'));
    const targets = { instancesPerImage: 1, keypointsPerInstance: 2 };
    const { dataset, calibration } = await selectLabels(() => keypointPredictions, targets, { task: 'keypoints', categories });
    await writeGeneratedLabels(join(dir, 'out', 'generated.json'), dataset);
    await writeCalibrationRecord(join(dir, 'out', 'calibration.json'), calibration);
    expect(await readCocoDataset(join(dir, 'out', 'generated.json'))).toEqual(dataset);
    expect(JSON.parse(await readFile(join(dir, 'out', 'calibration.json'), 'utf8'))).toEqual(calibration);
    expect((await readdir(join(dir, 'out'))).sort()).toEqual(['calibration.json', 'generated.json']);
  });
});

describe('writeGeneratedLabelsStreaming', () => {
  it.each([
    ['keypoints, empty images kept', { task: 'keypoints' as const, categories }],
    ['keypoints, empty images dropped, scores included', { task: 'keypoints' as const, categories, dropEmptyImages: true, includeScores: true }],
  ])('writes the same bytes as generateLabels + writeGeneratedLabels (%s), reading the source twice', async (_name, options) => {
    const dir = await mkdtemp(join(tmpdir(), 'omni-select-stream-'));
    const targets = { instancesPerImage: 1, keypointsPerInstance: 2 };
    const calibration = await calibrate(keypointPredictions, targets, options);
    const dataset = await generateLabels(keypointPredictions, calibration, options);
    await writeGeneratedLabels(join(dir, 'arrays.json'), dataset);
    let opened = 0;
    async function* source() {
      opened++;
      yield* keypointPredictions;
    }
    const counts = await writeGeneratedLabelsStreaming(join(dir, 'stream.json'), source, calibration, options);
    expect(opened).toBe(2);
    expect(counts).toEqual({ images: dataset.images.length, annotations: dataset.annotations.length });
    expect(dataset.annotations.length).toBeGreaterThan(0);
    expect(await readFile(join(dir, 'stream.json'), 'utf8')).toBe(await readFile(join(dir, 'arrays.json'), 'utf8'));
  });

  it('refuses a source with another number of records than the calibration, leaving no file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'omni-select-stream-'));
    const calibration = await calibrate(keypointPredictions, { instancesPerImage: 1, keypointsPerInstance: 2 }, { task: 'keypoints' });
    await expect(writeGeneratedLabelsStreaming(join(dir, 'g.json'), () => keypointPredictions.slice(1), calibration, { categories })).rejects.toThrow('the 4 records the calibration was made on');
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('toCocoResults', () => {
  it('turns raw predictions into COCO results that COCOeval scores', async () => {
    const results = await toCocoResults(keypointPredictions, { task: 'keypoints' });
    expect(results).toHaveLength(6);
    expect(results[0]).toEqual({ image_id: 1, category_id: 1, score: 0.95, bbox: [0, 0, 10, 20], keypoints: Float64Array.of(0.5, 0.5, 5, 1.5, 1.5, 1, 2.5, 2.5, -2) });
    expect(await toCocoResults(keypointPredictions, { task: 'detection', minScore: 0.5 })).toHaveLength(4);
    // All raw predictions scored against the labels generated from them: the kept (top
    // scoring) instances match themselves exactly and the dropped ones rank below, so AP = 1.
    const { dataset } = await selectLabels(() => keypointPredictions, { instancesPerImage: 1, keypointsPerInstance: 2 }, { task: 'keypoints', categories });
    const summary = summarize(evaluate(dataset, results, createParams('bbox', dataset)));
    expect(summary.stats[0]).toBe(1);
  });
});

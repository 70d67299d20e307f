// One seed's workshop: the demo's stages (bench.ts) behind model recipes. Data, the person
// detector teacher and every model are stages of one StageBook in OUT/seed-N, keyed by
// content, so every variant of every experiment at this seed reuses what another already
// made (one teacher per seed, one set of predictions per plan, ...).
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { readCocoDataset, writeCocoDataset } from '@omnidistill/coco';
import { loadManifest } from '@omnidistill/infer';
import type { KeypointManifest } from '@omnidistill/infer';
import { customPlan } from '@omnidistill/transforms';
import type { TransformPlan } from '@omnidistill/transforms';
import { allSettledOrThrow, Bench, detectorRois, loadDetector, SINGLE_PASS } from '../pipeline/bench.js';
import type { BenchData, DemoIO, EvalPass, HiddenSplit, LoadedDetector, ModelKind, TrainRecord } from '../pipeline/bench.js';
import type { LabelResult } from '../pipeline/label.js';
import { selectionRuleName } from '../pipeline/label-select.js';
import { recipeKey } from './recipe.js';
import type { LabelRecipe, ModelRecipe, PlanName, UnlabeledRecipe } from './recipe.js';
import { planSpecs } from './scale.js';
import { detectionTeacherRecipe } from './types.js';
import type { Scale } from './scale.js';

/** The task an experiment asks its question on: the paper's keypoints, or multi-category detection. */
export type ExperimentTask = 'keypoints' | 'detection';

/** A model's scores on the validation split (single pass). */
export interface ModelScore {
  /** Keypoints: keypoint AP with the ground-truth person boxes as RoIs (isolates the keypoint model). */
  gtBoxes?: number;
  /** Keypoints: keypoint AP with the person detector teacher's boxes (the paper's number). Detection: box AP. */
  endToEnd: number;
  /** Student: kept instances per unlabeled image and kept keypoints per instance in its labels. */
  labels?: { instancesPerImage: number; keypointsPerInstance: number | null; generatedInstances: number };
}

/** Lets at most `n` tasks run at once (trainings: one core each). */
class Slots {
  private waiting: (() => void)[] = [];
  private busy = 0;
  constructor(private readonly n: number) {}
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.busy >= this.n) await new Promise<void>((r) => this.waiting.push(r));
    this.busy++;
    try {
      return await fn();
    } finally {
      this.busy--;
      this.waiting.shift()?.();
    }
  }
}

export class SeedLab {
  private readonly models = new Map<string, Promise<TrainRecord>>();
  private readonly labelRuns = new Map<string, Promise<LabelResult>>();
  private readonly scores = new Map<string, Promise<ModelScore>>();
  private readonly unlabeledSplits = new Map<string, Promise<HiddenSplit>>();
  /** Trainings run in child processes, one core each. */
  private readonly trainSlots: Slots;
  /** Inference (labeling, evaluation) runs in this process, one job at a time. */
  private readonly inferSlot = new Slots(1);

  private constructor(
    readonly bench: Bench,
    readonly scale: Scale,
    readonly seed: number,
    readonly task: ExperimentTask,
    readonly data: BenchData,
    /** Keypoints: the person detector teacher whose boxes are the RoIs (null for detection). */
    readonly detector: LoadedDetector | null,
    private readonly evalPasses: EvalPass[],
    /** Keypoints: the person detector teacher's box AP; detection: the base teacher's (set once it is evaluated). */
    public detectorAp: number,
    parallelTrainings: number,
  ) {
    this.trainSlots = new Slots(parallelTrainings);
  }

  /** Opens (or resumes) the seed's folder for a task (see openKeypoints / openDetection). */
  static open(outDir: string, scale: Scale, seed: number, io: DemoIO, parallelTrainings = 2, task: ExperimentTask = 'keypoints'): Promise<SeedLab> {
    return task === 'keypoints' ? SeedLab.openKeypoints(outDir, scale, seed, io, parallelTrainings) : SeedLab.openDetection(outDir, scale, seed, io, parallelTrainings);
  }

  /**
   * Detection (the `objects` synth style, five categories): data and the base teacher, a
   * detector trained for the detector's steps on the labeled split.
   */
  private static async openDetection(outDir: string, scale: Scale, seed: number, io: DemoIO, parallelTrainings: number): Promise<SeedLab> {
    const bench = await Bench.open(outDir, { scale, seed, task: 'detection' }, io);
    const data = await bench.data('data', join(outDir, 'data'), {
      style: 'objects',
      imageSize: scale.imageSize,
      counts: { labeled: scale.counts.labeled, unlabeled: scale.counts.unlabeled, val: scale.counts.val },
      seed,
    });
    const lab = new SeedLab(bench, scale, seed, 'detection', data, null, [{ label: 'single pass', plan: SINGLE_PASS }], NaN, parallelTrainings);
    const teacher = detectionTeacherRecipe(scale);
    bench.engine = (await lab.model(teacher)).engine;
    lab.detectorAp = (await lab.score(teacher)).endToEnd;
    return lab;
  }

  /**
   * Keypoints: data, the person detector teacher (trained beside the base teacher, one core
   * each) and the detector's validation boxes for end-to-end AP.
   */
  private static async openKeypoints(outDir: string, scale: Scale, seed: number, io: DemoIO, parallelTrainings: number): Promise<SeedLab> {
    const bench = await Bench.open(outDir, { scale, seed }, io);
    const data = await bench.data('data', join(outDir, 'data'), {
      style: 'keypoints',
      imageSize: scale.imageSize,
      counts: { labeled: scale.counts.labeled, unlabeled: scale.counts.unlabeled, val: scale.counts.val },
      seed,
    });
    const schedule = { batch: scale.batch, seed };
    const detectorModel: ModelKind = { task: 'detection', lr: scale.detectorLr };
    const teacher: ModelRecipe = { kind: 'supervised', steps: scale.teacherSteps };
    // The base teacher trains beside the detector: every experiment needs both.
    const [detectorRecord, teacherRecord] = await allSettledOrThrow([
      bench.train('detector', data.labeled, scale.detectorSteps, schedule, { threads: 1, child: true, model: detectorModel }),
      bench.train(modelName(teacher), data.labeled, scale.teacherSteps, schedule, { threads: 1, child: true, model: { task: 'keypoints', lr: scale.lr } }),
    ] as const);
    bench.engine = teacherRecord.engine;
    const detector = await loadDetector(detectorRecord);
    const [box] = await bench.evaluate('detector', detectorRecord, 'detection', data.val, [{ label: 'single pass', plan: SINGLE_PASS }]);
    const person = ((await loadManifest(teacherRecord.manifestPath)) as KeypointManifest).keypoints.categoryId;
    const passes: EvalPass[] = [
      { label: 'single pass, GT boxes', plan: SINGLE_PASS },
      { label: 'single pass, detector boxes', plan: SINGLE_PASS, rois: detectorRois(detector.session, person, SINGLE_PASS), roisFingerprint: detector.fingerprint },
    ];
    const lab = new SeedLab(bench, scale, seed, 'keypoints', data, detector, passes, box.stats[0], parallelTrainings);
    lab.models.set(modelName(teacher), Promise.resolve(teacherRecord));
    return lab;
  }

  /** The transform plan of a plan name at this scale. */
  plan(name: PlanName): TransformPlan {
    const specs = planSpecs(name, this.scale);
    if (specs.length === 0) return SINGLE_PASS;
    return customPlan(specs.map((s) => ({ shortSide: s.multiplier === null ? null : Math.round(s.multiplier * this.scale.imageSize), flip: s.flip })));
  }

  /** Trains (or reuses) the model of a recipe, its teachers first. */
  model(recipe: ModelRecipe): Promise<TrainRecord> {
    const name = modelName(recipe);
    let p = this.models.get(name);
    if (!p) {
      p = this.trainModel(name, recipe);
      this.models.set(name, p);
    }
    return p;
  }

  private async trainModel(name: string, recipe: ModelRecipe): Promise<TrainRecord> {
    const model: ModelKind = this.task === 'keypoints' ? { task: 'keypoints', lr: this.scale.lr } : { task: 'detection', lr: this.scale.detectorLr };
    const run = { threads: 1, child: true, model };
    const schedule = { batch: this.scale.batch, seed: this.seed };
    if (recipe.kind === 'supervised') return this.trainSlots.run(() => this.bench.train(name, this.data.labeled, recipe.steps, schedule, run));
    const labels = await this.labels(recipe.teacher, recipe.labels);
    const unlabeled = await this.unlabeled(recipe.labels.unlabeled);
    return this.trainSlots.run(() =>
      this.bench.train(name, this.data.labeled, recipe.steps, schedule, {
        ...run,
        generated: { coco: labels.generated, imageDir: unlabeled.imageDir },
        labeledProbability: recipe.labeledProbability,
        ...(recipe.perturbation ? { perturbation: recipe.perturbation } : {}),
      }),
    );
  }

  /** The teacher's generated labels on an unlabeled set (predictions shared by every selection rule). */
  labels(teacher: ModelRecipe, recipe: LabelRecipe): Promise<LabelResult> {
    const key = recipeKey({ teacher, recipe });
    let p = this.labelRuns.get(key);
    if (!p) {
      p = (async () => {
        const [record, unlabeled] = await Promise.all([this.model(teacher), this.unlabeled(recipe.unlabeled)]);
        const plan = this.plan(recipe.plan);
        const predictions = recipeKey({ teacher, plan: recipe.plan, unlabeled: recipe.unlabeled });
        return this.inferSlot.run(() =>
          this.bench.label(`label-${predictions}-${selectionRuleName(recipe.selection)}`, {
            task: this.task,
            teacher: record,
            unlabeled,
            labeled: this.data.labeled,
            plan,
            ...(this.detector ? { rois: { kind: 'detector' as const, detector: this.detector, plan } } : {}),
            selection: recipe.selection,
            dir: join(this.bench.outDir, 'labels', predictions),
          }),
        );
      })();
      this.labelRuns.set(key, p);
    }
    return p;
  }

  /** The unlabeled images of a recipe: the first `count` of the seed's split, or of the shifted style's. */
  unlabeled(recipe: UnlabeledRecipe): Promise<HiddenSplit> {
    const key = `${recipe.style}-${recipe.count}`;
    let p = this.unlabeledSplits.get(key);
    if (!p) {
      p = this.makeUnlabeled(recipe);
      this.unlabeledSplits.set(key, p);
    }
    return p;
  }

  private async makeUnlabeled(recipe: UnlabeledRecipe): Promise<HiddenSplit> {
    const full = this.scale.counts.unlabeled;
    const own = this.task === 'keypoints' ? 'keypoints' : 'objects';
    // The objects style is detection's own data; keypoint styles are keypoint experiments'.
    if ((recipe.style === 'objects') !== (this.task === 'detection')) throw new Error(`a ${this.task} experiment cannot label unlabeled images of the ${recipe.style} style`);
    const source =
      recipe.style === own
        ? this.data.unlabeled
        : (
            await this.bench.data('data-shifted', join(this.bench.outDir, 'data-shifted'), {
              style: 'shifted',
              imageSize: this.scale.imageSize,
              counts: { unlabeled: Math.max(full, recipe.count) },
              seed: this.seed,
            })
          ).unlabeled;
    if (recipe.count >= (await readCocoDataset(source.annotations)).images.length) return source;
    return this.bench.stage(`unlabeled-${recipe.style}-${recipe.count}`, ['subset', source, recipe.count], () => writeSubset(source, recipe.count, join(this.bench.outDir, 'subsets', `${recipe.style}-${recipe.count}`)));
  }

  /** Keypoint AP of a recipe's model (GT boxes and end to end), and its labels' statistics. */
  score(recipe: ModelRecipe): Promise<ModelScore> {
    const name = modelName(recipe);
    let p = this.scores.get(name);
    if (!p) {
      p = (async () => {
        const record = await this.model(recipe);
        const aps = await this.inferSlot.run(() => this.bench.evaluate(name, record, this.task, this.data.val, this.evalPasses));
        // Keypoints: GT boxes, then the detector's boxes; detection: box AP.
        const score: ModelScore = this.task === 'keypoints' ? { gtBoxes: aps[0].stats[0], endToEnd: aps[1].stats[0] } : { endToEnd: aps[0].stats[0] };
        if (recipe.kind === 'student') {
          const s = (await this.labels(recipe.teacher, recipe.labels)).summary;
          score.labels = { instancesPerImage: s.instancesPerImage.after, keypointsPerInstance: s.keypointsPerInstance?.after ?? null, generatedInstances: s.generatedInstances };
        }
        return score;
      })();
      this.scores.set(name, p);
    }
    return p;
  }
}

/** The stage and file name of a recipe's model. */
export function modelName(recipe: ModelRecipe): string {
  return `${recipe.kind === 'student' ? 'student' : 'supervised'}-${recipeKey(recipe)}`;
}

/** Writes the first `count` images of a split (and their hidden labels) as a split of its own. */
async function writeSubset(source: HiddenSplit, count: number, dir: string): Promise<HiddenSplit> {
  const pick = async (file: string, out: string) => {
    const d = await readCocoDataset(file);
    const images = [...d.images].sort((a, b) => a.id - b.id).slice(0, count);
    const ids = new Set(images.map((i) => i.id));
    await writeCocoDataset(out, { ...d, images, annotations: d.annotations.filter((a) => ids.has(a.image_id)) });
    return out;
  };
  await mkdir(dir, { recursive: true }); // the atomic writer creates the file, not its folder
  const annotations = await pick(source.annotations, join(dir, 'annotations.json'));
  const hidden = source.hidden ? await pick(source.hidden, join(dir, 'annotations.hidden.json')) : null;
  return { annotations, imageDir: source.imageDir, hidden };
}

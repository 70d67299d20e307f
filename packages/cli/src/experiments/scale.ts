// The sizes an experiment runs at. `quick` is sized so that `experiment transforms --quick`
// (2 seeds) fits in about 15 minutes on 2 cores; the default is DEMO-NOTES' setting Q; tests
// use `tiny`-like overrides.
import type { PlanName } from './recipe.js';

/** Everything shared by every variant of every experiment at one size (part of each stage's identity). */
export interface Scale {
  imageSize: number;
  counts: { labeled: number; unlabeled: number; val: number };
  teacherSteps: number;
  /** The person detector teacher (its boxes are the RoIs on unlabeled and validation images). */
  detectorSteps: number;
  /** The student's default schedule (the paper: longer than the teacher's). */
  studentSteps: number;
  batch: number;
  lr: number;
  detectorLr: number;
  /** Shorter-side multipliers of the `scales` plans (besides the identity). */
  planScales: number[];
  labeledProbability: number;
}

/** The default (≈ DEMO-NOTES setting Q) and `--quick` sizes. */
export function experimentScale(quick: boolean): Scale {
  return quick
    ? {
        // 80 px and 400 unlabeled images: the quick demo's data at ~0.7× the pixels per step.
        imageSize: 80,
        counts: { labeled: 200, unlabeled: 400, val: 200 },
        teacherSteps: 300,
        detectorSteps: 600,
        studentSteps: 600,
        batch: 16,
        lr: 2e-3,
        detectorLr: 3e-3,
        planScales: [0.75, 1.25, 1.5],
        labeledProbability: 0.6,
      }
    : {
        imageSize: 96,
        counts: { labeled: 200, unlabeled: 800, val: 300 },
        teacherSteps: 400,
        detectorSteps: 800,
        studentSteps: 800,
        batch: 16,
        lr: 2e-3,
        detectorLr: 3e-3,
        planScales: [0.75, 1.25, 1.5],
        labeledProbability: 0.6,
      };
}

type PlanSpec = { multiplier: number | null; flip: boolean };

/** Each plan's transforms besides the identity: (shorter-side multiplier or null for the original size, flip). */
const PLAN_SPECS: Readonly<Record<PlanName, (scales: readonly number[]) => PlanSpec[]>> = {
  single: () => [],
  flip: () => [{ multiplier: null, flip: true }],
  scales: (scales) => scales.map((m) => ({ multiplier: m, flip: false })),
  'scales-flip': (scales) => [{ multiplier: null, flip: true }, ...scales.flatMap((m) => [{ multiplier: m, flip: false }, { multiplier: m, flip: true }])],
};

export function planSpecs(plan: PlanName, scale: Scale): PlanSpec[] {
  return PLAN_SPECS[plan](scale.planScales);
}

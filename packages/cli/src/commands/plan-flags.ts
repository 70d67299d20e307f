// The test-time plan flags shared by label, predict and check-model: `--plan NAME` or
// `--scales LIST` (relative `0.75x` and/or absolute `400`), resolved against the labeled
// images' sizes so that the default fits the data and oversized plans are flagged.
import type { ImageSize } from '@omnidistill/core';
import type { LayoutTraits } from '@omnidistill/infer';
import { customPlan, dataSizedPlan, medianImageSize, paperPlan, parseScaleList, upsamplingWarnings } from '@omnidistill/transforms';
import type { TransformPlan } from '@omnidistill/transforms';
import { oneOf } from './args.js';
import { UsageError } from './types.js';

export const PLAN_NAMES = ['auto', 'paper-absolute', 'paper', 'flip', 'single'] as const;
export type PlanName = (typeof PLAN_NAMES)[number];

/** The help lines of the plan flags, shared by every command that takes them. */
export const PLAN_HELP = `  --plan PLAN           auto (default: the paper's scale spread relative to each image,
                        0.625x…1.875x ± flip; original ± flip for models to which image scales
                        mean nothing or harm: top-down crop layouts, in-graph resize),
                        paper-absolute (shorter side 400…1200 ± flip, for COCO-sized images;
                        "paper" is the same), flip (original ± flip), single
  --scales LIST         instead of --plan: comma-separated scales, each ± flip, plus the flipped
                        original: relative "0.75x,1x,1.25x" and/or absolute shorter sides "400,600"`;

/** parseArgs options of the plan flags. */
export const PLAN_FLAGS = { plan: { type: 'string' }, scales: { type: 'string' } } as const;

export interface ResolvedPlan {
  plan: TransformPlan;
  /** One line saying which plan runs and why (for the log). */
  description: string;
  /** Transforms that upsample the median image more than 3×. */
  warnings: string[];
}

/**
 * Why `auto` is the flip alone for a model of these traits, or null when the image-sized spread
 * applies. Crop layouts resample the person to their fixed input whatever the image size, and a
 * plan scale s crops `box · padding / s`: the spread's factors up to 1.875× cut into the person
 * (a top-down teacher on the synthetic data: single 32.3, flip 37.4, the spread 27.1 keypoint
 * AP, tools/teachers/keypoint-teachers.sh). An in-graph resize undoes every scale.
 */
export function flipOnlyReason(traits: Pick<LayoutTraits, 'cropsPerson' | 'resizesInGraph'>): string | null {
  if (traits.cropsPerson) return 'the model crops each person to its fixed input (plan scales would be crop scales that cut into the person)';
  if (traits.resizesInGraph) return 'the graph resizes every input itself (scale transforms are undone)';
  return null;
}

/**
 * The plan the flags ask for. `sizes` are the labeled images' sizes (COCO width/height):
 * they size the default plan and the upsampling check; without them `auto` cannot be chosen.
 * `traits` (the model's layout) turn `auto` into original ± flip where image scales do not
 * apply (see {@link flipOnlyReason}); explicit `--scales` are kept as given.
 */
export function planFromFlags(v: Record<string, unknown>, sizes: readonly ImageSize[], traits?: Pick<LayoutTraits, 'cropsPerson' | 'resizesInGraph'>): ResolvedPlan {
  if (typeof v.scales === 'string' && v.plan !== undefined) throw new UsageError('--plan and --scales are alternatives; pass one');
  const median = sizes.length > 0 ? medianImageSize(sizes) : null;
  const described = (plan: TransformPlan, what: string): ResolvedPlan => ({
    plan,
    description: `plan: ${what} (${plan.transforms.length} transforms)`,
    warnings: median === null ? [] : upsamplingWarnings(plan, median),
  });
  if (typeof v.scales === 'string') {
    try {
      return described(parseScaleList(v.scales, '--scales'), `--scales ${v.scales}`);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  const name = oneOf<PlanName>(v, 'plan', PLAN_NAMES, 'auto');
  if (name === 'auto') {
    const reason = traits ? flipOnlyReason(traits) : null;
    if (reason !== null) return described(customPlan([{ flip: true }]), `auto: original ± flip, as ${reason}`);
    if (sizes.length === 0) throw new UsageError('--plan auto needs the image sizes of the labeled set (width/height in its images); pass --plan or --scales');
    const d = dataSizedPlan(sizes);
    return described(d.plan, d.description);
  }
  if (name === 'paper' || name === 'paper-absolute') {
    return described(customPlan([{ shortSide: null, flip: true }, ...paperPlan().transforms.filter((t) => t.shortSide !== null)]), 'the paper\'s absolute shorter sides 400…1200 ± flip');
  }
  if (name === 'flip') return described(customPlan([{ flip: true }]), 'original ± flip');
  return described(customPlan([]), 'single pass');
}

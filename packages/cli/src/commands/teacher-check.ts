// The teacher check as the commands run it (check-model, and label before its long run):
// static findings of the ONNX file, the plan-fits-the-input check (exit 2), the sample
// passes, and their report as lines for the log.
import type { CocoDataset } from '@omnidistill/coco';
import type { ImageSize } from '@omnidistill/core';
import { modelInfo } from '@omnidistill/infer';
import type { DetectorSession } from '@omnidistill/infer';
import type { TransformPlan } from '@omnidistill/transforms';
import { checkTeacher, planFitProblem } from '../pipeline/check-model.js';
import type { CheckReport } from '../pipeline/check-model.js';
import { distinctImageSizes, imageSizes, readCocoFlag } from './labeled-sizes.js';
import type { OpenedModel, TeacherSessions } from './teacher-models.js';
import { UsageError } from './types.js';

export interface TeacherCheckInput {
  model: OpenedModel;
  sessions: TeacherSessions;
  plan: TransformPlan;
  /** Every image size the plan will meet (labeled and, for label, unlabeled). */
  sizes: readonly ImageSize[];
  labeled: CocoDataset;
  labeledPath: string;
  labeledImages: string;
  sample: number;
  log: (line: string) => void;
}

/** A fixed-input model that the plan cannot fit is refused here, before any image is read. */
export function refuseUnfittingPlan(input: Pick<TeacherCheckInput, 'model' | 'sessions' | 'plan' | 'sizes'>): void {
  const session = input.sessions.task === 'keypoints' ? input.sessions.keypoints.model : input.sessions.detector;
  const problem = planFitProblem(session, input.model.path, input.plan, input.sizes);
  if (problem !== null) throw new UsageError(problem);
  const rois = input.sessions.task === 'keypoints' ? input.sessions.keypoints.rois : null;
  if (rois?.kind === 'detector') {
    const det = rois.detector;
    // The detector runs once per image at the original size (the RoI pass).
    const identity: TransformPlan = { transforms: [input.plan.transforms[0]] };
    const p = planFitProblem(det, det.source, identity, input.sizes);
    if (p !== null) throw new UsageError(p);
  }
}

/** Formats a report as log lines (a small table, then the warnings). */
export function reportLines(name: string, r: CheckReport): string[] {
  const lines = [`check ${name}: ${r.task}, ${r.images} labeled images, ${r.instances} instances`];
  if (r.passes.length > 0) lines.push(`  ${'pass'.padEnd(12)}${'AP'.padStart(7)}${'predictions'.padStart(13)}${'agreement'.padStart(11)}`);
  for (const p of r.passes) {
    const ap = p.ap === null ? '-' : (p.ap * 100).toFixed(1);
    const agree = p.agreement === null ? '-' : `${(p.agreement * 100).toFixed(0)}%`;
    lines.push(`  ${p.transform.padEnd(12)}${ap.padStart(7)}${String(p.predictions).padStart(13)}${agree.padStart(11)}${p.note ? `  (${p.note})` : ''}`);
  }
  for (const w of r.warnings) lines.push(`WARNING: ${w}`);
  return lines;
}

/** Runs the full check: refuses an unfitting plan (exit 2), then checks the model (and a RoI detector) on the sample. */
export async function runTeacherCheck(input: TeacherCheckInput): Promise<CheckReport[]> {
  refuseUnfittingPlan(input);
  const info = safeInfo(input.model.bytes);
  const s = input.sessions;
  const reports: CheckReport[] = [];
  const common = { labeled: input.labeled, labeledPath: input.labeledPath, imageDir: input.labeledImages, sample: input.sample };
  const main = await checkTeacher(
    s.task === 'keypoints' ? { task: 'keypoints', keypoints: { model: s.keypoints.model, selfDetecting: s.keypoints.rois === null }, ...common, info } : { task: 'detection', detector: s.detector, ...common, info },
  );
  reports.push(main);
  for (const line of reportLines(input.model.path, main)) input.log(line);
  const rois = s.task === 'keypoints' ? s.keypoints.rois : null;
  if (rois?.kind === 'detector') {
    const det: DetectorSession = rois.detector;
    const r = await checkTeacher({ task: 'detection', detector: det, ...common });
    reports.push(r);
    for (const line of reportLines(det.source, r)) input.log(line);
  }
  return reports;
}

function safeInfo(bytes: Uint8Array) {
  try {
    return modelInfo(bytes);
  } catch {
    return undefined; // onnxruntime opened it; our reader's limits must not block a run
  }
}

/** label's flags of the check. */
export const CHECK_FLAGS = {
  'no-check': { type: 'boolean', default: false },
  'check-sample': { type: 'string' },
  'labeled-images': { type: 'string' },
} as const;

export const CHECK_HELP = `  --labeled-images DIR  folder of the labeled images (default: --images), for the check
  --check-sample N      labeled images the teacher is checked on before the run (default 8)
  --no-check            skip that check (a plan that cannot fit a fixed-input model is still refused)`;

/**
 * label's check before its long run: the plan must fit a fixed-input teacher on every
 * labeled and unlabeled image size (else exit 2), then — unless `--no-check` — the sample
 * check on the labeled set, whose warnings are printed and do not stop the run.
 */
export async function checkBeforeLabel(
  v: Record<string, unknown>,
  input: Pick<TeacherCheckInput, 'model' | 'sessions' | 'plan' | 'log'> & { labeledPath: string; unlabeledPath: string; imageDir: string; sample: number },
): Promise<CheckReport[] | null> {
  const labeled = await readCocoFlag('labeled', input.labeledPath);
  const sizes = [...imageSizes(labeled), ...(await distinctImageSizes('unlabeled', input.unlabeledPath))];
  refuseUnfittingPlan({ ...input, sizes });
  if (v['no-check'] === true) return null;
  const labeledImages = typeof v['labeled-images'] === 'string' ? v['labeled-images'] : input.imageDir;
  return runTeacherCheck({ ...input, sizes, labeled, labeledPath: input.labeledPath, labeledImages, sample: input.sample });
}

// Calibration outcomes that are not a real count match, in words for the log and the
// calibration record: a teacher with no predictions, or with scores that cannot rank them,
// must never look like a successful selection ("matched", threshold null).
import type { Calibration, InstanceThreshold, ThresholdChoice } from './types.js';

function subject(t: InstanceThreshold): string {
  return t.categoryId === null ? 'instances' : `category ${t.categoryId}`;
}

function instanceWarning(t: InstanceThreshold, images: number): string | null {
  if (t.status === 'no-candidates' && t.target > 0 && images > 0) {
    return `${subject(t)}: the teacher predicted nothing on ${images} images although the labeled set has ${t.target.toFixed(2)} per image; no labels are generated (check the model with omnidistill check-model: pixel scale, normalisation, input layout)`;
  }
  if (t.status === 'tied') return `${subject(t)}: ${tiedMessage(t)}`;
  return null;
}

function tiedMessage(t: ThresholdChoice): string {
  const single = t.curve.thresholds.length === 1;
  const what = single ? `all ${t.candidates} scores are equal (${t.curve.thresholds[0]})` : 'the top scores are tied';
  const kept = t.kept === 0 ? 'nothing is kept' : `all ${t.kept} are kept`;
  return `${what}, so count matching cannot rank the predictions: ${kept} (target ${t.target.toFixed(2)} per unit); the teacher's scores carry no confidence — check its score output`;
}

/**
 * The warnings of a calibration: categories (or the keypoint task's instances) the teacher
 * never predicted although the labeled set has them, and thresholds decided by tied scores.
 */
export function calibrationWarnings(calibration: Omit<Calibration, 'warnings'>): string[] {
  const out: string[] = [];
  for (const t of calibration.instanceThresholds) {
    const w = instanceWarning(t, calibration.images);
    if (w !== null) out.push(w);
  }
  const k = calibration.keypointThreshold;
  if (k !== null && k.status === 'tied') out.push(`keypoints: ${tiedMessage(k)}`);
  return out;
}

// Every experiment of `omnidistill experiment NAME`, in the order --help lists them.
// Adding one = a file in list/ plus one entry here.
import { beyond } from './list/beyond.js';
import { dissimilar } from './list/dissimilar.js';
import { ratio } from './list/ratio.js';
import { rounds } from './list/rounds.js';
import { schedule } from './list/schedule.js';
import { selection } from './list/selection.js';
import { selectionDetection } from './list/selection-detection.js';
import { teacherQuality } from './list/teacher-quality.js';
import { transforms } from './list/transforms.js';
import { unlabeledAmount } from './list/unlabeled-amount.js';
import type { Experiment } from './types.js';

export const EXPERIMENTS: readonly Experiment[] = [transforms, selection, selectionDetection, unlabeledAmount, teacherQuality, ratio, schedule, rounds, dissimilar, beyond];

export function findExperiment(name: string): Experiment | undefined {
  return EXPERIMENTS.find((e) => e.name === name);
}

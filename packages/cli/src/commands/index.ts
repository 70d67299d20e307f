// The list of omnidistill commands. Adding a command = one file in this folder plus one
// entry here; bin.ts needs no change.
import type { Command } from './types.js';
import { demoCommand } from './demo.js';
import { evalCommand } from './eval.js';
import { labelCommand } from './label.js';
import { reportCommand } from './report.js';
import { trainCommand } from './train.js';

export type { Command, CommandIO } from './types.js';
export { EXIT, UsageError } from './types.js';

/** Every command, in the order `omnidistill --help` lists them. */
export const commands: readonly Command[] = [demoCommand, labelCommand, trainCommand, evalCommand, reportCommand];

// The list of omnidistill commands. Adding a command = one file in this folder plus one
// entry here; bin.ts needs no change.
import type { Command } from './types.js';
import { evalCommand } from './eval.js';

export type { Command, CommandIO } from './types.js';
export { EXIT, UsageError } from './types.js';

/** Every command, in the order `omnidistill --help` lists them. */
export const commands: readonly Command[] = [evalCommand];

// The omnidistill command: demo, label, train, eval, report. The programmatic surface is
// the command list, so other tools can run a command in-process with their own streams.
export { commands, EXIT, UsageError } from './commands/index.js';
export type { Command, CommandIO, CommandModule } from './commands/index.js';

// The omnidistill command: demo, label, train, eval, report. The programmatic surface is
// the command list, so other tools can run a command in-process with their own streams.
export { commands, EXIT, UsageError } from './commands/index.js';
export type { Command, CommandIO, CommandModule } from './commands/index.js';
// Shard selection of sharded labeling (flags, OMNIDISTILL_SHARD_*, batch engines' variables),
// for tools and recipes that check the same contract.
export { resolveShard, SHARD_ENGINES, ShardEnvError } from './shard/resolve.js';
export type { ShardChoice, ShardEngine, ShardFlags, Env } from './shard/resolve.js';

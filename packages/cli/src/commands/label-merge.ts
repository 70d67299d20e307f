// `omnidistill label merge`: the merge step of sharded labeling — checks every shard under
// --out is DONE and consistent, then writes generated.json + calibration.json from all of
// them (the same bytes as a single-process `omnidistill label`).
import { ShardPlanError } from '@omnidistill/infer';
import { MergeInputError, mergeShards } from '../pipeline/label-shard.js';
import { parseFlags, required } from './args.js';
import { EXIT, UsageError } from './types.js';
import type { CommandIO, CommandModule } from './types.js';

const HELP = `Usage: omnidistill label merge --out DIR [--labeled FILE]

Merges the shards of a sharded 'omnidistill label' run (DIR/shards/shard-I-of-N/): checks
that shards 0…N-1 all wrote DONE.json with the frozen image list's hash (DIR/images.jsonl),
the same teacher, plan and labeled set; then runs the count-matched selection over every
shard's raw predictions, merged by image id, and writes DIR/generated.json and
DIR/calibration.json, byte-identical to a single-process run of the same inputs.

Options:
  --out DIR         the output folder the shards wrote into
  --labeled FILE    the labeled set, when the path the shards recorded is not readable here
                    (its content must be the same)
  -h, --help        show this help

Exit codes: 0 success, 1 failure, 2 a shard missing, unfinished or inconsistent (named).
`;

export const labelMergeCommand: CommandModule = {
  async run(argv: string[], io: CommandIO): Promise<number> {
    const v = parseFlags(argv, { out: { type: 'string' }, labeled: { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } });
    if (v.help) {
      io.stdout.write(HELP);
      return EXIT.OK;
    }
    const outDir = required(v, 'out');
    try {
      const r = await mergeShards({ outDir, ...(typeof v.labeled === 'string' ? { labeled: v.labeled } : {}) });
      io.stderr.write(`merged ${r.shards} shards: ${r.images} images, ${r.candidates} candidates → ${r.summary.generatedInstances} instances on ${r.summary.generatedImages} images\n`);
      io.stdout.write(`${JSON.stringify({ generated: r.generated, calibration: r.calibration, shards: r.shards, ...r.summary }, null, 2)}\n`);
      return EXIT.OK;
    } catch (error) {
      if (error instanceof ShardPlanError || error instanceof MergeInputError) throw new UsageError(error.message);
      throw error;
    }
  },
};

// `omnidistill label plan`: freezes the image list of a sharded labeling run before the
// shards start (DIR/images.jsonl, sorted by image id, with its content hash).
import { CocoValidationError } from '@omnidistill/coco';
import { IMAGE_MANIFEST, ShardPlanError } from '@omnidistill/infer';
import { freezeUnlabeled } from '../pipeline/label.js';
import { join } from 'node:path';
import { parseFlags, required } from './args.js';
import { EXIT, UsageError } from './types.js';
import type { CommandIO, CommandModule } from './types.js';

const HELP = `Usage: omnidistill label plan --unlabeled U.json --out DIR

Freezes the image list of a labeling run: writes DIR/images.jsonl (one {"id","file_name"}
per image, sorted by id) and prints its SHA-256. Every shard of 'omnidistill label
--out DIR' then checks its images against it, and takes its share by position in this
list (chunks of --chunk-size consecutive images, chunk c to shard c mod N), never by directory order.
Running it is optional: the first shard freezes the list if no one did.

Options:
  --unlabeled FILE  COCO file listing the unlabeled images
  --out DIR         the output folder the shards will write into
  -h, --help        show this help
`;

export const labelPlanCommand: CommandModule = {
  async run(argv: string[], io: CommandIO): Promise<number> {
    const v = parseFlags(argv, { unlabeled: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } });
    if (v.help) {
      io.stdout.write(HELP);
      return EXIT.OK;
    }
    const outDir = required(v, 'out');
    const unlabeled = required(v, 'unlabeled');
    let result: Awaited<ReturnType<typeof freezeUnlabeled>>;
    try {
      result = await freezeUnlabeled(outDir, unlabeled);
    } catch (error) {
      if (error instanceof ShardPlanError) throw new UsageError(error.message);
      if (error instanceof CocoValidationError) throw new UsageError(`--unlabeled ${unlabeled}: invalid COCO file: ${error.message}`);
      throw error;
    }
    const { state, frozen } = result;
    io.stderr.write(`${state === 'written' ? 'froze' : 'already frozen:'} ${frozen.count} images in ${join(outDir, IMAGE_MANIFEST)}\n`);
    io.stdout.write(`${JSON.stringify({ manifest: join(outDir, IMAGE_MANIFEST), images: frozen.count, sha256: frozen.hash })}\n`);
    return EXIT.OK;
  },
};


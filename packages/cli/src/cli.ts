// The omnidistill command line: picks the subcommand from commands/index.ts; failures go
// through the one error boundary (failures.ts): exit 2 and one line for known bad input,
// exit 1 for anything else, stack traces only with --debug. (bin.ts is the process entry.)
import { readFileSync } from 'node:fs';
import { commands, EXIT } from './commands/index.js';
import type { CommandIO } from './commands/index.js';
import { describeFailure } from './failures.js';

function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const list = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n');
  return `Usage: omnidistill <command> [options]\n\nCommands:\n${list}\n\nRun 'omnidistill <command> --help' for a command's options.\nGlobal option: --debug (or OMNIDISTILL_DEBUG=1) prints stack traces of failures.\nExit codes: 0 success, 1 unexpected failure, 2 bad usage or invalid input, 130 interrupted (resumable).\n`;
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** `--debug` anywhere on the command line (taken out of argv), or OMNIDISTILL_DEBUG=1. */
function takeDebugFlag(argv: string[]): { argv: string[]; debug: boolean } {
  const env = process.env.OMNIDISTILL_DEBUG;
  const debug = argv.includes('--debug') || (env !== undefined && env !== '' && env !== '0');
  return { argv: argv.filter((a) => a !== '--debug'), debug };
}

/** Runs `omnidistill <argv>` and resolves to the exit code. */
export async function dispatch(allArgs: string[], io: CommandIO): Promise<number> {
  const { argv, debug } = takeDebugFlag(allArgs);
  const [name, ...given] = argv;
  // `pnpm demo -- --quick` and `npm run … -- …` hand the separator through; it is never an argument.
  const rest = given[0] === '--' ? given.slice(1) : given;
  if (name === undefined) {
    io.stderr.write(usage());
    return EXIT.USAGE;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(usage());
    return EXIT.OK;
  }
  if (name === '--version' || name === '-v') {
    io.stdout.write(`${version()}\n`);
    return EXIT.OK;
  }
  const command = commands.find((c) => c.name === name);
  if (command === undefined) {
    io.stderr.write(`omnidistill: unknown command ${JSON.stringify(name)}\n\n${usage()}`);
    return EXIT.USAGE;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    const failure = describeFailure(err);
    io.stderr.write(`omnidistill ${command.name}: ${failure.message}\n`);
    if (debug) io.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return failure.exit;
  }
}

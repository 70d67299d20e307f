#!/usr/bin/env node
// Entry point of the `omnidistill` command: picks the subcommand from commands/index.ts,
// maps errors to exit codes (0 ok, 1 runtime failure, 2 usage / bad input).
import { readFileSync } from 'node:fs';
import { FileWriteError, InputFileError } from '@omnidistill/core';
import { commands, EXIT, UsageError } from './commands/index.js';
import type { CommandIO } from './commands/index.js';

function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const list = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n');
  return `Usage: omnidistill <command> [options]\n\nCommands:\n${list}\n\nRun 'omnidistill <command> --help' for a command's options.\nExit codes: 0 success, 1 runtime failure, 2 bad usage or invalid input.\n`;
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Runs `omnidistill <argv>` and resolves to the exit code. */
export async function dispatch(argv: string[], io: CommandIO): Promise<number> {
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
    if (err instanceof UsageError || err instanceof InputFileError) {
      io.stderr.write(`omnidistill ${command.name}: ${err.message}\n`);
      return EXIT.USAGE;
    }
    if (err instanceof FileWriteError) {
      // a full disk or a read-only folder: the message names the file and the fix; no stack
      io.stderr.write(`omnidistill ${command.name}: failed: ${err.message}\n`);
      return EXIT.FAILURE;
    }
    io.stderr.write(`omnidistill ${command.name}: failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return EXIT.FAILURE;
  }
}

process.exitCode = await dispatch(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });

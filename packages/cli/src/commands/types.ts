// The contract every omnidistill command implements, and the exit codes they share.

/** Where a command writes: stdout carries results only, stderr carries logs and errors. */
export interface CommandIO {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

/** One subcommand of `omnidistill`. */
export interface Command {
  /** The word after `omnidistill` that selects this command. */
  name: string;
  /** One line for the command list in `omnidistill --help`. */
  summary: string;
  /** Runs with the arguments after the command name; resolves to the process exit code. */
  run(argv: string[], io: CommandIO): Promise<number>;
}

/**
 * What a command's module exports: its `run`. The name and summary live in the command table
 * (index.ts), which imports the module only when the command runs.
 */
export type CommandModule = Pick<Command, 'run'>;

/** Exit codes of every command (documented in the cli README). */
export const EXIT = {
  /** success */
  OK: 0,
  /** the input was fine but the work failed (I/O error while writing, a bug) */
  FAILURE: 1,
  /** wrong flags, unreadable or invalid input files */
  USAGE: 2,
  /** stopped by Ctrl-C (SIGINT/SIGTERM) at a safe point: the same command resumes */
  INTERRUPTED: 130,
} as const;

/** Thrown by a command for bad flags or bad input: reported without a stack, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

// Runs an omnidistill command in-process with captured streams and bin.ts's exit-code
// mapping (UsageError → 2 with one line, anything else → 1), so tests assert what a user sees.
import { commands, EXIT, UsageError } from '../src/commands/index.js';

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCli(name: string, ...argv: string[]): Promise<Ran> {
  const command = commands.find((c) => c.name === name);
  if (!command) throw new Error(`no command ${name}`);
  let stdout = '';
  let stderr = '';
  const io = { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) } };
  try {
    const code = await command.run(argv, io);
    return { code, stdout, stderr };
  } catch (err) {
    if (err instanceof UsageError) return { code: EXIT.USAGE, stdout, stderr: `${stderr}omnidistill ${name}: ${err.message}\n` };
    return { code: EXIT.FAILURE, stdout, stderr: `${stderr}omnidistill ${name}: failed: ${(err as Error).stack}\n` };
  }
}

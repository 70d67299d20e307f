// Runs an omnidistill command in-process with captured streams and bin.ts's error boundary
// (failures.ts: known failures → 2 with one line, anything else → 1), so tests assert what a
// user sees.
import { commands } from '../src/commands/index.js';
import { describeFailure } from '../src/failures.js';

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
    const failure = describeFailure(err);
    return { code: failure.exit, stdout, stderr: `${stderr}omnidistill ${name}: ${failure.message}\n` };
  }
}

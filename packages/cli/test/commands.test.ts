// The command table loads each command's module only when it runs: every entry must still
// resolve to its module and answer --help with its own usage line.
import { describe, expect, it } from 'vitest';
import { commands, EXIT } from '../src/index.js';

describe('command table', () => {
  it.each(commands.map((c) => [c.name, c] as const))('%s loads its module on first run and prints its usage', async (name, command) => {
    let out = '';
    const io = { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (out += s) } };
    expect(await command.run(['--help'], io)).toBe(EXIT.OK);
    expect(out.startsWith(`Usage: omnidistill ${name} `)).toBe(true);
  });
});

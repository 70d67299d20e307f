// Runs every `*.bench.ts` in this folder in turn (each prints its own ratios against
// its baseline). `pnpm bench -- <substring>` runs only the matching ones. At the end, one
// table collects every line a bench marked `RATIO` (peer time ÷ ours: > 1 means we are faster).
import { readdirSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const filter = process.argv.slice(2).filter((a) => a !== '--');
const benches = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => filter.length === 0 || filter.some((s) => f.includes(s)))
  .sort();
if (benches.length === 0) {
  console.error(`no benchmark matches ${JSON.stringify(filter)}`);
  process.exit(2);
}

/** Runs one bench, echoing its output as it comes; resolves to its exit code and RATIO lines. */
function run(bench: string): Promise<{ code: number; ratios: string[] }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=source', join(here, bench)], { stdio: ['inherit', 'pipe', 'inherit'] });
    const ratios: string[] = [];
    createInterface({ input: child.stdout }).on('line', (line) => {
      console.log(line);
      const at = line.indexOf('RATIO ');
      if (at >= 0) ratios.push(line.slice(at + 'RATIO '.length));
    });
    child.on('close', (code) => resolve({ code: code ?? 1, ratios }));
  });
}

let failed = 0;
const table: string[] = [];
for (const bench of benches) {
  console.log(`\n=== ${bench} ===`);
  const r = await run(bench);
  if (r.code !== 0) failed++;
  for (const line of r.ratios) table.push(`${bench.replace('.bench.ts', '').padEnd(10)} ${line}`);
}
if (table.length > 0) {
  console.log('\n=== ratios against the peers (peer time / ours, medians of interleaved rounds; > 1: omnidistill is faster) ===');
  for (const line of table) console.log(line);
}
process.exit(failed === 0 ? 0 : 1);

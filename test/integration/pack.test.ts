// Every package must be consumable on its own: pack @omnidistill/core exactly as it
// would be published, install the tarball into a scratch project with npm, and use it
// from both JavaScript (runtime exports) and TypeScript (type declarations).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const scratch = mkdtempSync(join(tmpdir(), 'omnidistill-pack-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function run(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('packing a package', () => {
  it('installs @omnidistill/core from its tarball and imports it with types', { timeout: 300_000 }, () => {
    // The turbo `test` task depends on `build`, so dist/ exists here.
    run('pnpm', ['pack', '--pack-destination', scratch], join(repo, 'packages/core'));
    const tarball = readdirSync(scratch).find((f) => f.endsWith('.tgz'));
    expect(tarball).toBeDefined();
    writeFileSync(join(scratch, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module' }));
    run('npm', ['install', '--no-audit', '--no-fund', '--offline', join(scratch, tarball!)], scratch);

    const js = run(
      process.execPath,
      ['--input-type=module', '-e', "import { COCO_PERSON, flipPermutation } from '@omnidistill/core'; console.log(COCO_PERSON.keypoints.length, flipPermutation(COCO_PERSON.flipPairs, 17)[5]);"],
      scratch,
    );
    expect(js.trim()).toBe('17 6');

    // Type declarations resolve through the `exports` map and catch misuse.
    writeFileSync(
      join(scratch, 'use.ts'),
      "import { COCO_PERSON, type KeypointSchema } from '@omnidistill/core';\nconst s: KeypointSchema = COCO_PERSON;\nexport const k: number = s.keypoints.length;\n",
    );
    writeFileSync(
      join(scratch, 'misuse.ts'),
      "import { COCO_PERSON } from '@omnidistill/core';\nexport const k: string = COCO_PERSON.keypoints.length;\n",
    );
    const tsc = join(repo, 'node_modules/typescript/bin/tsc');
    const flags = ['--strict', '--noEmit', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--skipLibCheck', 'false'];
    run(process.execPath, [tsc, ...flags, 'use.ts'], scratch);
    let diagnostics = '';
    try {
      run(process.execPath, [tsc, ...flags, 'misuse.ts'], scratch);
    } catch (error) {
      diagnostics = String((error as { stdout?: string }).stdout);
    }
    expect(diagnostics).toMatch(/misuse\.ts\(2,14\): error TS2322: Type 'number' is not assignable to type 'string'/);
  });

  it('the tarball carries dist and README, not sources or tests', () => {
    const tarball = readdirSync(scratch).find((f) => f.endsWith('.tgz'))!;
    const listing = run('tar', ['-tzf', join(scratch, tarball)], scratch).split('\n').filter(Boolean);
    expect(listing).toContain('package/dist/index.js');
    expect(listing).toContain('package/dist/index.d.ts');
    expect(listing.some((f) => f.startsWith('package/test/'))).toBe(false);
    expect(listing.some((f) => f.startsWith('package/src/'))).toBe(false);
  });
});

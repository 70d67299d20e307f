// Every package must be consumable on its own, as published: pack each workspace package,
// check what the tarballs carry, and install them into scratch projects with `npm --offline`
// under a PATH holding only node/npm/npx (no cmake, no compiler): the CLI, and separately
// @omnidistill/core, boxes, coco and ensemble, each used from outside the monorepo.
//
// npm's cache must hold the third-party dependencies (sharp, onnxruntime-*, …) for the
// offline installs: warmNpmCache fills it from the registry the first time (the only step
// that may use the network) and is a no-op afterwards.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closure, installScratch, installWithPnpm, nodeOnlyEnv, packWorkspace, readmeWorkflow, repo, runLine, sh, tarballFile, warmNpmCache, type Packed } from './tarballs.js';

const work = mkdtempSync(join(tmpdir(), 'omnidistill-pack-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const env = nodeOnlyEnv(join(work, 'node-only-bin'));
let packed: Map<string, Packed>;

const INSTALL = 300_000;

beforeAll(() => {
  // The turbo `test` task depends on `build`, so every dist/ and the addon exist here.
  packed = packWorkspace(join(work, 'tarballs'));
  warmNpmCache([...packed.values()].map((p) => p.tarball), join(work, 'warm'));
}, INSTALL);

/** Runs a node ES module in `dir` (under the node-only PATH) and returns its stdout. */
function nodeScript(dir: string, source: string): string {
  writeFileSync(join(dir, 'script.mjs'), source);
  const r = sh('node', ['script.mjs'], dir, env);
  if (r.status !== 0) throw new Error(`script failed (${r.status}):\n${r.stderr}`);
  return r.stdout;
}

describe('the tarballs', () => {
  it('exist for every publishable package, including the linux-x64-gnu addon', () => {
    expect([...packed.keys()].sort()).toEqual([
      '@omnidistill/artifacts',
      '@omnidistill/boxes',
      '@omnidistill/coco',
      '@omnidistill/core',
      '@omnidistill/ensemble',
      '@omnidistill/infer',
      '@omnidistill/models',
      '@omnidistill/native',
      '@omnidistill/native-linux-x64-gnu',
      '@omnidistill/select',
      '@omnidistill/synth',
      '@omnidistill/train',
      '@omnidistill/transforms',
      'omnidistill',
    ]);
  });

  it('carry no workspace: specifier, no TypeScript source, test, map or dev-only file', () => {
    for (const pkg of packed.values()) {
      const manifest = tarballFile(pkg.tarball, 'package.json');
      expect(manifest, pkg.name).not.toContain('workspace:');
      // The `source` export condition points into src/ (workspace-only): publishConfig drops it.
      expect(manifest, pkg.name).not.toMatch(/"\.\/(src|lib|test)\//);
      for (const file of pkg.files) {
        const where = `${pkg.name}: ${file}`;
        expect(file, where).not.toMatch(/^(test|lib|\.turbo|node_modules|build)\//);
        expect(file, where).not.toMatch(/\.(test|bench)\.|\.map$|tsconfig.*\.json$|vitest\.config|\.tsbuildinfo$|\.ts$(?<!\.d\.ts$)/);
        // Only the addon ships sources (C++/CUDA, for the from-source fallback build).
        if (file.startsWith('src/')) expect(where).toMatch(/^@omnidistill\/native: src\/.*\.(cc|cu|h|hpp|cuh)$/);
      }
      expect(pkg.files, pkg.name).toContain('README.md');
    }
    expect(packed.get('@omnidistill/native')!.files).not.toContain('scripts/asan.sh');
    expect(packed.get('@omnidistill/native')!.files.some((f) => f.endsWith('.node'))).toBe(false);
    expect(packed.get('@omnidistill/native-linux-x64-gnu')!.files.sort()).toEqual(['README.md', 'build-info.json', 'omnidistill_native.node', 'package.json']);
  });

  it('name every file their manifest points at (main, types, exports, bin)', () => {
    for (const pkg of packed.values()) {
      const manifest = JSON.parse(tarballFile(pkg.tarball, 'package.json')) as {
        main?: string;
        types?: string;
        bin?: Record<string, string>;
        exports?: Record<string, string | Record<string, string>>;
      };
      const targets = [manifest.main, manifest.types, ...Object.values(manifest.bin ?? {})];
      for (const entry of Object.values(manifest.exports ?? {})) targets.push(...(typeof entry === 'string' ? [entry] : Object.values(entry)));
      for (const target of targets.filter((t): t is string => t !== undefined)) {
        expect(pkg.files, `${pkg.name} -> ${target}`).toContain(target.replace(/^\.\//, ''));
      }
    }
  });

  it('the addon is selected by optionalDependencies with os/cpu/libc, and @omnidistill/native installs through its install script', () => {
    const native = JSON.parse(tarballFile(packed.get('@omnidistill/native')!.tarball, 'package.json')) as Record<string, Record<string, string>>;
    expect(native.optionalDependencies).toEqual({ '@omnidistill/native-linux-x64-gnu': '0.1.0' });
    expect(native.scripts.install).toBe('node scripts/install.mjs');
    expect(native.devDependencies).toBeUndefined();
    const platform = JSON.parse(tarballFile(packed.get('@omnidistill/native-linux-x64-gnu')!.tarball, 'package.json')) as Record<string, string[]>;
    expect([platform.os, platform.cpu, platform.libc]).toEqual([['linux'], ['x64'], ['glibc']]);
  });

  it('the addon package says how its binary was built (CUDA compiled in or not)', () => {
    const info = JSON.parse(tarballFile(packed.get('@omnidistill/native-linux-x64-gnu')!.tarball, 'build-info.json')) as Record<string, unknown>;
    expect(info.platformKey).toBe('linux-x64-gnu');
    expect(info.prebuiltPackage).toBe('@omnidistill/native-linux-x64-gnu');
    expect(typeof info.cudaCompiled).toBe('boolean');
    expect(info.sanitize).toBeNull();
  });
});

describe('each package installed alone from its tarball (npm --offline, no compiler on PATH)', () => {
  it('@omnidistill/core: runtime exports and type declarations', { timeout: INSTALL }, () => {
    const dir = join(work, 'core');
    installScratch(dir, closure(packed, ['@omnidistill/core']), env);
    const js = nodeScript(dir, "import { COCO_PERSON, flipPermutation } from '@omnidistill/core';\nconsole.log(COCO_PERSON.keypoints.length, flipPermutation(COCO_PERSON.flipPairs, 17)[5]);\n");
    expect(js.trim()).toBe('17 6');

    // Type declarations resolve through the `exports` map and catch misuse.
    writeFileSync(join(dir, 'use.ts'), "import { COCO_PERSON, type KeypointSchema } from '@omnidistill/core';\nconst s: KeypointSchema = COCO_PERSON;\nexport const k: number = s.keypoints.length;\n");
    writeFileSync(join(dir, 'misuse.ts'), "import { COCO_PERSON } from '@omnidistill/core';\nexport const k: string = COCO_PERSON.keypoints.length;\n");
    // One tsc run over both files (tsc's start-up dominates): only misuse.ts may fail.
    const tsc = join(repo, 'node_modules/typescript/bin/tsc');
    const flags = ['--strict', '--noEmit', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--skipLibCheck', 'false'];
    const diagnostics = sh('node', [tsc, ...flags, 'use.ts', 'misuse.ts'], dir, env).stdout.trim().split('\n');
    expect(diagnostics).toEqual([expect.stringMatching(/^misuse\.ts\(2,14\): error TS2322: Type 'number' is not assignable to type 'string'/)]);
  });

  it('@omnidistill/boxes: NMS and IoU', { timeout: INSTALL }, () => {
    const dir = join(work, 'boxes');
    installScratch(dir, closure(packed, ['@omnidistill/boxes']), env);
    const out = nodeScript(
      dir,
      `import { iouMatrix, nms, weightedBoxesFusion } from '@omnidistill/boxes';
const boxes = [[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30]];
const scores = [0.9, 0.8, 0.7];
const fused = weightedBoxesFusion([{ boxes, scores, labels: [0, 0, 0] }], { image: { width: 40, height: 40 }, iouThreshold: 0.5 });
console.log(JSON.stringify({ kept: [...nms({ boxes, scores }, { iouThreshold: 0.5 })], iou: iouMatrix([boxes[0]], [boxes[1]])[0], fused: fused.scores.length }));
`,
    );
    expect(JSON.parse(out)).toEqual({ kept: [0, 2], iou: 81 / 100, fused: 2 });
  });

  it('@omnidistill/coco: read, evaluate and summarize a fixture as pycocotools does', { timeout: INSTALL }, () => {
    const dir = join(work, 'coco');
    installScratch(dir, closure(packed, ['@omnidistill/coco']), env);
    const fixture = join(repo, 'packages/coco/test/fixtures/case11_001_bbox');
    const out = nodeScript(
      dir,
      `import { createParams, evaluate, readCocoDataset, readCocoResults, summarize } from '@omnidistill/coco';
const gt = await readCocoDataset(${JSON.stringify(join(fixture, 'gt.json'))});
const dt = await readCocoResults(${JSON.stringify(join(fixture, 'dt.json'))}, gt);
console.log(JSON.stringify(summarize(evaluate(gt, dt, createParams('bbox', gt))).stats));
`,
    );
    const expected = (JSON.parse(readFileSync(join(fixture, 'expected.json'), 'utf8')) as { bbox: number[] }).bbox;
    const stats = JSON.parse(out) as number[];
    expect(stats).toHaveLength(expected.length);
    stats.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 9));
  });

  it('@omnidistill/ensemble: ensembleAndDecode on the cpu backend (prebuilt addon) equals the ts reference', { timeout: INSTALL }, () => {
    const dir = join(work, 'ensemble');
    const log = installScratch(dir, closure(packed, ['@omnidistill/ensemble']), env);
    expect(log).toContain('@omnidistill/native: using the prebuilt binary for linux-x64-gnu from @omnidistill/native-linux-x64-gnu');
    const out = nodeScript(
      dir,
      `import { COCO_PERSON } from '@omnidistill/core';
import { ensembleAndDecode } from '@omnidistill/ensemble';
const t = 2, n = 2, k = 17, m = 8;
const data = new Float32Array(t * n * k * m * m).map((_, i) => Math.sin(i * 12.9898) * 4);
const rois = new Float32Array([0, 0, 16, 16, 4, 2, 30, 40]);
const options = { mode: 'avg', flipped: [false, true], flipPairs: COCO_PERSON.flipPairs };
const cpu = await ensembleAndDecode({ data, t, n, k, m }, rois, { ...options, backend: 'cpu' });
const ts = await ensembleAndDecode({ data, t, n, k, m }, rois, { ...options, backend: 'ts' });
console.log(JSON.stringify({ backend: cpu.backend, same: cpu.keypoints.data.every((v, i) => Object.is(v, ts.keypoints.data[i])), n: cpu.keypoints.n }));
`,
    );
    expect(JSON.parse(out)).toEqual({ backend: 'cpu', same: true, n: 2 });
  });
});

describe('without the prebuilt binary', () => {
  it('installs with a message saying no prebuilt fits and the source build failed (no cmake), and falls back to wasm (equal to ts)', { timeout: INSTALL }, () => {
    const dir = join(work, 'no-prebuilt');
    const tarballs = closure(packed, ['@omnidistill/ensemble']).filter((t) => !t.includes('native-linux-x64-gnu'));
    const log = installScratch(dir, tarballs, env, ['--omit=optional']);
    expect(log).toMatch(/@omnidistill\/native: building from source with CMake \(no prebuilt binary fits linux-x64-gnu:/);
    expect(log).toMatch(/cmake is not on PATH/);
    expect(log).toMatch(/the source build failed .*wasm and TypeScript backends still work/);
    // The wasm backend's module ships in the tarball (files: wasm/) and runs equal to ts.
    const out = nodeScript(
      dir,
      `import { COCO_PERSON } from '@omnidistill/core';
import { ensembleAndDecode } from '@omnidistill/ensemble';
const t = 2, n = 2, k = 17, m = 8;
const data = new Float32Array(t * n * k * m * m).map((_, i) => Math.sin(i * 12.9898) * 4);
const rois = new Float32Array([0, 0, 16, 16, 4, 2, 30, 40]);
const options = { mode: 'avg', flipped: [false, true], flipPairs: COCO_PERSON.flipPairs };
const auto = await ensembleAndDecode({ data, t, n, k, m }, rois, options);
const ts = await ensembleAndDecode({ data, t, n, k, m }, rois, { ...options, backend: 'ts' });
console.log(JSON.stringify({ backend: auto.backend, why: auto.selection.skipped.map((x) => x.reason)[1], same: auto.keypoints.data.every((v, i) => Object.is(v, ts.keypoints.data[i])) }));
`,
    );
    const selection = JSON.parse(out) as { backend: string; why: string; same: boolean };
    expect(selection.backend).toBe('wasm');
    expect(selection.same).toBe(true);
    expect(selection.why).toContain('@omnidistill/native-linux-x64-gnu is not installed');
  });

  it('builds from source with cmake when asked (OMNIDISTILL_NATIVE_BUILD_FROM_SOURCE=1) and the loader uses that build', { timeout: INSTALL }, () => {
    const dir = join(work, 'from-source');
    // The real toolchain this time (cmake, c++); CUDA off keeps the compile short.
    const withCompiler = { ...process.env, OMNIDISTILL_NATIVE_BUILD_FROM_SOURCE: '1', OMNIDISTILL_NATIVE_CUDA: 'off', ONNXRUNTIME_NODE_INSTALL: 'skip' };
    const log = installScratch(dir, closure(packed, ['@omnidistill/native']), withCompiler);
    expect(log).toContain('@omnidistill/native: building from source with CMake (OMNIDISTILL_NATIVE_BUILD_FROM_SOURCE=1 asks for it)');
    expect(log).toMatch(/@omnidistill\/native: built from source into .*node_modules\/@omnidistill\/native\/build\/Release/);
    const out = nodeScript(dir, "import { describeNativeLoad, nativeStatus } from '@omnidistill/native';\nconsole.log(describeNativeLoad(nativeStatus()));\n");
    expect(out).toMatch(/^a local build \(built from source on this machine\): .*node_modules\/@omnidistill\/native\/build\/Release\/omnidistill_native\.node/);
  });
});

describe('the omnidistill CLI installed from tarballs (npm --offline, no compiler on PATH)', () => {
  const dir = join(work, 'cli');

  it('installs with the prebuilt addon', { timeout: INSTALL }, () => {
    const log = installScratch(dir, closure(packed, ['omnidistill']), env);
    expect(log).toContain('@omnidistill/native: using the prebuilt binary for linux-x64-gnu');
    expect(log).not.toContain('building from source');
  });

  it('npx omnidistill --help lists the commands', () => {
    const r = sh('npx', ['omnidistill', '--help'], dir, env);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Usage: omnidistill <command>/);
    for (const command of ['label', 'train', 'eval']) expect(r.stdout).toMatch(new RegExp(`^ {2}${command} `, 'm'));
  });

  it('npx omnidistill eval scores a fixture as pycocotools does', () => {
    const fixture = join(repo, 'packages/coco/test/fixtures/case11_001_bbox');
    const r = sh('npx', ['omnidistill', 'eval', '--gt', join(fixture, 'gt.json'), '--results', join(fixture, 'dt.json'), '--iou-type', 'bbox', '--json'], dir, env);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const expected = (JSON.parse(readFileSync(join(fixture, 'expected.json'), 'utf8')) as { bbox: number[] }).bbox;
    (JSON.parse(r.stdout) as { stats: number[] }).stats.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 9));
  });

  it('a bad flag exits 2 with one line naming it', () => {
    const r = sh('npx', ['omnidistill', 'eval', '--gt', 'missing.json', '--results', 'r.json', '--iou-type', 'segm'], dir, env);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/iou-type/);
  });
});

/** Runs a README workflow line by line; returns each line's stdout. */
function runWorkflow(lines: string[], cwd: string, runEnv: NodeJS.ProcessEnv): string[] {
  return lines.map((line) => {
    const r = runLine(line, cwd, runEnv);
    if (r.status !== 0) throw new Error(`README line failed (exit ${r.status}): ${line}\n${r.stderr}`);
    return r.stdout;
  });
}

/** What the README workflow must leave behind: models, generated labels, results, AP table. */
function expectWorkflowOutputs(cwd: string, stdout: string[]): void {
  for (const file of ['teacher/detector.onnx', 'teacher/detector.json', 'labels/calibration.json', 'student/detector.onnx', 'student/detector.json']) {
    expect(existsSync(join(cwd, file)), file).toBe(true);
  }
  // The inspection report draws the generated labels on the unlabeled images, offline.
  const report = readFileSync(join(cwd, 'labels/report.html'), 'utf8');
  expect(report).toContain('data:image/png;base64,');
  expect(report).not.toMatch(/(src|href)="https?:/);
  const generated = JSON.parse(readFileSync(join(cwd, 'labels/generated.json'), 'utf8')) as { images: unknown[]; annotations: unknown[] };
  expect(generated.images).toHaveLength(40);
  expect(generated.annotations.length).toBeGreaterThan(0);
  const results = JSON.parse(readFileSync(join(cwd, 'student/val-results.json'), 'utf8')) as { image_id: number; bbox: number[] }[];
  expect(results.length).toBeGreaterThan(0);
  const table = stdout[stdout.length - 1].trimEnd().split('\n');
  expect(table).toHaveLength(12);
  for (const line of table) expect(line).toMatch(/^ Average (Precision|Recall) {1,5}\((AP|AR)\) @\[ .* \] = -?\d\.\d{3}$/);
}

describe('the omnidistill CLI installed from tarballs with pnpm (no compiler on PATH)', () => {
  it('installs, runs, and its ensemble backends use the prebuilt addon without any install script', { timeout: INSTALL }, () => {
    const dir = join(work, 'cli-pnpm');
    installWithPnpm(dir, packed, ['omnidistill'], env);
    const help = sh('pnpm', ['exec', 'omnidistill', '--help'], dir, env);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: omnidistill <command>/);
    // pnpm installs only direct dependencies at the top: reach ensemble through the CLI's own resolution.
    const out = nodeScript(
      dir,
      `import { createRequire } from 'node:module';
const fromCli = createRequire(import.meta.resolve('omnidistill'));
const { backends } = await import(fromCli.resolve('@omnidistill/ensemble'));
console.log(JSON.stringify(backends().find((b) => b.backend === 'cpu')));
`,
    );
    expect(JSON.parse(out)).toEqual({ backend: 'cpu', usable: true, detail: expect.stringMatching(/threads, prebuilt @omnidistill\/native-linux-x64-gnu$/) });
  });
});

describe('README "Use it on your data", run verbatim', () => {
  const install = readmeWorkflow('install');
  const clone = readmeWorkflow('clone');

  it('the clone block is the install block with `pnpm omnidistill` for `npx omnidistill`', () => {
    expect(install.length).toBeGreaterThanOrEqual(5);
    for (const line of install) expect(line).toMatch(/^npx omnidistill /);
    expect(clone).toEqual(install.map((l) => l.replace(/^npx omnidistill /, 'pnpm omnidistill ')));
    expect(install.join('\n')).toMatch(/ label .*\n.* report --labels .*\n.* train .*--generated .*--steps 20 .*\n(.*\n)*.* eval /);
  });

  it('from the CLI installed from tarballs, with no compiler on PATH: synth → train → label → report → train --steps 20 → predict → eval', { timeout: INSTALL }, () => {
    const dir = join(work, 'cli');
    if (!existsSync(join(dir, 'node_modules/.bin/omnidistill'))) installScratch(dir, closure(packed, ['omnidistill']), env);
    expectWorkflowOutputs(dir, runWorkflow(install, dir, env));
  });

  it('from the clone (pnpm omnidistill in a folder of the checkout)', { timeout: INSTALL }, () => {
    // A gitignored folder inside the checkout, so pnpm finds the workspace's omnidistill bin.
    const base = join(repo, '.omnidistill');
    mkdirSync(base, { recursive: true });
    const dir = mkdtempSync(join(base, 'readme-'));
    try {
      expectWorkflowOutputs(dir, runWorkflow(clone, dir, { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

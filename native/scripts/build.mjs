#!/usr/bin/env node
// Builds the addon with CMake against the headers of the node that runs this script
// (<prefix>/include/node, prefix derived from process.execPath): no header download, and
// nothing but cmake and a C++17 compiler needed (this script also runs from an installed
// package when no prebuilt binary fits: see install.mjs).
// CUDA is compiled when a CUDA compiler is found (CUDACXX, or nvcc on PATH); set
// OMNIDISTILL_NATIVE_CUDA=off to skip it. Writes build/build-info.json (what was built).
//
// Environment knobs (all optional):
//   OMNIDISTILL_NATIVE_CUDA=off         build the cpu backend only
//   OMNIDISTILL_NATIVE_ARCH_FLAGS="..."  extra -march style flags (default: portable baseline)
//   OMNIDISTILL_NATIVE_SANITIZE=address  AddressSanitizer build (tests then need LD_PRELOAD=libasan)
//   OMNIDISTILL_NATIVE_OUT=dir           build directory (default: build)
//   OMNIDISTILL_NATIVE_JOBS=n            parallel compile jobs (default 2)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
// The package's compiled loader (tsc runs first in `build`; an installed package ships dist/).
import { platformKey } from '../dist/platform.js';

const require = createRequire(import.meta.url);
const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = resolve(packageRoot, process.env.OMNIDISTILL_NATIVE_OUT ?? 'build');

/** Node's own header directory: <prefix>/include/node, where prefix = dirname(dirname(node)). */
function nodeIncludeDir() {
  const prefix = dirname(dirname(process.execPath));
  const dir = join(prefix, 'include', 'node');
  if (!existsSync(join(dir, 'node_api.h'))) {
    throw new Error(
      `Node's headers were not found at ${dir} (derived from ${process.execPath}).\n` +
        'Install a Node distribution that ships include/node (the official tarballs and most packages do).',
    );
  }
  return dir;
}

/** The CUDA compiler CMake should use, or null (then CMake's own search is disabled). */
function cudaCompiler() {
  const setting = (process.env.OMNIDISTILL_NATIVE_CUDA ?? 'auto').toLowerCase();
  if (['off', '0', 'false', 'no'].includes(setting)) return { use: false, why: 'OMNIDISTILL_NATIVE_CUDA=off' };
  if (process.env.CUDACXX) return { use: true, path: process.env.CUDACXX, why: 'CUDACXX' };
  const nvcc = onPath('nvcc');
  if (nvcc) return { use: true, path: nvcc, why: 'nvcc on PATH' };
  return { use: false, why: 'no nvcc on PATH and CUDACXX unset' };
}

/** The first directory on PATH holding `name`, joined with it, or null. */
function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return null;
}

/** Runs cmake with `args`, streaming its output; throws naming the step when it fails. */
function cmake(step, args) {
  const result = spawnSync('cmake', args, { cwd: packageRoot, stdio: 'inherit' });
  if (result.error) throw new Error(`cmake ${step}: ${result.error.code === 'ENOENT' ? 'cmake is not on PATH' : result.error.message}`);
  if (result.status !== 0) throw new Error(`cmake ${step} exited with ${result.status ?? result.signal}`);
}

/**
 * Configure + build into outDir. The module lands in outDir/Release (the layout the loader
 * reads); Ninja is used when it is on PATH (the generator must stay the same for one tree).
 */
function cmakeBuild(options) {
  const defines = Object.entries({
    CMAKE_BUILD_TYPE: 'Release',
    CMAKE_LIBRARY_OUTPUT_DIRECTORY: join(outDir, 'Release'),
    ...options,
  }).map(([key, value]) => `-D${key}=${value}`);
  const generator = onPath('ninja') ? ['-G', 'Ninja'] : [];
  cmake('configure', ['-S', packageRoot, '-B', outDir, ...generator, ...defines]);
  cmake('build', ['--build', outDir, '--config', 'Release', '--parallel', String(Number(process.env.OMNIDISTILL_NATIVE_JOBS ?? 2))]);
}

/**
 * Serialises builds of one build directory (two turbo runs or a test run and a manual build in
 * one checkout would otherwise configure the same CMake tree at once). mkdir is atomic; a
 * lock older than 20 minutes is considered abandoned.
 */
async function withBuildLock(fn) {
  const lock = `${outDir}.lock`;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      let age = 0;
      try {
        age = Date.now() - statSync(lock).mtimeMs;
      } catch {
        continue; // released meanwhile
      }
      if (age > 20 * 60_000) {
        rmSync(lock, { recursive: true, force: true });
        continue;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** The CUDA compiler recorded in an existing CMake cache, or null. */
function cachedCudaCompiler() {
  const cache = join(outDir, 'CMakeCache.txt');
  if (!existsSync(cache)) return null;
  const line = readFileSync(cache, 'utf8').split('\n').find((l) => l.startsWith('CMAKE_CUDA_COMPILER:'));
  const value = line?.slice(line.indexOf('=') + 1).trim();
  return value && !value.endsWith('NOTFOUND') ? value : null;
}

async function main() {
  const includeDir = nodeIncludeDir();
  const addonApiDir = require('node-addon-api').include_dir.replace(/^"|"$/g, '');
  const addonApiAbs = resolve(packageRoot, addonApiDir);
  const cuda = cudaCompiler();
  const cmakeOptions = {
    OMNI_NODE_INCLUDE_DIR: includeDir,
    OMNI_NODE_ADDON_API_DIR: existsSync(join(addonApiAbs, 'napi.h')) ? addonApiAbs : dirname(require.resolve('node-addon-api/napi.h')),
    OMNI_CUDA: cuda.use ? 'ON' : 'OFF',
    OMNI_ARCH_FLAGS: process.env.OMNIDISTILL_NATIVE_ARCH_FLAGS ?? '',
    OMNI_SANITIZE: process.env.OMNIDISTILL_NATIVE_SANITIZE ?? '',
  };
  // Changing CMAKE_CUDA_COMPILER on an existing tree makes CMake wipe its cache and re-run
  // without our -D options (so /usr/local/bin/nvcc vs /usr/local/cuda/bin/nvcc, e.g. pnpm's PATH
  // vs a shell's, would fail the configure). Keep the compiler the tree already has.
  const cachedCuda = cachedCudaCompiler();
  if (cuda.use && !cachedCuda) cmakeOptions.CMAKE_CUDA_COMPILER = cuda.path;
  if (cuda.use && cachedCuda && cachedCuda !== cuda.path) {
    console.log(`omnidistill native: keeping the tree's CUDA compiler ${cachedCuda} (found ${cuda.path}; delete ${outDir} to switch)`);
  }
  if (process.env.OMNIDISTILL_CUDA_ARCHITECTURES) cmakeOptions.CMAKE_CUDA_ARCHITECTURES = process.env.OMNIDISTILL_CUDA_ARCHITECTURES;

  console.log(`omnidistill native: node headers ${includeDir}; cuda: ${cuda.use ? cuda.path : 'skipped'} (${cuda.why})`);
  await withBuildLock(async () => {
    try {
      // Always configure: cheap, and it picks up a changed toolchain (e.g. nvcc appearing on PATH).
      cmakeBuild(cmakeOptions);
    } catch (err) {
      // A CMake tree left inconsistent (an interrupted configure, a regeneration without our
      // -D options) should not need a manual clean: retry once from an empty build directory.
      console.warn(`omnidistill native: build failed (${err instanceof Error ? err.message : err}); retrying from a clean ${outDir}`);
      rmSync(outDir, { recursive: true, force: true });
      cmakeBuild(cmakeOptions);
    }
  });

  const cmakeInfoPath = join(outDir, 'cmake-info.json');
  const cmakeInfo = existsSync(cmakeInfoPath) ? JSON.parse(readFileSync(cmakeInfoPath, 'utf8')) : {};
  const info = {
    builtAt: new Date().toISOString(),
    node: process.version,
    nodeApi: process.versions.napi,
    nodeIncludeDir: includeDir,
    platform: `${process.platform}-${process.arch}`,
    // The platform package this build may be staged into (see stage-prebuilt.mjs).
    platformKey: platformKey(),
    cudaDecision: cuda.why,
    sanitize: cmakeOptions.OMNI_SANITIZE || null,
    ...cmakeInfo,
  };
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'build-info.json'), `${JSON.stringify(info, null, 2)}\n`);
  console.log(`omnidistill native: built (cuda compiled: ${info.cudaCompiled}); see ${join(outDir, 'build-info.json')}`);
}

main().catch((err) => {
  console.error(`omnidistill native build failed: ${err instanceof Error ? err.message : String(err)}`);
  console.error('Needs cmake >= 3.18 and a C++17 compiler; CUDA is optional (see native/README.md).');
  process.exit(1);
});

#!/usr/bin/env node
// `install` script of the published @omnidistill/native. Uses the prebuilt binary of this
// platform's package when one fits and loads; builds from source with CMake only when none
// does, or when OMNIDISTILL_NATIVE_BUILD_FROM_SOURCE=1 asks for it. Says which happened.
//
// A failed fallback build does not fail the install (the addon only accelerates: the
// TypeScript backend of @omnidistill/ensemble runs everywhere) unless the build was requested.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const say = (line) => console.log(`@omnidistill/native: ${line}`);

// In a clone of the monorepo (sources present) turbo's `pnpm build` builds the addon.
if (existsSync(join(packageRoot, 'lib', 'index.ts'))) process.exit(0);

const { BUILD_FROM_SOURCE_ENV, describeNativeLoad, loadNativeFrom, platformKey } = await import('../dist/index.js');
const requested = ['1', 'true', 'yes'].includes((process.env[BUILD_FROM_SOURCE_ENV] ?? '').toLowerCase());

let why;
if (requested) {
  why = `${BUILD_FROM_SOURCE_ENV}=${process.env[BUILD_FROM_SOURCE_ENV]} asks for it`;
} else {
  try {
    const loaded = loadNativeFrom({ ...process.env, OMNIDISTILL_NATIVE_PATH: '' });
    say(`using ${describeNativeLoad(loaded)}`);
    process.exit(0);
  } catch (err) {
    why = `no prebuilt binary fits ${platformKey()}:\n${err.message.split('\n').slice(1, -1).join('\n')}`;
  }
}

say(`building from source with CMake (${why})`);
const build = spawnSync(process.execPath, [join(packageRoot, 'scripts', 'build.mjs')], { cwd: packageRoot, stdio: 'inherit' });
if (build.status === 0) {
  say(`built from source into ${join(packageRoot, 'build', 'Release')}; the loader uses it`);
  process.exit(0);
}
if (requested) process.exit(build.status ?? 1);
say(
  'the source build failed (needs cmake >= 3.18 and a C++17 compiler); the native cpu/cuda backends are unavailable, ' +
    "@omnidistill/ensemble's wasm and TypeScript backends still work. Fix the toolchain and run `npm rebuild @omnidistill/native`.",
);

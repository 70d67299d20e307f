#!/usr/bin/env node
// `prepack` of a platform package (platforms/native-<key>): copies this checkout's addon build
// (native/build/Release/omnidistill_native.node + build/build-info.json) into the package about
// to be packed. Refuses when the build was made for another platform than the package's, or
// is missing (run `pnpm build` first): a platform package must never carry a foreign binary.
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const nativeRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const target = process.cwd();
const manifest = JSON.parse(readFileSync(join(target, 'package.json'), 'utf8'));
const key = manifest.name.replace('@omnidistill/native-', '');
const built = join(nativeRoot, 'build', 'Release', 'omnidistill_native.node');
const infoPath = join(nativeRoot, 'build', 'build-info.json');

function fail(message) {
  console.error(`${manifest.name} prepack: ${message}`);
  process.exit(1);
}

if (!existsSync(built) || !existsSync(infoPath)) fail(`no addon build at ${built}; run \`pnpm build\` first`);
const info = JSON.parse(readFileSync(infoPath, 'utf8'));
if (info.platformKey !== key) fail(`the build at ${built} is for ${info.platformKey ?? info.platform}, not ${key}`);
if (info.sanitize) fail(`the build at ${built} is a sanitizer build (${info.sanitize}); rebuild without OMNIDISTILL_NATIVE_SANITIZE`);
copyFileSync(built, join(target, 'omnidistill_native.node'));
// The record ships with the binary, saying what this prebuilt is (CUDA compiled in or not, …).
writeFileSync(join(target, 'build-info.json'), `${JSON.stringify({ ...info, prebuiltPackage: manifest.name }, null, 2)}\n`);
console.log(`${basename(target)}: staged ${built} (cuda compiled: ${info.cudaCompiled})`);

// Which prebuilt binary fits this machine. Prebuilt addons ship as one npm package per
// platform (@omnidistill/native-<os>-<cpu>[-<libc>]), each declaring `os`, `cpu` and `libc`,
// listed as optionalDependencies of @omnidistill/native: npm and pnpm install only the one
// that fits, and the loader resolves it by the same name.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** Scope + prefix of the platform packages. */
export const PREBUILT_PACKAGE_PREFIX = '@omnidistill/native-';

let libc: 'gnu' | 'musl' | null | undefined;

/** The C library a Linux node runs on ('gnu' for glibc, else 'musl'); null elsewhere. Computed once. */
export function linuxLibc(): 'gnu' | 'musl' | null {
  if (libc === undefined) {
    // process.report's header names the glibc version only when node runs on glibc (a report takes ~10 ms).
    const header = process.platform === 'linux' ? (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header : undefined;
    libc = process.platform !== 'linux' ? null : header?.glibcVersionRuntime ? 'gnu' : 'musl';
  }
  return libc;
}

/** This machine's platform key, e.g. `linux-x64-gnu`, `darwin-arm64`, `win32-x64`. */
export function platformKey(platform: string = process.platform, arch: string = process.arch, libc = linuxLibc()): string {
  return libc ? `${platform}-${arch}-${libc}` : `${platform}-${arch}`;
}

/** The platform package that would carry a prebuilt binary for `key`. */
export function prebuiltPackageName(key: string = platformKey()): string {
  return `${PREBUILT_PACKAGE_PREFIX}${key}`;
}

/** The prebuilt .node file of this platform's package, or why there is none. */
export function resolvePrebuilt(addonFile: string, fromUrl: string): { package: string; path: string } | { package: string; error: string } {
  const name = prebuiltPackageName();
  try {
    const manifest = createRequire(fromUrl).resolve(`${name}/package.json`);
    return { package: name, path: join(dirname(manifest), addonFile) };
  } catch {
    return { package: name, error: `no prebuilt binary for ${platformKey()} (package ${name} is not installed)` };
  }
}

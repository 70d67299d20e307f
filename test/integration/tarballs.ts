// Helpers for the tarball tests: pack every publishable workspace package as it would be
// published, make sure npm's cache holds their third-party dependencies, and install a
// chosen set of tarballs into a scratch project with `npm --offline` under a PATH that holds
// nothing but node, npm and npx (no cmake, no C++ compiler, no nvcc).
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Folders holding publishable packages (pnpm-workspace.yaml minus tools/ and test/). */
const PACKAGE_FOLDERS = ['packages', 'platforms'];

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

/** One packed package: its manifest in the checkout, the tarball, and the files it carries. */
export interface Packed {
  name: string;
  dir: string;
  tarball: string;
  files: string[];
  manifest: Manifest;
}

function readManifest(dir: string): Manifest {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;
}

/** Every non-private workspace package folder: packages/*, native, platforms/*. */
export function publishableFolders(): string[] {
  const dirs = [join(repo, 'native')];
  for (const folder of PACKAGE_FOLDERS) {
    for (const entry of readdirSync(join(repo, folder))) {
      const dir = join(repo, folder, entry);
      if (existsSync(join(dir, 'package.json'))) dirs.push(dir);
    }
  }
  return dirs.filter((dir) => !readManifest(dir).private);
}

/** `pnpm pack` of every publishable package into dest (pnpm turns workspace:* into versions). */
export function packWorkspace(dest: string): Map<string, Packed> {
  mkdirSync(dest, { recursive: true });
  const packed = new Map<string, Packed>();
  for (const dir of publishableFolders()) {
    const out = execFileSync('pnpm', ['pack', '--json', '--pack-destination', dest], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    // prepack scripts may print before the JSON object.
    const info = JSON.parse(out.slice(out.indexOf('{'))) as { name: string; filename: string; files: { path: string }[] };
    packed.set(info.name, { name: info.name, dir, tarball: info.filename, files: info.files.map((f) => f.path), manifest: readManifest(dir) });
  }
  return packed;
}

/** The tarballs a scratch project needs to install `names`: them and their workspace dependencies. */
export function closure(packed: Map<string, Packed>, names: string[]): string[] {
  const seen = new Set<string>();
  const visit = (name: string): void => {
    const pkg = packed.get(name);
    if (!pkg || seen.has(name)) return;
    seen.add(name);
    for (const dep of Object.keys({ ...pkg.manifest.dependencies, ...pkg.manifest.optionalDependencies })) visit(dep);
  };
  names.forEach(visit);
  return [...seen].map((name) => packed.get(name)!.tarball);
}

/** Reads one file of a tarball. */
export function tarballFile(tarball: string, path: string): string {
  return execFileSync('tar', ['-xzOf', tarball, `package/${path}`], { encoding: 'utf8' });
}

/**
 * Makes `npm install --offline` of these tarballs possible: resolves their dependency tree
 * (`--package-lock-only`, packuments from the cache when there) and adds every third-party
 * package that fits this platform to npm's cache. Uses the registry only for what the cache
 * lacks (the first run on a fresh machine); afterwards it runs offline.
 */
export function warmNpmCache(tarballs: string[], scratch: string): { packages: number } {
  mkdirSync(scratch, { recursive: true });
  writeFileSync(join(scratch, 'package.json'), JSON.stringify({ name: 'warm-cache', private: true }));
  npm(['install', '--package-lock-only', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', ...tarballs], scratch, process.env);
  const lock = JSON.parse(readFileSync(join(scratch, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { version?: string; resolved?: string; os?: string[]; cpu?: string[]; libc?: string[] }>;
  };
  const fits = (p: { os?: string[]; cpu?: string[]; libc?: string[] }) =>
    (!p.os || p.os.includes(process.platform)) && (!p.cpu || p.cpu.includes(process.arch)) && (!p.libc || p.libc.includes('glibc'));
  const specs = Object.entries(lock.packages)
    .filter(([path, p]) => path !== '' && !p.resolved?.startsWith('file:') && fits(p))
    .map(([path, p]) => `${path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length)}@${p.version}`);
  npm(['cache', 'add', '--prefer-offline', ...specs], scratch, process.env);
  return { packages: specs.length };
}

/**
 * An environment whose PATH holds only node, npm, npx and pnpm (symlinks in `bin`): no cmake, no
 * C++ compiler, no nvcc, not even a shell, so lifecycle scripts get /bin/sh by absolute path.
 * onnxruntime-node's postinstall would download CUDA libraries from outside the registry.
 */
export function nodeOnlyEnv(bin: string): NodeJS.ProcessEnv {
  mkdirSync(bin, { recursive: true });
  for (const tool of ['node', 'npm', 'npx', 'pnpm']) {
    const target = which(tool);
    if (!existsSync(join(bin, tool))) symlinkSync(target, join(bin, tool));
  }
  return {
    HOME: process.env.HOME,
    PATH: bin,
    TMPDIR: process.env.TMPDIR,
    npm_config_script_shell: '/bin/sh',
    npm_config_update_notifier: 'false',
    ONNXRUNTIME_NODE_INSTALL: 'skip',
  };
}

function which(tool: string): string {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, tool))) return join(dir, tool);
  }
  throw new Error(`${tool} is not on PATH`);
}

/** Runs npm; throws with its output when it fails. */
export function npm(args: string[], cwd: string, env: NodeJS.ProcessEnv): string {
  const r = sh('npm', args, cwd, env);
  if (r.status !== 0) throw new Error(`npm ${args.slice(0, 2).join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout + r.stderr;
}

/** Runs a program (found on env.PATH) and returns its outcome without throwing. */
export function sh(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, timeout = 600_000): SpawnSyncReturns<string> {
  const bin = (env.PATH ?? '').split(':').map((d) => join(d, cmd)).find((p) => existsSync(p)) ?? cmd;
  return spawnSync(bin, args, { cwd, env, encoding: 'utf8', timeout, maxBuffer: 64 << 20 });
}

/** A fresh scratch project with installed tarballs (`npm install --offline`); returns npm's output. */
export function installScratch(dir: string, tarballs: string[], env: NodeJS.ProcessEnv, extra: string[] = []): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module' }));
  return npm(['install', '--offline', '--no-audit', '--no-fund', '--foreground-scripts', ...extra, ...tarballs], dir, env);
}

/**
 * The commands of a README code block marked `<!-- readme-workflow: NAME -->` (the first
 * fenced block after the marker), one per line, blank lines and comments dropped.
 */
export function readmeWorkflow(name: string): string[] {
  const readme = readFileSync(join(repo, 'README.md'), 'utf8');
  const marker = `<!-- readme-workflow: ${name} -->`;
  const at = readme.indexOf(marker);
  if (at < 0) throw new Error(`README.md has no ${marker}`);
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(at));
  if (!block) throw new Error(`README.md: no \`\`\`sh block after ${marker}`);
  return block[1].split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
}

/** Runs one README line as a user would paste it: through /bin/sh, in `cwd`, with `env`. */
export function runLine(line: string, cwd: string, env: NodeJS.ProcessEnv): SpawnSyncReturns<string> {
  return spawnSync('/bin/sh', ['-c', line], { cwd, env, encoding: 'utf8', timeout: 600_000, maxBuffer: 64 << 20 });
}

/**
 * A scratch project that depends on `names` from their tarballs, installed with pnpm: every
 * workspace package is overridden to its tarball (they are not on the registry), and
 * dependency build scripts are left unrun as pnpm does by default (the addon's loader finds
 * the prebuilt binary without its install script). pnpm's store (filled by the workspace's
 * own install) serves the third-party packages; `--prefer-offline` fetches only what it lacks.
 */
export function installWithPnpm(dir: string, packed: Map<string, Packed>, names: string[], env: NodeJS.ProcessEnv): string {
  mkdirSync(dir, { recursive: true });
  const spec = (name: string) => `file:${packed.get(name)!.tarball}`;
  const dependencies = Object.fromEntries(names.map((name) => [name, spec(name)]));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'scratch-pnpm', private: true, type: 'module', dependencies }));
  const overrides = [...packed.keys()].map((name) => `  "${name}": "${spec(name)}"`).join('\n');
  writeFileSync(join(dir, 'pnpm-workspace.yaml'), `overrides:\n${overrides}\nstrictDepBuilds: false\n`);
  const r = sh('pnpm', ['install', '--prefer-offline', '--reporter=append-only'], dir, env);
  if (r.status !== 0) throw new Error(`pnpm install failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout + r.stderr;
}

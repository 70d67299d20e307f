// What the benchmarks share about their peers (the libraries a user would pick instead):
// the Python that runs them, a line-oriented child server so both sides' measurements can be
// interleaved, the load average printed beside every ratio, and the ratio row itself.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir, loadavg, availableParallelism } from 'node:os';
import { createInterface } from 'node:readline';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PYTHON = process.env.OMNI_PYTHON ?? '/usr/bin/python3';
/** Repository root (peer scripts live in tools/peers). */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const PEER_SCRIPTS = join(ROOT, 'tools', 'peers');

/** Where tools/peers/setup-pycocotools.sh builds pycocotools (its PythonAPI folder), or null when absent. */
export function pycocotoolsPath(): string | null {
  const dir = join(process.env.OMNI_PEERS_DIR ?? join(homedir(), '.cache', 'omnidistill', 'peers'), 'cocoapi', 'PythonAPI');
  return existsSync(join(dir, 'pycocotools', 'cocoeval.py')) ? dir : null;
}

/** "load average 3.1 2.8 2.5 (1/5/15 min) on 2 cores": how busy the machine was while measuring. */
export function loadLine(): string {
  const [a, b, c] = loadavg();
  return `load average ${a.toFixed(2)} ${b.toFixed(2)} ${c.toFixed(2)} (1/5/15 min) on ${availableParallelism()} cores`;
}

/** Null when `python` can import every module, else the reason it cannot. */
export function pythonMissing(modules: string[], env: NodeJS.ProcessEnv = process.env): string | null {
  const r = spawnSync(PYTHON, ['-c', `import ${modules.join(', ')}`], { encoding: 'utf8', env });
  if (r.error) return `${PYTHON} cannot run: ${r.error.message}`;
  if (r.status !== 0) return `${PYTHON} cannot import ${modules.join(', ')}: ${r.stderr.trim().split('\n').pop()}`;
  return null;
}

/** A Python peer answering JSON requests, one per line, on stdin/stdout. */
export class PeerServer {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: AsyncIterator<string>;
  private stderr = '';
  constructor(script: string, args: string[] = [], env: NodeJS.ProcessEnv = process.env) {
    this.child = spawn(PYTHON, [script, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env });
    this.child.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.lines = createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
  }
  /** The next line the peer prints, parsed. */
  async next<T>(): Promise<T> {
    const r = await this.lines.next();
    if (r.done) throw new Error(`peer process ended: ${this.stderr.trim().split('\n').slice(-3).join(' | ')}`);
    return JSON.parse(r.value) as T;
  }
  async request<T>(req: object): Promise<T> {
    this.child.stdin.write(`${JSON.stringify(req)}\n`);
    return this.next<T>();
  }
  close(): void {
    this.child.stdin.end();
  }
}

/** Wall and CPU seconds of one child process (CPU from /usr/bin/time; NaN where it is absent). */
export interface ProcessTiming {
  wallS: number;
  cpuS: number;
  stdout: string;
}

const TIME = '/usr/bin/time';

/** Runs a whole process and times it from the outside, as a user would experience it. */
export function timeProcess(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): ProcessTiming {
  const withTime = existsSync(TIME);
  const t0 = process.hrtime.bigint();
  const r = withTime
    ? spawnSync(TIME, ['-f', '%U %S', command, ...args], { encoding: 'utf8', env, maxBuffer: 1 << 26 })
    : spawnSync(command, args, { encoding: 'utf8', env, maxBuffer: 1 << 26 });
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${r.status}): ${r.stderr.slice(-500)}`);
  let cpuS = NaN;
  if (withTime) {
    const [u, s] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number);
    cpuS = u + s;
  }
  return { wallS, cpuS, stdout: r.stdout };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** "4.2x wall, 3.9x cpu": the peer's time over ours (> 1: we are faster), medians of interleaved rounds. */
export function ratioText(peer: { wall: number[]; cpu: number[] }, ours: { wall: number[]; cpu: number[] }): string {
  const w = median(peer.wall) / median(ours.wall);
  const c = median(peer.cpu) / median(ours.cpu);
  return `${w.toFixed(2)}x wall, ${Number.isFinite(c) ? c.toFixed(2) : 'n/a'}x cpu`;
}

// Heatmap ensembling + keypoint decoding on the paper's workload: T = 18 transforms
// (9 scales x flip), N = 100 RoIs of 30-400 px, K = 17, M = 56.
// Prints, from one process: native cpu fused ensemble+decode vs the TypeScript reference
// (goal >= 30x), the averaging phase's bandwidth vs a triad measured on this machine
// (goal >= 80% at 2 threads, both counted with write-allocate traffic) and vs a read-only pass
// over the same input (the floor of any averaging kernel), with a GPU the cuda
// kernel and end-to-end times, and the peers a user would run instead (tools/peers/
// keypoint_peers.py, single-threaded): the Detectron-style numpy + OpenCV ensemble, torch +
// torchvision's heatmaps_to_keypoints, and torchvision's decode alone, interleaved with ours
// (native cpu on 1 thread, and the two addon-free backends: wasm, then ts), and ts once more in a
// `node --jitless` child (ts-jitless.ts), where `auto` really falls back to it.
// Run: node --import tsx --conditions=source heatmaps.bench.ts [--no-peers | --peers-only]
// (--peers-only: only the peers section, BENCH_PEER_ROUNDS interleaved rounds per workload, default 3)
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { COCO_PERSON } from '@omnidistill/core';
import { backends, checkDecode, checkEnsemble, decodeHeatmaps, ensembleAndDecode, ensembleHeatmaps, referenceEnsembleAndDecode } from '@omnidistill/ensemble';
import { loadNative } from '@omnidistill/native';
import { PEER_SCRIPTS, PeerServer, loadLine, median, pythonMissing, ratioText } from './peers.js';

const T = 18, N = 100, K = 17, M = 56;
const threads = process.env.BENCH_THREADS ? Number(process.env.BENCH_THREADS) : undefined;
const peerRounds = Number(process.env.BENCH_PEER_ROUNDS ?? 3);

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * RoIs of 30-400 px and heatmaps of one of two kinds:
 * - `peaky`: what a keypoint head emits — per (RoI, keypoint) a Gaussian bump at a location
 *   shared by all transforms (jittered by up to a cell), on a -4 background with noise;
 *   flipped transforms hold the mirrored maps in swapped channels, as a real flipped pass would;
 * - `noise`: uniform logits in [-4, 4], the worst case for the decoder's row pruning.
 */
function workload(kind: 'peaky' | 'noise') {
  const r = rng(2018);
  const heatmaps = new Float32Array(T * N * K * M * M);
  const flipped = Array.from({ length: T }, (_, t) => t % 2 === 1);
  const perm = new Int32Array(K).map((_, i) => i);
  for (const [a, b] of COCO_PERSON.flipPairs) [perm[a], perm[b]] = [b, a];
  if (kind === 'noise') {
    for (let i = 0; i < heatmaps.length; i++) heatmaps[i] = r() * 8 - 4;
  } else {
    const centres = Array.from({ length: N * K }, () => [4 + r() * (M - 8), 4 + r() * (M - 8), 1 + r() * 2.5] as const);
    for (let t = 0; t < T; t++) {
      for (let n = 0; n < N; n++) {
        for (let k = 0; k < K; k++) {
          const [cx0, cy, sigma] = centres[n * K + k];
          const cx = cx0 + (r() - 0.5) * 2, cyj = cy + (r() - 0.5) * 2, amp = 6 + r() * 6;
          // A flipped pass sees the mirrored image: keypoint k's bump lands mirrored in channel perm[k].
          const channel = flipped[t] ? perm[k] : k;
          const base = ((t * N + n) * K + channel) * M * M;
          for (let y = 0; y < M; y++) {
            for (let x = 0; x < M; x++) {
              const xs = flipped[t] ? M - 1 - x : x;
              const d2 = (xs - cx) ** 2 + (y - cyj) ** 2;
              heatmaps[base + y * M + x] = amp * Math.exp(-d2 / (2 * sigma * sigma)) - 4 + r() * 0.5;
            }
          }
        }
      }
    }
  }
  const rois = new Float32Array(N * 4);
  for (let n = 0; n < N; n++) {
    const w = 30 + r() * 370, h = 30 + r() * 370, x = r() * 600, y = r() * 400;
    rois.set([x, y, x + w, y + h], 4 * n);
  }
  return { heatmaps, rois, flipped };
}

/**
 * Best wall time of `runs` calls, and the process CPU time (all threads: the TS reference runs
 * on the main thread, native work on the pool threads) of that best call. On a machine shared
 * with other jobs the CPU-time ratio is the steadier figure; both are printed.
 */
async function best<T>(runs: number, fn: () => Promise<T>): Promise<{ ms: number; cpuMs: number; value: T }> {
  let bestMs = Infinity, bestCpuMs = Infinity;
  let value!: T;
  for (let i = 0; i < runs; i++) {
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    value = await fn();
    const ms = performance.now() - start;
    const cpu = process.cpuUsage(cpu0);
    if (ms < bestMs) {
      bestMs = ms;
      bestCpuMs = (cpu.user + cpu.system) / 1000;
    }
  }
  return { ms: bestMs, cpuMs: bestCpuMs, value };
}

const fmt = (x: number, digits = 1) => x.toFixed(digits);

interface Peers {
  server: PeerServer;
  /** where the inputs are written for the Python side */
  dir: string;
}

async function startPeers(): Promise<Peers | null> {
  const missing = pythonMissing(['numpy', 'cv2', 'torch', 'torchvision']);
  if (missing) {
    console.log(`peers: skipped (${missing})`);
    return null;
  }
  const server = new PeerServer(join(PEER_SCRIPTS, 'keypoint_peers.py'));
  const info = await server.next<Record<string, string>>();
  console.log(`peers: ${Object.entries(info).map(([k, v]) => `${k} ${v}`).join(', ')}; all single-threaded, as is our row marked "1 thread"`);
  return { server, dir: mkdtempSync(join(tmpdir(), 'omni-heatmaps-bench-')) };
}

interface Samples {
  wall: number[];
  cpu: number[];
}

/**
 * One timed call of ours: wall and process CPU (ms) appended to `into`, after one untimed call
 * of the same work, as the peer server (keypoint_peers.py) runs each of its timed calls right
 * after an untimed one: both sides start a timed call with the same caches warm.
 */
async function sample<T>(into: Samples, fn: () => Promise<T>): Promise<T> {
  await fn();
  return sampleOnce(into, fn);
}

/** One timed call of ours, without an untimed call before it. */
async function sampleOnce<T>(into: Samples, fn: () => Promise<T>): Promise<T> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await fn();
  into.wall.push(performance.now() - t0);
  const c = process.cpuUsage(c0);
  into.cpu.push((c.user + c.system) / 1000);
  return value;
}

type PeerReply = { wall_ms: number[]; cpu_ms: number[]; keypoints: number[] };

/** How two [N, K, 3] keypoint sets agree: exactly, or in how many cells and by how much logit. */
function agreement(ours: Float32Array, theirs: number[]): string {
  const items = ours.length / 3;
  let same = 0, samePlace = 0, maxLogit = 0;
  for (let i = 0; i < items; i++) {
    const x = Math.fround(theirs[3 * i]), y = Math.fround(theirs[3 * i + 1]), l = Math.fround(theirs[3 * i + 2]);
    const place = ours[3 * i] === x && ours[3 * i + 1] === y;
    if (place) samePlace++;
    if (place && ours[3 * i + 2] === l) same++;
    maxLogit = Math.max(maxLogit, Math.abs(ours[3 * i + 2] - l));
  }
  if (same === items) return 'identical';
  return `${same}/${items} identical, ${samePlace}/${items} same place, max |logit diff| ${maxLogit.toExponential(1)}`;
}

/**
 * Ours vs the peers on one workload, interleaved in rounds: fused ensemble+decode (native cpu
 * on 1 thread, the wasm and the ts backends) vs Detectron numpy+cv2 and torch+torchvision; decode alone
 * (native cpu, 1 thread) vs torchvision's heatmaps_to_keypoints.
 */
async function versusPeers(peers: Peers, kind: string, heatmaps: Float32Array, rois: Float32Array, flipped: boolean[]): Promise<void> {
  const perm = new Int32Array(K).map((_, i) => i);
  for (const [a, b] of COCO_PERSON.flipPairs) [perm[a], perm[b]] = [b, a];
  const options = { mode: 'avg' as const, flipped, flipPairs: COCO_PERSON.flipPairs, threads: 1 };
  const batch = { data: heatmaps, t: T, n: N, k: K, m: M };
  const maps = (await ensembleHeatmaps(batch, { ...options, backend: 'cpu' })).heatmaps;
  // One folder per workload: the peer caches what it loaded by folder.
  const dir = join(peers.dir, kind);
  mkdirSync(dir);
  writeFileSync(join(dir, 'heatmaps.f32'), Buffer.from(heatmaps.buffer, heatmaps.byteOffset, heatmaps.byteLength));
  writeFileSync(join(dir, 'maps.f32'), Buffer.from(maps.data.buffer, maps.data.byteOffset, maps.data.byteLength));
  writeFileSync(join(dir, 'rois.f32'), Buffer.from(rois.buffer, rois.byteOffset, rois.byteLength));
  writeFileSync(join(dir, 'flipped.u8'), Uint8Array.from(flipped, (f) => (f ? 1 : 0)));
  writeFileSync(join(dir, 'perm.i32'), Buffer.from(perm.buffer));
  const shape = { dir, t: T, n: N, k: K, m: M, samples: 1 };
  const rows: Record<string, Samples> = {};
  const row = (name: string): Samples => (rows[name] ??= { wall: [], cpu: [] });
  const peerRow = async (name: string, op: string): Promise<number[]> => {
    const r = await peers.server.request<PeerReply>({ ...shape, op });
    row(name).wall.push(...r.wall_ms);
    row(name).cpu.push(...r.cpu_ms);
    return r.keypoints;
  };
  let native!: Float32Array, ts!: Float32Array, wasm!: Float32Array, nativeDecode!: Float32Array;
  let detectron: number[] = [], torch: number[] = [], tvDecode: number[] = [];
  // Warm-up. V8 tiers the ts backend's kernels up over its first ~4 calls on this workload
  // (decodeAll and combineChannel reach TurboFan in calls 3-5; measured with --trace-opt), so a
  // long labeling run sees the later calls' speed; the cold first call is printed on its own.
  await ensembleAndDecode(batch, rois, { ...options, backend: 'cpu' });
  const first: Samples = { wall: [], cpu: [] };
  await sampleOnce(first, () => ensembleAndDecode(batch, rois, { ...options, backend: 'ts' }));
  for (let i = 0; i < 4; i++) await ensembleAndDecode(batch, rois, { ...options, backend: 'ts' });
  await ensembleAndDecode(batch, rois, { ...options, backend: 'wasm' });
  for (let r = 0; r < peerRounds; r++) {
    for (let i = 0; i < 3; i++) native = (await sample(row('native'), () => ensembleAndDecode(batch, rois, { ...options, backend: 'cpu' }))).keypoints.data;
    ts = (await sample(row('ts'), () => ensembleAndDecode(batch, rois, { ...options, backend: 'ts' }))).keypoints.data;
    wasm = (await sample(row('wasm'), () => ensembleAndDecode(batch, rois, { ...options, backend: 'wasm' }))).keypoints.data;
    detectron = await peerRow('detectron', 'detectron');
    torch = await peerRow('torch', 'torch');
    for (let i = 0; i < 3; i++) nativeDecode = (await sample(row('decode'), () => decodeHeatmaps(maps, rois, { backend: 'cpu', threads: 1 }))).keypoints.data;
    tvDecode = await peerRow('tv_decode', 'tv_decode');
  }
  const t = (s: Samples) => `wall ${fmt(median(s.wall))} ms cpu ${fmt(median(s.cpu))} ms`;
  console.log(`peers (${kind}), medians of ${peerRounds} interleaved rounds:`);
  console.log(`  ours fused, native cpu 1 thread  ${t(rows.native)}`);
  console.log(`  ours fused, ts backend           ${t(rows.ts)}   (ts vs native: ${agreement(ts, Array.from(native))}; its first call in this section: ${t(first)})`);
  console.log(`  ours fused, wasm backend         ${t(rows.wasm)}   (wasm vs native: ${agreement(wasm, Array.from(native))})`);
  console.log(`  Detectron numpy + cv2            ${t(rows.detectron)}   (vs ours: ${agreement(native, detectron)})`);
  console.log(`  torch + torchvision              ${t(rows.torch)}   (vs ours: ${agreement(native, torch)})`);
  console.log(`  ours decode, native cpu 1 thread ${t(rows.decode)}`);
  console.log(`  torchvision heatmaps_to_keypoints ${t(rows.tv_decode)}   (vs ours: ${agreement(nativeDecode, tvDecode)})`);
  const load = loadLine();
  console.log(`  RATIO Detectron numpy+cv2 / ours native 1 thread (${kind}): ${ratioText(rows.detectron, rows.native)}  [${load}]`);
  console.log(`  RATIO torch+torchvision / ours native 1 thread (${kind}): ${ratioText(rows.torch, rows.native)}  [${load}]`);
  // Without the addon `auto` runs wasm (the WebAssembly SIMD kernel), and ts only where wasm cannot be instantiated.
  console.log(`  RATIO Detectron numpy+cv2 / ours wasm backend, what runs without the addon (${kind}): ${ratioText(rows.detectron, rows.wasm)}  [${load}]`);
  // ts in this process has the JIT: what runs where WebAssembly is switched off with the JIT on (node --no-expose-wasm).
  console.log(`  RATIO Detectron numpy+cv2 / ours ts backend, without addon and wasm (${kind}): ${ratioText(rows.detectron, rows.ts)}  [${load}]`);
  console.log(`  RATIO torchvision decode / ours decode native 1 thread (${kind}): ${ratioText(rows.tv_decode, rows.decode)}  [${load}]`);
  await versusJitless(shape, rows.detectron, Array.from(native), kind);
}

/**
 * The `ts` backend where `auto` really runs it: in a `node --jitless` child (no JIT, hence no
 * WebAssembly), one call (~10 s), against the Detectron peer's median from the same section.
 * The in-process `ts` row above is the JIT-compiled backend, which only runs where WebAssembly
 * is switched off with the JIT on (e.g. `node --no-expose-wasm`).
 */
async function versusJitless(shape: { dir: string; t: number; n: number; k: number; m: number }, detectron: Samples, native: number[], kind: string): Promise<void> {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'ts-jitless.ts');
  const args = ['--jitless', '--import', 'tsx', '--conditions=source', script, shape.dir, ...[shape.t, shape.n, shape.k, shape.m].map(String)];
  const { stdout } = await promisify(execFile)(process.execPath, args, { maxBuffer: 64 << 20 });
  const r = JSON.parse(stdout) as PeerReply;
  const jitless = { wall: r.wall_ms, cpu: r.cpu_ms };
  console.log(`  ours fused, ts backend, node --jitless child, 1 call: wall ${fmt(r.wall_ms[0])} ms cpu ${fmt(r.cpu_ms[0])} ms   (vs native: ${agreement(new Float32Array(r.keypoints), native)})`);
  console.log(`  RATIO Detectron numpy+cv2 / ours ts backend under node --jitless, where auto runs it (${kind}): ${ratioText(detectron, jitless)}  [${loadLine()}]`);
}

async function main(): Promise<void> {
  const peersOnly = process.argv.includes('--peers-only');
  const peers = process.argv.includes('--no-peers') ? null : await startPeers();
  const native = loadNative();
  const runThreads = threads ?? native.backends().cpu.threads;
  console.log(`backends: ${backends().map((b) => `${b.backend}=${b.usable ? 'usable' : `unusable (${b.reason})`}`).join('; ')}`);
  console.log(`build: ${JSON.stringify(native.buildInfo())}`);
  console.log(`workload: T=${T} N=${N} K=${K} M=${M}, RoIs 30-400 px, heatmaps ${fmt((T * N * K * M * M * 4) / 2 ** 20)} MiB, cpu threads ${runThreads}`);

  // Memory bandwidth: STREAM triad over arrays far larger than any cache, timed in the same
  // interleaved rounds as the averaging phase below (a triad timed once at start-up, minutes
  // apart from what it is compared with, swung by 2x on this shared machine).
  const len = 32 * 2 ** 20;
  const a = new Float32Array(len), b = new Float32Array(len).fill(1), c = new Float32Array(len).fill(2);
  const triadOnce = async () => (await native.triad(a, b, c, 3, { backend: 'cpu', threads: runThreads })).kernelMs;
  // Both sides count the bytes that cross the memory bus with ordinary (write-allocate) stores:
  // a store first reads its cache line, so writing an array costs a read and a write of it.
  // Triad: read b, read c, read+write a = 4 arrays (STREAM's own count, 3, leaves out the
  // allocate read and made the averaging phase look faster than memory: 106 %).
  const triadBytes = 4 * 4 * len;
  await triadOnce(); // first touch of a
  // Untimed, before each timed kernel below: reading 64 MiB (twice the L3) evicts the dirty
  // lines the previous kernel left in the caches, which the next one would otherwise pay to write
  // back: up to the whole 21 MB averaging output before a triad (in our favour), the triad's `a`
  // before readSum. One float per 64-byte line touches every line.
  const flushBuffer = new Float32Array(16 * 2 ** 20).fill(1);
  let flushSink = 0;
  const flushCaches = () => {
    for (let i = 0; i < flushBuffer.length; i += 16) flushSink += flushBuffer[i]!;
  };

  for (const kind of ['peaky', 'noise'] as const) {
    const { heatmaps, rois, flipped } = workload(kind);
    const batch = { data: heatmaps, t: T, n: N, k: K, m: M };
    const options = { mode: 'avg' as const, flipped, flipPairs: COCO_PERSON.flipPairs, threads: runThreads };
    console.log(`\n--- ${kind} heatmaps ---`);
    if (peersOnly) {
      if (peers) await versusPeers(peers, kind, heatmaps, rois, flipped);
      continue;
    }

    // Averaging phase alone (materialised [N,K,M,M] output); bandwidth from the kernel time.
    // The output buffer is reused across runs, as a streaming pipeline would (the triad's
    // arrays are reused too), so neither side pays for first-touch page faults.
    // Interleaved with it, the floor of any averaging kernel: the addon's readSum reads the same
    // T maps once and writes nothing (absent from addons built before it: then not printed).
    // Per round, the triad and the averaging run back to back: the median of the per-round
    // bandwidth ratios cancels the slow swings of a shared machine that the ratio of two
    // independent bests does not.
    let avgKernelMs = Infinity, avgWallMs = Infinity, readOnly = Infinity, triadMs = Infinity;
    const roundRatios: number[] = [];
    const avgBytes = (T + 2) * N * K * M * M * 4; // read T maps, read+write (write-allocate) the output
    const output = new Float32Array(N * K * M * M);
    for (let i = 0; i < 12; i++) {
      flushCaches();
      const triadRound = await triadOnce();
      triadMs = Math.min(triadMs, triadRound);
      flushCaches();
      if (native.readSum) readOnly = Math.min(readOnly, (await native.readSum(heatmaps, { threads: runThreads })).kernelMs);
      flushCaches();
      const start = performance.now();
      const r = await ensembleHeatmaps(batch, { ...options, backend: 'cpu', output });
      avgWallMs = Math.min(avgWallMs, performance.now() - start);
      avgKernelMs = Math.min(avgKernelMs, r.timing!.kernelMs);
      roundRatios.push(avgBytes / r.timing!.kernelMs / (triadBytes / triadRound));
    }
    const avgGBs = avgBytes / (avgKernelMs * 1e6);
    const triadGBs = triadBytes / (triadMs * 1e6);
    console.log(
      `triad (cpu, ${runThreads} threads, same rounds): best ${fmt(triadMs, 2)} ms for ${fmt(triadBytes / 2 ** 20)} MiB with write-allocate -> ${fmt(triadGBs, 2)} GB/s` +
        ` (STREAM count without it: ${fmt((3 * 4 * len) / (triadMs * 1e6), 2)} GB/s)`,
    );
    console.log(
      `average (cpu, ${runThreads} threads): kernel ${fmt(avgKernelMs, 2)} ms (wall ${fmt(avgWallMs, 2)} ms), ${fmt(avgBytes / 2 ** 20)} MiB with write-allocate -> ${fmt(avgGBs, 2)} GB/s` +
        ` = ${fmt((100 * avgGBs) / triadGBs)}% of triad (goal >= 80% at 2 threads)  [${loadLine()}]`,
    );
    console.log(
      `RATIO (bandwidth, not time) averaging phase / triad, cpu ${runThreads} threads (${kind}): ${fmt((100 * avgGBs) / triadGBs)}% from the bests,` +
        ` ${fmt(100 * median(roundRatios))}% median of ${roundRatios.length} paired rounds (goal >= 80% at 2 threads)  [${loadLine()}]`,
    );
    if (readOnly < Infinity) {
      const readGBs = (T * N * K * M * M * 4) / (readOnly * 1e6);
      console.log(
        `read-only floor (cpu, ${runThreads} threads): reading the T maps once (readSum) best ${fmt(readOnly, 2)} ms -> ${fmt(readGBs, 2)} GB/s = ${fmt((100 * readGBs) / triadGBs)}% of triad;` +
          ` the averaging phase runs at ${fmt((100 * readOnly) / avgKernelMs)}% of this floor (read time / averaging time)  [${loadLine()}]`,
      );
    }

    // Fused ensemble + decode: native cpu vs the TypeScript reference.
    const cpu = await best(5, () => ensembleAndDecode(batch, rois, { ...options, backend: 'cpu' }));
    // The plain TypeScript reference (the oracle), not the optimised ts backend the peers section times.
    const ts = await best(1, async () => ({ keypoints: { data: referenceEnsembleAndDecode(checkEnsemble(batch, options), checkDecode({}, N, rois)).keypoints } }));
    const same = cpu.value.keypoints.data.every((v, i) => v === ts.value.keypoints.data[i]);
    console.log(`fused ensemble+decode: TS reference ${fmt(ts.ms)} ms, cpu ${fmt(cpu.ms, 2)} ms (kernel ${fmt(cpu.value.timing!.kernelMs, 2)} ms); identical: ${same}`);
    console.log(`ratio reference/cpu fused (${kind}): ${fmt(ts.ms / cpu.ms)}x wall (goal >= 30x); CPU time reference ${fmt(ts.cpuMs)} ms vs cpu ${fmt(cpu.cpuMs, 1)} ms -> ${fmt(ts.cpuMs / cpu.cpuMs)}x per unit of CPU`);
    const prob = await best(3, () => ensembleAndDecode(batch, rois, { ...options, backend: 'cpu', probability: true }));
    console.log(`fused with softmax probability (cpu, no row pruning possible): ${fmt(prob.ms, 2)} ms`);

    if (peers) await versusPeers(peers, kind, heatmaps, rois, flipped);

    const cudaStatus = backends().find((s) => s.backend === 'cuda')!;
    if (cudaStatus.usable) {
      const g = await best(3, () => ensembleAndDecode(batch, rois, { ...options, backend: 'cuda' }));
      const ga = await best(3, () => ensembleHeatmaps(batch, { ...options, backend: 'cuda' }));
      const gSame = g.value.keypoints.data.every((v, i) => v === ts.value.keypoints.data[i]);
      console.log(
        `cuda fused: kernel ${fmt(g.value.timing!.kernelMs, 3)} ms, end-to-end with copies ${fmt(g.value.timing!.totalMs, 2)} ms, wall ${fmt(g.ms, 2)} ms;` +
          ` cpu/cuda wall ${fmt(cpu.ms / g.ms)}x; identical to ts: ${gSame}`,
      );
      console.log(
        `cuda average: kernel ${fmt(ga.value.timing!.kernelMs, 3)} ms (${fmt(avgBytes / (ga.value.timing!.kernelMs * 1e6))} GB/s), end-to-end ${fmt(ga.value.timing!.totalMs, 2)} ms`,
      );
    } else if (kind === 'peaky') {
      console.log(`cuda: skipped (${cudaStatus.reason})`);
    }
  }
  const cudaStatus = backends().find((s) => s.backend === 'cuda')!;
  if (cudaStatus.usable && !peersOnly) {
    const ga2 = new Float32Array(len);
    const gt = await native.triad(ga2, b, c, 3, { backend: 'cuda' });
    console.log(`cuda triad: kernel ${fmt(gt.kernelMs, 3)} ms -> ${fmt(triadBytes / (gt.kernelMs * 1e6))} GB/s device bandwidth`);
  }
  if (peers) {
    peers.server.close();
    rmSync(peers.dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

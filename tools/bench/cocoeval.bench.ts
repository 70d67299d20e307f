// COCOeval against the peer a user would run instead, pycocotools (built by
// tools/peers/setup-pycocotools.sh; without it the quoted figure of issue 4 is printed, labelled):
//  1. in process: evaluate + accumulate on 5 000 images / ~15 000 instances with 17 keypoints /
//     ~30 000 results, ours vs pycocotools' (a Python child timing only those calls), bbox and
//     keypoints, interleaved rounds; ours in TypeScript (the default) and with the addon's
//     matching and accumulate steps (what `omnidistill eval` runs); also the
//     pycocotools-structured TS port (the test oracle);
//  2. whole process: `omnidistill eval` (the built CLI) vs a python process doing
//     COCO() + loadRes + evaluate + accumulate + summarize, at 1k / 5k / 20k images (where
//     NODE_EXTRA_CA_CERTS is set, also ours without it: see withoutExtraCaCerts).
// Stats are checked equal to pycocotools' on every row. Run: node --import tsx --conditions=source cocoeval.bench.ts [--quick] [--whole-process]
// (--quick: 1k and 5k images only; --whole-process: part 2 alone).
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createParams, evaluate, evaluateReference, summarize, validateDataset, validateResults } from '@omnidistill/coco';
import type { CocoDataset, CocoResult, EvalOptions, IouType } from '@omnidistill/coco';
import { nativeStatus } from '@omnidistill/native';
import { generateCase } from '../../packages/coco/test/generate.js';
import { PEER_SCRIPTS, PYTHON, PeerServer, ROOT, loadLine, median, pycocotoolsPath, pythonMissing, ratioText, timeProcess, type ProcessTiming } from './peers.js';

/** pycocotools evaluate()+accumulate() on this workload and machine class, as quoted in issue 4: printed only when the peer is absent. */
const PYCOCOTOOLS_QUOTED_S: Record<IouType, number> = { bbox: 3.0, keypoints: 3.2 };
const quick = process.argv.includes('--quick');
const wholeProcessOnly = process.argv.includes('--whole-process');
const ROUNDS = 3;
const IOU_TYPES: IouType[] = ['bbox', 'keypoints'];

interface Samples {
  wall: number[];
  cpu: number[];
}

function timeIt(fn: () => void, repeats: number, into: Samples): void {
  for (let i = 0; i < repeats; i++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    fn();
    into.wall.push(Number(process.hrtime.bigint() - t0) / 1e9);
    const c = process.cpuUsage(c0);
    into.cpu.push((c.user + c.system) / 1e6);
  }
}

const ms = (s: number): string => `${(s * 1000).toFixed(0)} ms`;
const empty = (): Samples => ({ wall: [], cpu: [] });
/** "wall <median> cpu <median>" of whole-process samples. */
const timesText = (s: Samples): string => `wall ${ms(median(s.wall))} cpu ${ms(median(s.cpu))}`;

/** timeProcess, its wall and CPU seconds appended to `into`. */
function timeProcessInto(into: Samples, command: string, args: string[], env?: NodeJS.ProcessEnv): ProcessTiming {
  const t = timeProcess(command, args, env);
  into.wall.push(t.wallS);
  into.cpu.push(t.cpuS);
  return t;
}

/** "identical" or the largest absolute difference between two stats vectors. */
function compareStats(ours: readonly number[], theirs: readonly number[]): string {
  if (ours.length !== theirs.length) return `DIFFERENT (${ours.length} vs ${theirs.length} stats)`;
  const d = Math.max(...ours.map((v, i) => Math.abs(v - theirs[i])));
  return d === 0 ? 'identical' : d < 1e-12 ? `equal within ${d.toExponential(1)}` : `DIFFERENT (max |diff| ${d.toExponential(2)})`;
}

function writeCase(dir: string, images: number): { gt: string; results: string; data: CocoDataset; res: CocoResult[] } {
  const c = generateCase({ seed: 2024, images, instancesPerImage: 3, detectionsPerInstance: 1.8, falsePositives: 0.2, scoreDecimals: 3 });
  const gt = join(dir, `gt${images}.json`);
  const results = join(dir, `res${images}.json`);
  writeFileSync(gt, JSON.stringify(c.gt));
  writeFileSync(results, JSON.stringify(c.results));
  const data = validateDataset(c.gt);
  return { gt, results, data, res: validateResults(c.results, data) };
}

/** evaluate()'s native steps, as `omnidistill eval` passes them, or null (with the reason printed) where the addon lacks them. */
function nativeSteps(): EvalOptions | null {
  const loaded = nativeStatus();
  const b = 'error' in loaded ? undefined : loaded.binding;
  if (b?.matchCocoCells === undefined || b.accumulateCoco === undefined) {
    console.log(`  (no native evaluation steps: ${'error' in loaded ? loaded.error.message.split('\n')[0] : 'the loaded addon predates them'})`);
    return null;
  }
  return { cellMatcher: (m) => b.matchCocoCells!(m), accumulator: (acc) => b.accumulateCoco!(acc) };
}

async function inProcess(dir: string, peerEnv: NodeJS.ProcessEnv | null): Promise<void> {
  const c = writeCase(dir, 5000);
  console.log(`\n1. evaluate + accumulate in process: ${c.data.images.length} images, ${c.data.annotations.length} instances (17 keypoints), ${c.res.length} results`);
  const peer = peerEnv ? new PeerServer(join(PEER_SCRIPTS, 'pycocotools_eval.py'), ['serve'], peerEnv) : null;
  if (peer) await peer.next();
  const steps = nativeSteps();
  for (const iouType of IOU_TYPES) {
    const p = createParams(iouType, c.data);
    const fastStats = summarize(evaluate(c.data, c.res, p)).stats;
    const refStats = summarize(evaluateReference(c.data, c.res, p)).stats;
    const nativeStats = steps ? summarize(evaluate(c.data, c.res, p, steps)).stats : [];
    for (let i = 0; i < 3; i++) evaluate(c.data, c.res, p); // warm-up
    const fast = empty(), withNative = empty(), ref = empty(), py = empty();
    let pyStats: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      timeIt(() => evaluate(c.data, c.res, p), 5, fast);
      if (steps) timeIt(() => evaluate(c.data, c.res, p, steps), 5, withNative);
      timeIt(() => evaluateReference(c.data, c.res, p), 1, ref);
      if (peer) {
        const res = await peer.request<{ wall_s: number[]; cpu_s: number[]; stats: number[] }>({ gt: c.gt, results: c.results, iouType, samples: 1 });
        py.wall.push(...res.wall_s);
        py.cpu.push(...res.cpu_s);
        pyStats = res.stats;
      }
    }
    console.log(`${iouType}: AP ${fastStats[0].toFixed(4)}; stats of fast vs TS port: ${compareStats(fastStats, refStats)}`);
    console.log(`  omnidistill evaluate  wall ${ms(median(fast.wall))}  cpu ${ms(median(fast.cpu))}  (medians of ${fast.wall.length})`);
    if (steps) console.log(`  with native steps     wall ${ms(median(withNative.wall))}  cpu ${ms(median(withNative.cpu))}  stats vs TS: ${compareStats(nativeStats, fastStats)}`);
    console.log(`  TS pycocotools port   wall ${ms(median(ref.wall))}  cpu ${ms(median(ref.cpu))}  -> ${ratioText(ref, fast)}`);
    if (peer) {
      console.log(`  pycocotools           wall ${ms(median(py.wall))}  cpu ${ms(median(py.cpu))}  stats vs ours: ${compareStats(fastStats, pyStats)}`);
      console.log(`  RATIO pycocotools/omnidistill in process (${iouType}): ${ratioText(py, fast)}  [${loadLine()}]`);
      if (steps) console.log(`  RATIO pycocotools/omnidistill in process, native steps (${iouType}): ${ratioText(py, withNative)}  [${loadLine()}]`);
    } else {
      const quoted = PYCOCOTOOLS_QUOTED_S[iouType];
      console.log(`  FALLBACK, NOT MEASURED: pycocotools ${quoted.toFixed(1)} s is the figure quoted in issue 4 -> ${(quoted / median(fast.wall)).toFixed(1)}x wall`);
    }
  }
  peer?.close();
}

async function wholeProcess(dir: string, peerEnv: NodeJS.ProcessEnv | null): Promise<void> {
  const cli = join(ROOT, 'packages', 'cli', 'dist', 'bin.js');
  console.log('\n2. whole process: `omnidistill eval --json` (built CLI) vs python COCO() + loadRes + evaluate + accumulate + summarize');
  if (!existsSync(cli)) {
    console.log(`  skipped: ${cli} is not built (run pnpm build)`);
    return;
  }
  if (!peerEnv) console.log('  pycocotools absent: our times only');
  const envWithoutCerts = withoutExtraCaCerts();
  if (envWithoutCerts) console.log(`  ${extraCaCertsCost(envWithoutCerts)}`);
  for (const images of quick ? [1000, 5000] : [1000, 5000, 20000]) {
    const c = writeCase(dir, images);
    for (const iouType of IOU_TYPES) {
      const ours = empty(), oursNoCerts = empty(), py = empty();
      let oursStats: number[] = [], pyStats: number[] = [];
      const evalArgs = [cli, 'eval', '--gt', c.gt, '--results', c.results, '--iou-type', iouType, '--json'];
      for (let r = 0; r < ROUNDS; r++) {
        const o = timeProcessInto(ours, process.execPath, evalArgs);
        oursStats = (JSON.parse(o.stdout) as { stats: number[] }).stats;
        if (envWithoutCerts) timeProcessInto(oursNoCerts, process.execPath, evalArgs, envWithoutCerts);
        if (peerEnv) {
          const t = timeProcessInto(py, PYTHON, [join(PEER_SCRIPTS, 'pycocotools_eval.py'), 'process', c.gt, c.results, iouType], peerEnv);
          pyStats = (JSON.parse(t.stdout.trim().split('\n').pop()!) as { stats: number[] }).stats;
        }
      }
      const head = `  ${String(images).padStart(5)} images ${iouType.padEnd(9)} omnidistill ${timesText(ours)}`;
      if (!peerEnv) {
        console.log(head);
        continue;
      }
      console.log(`${head} | pycocotools ${timesText(py)} | stats ${compareStats(oursStats, pyStats)}`);
      console.log(`  RATIO pycocotools/omnidistill whole process (${images} images, ${iouType}): ${ratioText(py, ours)}  [${loadLine()}]`);
      if (envWithoutCerts) {
        console.log(`   (without NODE_EXTRA_CA_CERTS: omnidistill ${timesText(oursNoCerts)})`);
        console.log(`  RATIO pycocotools/omnidistill whole process (${images} images, ${iouType}), node without NODE_EXTRA_CA_CERTS: ${ratioText(py, oursNoCerts)}  [${loadLine()}]`);
      }
    }
  }
}

/**
 * Where NODE_EXTRA_CA_CERTS is set (this machine sets it for every process), Node parses that
 * certificate bundle at every start-up, before any of our code runs: tens of ms of CPU per
 * process that a Python process does not pay and most users' machines do not set. The rows
 * run with the environment as given; where it is set, each round also runs our process
 * without it, printed as a labelled second ratio.
 */
function withoutExtraCaCerts(): NodeJS.ProcessEnv | null {
  if (!process.env.NODE_EXTRA_CA_CERTS) return null;
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

/** What NODE_EXTRA_CA_CERTS costs a bare `node -e 0` here (interleaved, medians). */
function extraCaCertsCost(envWithoutCerts: NodeJS.ProcessEnv): string {
  const withIt = empty(), without = empty();
  for (let r = 0; r < 7; r++) {
    timeProcessInto(withIt, process.execPath, ['-e', '0']);
    timeProcessInto(without, process.execPath, ['-e', '0'], envWithoutCerts);
  }
  return `this environment sets NODE_EXTRA_CA_CERTS=${process.env.NODE_EXTRA_CA_CERTS}: \`node -e 0\` takes ${timesText(withIt)} with it, ${timesText(without)} without`;
}

async function main(): Promise<void> {
  const cocoapi = pycocotoolsPath();
  let peerEnv: NodeJS.ProcessEnv | null = null;
  if (cocoapi === null) {
    console.log('pycocotools: not built; run `bash tools/peers/setup-pycocotools.sh <cocoapi checkout>` (ppwwyyxx/cocoapi) to measure the real peer');
  } else {
    const env = { ...process.env, PYTHONPATH: cocoapi };
    const missing = pythonMissing(['numpy', 'pycocotools.cocoeval'], env);
    if (missing) console.log(`pycocotools: unavailable (${missing})`);
    else peerEnv = env;
  }
  console.log(`peer: ${peerEnv ? `pycocotools from ${cocoapi} via ${PYTHON}` : 'none (fallback figures)'}; ${ROUNDS} interleaved rounds, medians; ${loadLine()}`);
  const dir = mkdtempSync(join(tmpdir(), 'omni-cocoeval-bench-'));
  try {
    if (!wholeProcessOnly) await inProcess(dir, peerEnv);
    await wholeProcess(dir, peerEnv);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();

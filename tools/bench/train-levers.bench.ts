// Op-level probes behind the training-speed levers of issue 17 that were weighed and not built:
// each probe runs two or more ONNX forms of one piece of the reference models' training step on
// onnxruntime-node (CPU provider, the step's thread count), on the step's real shapes, side by
// side in one process, in interleaved rounds; outputs are checked equal across the forms of a
// probe (up to float summation order) before anything is timed. Prints per form the median CPU
// ms per run (all threads of this process) and wall ms, their first quartiles and the load
// average (at 2 threads the wall time is what counts: CPU time includes the spinning pool).
//
//   cd tools/bench && node --import tsx --conditions=source train-levers.bench.ts [runs] [threads] [probe,probe,…]
//
// Probes:
// - winograd: the multiplication stage alone of Winograd F(2×2, 3×3) for a 32 → 32 3 × 3
//   convolution on [16, 32, 24, 24] (16 batched GEMMs [32 × 32] · [32 × 2304], no input or
//   output transforms) against the whole NCHWc convolution the step runs today.
// - xt-feed: the input of a weight-gradient convolution, Xᵀ padded and blocked ([16, 24, 48, 48]
//   → [24, 16, 50, 50] in NCHWc 16), as today's Transpose + Pad + ReorderInput or as one 5-D
//   Transpose (the batch of 16 is one channel block) + Pad.
// - bn-dot: BatchNorm backward's Σ dy·x̂ per channel over [16, 24, 48, 48] as Mul + ReduceSum
//   (today), Einsum, or a batched MatMul of [1 × HW] · [HW × 1] dots.
// - strided-dx: the input gradient of the stride-2 3 × 3 conv 24 → 32 at 48 × 48 as today's
//   generic ConvTranspose, or as one NCHWc conv of dY with the four stride phases as 4 × 24 = 96
//   output channels (2 × 2 kernels, no padded block) + ReorderOutput + DepthToSpace.
// - bn-var: BatchNorm forward's Σ x̂² per channel as ReduceMean(Mul) (today) or ReduceSumSquare.
// - relu-mask: the ReLU backward dy·[y > 0] as today's Mul(dy, Cast(Greater(y, 0))) (Cast runs on
//   one thread), Mul(dy, Ceil(Min(y, 1))) (y ≥ 0), Where(Greater(y, 0), dy, 0) or Mul(dy, Sign(y));
//   each form first applies the Relu that makes y a ReLU output (same in all).
// - xt-gather: a weight gradient's Xᵀ ([16, 32, 24, 24] → [32, 16, 24, 24]) as Transpose
//   (single-threaded in ORT) or as a Gather of whole H·W planes (ORT parallelises Gather), and
//   a parallel element-wise copy of the same bytes for scale; 10 chained per run.
// - tperm-gather: the same for the blocked dYᵀ weight of a weight-gradient conv
//   ([1, 16, 2, 24, 24, 16] → [2, 1, 24, 24, 16, 16], moving 64-byte blocks).

import * as ort from 'onnxruntime-node';
import { NCHWC_DOMAIN, encodeModel, type AttributeValue, type NodeDef, type TensorData } from '@omnidistill/artifacts';
import { nchwcBlockSize } from '@omnidistill/train';
import { loadLine, median } from './peers.js';

const RUNS = Number(process.argv[2] ?? 40);
const THREADS = Number(process.argv[3] ?? 1);
const ONLY = process.argv[4]?.split(',');
const WARMUP = 5;

/** One ONNX form of a probe: its nodes and constants; inputs and the output `y` are the probe's. */
interface Form {
  readonly name: string;
  readonly nodes: readonly NodeDef[];
  readonly initializers?: readonly TensorData[];
  /** Shape of `y` when the forms of a probe compute different things (else the probe's). */
  readonly output?: readonly number[];
  /** Computes something else, for scale: not compared with the first form. */
  readonly timedOnly?: boolean;
}

interface Probe {
  readonly name: string;
  readonly inputs: Readonly<Record<string, readonly number[]>>;
  readonly output?: readonly number[];
  readonly forms: readonly Form[];
  /** Largest relative difference between forms accepted as equal (0: bit-exact copies). */
  readonly tolerance: number;
}

let nodeId = 0;
function node(opType: string, inputs: string[], outputs: string[], attributes: Record<string, AttributeValue> = {}, domain = ''): NodeDef {
  return { opType, domain, inputs, outputs, attributes, name: `${opType}_${nodeId++}` };
}
const ints = (value: number[]): AttributeValue => ({ type: 'ints', value });
const int64s = (name: string, v: number[]): TensorData => ({ name, dtype: 'int64', dims: [v.length], data: BigInt64Array.from(v.map(BigInt)) });
const floats = (name: string, dims: number[], value: number): TensorData => ({ name, dtype: 'float32', dims, data: new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(value) });

function probes(block: number): Probe[] {
  const [N, C, H] = [16, 24, 48];
  const HW = H * H;
  const keep = { keepdims: { type: 'int', value: 1 } } as const;
  return [
    {
      // The NCHWc Conv reads its input already blocked (viewed as [N, C, H, W]) and its weight in
      // MLAS's blocked order; random values of those shapes time it like the step's.
      name: 'winograd: 3 × 3 conv 32 → 32 on [16, 32, 24, 24]',
      inputs: { x: [16, 32, 24, 24], w: [32, 32, 3, 3], u: [16, 32, 32], v: [16, 32, 2304] },
      tolerance: Infinity, // different computations: timed only
      forms: [
        { name: 'NCHWc Conv (today)', output: [16, 32, 24, 24], nodes: [node('Conv', ['x', 'w'], ['y'], { kernel_shape: ints([3, 3]), pads: ints([1, 1, 1, 1]) }, NCHWC_DOMAIN)] },
        { name: 'Winograd GEMMs only', output: [16, 32, 2304], nodes: [node('MatMul', ['u', 'v'], ['y'])] },
      ],
    },
    {
      name: 'strided-dx: input gradient of a stride-2 3 × 3 conv, [16, 32, 24, 24] → [16, 24, 48, 48]',
      inputs: { dy: [16, 32, 24, 24], w: [32, 24, 3, 3], w4: [96, 32, 2, 2] },
      output: [16, 24, 48, 48],
      tolerance: Infinity, // the phase weights are random here: timed only
      forms: [
        {
          name: 'ConvTranspose (today)',
          nodes: [node('ConvTranspose', ['dy', 'w'], ['y'], { kernel_shape: ints([3, 3]), strides: ints([2, 2]), pads: ints([1, 1, 1, 1]), output_padding: ints([1, 1]) })],
        },
        {
          name: '4-phase NCHWc Conv + DepthToSpace',
          nodes: [
            node('ReorderInput', ['dy'], ['b'], {}, NCHWC_DOMAIN),
            node('Conv', ['b', 'w4'], ['c'], { kernel_shape: ints([2, 2]), pads: ints([0, 0, 1, 1]) }, NCHWC_DOMAIN),
            node('ReorderOutput', ['c'], ['o'], { channels: { type: 'int', value: 96 } }, NCHWC_DOMAIN),
            node('DepthToSpace', ['o'], ['y'], { blocksize: { type: 'int', value: 2 }, mode: { type: 'string', value: 'CRD' } }),
          ],
        },
      ],
    },
    {
      name: `xt-feed: Xᵀ of [${N}, ${C}, ${H}, ${H}] padded by 1 and blocked`,
      inputs: { x: [N, C, H, H] },
      output: [C, N, H + 2, H + 2],
      tolerance: 0,
      forms: [
        {
          name: 'Transpose + Pad + ReorderInput (today)',
          nodes: [node('Transpose', ['x'], ['t'], { perm: ints([1, 0, 2, 3]) }), node('Pad', ['t', 'pads'], ['p']), node('ReorderInput', ['p'], ['y'], {}, NCHWC_DOMAIN)],
          initializers: [int64s('pads', [0, 0, 1, 1, 0, 0, 1, 1])],
        },
        {
          name: '5-D Transpose + Pad',
          nodes: [
            node('Reshape', ['x', 's5'], ['x5']),
            node('Transpose', ['x5'], ['t'], { perm: ints([2, 0, 3, 4, 1]) }),
            node('Pad', ['t', 'pads'], ['p']),
            node('Reshape', ['p', 's4'], ['y']),
          ],
          initializers: [int64s('s5', [N / block, block, C, H, H]), int64s('pads', [0, 0, 1, 1, 0, 0, 0, 1, 1, 0]), int64s('s4', [C, N, H + 2, H + 2])],
        },
        {
          // A depthwise 1 × 1 convolution by ones with padding 1: x inside, 0 on the border,
          // exactly (ones in any weight layout are ones); MLAS runs it on all threads, ORT's Pad on one.
          name: 'Transpose + ReorderInput + NCHWc depthwise 1 × 1 padding',
          nodes: [
            node('Transpose', ['x'], ['t'], { perm: ints([1, 0, 2, 3]) }),
            node('ReorderInput', ['t'], ['b'], {}, NCHWC_DOMAIN),
            node('Conv', ['b', 'ones'], ['y'], { kernel_shape: ints([1, 1]), pads: ints([1, 1, 1, 1]), group: { type: 'int', value: N } }, NCHWC_DOMAIN),
          ],
          initializers: [floats('ones', [N, 1, 1, 1], 1)],
        },
        {
          // With the batch one whole block, X viewed as one image of N channels of C·H rows
          // reorders straight to the blocked Xᵀ: no Transpose at all.
          name: 'ReorderInput of X as [1, N, C·H, W] + NCHWc depthwise 1 × 1 padding',
          nodes: [
            node('Reshape', ['x', 'view'], ['v']),
            node('ReorderInput', ['v'], ['b'], {}, NCHWC_DOMAIN),
            node('Reshape', ['b', 'xt'], ['t']),
            node('Conv', ['t', 'ones'], ['y'], { kernel_shape: ints([1, 1]), pads: ints([1, 1, 1, 1]), group: { type: 'int', value: N } }, NCHWC_DOMAIN),
          ],
          initializers: [floats('ones', [N, 1, 1, 1], 1), int64s('view', [1, N, C * H, H]), int64s('xt', [C, N, H, H])],
        },
      ],
    },
    {
      name: `bn-dot: Σ dy·x̂ per channel over [${N}, ${C}, ${H}, ${H}]`,
      inputs: { a: [N, C, H, H], b: [N, C, H, H] },
      output: [1, C, 1, 1],
      tolerance: 1e-4,
      forms: [
        { name: 'Mul + ReduceSum (today)', nodes: [node('Mul', ['a', 'b'], ['p']), node('ReduceSum', ['p', 'axes'], ['y'], keep)], initializers: [int64s('axes', [0, 2, 3])] },
        {
          name: 'Einsum',
          nodes: [node('Einsum', ['a', 'b'], ['e'], { equation: { type: 'string', value: 'nchw,nchw->c' } }), node('Reshape', ['e', 'shape'], ['y'])],
          initializers: [int64s('shape', [1, C, 1, 1])],
        },
        {
          name: 'batched MatMul dots',
          nodes: [
            node('Reshape', ['a', 'row'], ['ra']),
            node('Reshape', ['b', 'col'], ['rb']),
            node('MatMul', ['ra', 'rb'], ['m']),
            node('ReduceSum', ['m', 'axis0'], ['y'], keep),
          ],
          initializers: [int64s('row', [N, C, 1, HW]), int64s('col', [N, C, HW, 1]), int64s('axis0', [0])],
        },
      ],
    },
    {
      name: `bn-var: Σ x̂² per channel over [${N}, ${C}, ${H}, ${H}]`,
      inputs: { a: [N, C, H, H] },
      output: [1, C, 1, 1],
      tolerance: 1e-4,
      forms: [
        {
          name: 'ReduceMean(Mul) (today)',
          nodes: [node('Mul', ['a', 'a'], ['p']), node('ReduceMean', ['p'], ['m'], { axes: ints([0, 2, 3]), ...keep }), node('Mul', ['m', 'count'], ['y'])],
          initializers: [floats('count', [1], N * HW)],
        },
        { name: 'ReduceSumSquare', nodes: [node('ReduceSumSquare', ['a'], ['y'], { axes: ints([0, 2, 3]), ...keep })] },
      ],
    },
    {
      // y ≥ 0 (a ReLU's output), so every form is exactly dy where y > 0 and 0 elsewhere.
      name: `relu-mask: ReLU backward dy·[y > 0] on [${N}, ${C}, ${H}, ${H}]`,
      inputs: { dy: [N, C, H, H], act: [N, C, H, H] },
      output: [N, C, H, H],
      tolerance: 0,
      forms: [
        { name: 'Mul(dy, Cast(Greater(y, 0))) (today)', nodes: [node('Relu', ['act'], ['r']), node('Greater', ['r', 'zero'], ['m']), node('Cast', ['m'], ['f'], { to: { type: 'int', value: 1 } }), node('Mul', ['dy', 'f'], ['y'])], initializers: [floats('zero', [], 0)] },
        { name: 'Mul(dy, Ceil(Min(y, 1)))', nodes: [node('Relu', ['act'], ['r']), node('Min', ['r', 'one'], ['m']), node('Ceil', ['m'], ['f']), node('Mul', ['dy', 'f'], ['y'])], initializers: [floats('one', [], 1)] },
        { name: 'Where(Greater(y, 0), dy, 0)', nodes: [node('Relu', ['act'], ['r']), node('Greater', ['r', 'zero'], ['m']), node('Where', ['m', 'dy', 'zero'], ['y'])], initializers: [floats('zero', [], 0)] },
        { name: 'Mul(dy, Sign(y))', nodes: [node('Relu', ['act'], ['r']), node('Sign', ['r'], ['f']), node('Mul', ['dy', 'f'], ['y'])] },
      ],
    },
    // [16, 32, 24, 24] as a grid of 16 × 32 planes of 24 · 24 floats.
    gridTransposeProbe('xt-gather: Xᵀ of [16, 32, 24, 24] (planes of 576 floats)', 16, 32, 576),
    // [1, 16, 2, 24, 24, 16] → [2, 1, 24, 24, 16, 16]: a grid of 16 × (2 · 576) rows of 16 floats.
    gridTransposeProbe('tperm-gather: blocked dYᵀ weight [1, 16, 2, 24, 24, 16] (rows of 16 floats)', 16, 2 * 576, 16),
  ];
}

/** Grid transposes chained per run, so that the session's own per-run cost does not swamp one copy. */
const CHAIN = 10;

/**
 * [a, b, p] → [b, a, p] and back, {@link CHAIN} times: as Transpose (single-threaded in ORT), as
 * Gather of the p-float rows (ORT parallelises Gather), and, timed only, the same bytes copied
 * by an element-wise Mul by 1 (parallelised): what any copy of this size gains from a second thread.
 */
function gridTransposeProbe(name: string, a: number, b: number, p: number): Probe {
  const chain = (step: (input: string, output: string, even: boolean, k: number) => NodeDef[]): NodeDef[] =>
    Array.from({ length: CHAIN }, (_, k) => step(k === 0 ? 'x' : `c${k}`, k === CHAIN - 1 ? 'y' : `c${k + 1}`, k % 2 === 0, k)).flat();
  const output = CHAIN % 2 ? [b, a, p] : [a, b, p];
  return {
    name: `${name}, ${CHAIN} chained`,
    inputs: { x: [a, b, p] },
    output,
    tolerance: 0,
    forms: [
      { name: 'Transpose (today)', nodes: chain((i, o) => [node('Transpose', [i], [o], { perm: ints([1, 0, 2]) })]) },
      {
        name: 'Gather of rows',
        nodes: chain((i, o, even, k) => [
          node('Reshape', [i, 'rows'], [`r${k}`]),
          node('Gather', [`r${k}`, even ? 'ab' : 'ba'], [`g${k}`], { axis: { type: 'int', value: 0 } }),
          node('Reshape', [`g${k}`, even ? 'to_ba' : 'to_ab'], [o]),
        ]),
        initializers: [int64s('rows', [a * b, p]), planeTransposeIndices('ab', a, b), planeTransposeIndices('ba', b, a), int64s('to_ba', [b, a, p]), int64s('to_ab', [a, b, p])],
      },
      { name: 'copy as Mul by 1 (timed only)', timedOnly: true, output: [a, b, p], nodes: chain((i, o) => [node('Mul', [i, 'one'], [o])]), initializers: [floats('one', [1], 1)] },
    ],
  };
}

/** Gather indices [b, a] whose entry [j, i] reads row i·b + j of an [a, b] grid of rows: the grid transposed. */
function planeTransposeIndices(name: string, a: number, b: number): TensorData {
  const data = new BigInt64Array(a * b);
  for (let j = 0; j < b; j++) for (let i = 0; i < a; i++) data[j * a + i] = BigInt(i * b + j);
  return { name, dtype: 'int64', dims: [b, a], data };
}

function modelOf(probe: Probe, form: Form): Uint8Array {
  const tensor = (name: string, shape: readonly number[]) => ({ name, type: { kind: 'tensor' as const, dtype: 'float32' as const, shape } });
  const used = new Set(form.nodes.flatMap((n) => n.inputs));
  return encodeModel({
    graphName: form.name,
    nodes: [...form.nodes],
    inputs: Object.entries(probe.inputs).filter(([name]) => used.has(name)).map(([name, shape]) => tensor(name, shape)),
    outputs: [tensor('y', form.output ?? probe.output ?? [])],
    initializers: [...(form.initializers ?? [])],
    valueInfo: [],
    opsets: [{ domain: '', version: 17 }, { domain: NCHWC_DOMAIN, version: 1 }],
    irVersion: 8,
    producerName: 'omnidistill train-levers bench',
  });
}

function randomTensor(shape: readonly number[], seed: number): ort.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = s / 2 ** 32 - 0.5;
  }
  return new ort.Tensor('float32', data, [...shape]);
}

function largestRelativeDifference(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(1e-6, Math.abs(a[i])));
  return worst;
}

async function runProbe(probe: Probe): Promise<void> {
  const options: ort.InferenceSession.SessionOptions = { executionProviders: ['cpu'], intraOpNumThreads: THREADS, graphOptimizationLevel: 'all' };
  const sessions = await Promise.all(probe.forms.map((f) => ort.InferenceSession.create(modelOf(probe, f), options)));
  const feeds = probe.forms.map((f) => {
    const used = new Set(f.nodes.flatMap((n) => n.inputs));
    return Object.fromEntries(Object.entries(probe.inputs).filter(([name]) => used.has(name)).map(([name, shape], i) => [name, randomTensor(shape, 17 + i)]));
  });
  const first = await Promise.all(sessions.map((s, k) => s.run(feeds[k])));
  if (Number.isFinite(probe.tolerance)) {
    for (let k = 1; k < first.length; k++) {
      if (probe.forms[k].timedOnly) continue;
      const d = largestRelativeDifference(first[0].y.data as Float32Array, first[k].y.data as Float32Array);
      if (d > probe.tolerance) throw new Error(`${probe.name}: "${probe.forms[k].name}" differs from "${probe.forms[0].name}" by ${d} (> ${probe.tolerance})`);
    }
  }
  // Pre-allocated outputs, as the engine's step does for its state: no allocation in the timing.
  const fetches = first.map((o) => ({ y: new ort.Tensor('float32', new Float32Array((o.y.data as Float32Array).length), [...o.y.dims]) }));
  const cpu = sessions.map(() => [] as number[]);
  const wall = sessions.map(() => [] as number[]);
  for (let r = 0; r < WARMUP + RUNS; r++) {
    const order = r % 2 ? [...sessions.keys()].reverse() : [...sessions.keys()];
    for (const k of order) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await sessions[k].run(feeds[k], fetches[k]);
      const t = performance.now() - t0;
      const c = process.cpuUsage(c0);
      if (r >= WARMUP) {
        cpu[k].push((c.user + c.system) / 1000);
        wall[k].push(t);
      }
    }
  }
  console.log(`\n=== ${probe.name}; ${RUNS} interleaved runs, ${THREADS} thread${THREADS > 1 ? 's' : ''}; ${loadLine()} ===`);
  probe.forms.forEach((f, k) => {
    const q1 = [...cpu[k]].sort((a, b) => a - b)[Math.floor((cpu[k].length - 1) / 4)];
    const w = [...wall[k]].sort((a, b) => a - b);
    console.log(
      `  ${f.name.padEnd(40)} cpu ${median(cpu[k]).toFixed(3).padStart(7)} ms (q1 ${q1.toFixed(3)})  ${(median(cpu[0]) / median(cpu[k])).toFixed(2)}× the first;` +
        `  wall ${median(wall[k]).toFixed(3).padStart(7)} ms (q1 ${w[Math.floor((w.length - 1) / 4)].toFixed(3)})  ${(median(wall[0]) / median(wall[k])).toFixed(2)}× the first`,
    );
  });
  for (const s of sessions) await s.release();
}

const block = await nchwcBlockSize();
if (block !== 16) {
  console.log(`SKIP train-levers: the probes are shaped for MLAS's AVX-512 NCHWc block of 16; this CPU's block is ${block || 'none'}`);
} else {
  for (const p of probes(block)) if (!ONLY || ONLY.some((o) => p.name.startsWith(`${o}:`))) await runProbe(p);
}

// Bring-your-own-student (issue 14), side by side with PyTorch:
// (1) training speed of an imported torch.onnx top-down model (SimpleBaseline-style, ResNet-18
//     blocks at 1/4 width, 3×128×96 → 17×32×24, frozen BatchNorm, AdamW) on the native engine vs
//     the same model trained in PyTorch CPU with the same threads, batch and optimizer;
// (2) import time of torchvision's ResNet-50 (25.6 M parameters): decode, import, gradient
//     graph, whole standard training step.
// Models come from tools/peers/student_torch.py (Debian python3-torch); skipped with the reason
// when it cannot run.
//
//   cd tools/bench && node --import tsx --conditions=source student.bench.ts [steps] [threads]

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { HEATMAP_TARGET_INPUT, HEATMAP_WEIGHT_INPUT, buildGradientGraph, buildTrainingStep, decodeOnnxModel, instantiate, studentDefinition } from '@omnidistill/artifacts';
import { Rng, engineFactory, type Feeds } from '@omnidistill/train';
import { PEER_SCRIPTS, PYTHON, loadLine, pythonMissing } from './peers.js';

const STEPS = Number(process.argv[2] ?? 10);
const THREADS = Number(process.argv[3] ?? availableParallelism());
const BATCH = 8, H = 128, W = 96, K = 17;
const ROUNDS = 2;
const PEER = join(PEER_SCRIPTS, 'student_torch.py');

function peer(...args: string[]): string {
  const r = spawnSync(PYTHON, [PEER, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${PEER} ${args.join(' ')}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  return r.stdout;
}

function ms(t0: number): number {
  return performance.now() - t0;
}

async function trainingSpeed(): Promise<void> {
  const path = join(tmpdir(), 'omnidistill-student-topdown.onnx');
  peer('export-topdown', path);
  const model = decodeOnnxModel(new Uint8Array(readFileSync(path)));
  const define = studentDefinition(model, { inputShapes: { input: [BATCH, 3, H, W] }, loss: { kind: 'heatmap', output: 'heatmaps' } });
  const { g } = instantiate(define, 'eval', 'standard');
  const params = g.params.filter((p) => p.trainable).reduce((n, p) => n + p.init.length, 0);
  const setup = { optimizer: { type: 'adamw' as const, learningRate: 2e-3, weightDecay: 1e-4 }, schedule: { totalSteps: 1000 } };
  const engine = await engineFactory(define, setup, { engine: 'native', threads: THREADS, log: () => {} })(undefined);
  const rng = new Rng(1);
  const hw = (H / 4) * (W / 4);
  const feeds: Feeds = {
    input: { data: Float32Array.from({ length: BATCH * 3 * H * W }, () => rng.nextNormal()), dims: [BATCH, 3, H, W] },
    [HEATMAP_TARGET_INPUT]: { data: BigInt64Array.from({ length: BATCH * K }, () => BigInt(rng.nextInt(hw))), dims: [BATCH, K] },
    [HEATMAP_WEIGHT_INPUT]: { data: new Float32Array(BATCH * K).fill(1), dims: [BATCH, K] },
  };
  for (let i = 0; i < 3; i++) await engine.step(feeds);
  // Rounds interleaved with the PyTorch runs, so that a busy machine slows both sides alike.
  console.log(`1. training speed: imported top-down model (${params} trainable params), batch ${BATCH}, 3×${H}×${W}, AdamW, ${THREADS} threads, ${STEPS} steps per round`);
  for (let round = 1; round <= ROUNDS; round++) {
    const t0 = performance.now();
    for (let i = 0; i < STEPS; i++) await engine.step(feeds);
    const ours = STEPS / (ms(t0) / 1000);
    const torch = JSON.parse(peer('time-topdown', String(THREADS), String(BATCH), String(STEPS))) as { stepsPerSecond: number; torch: string };
    console.log(
      `   round ${round}: ${engine.info.description} ${ours.toFixed(2)} steps/s, PyTorch ${torch.torch} CPU (eval-mode BatchNorm, 3 warm-up steps) ${torch.stepsPerSecond.toFixed(2)} steps/s: ratio ${(ours / torch.stepsPerSecond).toFixed(2)}×`,
    );
  }
  console.log(`   (${loadLine()})`);
  await engine.release();
}

async function importTime(): Promise<void> {
  const path = join(tmpdir(), 'omnidistill-student-resnet50.onnx');
  peer('export-resnet50', path);
  const bytes = new Uint8Array(readFileSync(path));
  let t0 = performance.now();
  const model = decodeOnnxModel(bytes);
  const decode = ms(t0);
  const define = studentDefinition(model, { inputShapes: { input: [2, 3, 224, 224] }, loss: { kind: 'weighted-sum', weights: { logits: new Float32Array(2 * 1000).fill(1e-3) } } });
  t0 = performance.now();
  const { g } = instantiate(define, 'eval', 'standard');
  const imported = ms(t0);
  const params = g.params.reduce((n, p) => n + p.init.length, 0);
  t0 = performance.now();
  buildGradientGraph(define, 'standard');
  const gradient = ms(t0);
  t0 = performance.now();
  const step = buildTrainingStep(define, { optimizer: { type: 'adamw', learningRate: 1e-3 }, schedule: { totalSteps: 100 } });
  const whole = ms(t0);
  console.log(`2. import of torchvision ResNet-50 (${(params / 1e6).toFixed(1)} M parameters, ${(bytes.length / 1e6).toFixed(0)} MB, ${model.graph.nodes.length} nodes):`);
  console.log(`   decode ${decode.toFixed(0)} ms, import (eval graph) ${imported.toFixed(0)} ms, + gradient graph ${gradient.toFixed(0)} ms, whole training step model ${whole.toFixed(0)} ms (${(step.model.length / 1e6).toFixed(0)} MB)`);
}

const missing = pythonMissing(['torch', 'torchvision', 'onnx']);
if (missing) {
  console.log(`skipped: ${missing} (apt-get install python3-torch python3-torchvision python3-onnx)`);
} else {
  await importTime();
  await trainingSpeed();
}

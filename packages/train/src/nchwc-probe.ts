// The MLAS NCHWc block size of this machine as the installed onnxruntime-node sees it (8 with
// AVX2, 16 with AVX-512; 0 where it has no NCHWc kernels): the native engine rewrites the step's
// convolutions into that blocked layout (@omnidistill/artifacts nchwcConvolutions), which is
// only correct for the block size the runtime actually uses, so it asks the runtime instead of
// guessing from CPU flags.
import * as ortNode from 'onnxruntime-node';
import { NCHWC_DOMAIN, encodeModel } from '@omnidistill/artifacts';

let probed: Promise<number> | undefined;

/**
 * Runs ORT's ReorderInput on 4 channels once: it pads the channels up to one whole block, so
 * the output's channel count is the block size. Resolves to 0 when the op does not load or run.
 */
export function nchwcBlockSize(): Promise<number> {
  probed ??= probe();
  return probed;
}

async function probe(): Promise<number> {
  const model = encodeModel({
    graphName: 'nchwc-probe',
    nodes: [{ opType: 'ReorderInput', domain: NCHWC_DOMAIN, inputs: ['x'], outputs: ['y'], attributes: {}, name: 'reorder' }],
    inputs: [{ name: 'x', type: { kind: 'tensor', dtype: 'float32', shape: [1, 4, 1, 1] } }],
    outputs: [{ name: 'y', type: { kind: 'tensor', dtype: 'float32', shape: [1, -1, 1, 1] } }],
    initializers: [],
    valueInfo: [],
    opsets: [
      { domain: '', version: 17 },
      { domain: NCHWC_DOMAIN, version: 1 },
    ],
    irVersion: 8,
    producerName: 'omnidistill',
  });
  let session: ortNode.InferenceSession | undefined;
  try {
    session = await ortNode.InferenceSession.create(model, { executionProviders: ['cpu'], intraOpNumThreads: 1, graphOptimizationLevel: 'disabled' });
    const out = await session.run({ x: new ortNode.Tensor('float32', new Float32Array(4), [1, 4, 1, 1]) });
    const block = out.y.dims[1];
    // A usable block holds whole groups of 4 channels (ReorderInput's own requirement).
    return Number.isInteger(block) && block >= 4 && (block & (block - 1)) === 0 ? block : 0;
  } catch {
    return 0;
  } finally {
    await session?.release();
  }
}

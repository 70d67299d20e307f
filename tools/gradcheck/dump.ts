// Writes every gradient-check case (forward graph in the train phase with ORT lowering,
// parameters, inputs) as JSON for reference.py to replay in torch.
// Run through run.sh; not part of CI.
import { writeFileSync } from 'node:fs';
import { instantiate } from '../../packages/artifacts/src/index.js';
import { GRAD_CASES } from '../../packages/artifacts/test/gradcases.js';

const out = process.argv[2] ?? '/tmp/gradcheck-cases.json';
const arr = (a: ArrayLike<number | bigint>): number[] => Array.from(a, (v) => Number(v));

const cases = GRAD_CASES.map((c) => {
  const { g, parts } = instantiate(c.define, 'train', 'ort', c.name);
  for (const v of g.inputs) {
    const f = c.feeds[v.name];
    if (!f || f.dims.join() !== v.shape.join()) throw new Error(`${c.name}: feed ${v.name} must have dims [${v.shape.join(', ')}]`);
  }
  return {
    name: c.name,
    loss: parts.loss!.name,
    nodes: g.nodes.map((n) => ({
      op: n.opType,
      domain: n.domain,
      inputs: n.inputs,
      outputs: n.outputs,
      attrs: Object.fromEntries(
        Object.entries(n.attributes).map(([k, a]) => [
          k,
          a.type === 'tensor' ? { type: 'tensor', value: { dtype: a.value.dtype, dims: a.value.dims, data: arr(a.value.data) } } : a,
        ]),
      ),
    })),
    initializers: g.initializers.map((t) => ({ name: t.name, dtype: t.dtype, dims: t.dims, data: arr(t.data) })),
    params: g.params.map((p) => ({ name: p.name, dims: p.shape, trainable: p.trainable, data: arr(p.init) })),
    inputs: Object.entries(c.feeds).map(([name, f]) => ({ name, dtype: f.data instanceof BigInt64Array ? 'int64' : 'float32', dims: f.dims, data: arr(f.data) })),
  };
});
writeFileSync(out, JSON.stringify({ cases }));
console.log(`wrote ${cases.length} cases to ${out}`);

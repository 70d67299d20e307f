// The parts of a profiled native training step (issue 17), shared by train-profile.bench.ts (where
// the time goes) and torch-train.bench.ts (the ceiling a change outside the convolution kernels
// can reach against PyTorch).

import type { NativeStepProfile } from '@omnidistill/train';

/** Op types by what they do in the step. */
export const CATEGORIES: readonly { name: string; ops: ReadonlySet<string> }[] = [
  { name: 'convolution kernels', ops: new Set(['Conv', 'FusedConv', 'ConvTranspose']) },
  { name: 'layout (reorders, transposes, pads, slices, concat/split)', ops: new Set(['ReorderInput', 'ReorderOutput', 'Transpose', 'Pad', 'Slice', 'Concat', 'Split', 'Reshape']) },
];
export const REST = 'element-wise, reductions, matmuls, the rest';

/** A node's category: by op type, except the NCHWc padding passes (depthwise 1 × 1 Convs by ones, `…_pad_node`), which are layout. */
export function categoryOf(op: string, node?: string): string {
  if (node?.endsWith('_pad_node')) return CATEGORIES[1].name;
  return CATEGORIES.find((c) => c.ops.has(op))?.name ?? REST;
}

/** Kernel ms per step of each category. */
export function msByCategory(p: NativeStepProfile): Map<string, number> {
  const byCategory = new Map<string, number>();
  for (const n of p.perNode) byCategory.set(categoryOf(n.op, n.name), (byCategory.get(categoryOf(n.op, n.name)) ?? 0) + n.ms);
  return byCategory;
}

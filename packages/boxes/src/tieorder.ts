// Order of boxes inside one label before clustering (WBF, NMW). Only exact score ties are
// affected, but on ties the clusters can differ, so the choice is explicit.
import { OmniRangeError, OmniTypeError } from '@omnidistill/core';
import { numpyArgsortDesc } from './numpy-argsort.js';
import { orderByScoreDesc } from './order.js';

/**
 * A descending argsort: given the weighted scores of one label's boxes, return their
 * positions best first. Default: stable (equal scores keep input order, model by model).
 * ensemble_boxes uses NumPy's unstable `argsort()[::-1]`, whose tie order depends on NumPy's
 * sort algorithm; pass a NumPy-compatible argsort to reproduce it exactly (the parity tests
 * do, see test/support/numpy-argsort.ts).
 */
export type DescendingSort = (scores: Float64Array) => ArrayLike<number>;

/**
 * How boxes with equal scores are ordered before clustering: `stable` (default: input order,
 * model by model), `numpy` (ensemble_boxes' exact order: NumPy's `argsort()[::-1]`, see
 * {@link numpyArgsortDesc}), or any {@link DescendingSort}.
 */
export type TieOrder = 'stable' | 'numpy' | DescendingSort;
export const TIE_ORDERS: readonly ('stable' | 'numpy')[] = Object.freeze(['stable', 'numpy']);

export function orderWithin(ws: Float64Array, subset: number[], order: TieOrder | undefined): Int32Array {
  if (order === undefined || order === 'stable') return orderByScoreDesc(ws, Int32Array.from(subset));
  const sort = order === 'numpy' ? numpyArgsortDesc : order;
  if (typeof sort !== 'function') throw new OmniTypeError('options.sortDescending', '"stable", "numpy" or a function (scores) => positions', sort);
  const values = new Float64Array(subset.length);
  subset.forEach((b, i) => (values[i] = ws[b]));
  const positions = sort(values);
  const seen = new Uint8Array(subset.length);
  if (positions.length !== subset.length) throw new OmniRangeError('options.sortDescending', `a permutation of ${subset.length} positions`, positions.length);
  const out = new Int32Array(subset.length);
  for (let i = 0; i < subset.length; i++) {
    const k = positions[i];
    if (!Number.isInteger(k) || k < 0 || k >= subset.length || seen[k]) throw new OmniRangeError(`options.sortDescending(...)[${i}]`, 'a permutation of the positions', k);
    if (i > 0 && values[k] > values[positions[i - 1]]) throw new OmniRangeError(`options.sortDescending(...)[${i}]`, 'positions in descending score order', k);
    seen[k] = 1;
    out[i] = subset[k];
  }
  return out;
}

// A uniform spatial grid over boxes: "which boxes can intersect this one" costs a few cells
// instead of a scan of all. Used by large-n NMS, which lists the kept boxes in the cells they
// touch and looks up each later box's cells (see gridSuppress in nms.ts).

/** Boxes as four parallel coordinate arrays (structure of arrays: cache-friendly loops). */
export interface BoxColumns {
  x1: Float64Array;
  y1: Float64Array;
  x2: Float64Array;
  y2: Float64Array;
}

/**
 * Cell geometry of a grid over n boxes: the cell of x is `((x - minX) * invW) | 0`, clamped to
 * `gx - 1` (every box's x1 is >= minX, so the index is never negative and `| 0` is a floor).
 */
export interface GridShape {
  minX: number;
  minY: number;
  invW: number;
  invH: number;
  gx: number;
  gy: number;
}

/**
 * Sizes a grid for the first `n` boxes of `cols`: cells about the mean box size, at most ~2n
 * cells. `pad` widens every box (1 for the +1 pixel convention, where touching boxes intersect).
 */
export function gridShape(cols: BoxColumns, n: number, pad: number): GridShape {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  let sumW = 0;
  let sumH = 0;
  const { x1, y1, x2, y2 } = cols;
  for (let i = 0; i < n; i++) {
    if (x1[i] < minX) minX = x1[i];
    if (y1[i] < minY) minY = y1[i];
    if (x2[i] > maxX) maxX = x2[i];
    if (y2[i] > maxY) maxY = y2[i];
    sumW += x2[i] - x1[i];
    sumH += y2[i] - y1[i];
  }
  if (n === 0) minX = minY = maxX = maxY = 0;
  maxX += pad;
  maxY += pad;
  const spanX = Math.max(maxX - minX, 1e-9);
  const spanY = Math.max(maxY - minY, 1e-9);
  let cellW = Math.max(sumW / Math.max(n, 1) + pad, spanX / 4096, 1e-9);
  let cellH = Math.max(sumH / Math.max(n, 1) + pad, spanY / 4096, 1e-9);
  let gx = Math.ceil(spanX / cellW) + 1;
  let gy = Math.ceil(spanY / cellH) + 1;
  const maxCells = Math.max(16, 2 * n);
  while (gx * gy > maxCells) {
    cellW *= 1.5;
    cellH *= 1.5;
    gx = Math.ceil(spanX / cellW) + 1;
    gy = Math.ceil(spanY / cellH) + 1;
  }
  return { minX, minY, invW: 1 / cellW, invH: 1 / cellH, gx, gy };
}

/**
 * Per-cell linked lists of box ids, grown on demand and reused across calls (NMS on ~1k boxes
 * spent more CPU allocating and collecting typed arrays than suppressing). `head[cell]` is the
 * first entry of a cell (-1: empty), `next[entry]` the following one, `value[entry]` its box.
 */
export class CellLists {
  head = new Int32Array(0);
  next = new Int32Array(64);
  value = new Int32Array(64);

  /** Empties the first `cells` cells. */
  reset(cells: number): void {
    if (this.head.length < cells) this.head = new Int32Array(Math.max(cells, 2 * this.head.length));
    this.head.fill(-1, 0, cells);
  }

  /** Makes room for `entries` entries in all (keeping the first `used`). */
  reserve(entries: number, used: number): void {
    if (this.next.length >= entries) return;
    const cap = Math.max(entries, 2 * this.next.length);
    const next = new Int32Array(cap);
    next.set(this.next.subarray(0, used));
    const value = new Int32Array(cap);
    value.set(this.value.subarray(0, used));
    this.next = next;
    this.value = value;
  }
}

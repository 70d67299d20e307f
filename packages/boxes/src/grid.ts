// A uniform spatial grid over boxes: each inserted box is listed in every cell it touches,
// so "which inserted boxes intersect this one" costs a few cells instead of a scan of all.
// Used by large-n NMS (query the kept boxes) and by box voting (query all candidates).

/** Boxes as four parallel coordinate arrays (structure of arrays: cache-friendly loops). */
export interface BoxColumns {
  x1: Float64Array;
  y1: Float64Array;
  x2: Float64Array;
  y2: Float64Array;
}

/**
 * Arrays a grid can borrow instead of allocating (NMS on ~1k boxes spent more CPU allocating
 * and collecting its typed arrays than suppressing). Owned by one caller at a time.
 */
export class GridBuffers {
  head: Int32Array = new Int32Array(0);
  next: Int32Array = new Int32Array(0);
  value: Int32Array = new Int32Array(0);
  stamp: Int32Array = new Int32Array(0);
}

/** `a` when it holds at least `n` values, else a new array of 2x (amortised growth). */
function atLeast(a: Int32Array, n: number): Int32Array {
  return a.length >= n ? a : new Int32Array(Math.max(n, 2 * a.length));
}

export class BoxGrid {
  private readonly minX: number;
  private readonly minY: number;
  private readonly invW: number;
  private readonly invH: number;
  private readonly gx: number;
  private readonly gy: number;
  private readonly head: Int32Array;
  private next: Int32Array;
  private value: Int32Array;
  private used = 0;
  private readonly stamp: Int32Array;
  private query = 0;

  /**
   * Sizes the grid for `n` boxes of `cols` (ids 0..n-1): cells about the mean box size,
   * at most ~2n cells. `pad` widens every box (1 for the +1 pixel convention, where touching
   * boxes intersect).
   */
  constructor(
    private readonly cols: BoxColumns,
    n: number,
    private readonly pad: number,
    buffers?: GridBuffers,
  ) {
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
    this.minX = minX;
    this.minY = minY;
    this.invW = 1 / cellW;
    this.invH = 1 / cellH;
    this.gx = gx;
    this.gy = gy;
    const cap = Math.max(64, 4 * n);
    if (buffers === undefined) {
      this.head = new Int32Array(gx * gy);
      this.next = new Int32Array(cap);
      this.value = new Int32Array(cap);
      this.stamp = new Int32Array(n);
    } else {
      // Borrowed arrays; a grow() replaces next/value with private copies, never the buffers' own.
      this.head = buffers.head = atLeast(buffers.head, gx * gy);
      this.next = buffers.next = atLeast(buffers.next, cap);
      this.value = buffers.value = atLeast(buffers.value, cap);
      this.stamp = buffers.stamp = atLeast(buffers.stamp, n);
    }
    this.head.fill(-1, 0, gx * gy);
    this.stamp.fill(-1, 0, n);
  }

  private cellX(x: number): number {
    const c = Math.floor((x - this.minX) * this.invW);
    return c < 0 ? 0 : c >= this.gx ? this.gx - 1 : c;
  }

  private cellY(y: number): number {
    const c = Math.floor((y - this.minY) * this.invH);
    return c < 0 ? 0 : c >= this.gy ? this.gy - 1 : c;
  }

  /** Lists box `id` in every cell it touches. */
  insert(id: number): void {
    const { x1, y1, x2, y2 } = this.cols;
    const cx0 = this.cellX(x1[id]);
    const cx1 = this.cellX(x2[id] + this.pad);
    const cy0 = this.cellY(y1[id]);
    const cy1 = this.cellY(y2[id] + this.pad);
    for (let cy = cy0; cy <= cy1; cy++) {
      for (let cx = cx0; cx <= cx1; cx++) {
        if (this.used === this.next.length) this.grow();
        const cell = cy * this.gx + cx;
        this.value[this.used] = id;
        this.next[this.used] = this.head[cell];
        this.head[cell] = this.used++;
      }
    }
  }

  private grow(): void {
    const next = new Int32Array(this.next.length * 2);
    next.set(this.next);
    const value = new Int32Array(this.value.length * 2);
    value.set(this.value);
    this.next = next;
    this.value = value;
  }

  /**
   * Writes into `out` the ids of inserted boxes sharing a cell with box `id` of the same
   * columns (each once) and returns how many. A superset of the boxes that intersect it.
   */
  near(id: number, out: Int32Array): number {
    const { x1, y1, x2, y2 } = this.cols;
    const q = this.query++;
    const cx0 = this.cellX(x1[id]);
    const cx1 = this.cellX(x2[id] + this.pad);
    const cy0 = this.cellY(y1[id]);
    const cy1 = this.cellY(y2[id] + this.pad);
    let count = 0;
    for (let cy = cy0; cy <= cy1; cy++) {
      for (let cx = cx0; cx <= cx1; cx++) {
        for (let e = this.head[cy * this.gx + cx]; e !== -1; e = this.next[e]) {
          const other = this.value[e];
          if (this.stamp[other] !== q) {
            this.stamp[other] = q;
            out[count++] = other;
          }
        }
      }
    }
    return count;
  }
}

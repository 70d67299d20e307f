// Keypoint arrays as views of large shared Float64Array slabs: one allocation per 64 Ki
// numbers instead of one ArrayBuffer (a malloc'd backing store the GC tracks) per record,
// which for a 5k-image file was tens of thousands of buffers and much of the collector's time.

const SLAB = 1 << 16;

/** Hands out keypoint arrays as views of large shared slabs. */
export class KeypointSlab {
  private slab = new Float64Array(SLAB);
  private used = 0;

  /** A fresh view of `n` numbers (zeros), for the caller to fill. */
  take(n: number): Float64Array {
    if (n > SLAB) return new Float64Array(n);
    if (this.used + n > SLAB) {
      this.slab = new Float64Array(SLAB);
      this.used = 0;
    }
    const view = this.slab.subarray(this.used, this.used + n);
    this.used += n;
    return view;
  }

  /** Copies `values` into a slab view, or returns undefined when they are not all finite numbers. */
  pack(values: unknown[]): Float64Array | undefined {
    const n = values.length;
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (typeof v !== 'number' || !Number.isFinite(v)) return undefined;
    }
    const view = this.take(n);
    for (let i = 0; i < n; i++) view[i] = values[i] as number;
    return view;
  }
}

// Float32 model-input buffers reused from one model call to the next. A fresh input tensor per
// transform costs more than filling it: a 320 × 320 input is 1.2 MB that the allocator maps,
// zeroes and faults in, and V8 counts it as external memory, whose growth starts full
// collections (measured, label at 320 px: ~60 mark-compacts per 300 images, most of them
// from input tensors; the fill alone takes ~40 % less CPU into a reused buffer). Buffers are
// kept by exact length: an image's flipped twin, and every image of a fixed-size dataset or
// model input, reuses the one before.

/** Free buffers kept at most: enough for the images in flight and the sizes of a scale plan. */
export const MAX_FREE_BUFFERS = 8;
/** Bytes of free buffers kept at most (the oldest go first), so that odd sizes never pile up. */
export const MAX_FREE_BYTES = 64 << 20;

/**
 * A small pool of Float32Arrays keyed by length. `take` hands out a buffer nobody else holds
 * (its contents are whatever the last user left: the caller writes every element); `give`
 * hands it back once nothing reads it any more (after the model call that used it returned).
 */
export class FloatBufferPool {
  private readonly free: Float32Array[] = [];
  private bytes = 0;

  constructor(
    private readonly maxBuffers = MAX_FREE_BUFFERS,
    private readonly maxBytes = MAX_FREE_BYTES,
  ) {}

  /** A buffer of exactly `length` elements: a free one of that length, else a new (zeroed) one. */
  take(length: number): Float32Array {
    const i = this.free.findIndex((b) => b.length === length);
    if (i < 0) return new Float32Array(length);
    const [buffer] = this.free.splice(i, 1);
    this.bytes -= buffer.byteLength;
    return buffer;
  }

  /** Returns a buffer from {@link take}; the oldest free buffers are dropped beyond the limits. */
  give(buffer: Float32Array): void {
    if (buffer.byteLength > this.maxBytes || buffer.byteOffset !== 0 || buffer.byteLength !== buffer.buffer.byteLength) return;
    this.free.push(buffer);
    this.bytes += buffer.byteLength;
    while (this.free.length > this.maxBuffers || this.bytes > this.maxBytes) this.bytes -= this.free.shift()!.byteLength;
  }

  /** Free buffers held now (for tests). */
  get size(): number {
    return this.free.length;
  }
}

/** The pool of this process's model inputs (the labeling loop keeps a few images in flight). */
export const inputBuffers = new FloatBufferPool();

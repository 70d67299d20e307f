// An onnxruntime-node session on its own worker thread. onnxruntime-node's `run` is
// synchronous on the calling thread (its promise only defers the call with setImmediate), so
// a session on the main thread blocks every JavaScript stage — input tensors, ensembling,
// shard formatting — for the whole model call. On a worker thread the model runs while the
// main thread prepares the next image and ensembles the last one; the two meet through
// messages (inputs copied, outputs transferred).
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { Tensor, type InferenceSession } from 'onnxruntime-node';
import { FloatBufferPool } from './input-buffers.js';

/** What the thread answers: the session's signature once loaded, then one reply per call. */
type Reply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; message: string };

/** A tensor as it crosses the thread boundary. */
interface WireTensor {
  type: Tensor.Type;
  dims: readonly number[];
  data: Tensor.DataType;
}

interface Signature {
  inputNames: string[];
  outputNames: string[];
  inputMetadata: InferenceSession.ValueMetadata[];
  outputMetadata: InferenceSession.ValueMetadata[];
}

// The worker is plain CommonJS given as source text: it needs no build step (tests run this
// package from TypeScript sources) and loads onnxruntime-node from the path this package
// resolves, so both threads use the same binding.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { InferenceSession, Tensor } = require(workerData.ort);
let session = null;
const wire = (t) => ({ type: t.type, dims: t.dims, data: t.data });
parentPort.on('message', async (msg) => {
  try {
    if (msg.op === 'create') {
      session = await InferenceSession.create(msg.model, msg.options);
      const meta = (m) => m.map((v) => ({ ...v }));
      parentPort.postMessage({ id: msg.id, ok: true, value: { inputNames: session.inputNames, outputNames: session.outputNames, inputMetadata: meta(session.inputMetadata), outputMetadata: meta(session.outputMetadata) } });
    } else if (msg.op === 'run') {
      const feeds = {};
      for (const [name, t] of Object.entries(msg.feeds)) feeds[name] = new Tensor(t.type, t.data, t.dims);
      const out = await session.run(feeds);
      const outputs = {};
      const transfer = [];
      for (const [name, t] of Object.entries(out)) {
        outputs[name] = wire(t);
        if (ArrayBuffer.isView(t.data) && !transfer.includes(t.data.buffer)) transfer.push(t.data.buffer);
      }
      // The staged input buffers go back to the caller's pool (moved, not copied).
      const inputs = msg.staged.map((name) => msg.feeds[name].data);
      for (const data of inputs) if (!transfer.includes(data.buffer)) transfer.push(data.buffer);
      parentPort.postMessage({ id: msg.id, ok: true, value: { outputs, inputs } }, transfer);
    } else if (msg.op === 'release') {
      if (session) await session.release();
      session = null;
      parentPort.postMessage({ id: msg.id, ok: true, value: null });
    }
  } catch (error) {
    parentPort.postMessage({ id: msg.id, ok: false, message: error && error.message !== undefined ? error.message : String(error) });
  }
});
`;

/**
 * The subset of `InferenceSession` the layouts use (`run`, the signature, `release`), backed
 * by a session on a worker thread. Calls are answered in order; the thread keeps the process
 * alive only while a call is pending, so an unreleased session does not hold the CLI open.
 */
class ThreadSession {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private failure: Error | null = null;
  /** Float32 input buffers moved to the thread and back (see run). */
  private readonly staging = new FloatBufferPool();
  inputNames: readonly string[] = [];
  outputNames: readonly string[] = [];
  inputMetadata: readonly InferenceSession.ValueMetadata[] = [];
  outputMetadata: readonly InferenceSession.ValueMetadata[] = [];

  constructor() {
    const ort = createRequire(import.meta.url).resolve('onnxruntime-node');
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { ort } });
    this.worker.unref();
    this.worker.on('message', (reply: Reply) => this.settle(reply));
    this.worker.on('error', (error) => this.fail(error));
    this.worker.on('exit', (code) => this.fail(new Error(`the onnxruntime worker thread exited (code ${code})`)));
  }

  private call(message: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    if (this.pending.size === 0) this.worker.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...message, id }, transfer);
    });
  }

  private settle(reply: Reply): void {
    const waiting = this.pending.get(reply.id);
    if (!waiting) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker.unref();
    if (reply.ok) waiting.resolve(reply.value);
    else waiting.reject(new Error(reply.message));
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const w of this.pending.values()) w.reject(this.failure);
    this.pending.clear();
    this.worker.unref();
  }

  async load(model: string | Uint8Array, options: InferenceSession.SessionOptions): Promise<void> {
    // Bytes are copied to the thread (the caller keeps its buffer).
    const signature = (await this.call({ op: 'create', model, options })) as Signature;
    Object.assign(this, signature);
  }

  /**
   * Inputs are copied (callers may reuse an input tensor for several calls); outputs are moved.
   * Float32 inputs are copied into staging buffers of this session's own that travel to the
   * thread and back (moved both ways): no allocation per call on either thread, where a
   * structured clone allocated a fresh buffer on the model's thread for every input.
   */
  async run(feeds: InferenceSession.FeedsType): Promise<InferenceSession.ReturnType> {
    const wire: Record<string, WireTensor> = {};
    const staged: string[] = [];
    const transfer: ArrayBuffer[] = [];
    for (const [name, t] of Object.entries(feeds)) {
      let data = t.data;
      if (data instanceof Float32Array) {
        const copy = this.staging.take(data.length);
        copy.set(data);
        data = copy;
        staged.push(name);
        transfer.push(copy.buffer as ArrayBuffer);
      }
      wire[name] = { type: t.type, dims: t.dims, data };
    }
    const reply = (await this.call({ op: 'run', feeds: wire, staged }, transfer)) as { outputs: Record<string, WireTensor>; inputs: Float32Array[] };
    for (const buffer of reply.inputs) this.staging.give(buffer);
    const result: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(reply.outputs)) result[name] = new Tensor(t.type, t.data as Float32Array, t.dims);
    return result as InferenceSession.ReturnType;
  }

  async release(): Promise<void> {
    try {
      if (!this.failure) await this.call({ op: 'release' });
    } finally {
      this.failure ??= new Error('the session was released');
      await this.worker.terminate();
    }
  }
}

/**
 * Creates an onnxruntime-node session on a worker thread of its own; the result stands in
 * for an `InferenceSession` (run, names, metadata, release). Load errors reject with
 * onnxruntime's message.
 */
export async function createThreadSession(model: string | Uint8Array, options: InferenceSession.SessionOptions): Promise<InferenceSession> {
  const session = new ThreadSession();
  try {
    await session.load(model, options);
  } catch (error) {
    await session.release().catch(() => undefined);
    throw error;
  }
  return session as unknown as InferenceSession;
}

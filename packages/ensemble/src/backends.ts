// Backend discovery and selection. Explicit requests either run where asked or fail with the
// reason; `auto` walks cuda -> cpu -> wasm -> ts and records why each faster backend was passed over.
// Nothing falls back silently: the chosen backend and every skip are in each result.
import { nativeStatus, type NativeBinding } from '@omnidistill/native';
import { wasmStatus } from './wasm.js';

export type Backend = 'ts' | 'wasm' | 'cpu' | 'cuda';
export type BackendRequest = Backend | 'auto';

/** Automatic selection order, fastest first. */
export const BACKEND_PRIORITY: readonly Backend[] = ['cuda', 'cpu', 'wasm', 'ts'];

/** Whether a backend can run here, and if not, why. */
export interface BackendStatus {
  backend: Backend;
  usable: boolean;
  /** Present when not usable: e.g. "compiled but no device: cudaErrorNoDevice (...)". */
  reason?: string;
  /** cuda: the device name; cpu: the thread count; wasm / ts: what runs. */
  detail?: string;
}

/** Which backend ran, what was asked for, and why faster ones were skipped (auto only). */
export interface BackendSelection {
  requested: BackendRequest;
  backend: Backend;
  skipped: { backend: Backend; reason: string }[];
}

/** Thrown when an explicitly requested backend cannot run here; `reason` says why. */
export class BackendUnavailableError extends Error {
  readonly code = 'OMNI_BACKEND_UNAVAILABLE';
  readonly backend: Backend;
  readonly reason: string;
  constructor(backend: Backend, reason: string) {
    super(`backend "${backend}" is not available: ${reason}`);
    this.name = 'BackendUnavailableError';
    this.backend = backend;
    this.reason = reason;
  }
}

function firstLine(message: string): string {
  return message.split('\n')[0];
}

/** The status of every backend on this machine, in priority order. */
export function backends(): BackendStatus[] {
  const state = nativeStatus();
  const wasmState = wasmStatus();
  const wasm: BackendStatus = wasmState.usable
    ? { backend: 'wasm', usable: true, detail: 'WebAssembly SIMD kernel, 1 thread' }
    : { backend: 'wasm', usable: false, reason: wasmState.reason };
  const ts: BackendStatus = { backend: 'ts', usable: true, detail: 'TypeScript, 1 thread' };
  if ('error' in state) {
    const tried = state.error.attempts.map((a) => `${a.path}: ${a.error}`).join('; ');
    const reason = `native addon not loaded: ${firstLine(state.error.message)} (${tried})`;
    return [
      { backend: 'cuda', usable: false, reason },
      { backend: 'cpu', usable: false, reason },
      wasm,
      ts,
    ];
  }
  const info = state.binding.backends();
  const cuda: BackendStatus = info.cuda.usable
    ? { backend: 'cuda', usable: true, detail: info.cuda.device ?? 'cuda device' }
    : { backend: 'cuda', usable: false, reason: info.cuda.reason ?? 'unavailable' };
  // Which binary runs: a prebuilt platform package, a local (from-source) build, or the env override.
  const binary = state.origin === 'prebuilt' ? `prebuilt ${state.package}` : state.origin;
  return [cuda, { backend: 'cpu', usable: true, detail: `${info.cpu.threads ?? 1} threads, ${binary}` }, wasm, ts];
}

/** Resolves a request to a runnable backend, or throws BackendUnavailableError saying why. */
export function selectBackend(request: BackendRequest = 'auto'): BackendSelection {
  if (!['auto', ...BACKEND_PRIORITY].includes(request)) {
    throw new TypeError(`options.backend: expected one of "auto", "cuda", "cpu", "wasm", "ts", received ${JSON.stringify(request)}`);
  }
  const statuses = backends();
  if (request !== 'auto') {
    const status = statuses.find((s) => s.backend === request)!;
    if (!status.usable) throw new BackendUnavailableError(request, status.reason ?? 'unavailable');
    return { requested: request, backend: request, skipped: [] };
  }
  const skipped: BackendSelection['skipped'] = [];
  for (const status of statuses) {
    if (status.usable) return { requested: 'auto', backend: status.backend, skipped };
    skipped.push({ backend: status.backend, reason: status.reason ?? 'unavailable' });
  }
  /* c8 ignore next */ throw new Error('unreachable: the ts backend is always usable');
}

/** The native binding for a selected native backend (selection guarantees it loaded). */
export function nativeBinding(): NativeBinding {
  const state = nativeStatus();
  if ('error' in state) throw state.error;
  return state.binding;
}

// Training engines over generated ORT artifacts: loop, mixed-source sampler, checkpoints, export.
export { Rng } from './rng.js';
export type { RngState } from './rng.js';
export { MixedSourceSampler, DEFAULT_LABELED_PROBABILITY, rhoMix, rhoIterations } from './sampler.js';
export type { SampleSource, SampleRef, MixedSamplerOptions, MixedSamplerState, SourceCursor } from './sampler.js';

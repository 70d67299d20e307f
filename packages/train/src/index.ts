// Training engines over generated ORT artifacts: loop, mixed-source sampler, checkpoints, export.
export {};

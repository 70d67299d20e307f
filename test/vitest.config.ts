// The shared settings, plus the fault suite (faults/: kills, interrupts, bad input).
import { defineConfig, mergeConfig } from 'vitest/config';
import shared from '../vitest.shared.ts';

export default mergeConfig(shared, defineConfig({ test: { include: ['faults/**/*.test.ts'] } }));

// Count-matched confidence thresholds and generated-label writing.
export {};

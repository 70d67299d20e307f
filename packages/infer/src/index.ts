// onnxruntime-node sessions, model manifests, image decoding and multi-transform inference.
export {};

// ONNX graph builder, reverse-mode autodiff and ONNX Runtime training-artifact writer.
export {};

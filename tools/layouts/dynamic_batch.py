"""Copies of layout fixtures with a dynamic batch dimension.

The fixtures exported by export.py take one image or crop per call ([1, 3, H, W]); real
exports often declare the batch dimension symbolic (Ultralytics `dynamic=True`, MMPose), and
omnidistill then runs many crops, or many transforms of an image, per call.
- topdown, simcc: dimension 0 of every graph input and output is renamed to the symbol
  "batch" (weights and nodes untouched: their graphs never name the batch size);
- yolo-detect, yolo-pose: their heads reshape by the batch size, which a batch-1 trace bakes
  in, so the same module is rebuilt from the same seed and exported again with dynamic axes;
  the script checks that every weight equals the batch-1 fixture's.
Either way a copy computes exactly what its original does, item by item.
- yolo-detect-badbatch: the batch-1 yolo-detect trace with dimension 0 renamed "batch": it
  declares a dynamic batch its graph does not honour (a Reshape to batch 1 inside), as some
  exports do; a batched run fails and omnidistill falls back to one transform per call.
Usage: /usr/bin/python3 tools/layouts/dynamic_batch.py (writes packages/infer/test/layouts/
{topdown,simcc,yolo-detect,yolo-pose}-batch.{onnx,json} and yolo-detect-badbatch.{onnx,json}).
"""
import json
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
DIR = os.path.join(HERE, "..", "..", "packages", "infer", "test", "layouts")


def copy_manifest(name, copy=None):
    with open(os.path.join(DIR, f"{name}.json")) as f:
        manifest = json.load(f)
    with open(os.path.join(DIR, f"{copy or name + '-batch'}.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")


def rename_batch_dim(name, copy=None):
    model = onnx.load(os.path.join(DIR, f"{name}.onnx"))
    for value in list(model.graph.input) + list(model.graph.output):
        dim = value.type.tensor_type.shape.dim[0]
        dim.ClearField("dim_value")
        dim.dim_param = "batch"
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(DIR, f"{copy or name + '-batch'}.onnx"))


def weights(path):
    """The model's float weights, largest first (names differ between exports)."""
    arrays = [numpy_helper.to_array(t) for t in onnx.load(path).graph.initializer]
    return sorted((a for a in arrays if a.dtype == np.float32 and a.size > 8), key=lambda a: (-a.size, a.tobytes()))


def reexport_yolo(name, kpts, classes):
    sys.path.insert(0, HERE)
    import torch
    from export import YoloHead  # the fixture's own module and seed (export.py, main())

    torch.manual_seed(3 + kpts)
    m = YoloHead(classes, kpts).eval()
    path = os.path.join(DIR, f"{name}-batch.onnx")
    torch.onnx.export(m, (torch.zeros(2, 3, 96, 128),), path, opset_version=17, input_names=["images"], output_names=["output0"],
                      dynamic_axes={"images": [0], "output0": [0]}, do_constant_folding=True)
    # As Ultralytics declares them: only the batch is symbolic ([batch, 4 + C (+ 3K), A]);
    # torch's trace leaves the concatenated output's other sizes symbolic too.
    model = onnx.load(path)
    fixed = onnx.load(os.path.join(DIR, f"{name}.onnx"))
    for value, like in zip(list(model.graph.input) + list(model.graph.output), list(fixed.graph.input) + list(fixed.graph.output)):
        for i, (dim, want) in enumerate(zip(value.type.tensor_type.shape.dim, like.type.tensor_type.shape.dim)):
            dim.Clear()
            if i == 0:
                dim.dim_param = "batch"
            else:
                dim.dim_value = want.dim_value
    onnx.checker.check_model(model)
    onnx.save(model, path)
    original = weights(os.path.join(DIR, f"{name}.onnx"))
    copy = weights(path)
    if len(original) != len(copy) or any(a.shape != b.shape or not np.array_equal(a, b) for a, b in zip(original, copy)):
        raise SystemExit(f"{name}-batch.onnx: the weights differ from {name}.onnx (export.py changed its seed or module?)")


for name in ("topdown", "simcc"):
    rename_batch_dim(name)
    copy_manifest(name)
    print(f"{name}-batch.onnx")
for name, kpts, classes in (("yolo-detect", 0, 3), ("yolo-pose", 17, 1)):
    reexport_yolo(name, kpts, classes)
    copy_manifest(name)
    print(f"{name}-batch.onnx")
rename_batch_dim("yolo-detect", "yolo-detect-badbatch")
copy_manifest("yolo-detect", "yolo-detect-badbatch")
print("yolo-detect-badbatch.onnx")

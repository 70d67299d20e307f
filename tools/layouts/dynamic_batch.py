"""Copies of the crop-layout fixtures (topdown, simcc) with a dynamic batch dimension.

The fixtures exported by export.py take one crop per call ([1, 3, H, W]); real exports often
declare the batch dimension symbolic, and the crop layouts then run many crops per call. This
script only renames dimension 0 of every graph input and output to the symbol "batch" (the
weights and nodes are untouched), so the copies compute exactly what the originals do, crop by
crop. Usage: /usr/bin/python3 tools/layouts/dynamic_batch.py (writes packages/infer/test/layouts/
{topdown,simcc}-batch.{onnx,json}).
"""
import json
import os

import onnx

HERE = os.path.dirname(os.path.abspath(__file__))
DIR = os.path.join(HERE, "..", "..", "packages", "infer", "test", "layouts")

for name in ("topdown", "simcc"):
    model = onnx.load(os.path.join(DIR, f"{name}.onnx"))
    for value in list(model.graph.input) + list(model.graph.output):
        dim = value.type.tensor_type.shape.dim[0]
        dim.ClearField("dim_value")
        dim.dim_param = "batch"
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(DIR, f"{name}-batch.onnx"))
    with open(os.path.join(DIR, f"{name}.json")) as f:
        manifest = json.load(f)
    with open(os.path.join(DIR, f"{name}-batch.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print(f"{name}-batch.onnx")

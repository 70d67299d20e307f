#!/usr/bin/python3
"""PyTorch side of track-torch.ts and track-schedule.ts.

  train MODEL.onnx DIR   trains the torch.onnx top-down model's own architecture (fixtures.py
                         TopDownHeatmap; k and widthMultiplier from DIR/meta.json), initialised from the
                         ONNX file's initializers by name, on the minibatches DIR/batches.bin holds,
                         with AdamW and the given per-step learning rates; prints the loss of every
                         step as one JSON line. With meta "weightsOut": also writes the trained
                         parameters there (float32, in the order of the JSON's "names" beside it).
  export OUT.onnx K WIDTH HEIGHT CROP_W [simplebaseline|stride4]
                         exports TopDownHeatmap(k, width) (or TopDownStride4(k, width channels)) with torch's default initialisation
                         (BatchNorm γ/β nudged by 1e-3 noise: torch.onnx merges equal-valued
                         initializers, which would tie parameters torch keeps apart), BatchNorm
                         nodes in inference mode, dynamic batch axis.

  perturb IN.onnx OUT.onnx EPS SEED
                         writes IN with every trainable initializer (all float ones but BatchNorm
                         running statistics) multiplied by (1 + EPS * N(0, 1)): with EPS 1e-7, a
                         start one float rounding away, so that repeated runs size how far two
                         trajectories drift apart by float noise alone (track-schedule.ts --repeats).

Usage: /usr/bin/python3 track_torch.py MODEL.onnx DIR   (the old form of `train`)
"""
import json
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import numpy_helper

sys.path.insert(0, os.path.dirname(__file__))
from fixtures import TopDownHeatmap, TopDownStride4  # noqa: E402


ARCHITECTURES = {"simplebaseline": lambda k, width: TopDownHeatmap(k=k, width=width), "stride4": lambda k, width: TopDownStride4(k=k, width=width)}


def export(path, k, width, height, crop_width, architecture="simplebaseline"):
    torch.manual_seed(7)
    model = ARCHITECTURES[architecture](k, width).eval()
    gen = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.add_(torch.randn(m.num_features, generator=gen) * 1e-3)
                m.bias.add_(torch.randn(m.num_features, generator=gen) * 1e-3)
    torch.onnx.export(model, (torch.randn(1, 3, height, crop_width),), path, input_names=["input"], output_names=["heatmaps"],
                      opset_version=17, dynamic_axes={"input": {0: "batch"}, "heatmaps": {0: "batch"}},
                      training=torch.onnx.TrainingMode.TRAINING, do_constant_folding=False)
    inference_batch_norm(path)
    print(json.dumps({"params": sum(p.numel() for p in model.parameters())}))


def inference_batch_norm(path):
    """The training-mode export keeps BatchNormalization nodes and their parameter names (an
    eval-mode export folds them into the convolutions); turn them into inference nodes
    (training_mode 0, one output), as a deployed model has them."""
    model = onnx.load(path)
    for node in model.graph.node:
        if node.op_type == "BatchNormalization":
            for a in node.attribute:
                if a.name == "training_mode":
                    a.i = 0
            del node.output[1:]
    onnx.checker.check_model(model)
    onnx.save(model, path)


def perturb(src, dst, eps, seed):
    model = onnx.load(src)
    gen = np.random.default_rng(seed)
    for t in model.graph.initializer:
        if t.data_type != onnx.TensorProto.FLOAT or t.name.endswith(("running_mean", "running_var")):
            continue
        a = numpy_helper.to_array(t)
        t.CopyFrom(numpy_helper.from_array((a * (1 + eps * gen.standard_normal(a.shape))).astype(np.float32), t.name))
    onnx.save(model, dst)


def train(model_path, folder):
    meta = json.load(open(os.path.join(folder, "meta.json")))
    torch.set_num_threads(meta.get("threads", 1))
    model = ARCHITECTURES[meta.get("architecture", "simplebaseline")](meta["k"], meta.get("widthMultiplier", 1))
    weights = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in onnx.load(model_path).graph.initializer}
    state = model.state_dict()
    missing = [name for name in state if name not in weights and "num_batches_tracked" not in name]
    if missing:
        raise SystemExit(f"{model_path}: no initializer for {missing[:3]}")
    for name in state:
        if name in weights:
            state[name] = weights[name]
    model.load_state_dict(state)
    model.eval()  # frozen BatchNorm statistics, as the importer's default
    opt = torch.optim.AdamW(model.parameters(), lr=meta["lrs"][0], betas=(0.9, 0.999), eps=1e-8, weight_decay=meta["weightDecay"])
    b, k, h, w = meta["batch"], meta["k"], meta["height"], meta["width"]
    per_step = b * 3 * h * w * 4 + b * k * 8 + b * k * 4
    losses = []
    with open(os.path.join(folder, "batches.bin"), "rb") as f:
        for s in range(meta["steps"]):
            raw = f.read(per_step)
            x = torch.from_numpy(np.frombuffer(raw, np.float32, b * 3 * h * w).copy()).view(b, 3, h, w)
            target = torch.from_numpy(np.frombuffer(raw, np.int64, b * k, offset=b * 3 * h * w * 4).copy()).view(b, k)
            weight = torch.from_numpy(np.frombuffer(raw, np.float32, b * k, offset=b * 3 * h * w * 4 + b * k * 8).copy()).view(b, k)
            for group in opt.param_groups:
                group["lr"] = meta["lrs"][s]
            opt.zero_grad()
            logits = model(x)
            logp = F.log_softmax(logits.reshape(b, k, -1), dim=2)
            picked = logp.gather(2, target.unsqueeze(2)).squeeze(2)
            loss = -(picked * weight).sum() / weight.sum().clamp(min=1)
            loss.backward()
            opt.step()
            losses.append(loss.item())
    if "weightsOut" in meta:
        names = [n for n, _ in model.named_parameters()]
        with open(meta["weightsOut"], "wb") as f:
            for _, p in model.named_parameters():
                f.write(p.detach().numpy().astype(np.float32).tobytes())
        with open(meta["weightsOut"] + ".json", "w") as f:
            json.dump({"names": names, "sizes": [p.numel() for p in model.parameters()]}, f)
    print(json.dumps(losses))


def main():
    if sys.argv[1] == "export":
        export(sys.argv[2], *map(int, sys.argv[3:7]), *sys.argv[7:8])
    elif sys.argv[1] == "perturb":
        perturb(sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5]))
    elif sys.argv[1] == "train":
        train(sys.argv[2], sys.argv[3])
    else:
        train(sys.argv[1], sys.argv[2])


if __name__ == "__main__":
    main()

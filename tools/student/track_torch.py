#!/usr/bin/python3
"""PyTorch side of track-torch.ts: trains the torch.onnx top-down fixture's own architecture
(tools/student/fixtures.py TopDownHeatmap, 17 keypoints), initialised from the ONNX file's
initializers by name, on the minibatches track-torch.ts saved, with AdamW and the given
per-step learning rates; prints the loss of every step as one JSON line.

Usage: /usr/bin/python3 track_torch.py MODEL.onnx DIR
"""
import json
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper

sys.path.insert(0, os.path.dirname(__file__))
from fixtures import TopDownHeatmap  # noqa: E402


def main():
    model_path, folder = sys.argv[1], sys.argv[2]
    meta = json.load(open(os.path.join(folder, "meta.json")))
    model = TopDownHeatmap(k=meta["k"])
    weights = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in onnx.load(model_path).graph.initializer}
    state = model.state_dict()
    for name in state:
        if name in weights:
            state[name] = weights[name]
    model.load_state_dict(state)
    model.eval()  # frozen BatchNorm statistics, as the importer's default
    opt = torch.optim.AdamW(model.parameters(), lr=meta["lrs"][0], betas=(0.9, 0.999), eps=1e-8, weight_decay=meta["weightDecay"])
    b, k, h, w = meta["batch"], meta["k"], meta["height"], meta["width"]
    raw = open(os.path.join(folder, "batches.bin"), "rb").read()
    offset = 0

    def take(dtype, count):
        nonlocal offset
        arr = np.frombuffer(raw, dtype=dtype, count=count, offset=offset)
        offset += arr.nbytes
        return torch.from_numpy(arr.copy())

    losses = []
    for s in range(meta["steps"]):
        x = take(np.float32, b * 3 * h * w).view(b, 3, h, w)
        target = take(np.int64, b * k).view(b, k)
        weight = take(np.float32, b * k).view(b, k)
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
    print(json.dumps(losses))


if __name__ == "__main__":
    main()

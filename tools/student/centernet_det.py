#!/usr/bin/python3
"""A small CenterNet-style detector exported by torch.onnx (opset 17) with its decoding in the
graph (sigmoid, 3x3 max-pool peaks, TopK, gathers -> boxes, scores, labels), as users export
CenterNet models for deployment; issue 14's detector student.

Writes:
  packages/artifacts/test/fixtures/student/centernet_det.{onnx,json,bin}
      gradient fixture: an input [2, 3, 64, 64], CenterNet targets (det_heat, det_reg,
      det_mask) and torch autograd's parameter gradients (float64) of the reference detector's
      loss (penalty-reduced focal + 0.1 * L1 size + L1 offset, / #centres) on the raw heads
  packages/cli/test/fixtures/models/centernet-det.{onnx,json}
      the same architecture for the synthetic `objects` data (5 classes) with its manifest,
      whose `training.heads` names the raw head tensors the trainer stops at

Reduced width (16–32 channels), no BatchNorm: eval-mode torch.onnx exports fold BatchNorm into the
preceding conv, so deployed files carry conv + bias, which is what this models. The head
tensors are renamed in the file (heat_logits, size, offset) so the manifest can name them; a
user finds their own export's names with `omnidistill inspect`.

Usage: /usr/bin/python3 tools/student/centernet_det.py   (Debian python3-torch 1.13)
"""
import json
import math
import os
from collections import OrderedDict

import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

from fixtures import FloatBlob

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
FIXTURES = os.path.join(ROOT, "packages", "artifacts", "test", "fixtures", "student")
CLI_MODELS = os.path.join(ROOT, "packages", "cli", "test", "fixtures", "models")
STRIDE = 4
MAX_DETECTIONS = 100
HEADS = {"heat_logits": "heat", "size": "wh", "offset": "reg"}


def head(cin, mid, cout, bias_init=None):
    h = nn.Sequential(nn.Conv2d(cin, mid, 3, 1, 1), nn.ReLU(inplace=True), nn.Conv2d(mid, cout, 1))
    if bias_init is not None:
        nn.init.constant_(h[2].bias, bias_init)
    return h


class CenterNetDet(nn.Module):
    """Stride-4 backbone (the reference detector's layer plan: 16 s2, 24, 32 s2, 32, then two
    dilated 32s, so the receptive field covers the objects), CenterNet's three heads, decoding
    for one image in forward(). He-normal conv weights, as CenterNet's backbones."""

    def __init__(self, classes, width=32):
        super().__init__()
        plan = [(16, 2, 1), (24, 1, 1), (width, 2, 1), (width, 1, 1), (width, 1, 2), (width, 1, 2)]
        layers, cin = [], 3
        for cout, stride, dilation in plan:
            layers += [nn.Conv2d(cin, cout, 3, stride, dilation, dilation=dilation), nn.ReLU(inplace=True)]
            cin = cout
        self.backbone = nn.Sequential(*layers)
        for m in self.backbone:
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
        # CenterNet's prior: every centre starts at p = 0.1.
        self.heat = head(width, width, classes, bias_init=-math.log(9))
        self.wh = head(width, width, 2)
        self.reg = head(width, width, 2)
        self.decode = True

    def heads(self, x):
        f = self.backbone(x)
        return self.heat(f), self.wh(f), self.reg(f)

    def forward(self, x):
        heat_logits, wh, reg = self.heads(x)
        if not self.decode:
            return heat_logits, wh, reg
        _, c, h, w = heat_logits.shape
        heat = torch.sigmoid(heat_logits)
        peaks = heat * (F.max_pool2d(heat, 3, 1, 1) == heat).float()
        scores, idx = torch.topk(peaks.reshape(1, -1), MAX_DETECTIONS)
        idx = idx.reshape(-1)
        plane = h * w
        labels = torch.div(idx, plane, rounding_mode="floor")
        pix = idx - labels * plane
        cy = torch.div(pix, w, rounding_mode="floor")
        cx = pix - cy * w
        at = lambda m: m.reshape(2, -1)[:, pix]  # [2, D]
        size, off = at(wh), at(reg)
        x0 = (cx.float() + off[0]) * STRIDE
        y0 = (cy.float() + off[1]) * STRIDE
        hw = F.relu(size[0]) * (STRIDE / 2)
        hh = F.relu(size[1]) * (STRIDE / 2)
        boxes = torch.stack([x0 - hw, y0 - hh, x0 + hw, y0 + hh], 1)
        return boxes, scores.reshape(-1), labels


def centernet_loss(heat_logits, wh, reg, heat, target, mask, size_weight=0.1):
    """The reference detector's loss (packages/artifacts/src/centernet-loss.ts), in torch."""
    p = torch.sigmoid(heat_logits)
    logp = -F.softplus(-heat_logits)
    log1mp = -F.softplus(heat_logits)
    pos = (heat >= 1).to(heat_logits.dtype)
    pos_term = (1 - p) ** 2 * logp * pos
    neg_term = p ** 2 * log1mp * (1 - heat) ** 4 * (1 - pos)
    npos = torch.clamp(mask.sum(), min=1)
    focal = -(pos_term.sum() + neg_term.sum()) / npos
    l1 = (torch.cat([wh, reg], 1) - target).abs() * mask
    return focal + (size_weight * l1[:, :2].sum() + l1[:, 2:].sum()) / npos


def export(model, path, size):
    """Eval-mode export with a dynamic image size, head tensors renamed to HEADS' names."""
    model.eval()
    torch.onnx.export(model, (torch.randn(1, 3, size, size),), path, input_names=["image"], output_names=["boxes", "scores", "labels"],
                      opset_version=17, dynamic_axes={"image": {2: "height", 3: "width"}})
    m = onnx.load(path)
    renames = {}
    for node in m.graph.node:
        for name, module in HEADS.items():
            if node.op_type == "Conv" and node.input[1] == f"{module}.2.weight":
                renames[node.output[0]] = name
    assert len(renames) == 3, renames
    for node in m.graph.node:
        node.input[:] = [renames.get(i, i) for i in node.input]
        node.output[:] = [renames.get(o, o) for o in node.output]
    onnx.checker.check_model(m)
    onnx.save(m, path)


def random_targets(gen, b, c, h, w):
    """CenterNet targets with a few centres per image: Gaussian heat (1 at centres), size and offset at centres."""
    heat = torch.zeros(b, c, h, w, dtype=torch.float64)
    target = torch.zeros(b, 4, h, w, dtype=torch.float64)
    mask = torch.zeros(b, 1, h, w, dtype=torch.float64)
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64), indexing="ij")
    for i in range(b):
        for _ in range(3):
            k = int(torch.randint(c, (1,), generator=gen))
            cy, cx = int(torch.randint(h, (1,), generator=gen)), int(torch.randint(w, (1,), generator=gen))
            g = torch.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * 1.5 ** 2))
            heat[i, k] = torch.maximum(heat[i, k], g)
            heat[i, k, cy, cx] = 1
            target[i, :, cy, cx] = torch.tensor([1 + 6 * float(torch.rand(1, generator=gen)), 1 + 6 * float(torch.rand(1, generator=gen)),
                                                 float(torch.rand(1, generator=gen)), float(torch.rand(1, generator=gen))], dtype=torch.float64)
            mask[i, 0, cy, cx] = 1
    return heat, target, mask


def gradient_fixture():
    os.makedirs(FIXTURES, exist_ok=True)
    gen = torch.Generator().manual_seed(23)
    torch.manual_seed(23)
    model = CenterNetDet(classes=3)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if n.endswith("bias") and not n.startswith("heat.2"):
                p.copy_(torch.randn(p.shape, generator=gen) * 0.1)  # distinct biases: torch.onnx merges equal initializers
    path = os.path.join(FIXTURES, "centernet_det.onnx")
    export(model, path, 64)
    x = torch.randn(2, 3, 64, 64, generator=gen)
    ref = model.double()
    ref.decode = False
    heat, target, mask = random_targets(gen, 2, 3, 16, 16)
    loss = centernet_loss(*ref(x.double()), heat, target, mask)
    loss.backward()
    blob = FloatBlob()
    put = blob.put
    meta = {
        "input": {"name": "image", "dims": [2, 3, 64, 64], "at": put(x)},
        "heads": {"heatmap": "heat_logits", "size": "size", "offset": "offset"},
        "targets": {"det_heat": {"dims": list(heat.shape), "at": put(heat)}, "det_reg": {"dims": list(target.shape), "at": put(target)},
                    "det_mask": {"dims": list(mask.shape), "at": put(mask)}},
        "loss": loss.item(),
        "grads": {n: put(p.grad) for n, p in ref.named_parameters()},
    }
    blob.save(FIXTURES, "centernet_det", meta)
    print(f"centernet_det: {sum(p.numel() for p in model.parameters())} params, loss {loss.item():.6f}, onnx {os.path.getsize(path)} B")


def cli_student():
    """The detector student of the CLI test and the README's walk-through: 5 classes (synth objects)."""
    torch.manual_seed(5)
    model = CenterNetDet(classes=5)
    path = os.path.join(CLI_MODELS, "centernet-det.onnx")
    export(model, path, 96)
    manifest = OrderedDict([
        ("format", "omnidistill-model"), ("version", 1), ("role", "detector"), ("layout", "rois"),
        ("inputs", {"image": "image"}), ("outputs", {"boxes": "boxes", "scores": "scores", "labels": "labels"}),
        ("pixels", {"sizeDivisor": 4}), ("categoryIds", [1, 2, 3, 4, 5]),
        ("training", {"loss": "centernet", "heads": {"heatmap": "heat_logits", "size": "size", "offset": "offset"}}),
    ])
    with open(os.path.join(CLI_MODELS, "centernet-det.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print(f"centernet-det: {sum(p.numel() for p in model.parameters())} params, onnx {os.path.getsize(path)} B")


if __name__ == "__main__":
    gradient_fixture()
    cli_student()

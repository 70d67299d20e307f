#!/usr/bin/python3
"""A small Ultralytics-style detector exported by torch.onnx (opset 17): Conv-SiLU backbone to
strides 8 and 16, a decoupled detect head per level (box branch with DFL: softmax over distance
bins and their expectation; class branch), boxes decoded in the graph against the anchor grid
(cx, cy, w, h in input pixels) and class scores after a Sigmoid, concatenated to the raw
`predictions` [N, 4 + C, A] the infer package's `yolo` layout reads. Issue 14's YOLO student.

Writes:
  packages/artifacts/test/fixtures/student/yolo_det.{onnx,json,bin}
      gradient fixture: an input [2, 3, 64, 64], YOLO targets (yolo_cls, yolo_box, yolo_fg) and
      torch autograd's parameter gradients (float64) of artifacts' yoloLoss (BCE on the class
      probabilities + at the foreground anchors L1 / stride + 5 * (1 - GIoU), / #foreground)
  packages/cli/test/fixtures/models/yolo-det.{onnx,json}
      the same architecture at 96 x 96 for the synthetic `objects` data (5 classes) with its
      manifest (layout yolo, training.loss "yolo", strides [8, 16])

Convolutions carry biases and no BatchNorm: Ultralytics fuses BatchNorm into the convolutions
before exporting, so deployed files look like this. The anchor grid is a constant of the graph (Ultralytics exports a fixed input size too); the
batch axis is dynamic so that training can feed minibatches.

Usage: /usr/bin/python3 tools/student/yolo_det.py   (Debian python3-torch 1.13)
"""
import json
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
STRIDES = (8, 16)
REG = 8  # DFL bins per side (Ultralytics: 16)


class ConvSiLU(nn.Module):
    """Ultralytics' Conv after fusing: conv with bias, SiLU exported as x * sigmoid(x)."""

    def __init__(self, cin, cout, k=1, s=1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, s, k // 2)

    def forward(self, x):
        h = self.conv(x)
        return h * torch.sigmoid(h)


def anchor_grid(size, strides):
    """Ultralytics' make_anchors: per stride, cell centres (x + 0.5, y + 0.5) in cells, row-major; and each anchor's stride."""
    points, stride = [], []
    for s in strides:
        n = -(-size // s)
        ys, xs = torch.meshgrid(torch.arange(n, dtype=torch.float32) + 0.5, torch.arange(n, dtype=torch.float32) + 0.5, indexing="ij")
        points.append(torch.stack([xs.reshape(-1), ys.reshape(-1)], 0))
        stride.append(torch.full((n * n,), float(s)))
    return torch.cat(points, 1), torch.cat(stride)


class YoloDet(nn.Module):
    def __init__(self, classes, size, width=32):
        super().__init__()
        self.classes = classes
        self.stem = nn.Sequential(ConvSiLU(3, 16, 3, 2), ConvSiLU(16, width, 3, 2), ConvSiLU(width, width, 3, 2))  # stride 8
        self.down = ConvSiLU(width, width, 3, 2)  # stride 16
        self.box = nn.ModuleList(nn.Sequential(ConvSiLU(width, width, 3), nn.Conv2d(width, 4 * REG, 1)) for _ in STRIDES)
        self.cls = nn.ModuleList(nn.Sequential(ConvSiLU(width, width, 3), nn.Conv2d(width, classes, 1)) for _ in STRIDES)
        # Plain attributes, not buffers, as Ultralytics' Detect keeps them: the export embeds them
        # as constants (generated names), not as named initializers the importer would train.
        self.anchors, self.strides = anchor_grid(size, STRIDES)  # [2, A] in cells, [A]
        self.proj = torch.arange(REG, dtype=torch.float32)

    def forward(self, x):
        p3 = self.stem(x)
        p4 = self.down(p3)
        n = x.shape[0]
        box = torch.cat([b(f).reshape(n, 4 * REG, -1) for b, f in zip(self.box, (p3, p4))], 2)
        cls = torch.cat([c(f).reshape(n, self.classes, -1) for c, f in zip(self.cls, (p3, p4))], 2)
        a = box.shape[2]
        anchors, strides, proj = (t.to(x.dtype) for t in (self.anchors, self.strides, self.proj))
        dist = (box.reshape(n, 4, REG, a).softmax(2) * proj.reshape(1, 1, REG, 1)).sum(2)  # l, t, r, b in cells
        lt, rb = dist[:, :2], dist[:, 2:]
        x1y1 = anchors - lt
        x2y2 = anchors + rb
        xywh = torch.cat([(x1y1 + x2y2) / 2, x2y2 - x1y1], 1) * strides
        return torch.cat([xywh, torch.sigmoid(cls)], 1)


def giou(a, b):
    """Generalised IoU of [B, 4, A] cx, cy, w, h boxes, [B, 1, A] (artifacts' generalizedIou)."""
    def corners(v):
        hw, hh = F.relu(v[:, 2:3]) * 0.5, F.relu(v[:, 3:4]) * 0.5
        cx, cy = v[:, 0:1], v[:, 1:2]
        return cx - hw, cy - hh, cx + hw, cy + hh, hw * hh * 4
    px1, py1, px2, py2, pa = corners(a)
    qx1, qy1, qx2, qy2, qa = corners(b)
    inter = F.relu(torch.minimum(px2, qx2) - torch.maximum(px1, qx1)) * F.relu(torch.minimum(py2, qy2) - torch.maximum(py1, qy1))
    union = torch.clamp(pa + qa - inter, min=1e-9)
    hull = torch.clamp((torch.maximum(px2, qx2) - torch.minimum(px1, qx1)) * (torch.maximum(py2, qy2) - torch.minimum(py1, qy1)), min=1e-9)
    return inter / union - (hull - union) / hull


def yolo_loss(pred, classes, target, fg, strides, l1_weight=1.0, iou_weight=5.0):
    """artifacts' yoloLoss (packages/artifacts/src/yolo-loss.ts), class scores as probabilities, in torch."""
    box, scores = pred[:, :4], pred[:, 4:]
    npos = torch.clamp(fg.sum(), min=1)
    logp = torch.log(torch.clamp(scores, min=1e-7))
    log1mp = torch.log(torch.clamp(1 - scores, min=1e-7))
    bce = -(classes * logp + (1 - classes) * log1mp).sum()
    l1 = ((box - target).abs() / strides.reshape(1, 1, -1) * fg).sum()
    iou = ((1 - giou(box, target)) * fg).sum()
    return (bce + l1_weight * l1 + iou_weight * iou) / npos


def export(model, path, size):
    model.eval()
    torch.onnx.export(model, (torch.randn(1, 3, size, size),), path, input_names=["image"], output_names=["predictions"],
                      opset_version=17, dynamic_axes={"image": {0: "batch"}, "predictions": {0: "batch"}})
    onnx.checker.check_model(onnx.load(path))


def random_targets(gen, model, b, c):
    """A few foreground anchors per image, each with a class and a box around the anchor (cx, cy, w, h in pixels)."""
    a = model.strides.numel()
    classes = torch.zeros(b, c, a, dtype=torch.float64)
    target = torch.zeros(b, 4, a, dtype=torch.float64)
    fg = torch.zeros(b, 1, a, dtype=torch.float64)
    for i in range(b):
        for j in torch.randperm(a, generator=gen)[:6].tolist():
            s = float(model.strides[j])
            cx, cy = (float(model.anchors[0, j]) + float(torch.rand(1, generator=gen)) - 0.5) * s, (float(model.anchors[1, j]) + float(torch.rand(1, generator=gen)) - 0.5) * s
            w, h = s * (1 + 3 * float(torch.rand(1, generator=gen))), s * (1 + 3 * float(torch.rand(1, generator=gen)))
            classes[i, int(torch.randint(c, (1,), generator=gen)), j] = 1
            target[i, :, j] = torch.tensor([cx, cy, w, h], dtype=torch.float64)
            fg[i, 0, j] = 1
    return classes, target, fg


def gradient_fixture():
    os.makedirs(FIXTURES, exist_ok=True)
    gen = torch.Generator().manual_seed(31)
    torch.manual_seed(31)
    model = YoloDet(classes=3, size=64)
    path = os.path.join(FIXTURES, "yolo_det.onnx")
    export(model, path, 64)
    x = torch.randn(2, 3, 64, 64, generator=gen)
    ref = model.double()
    classes, target, fg = random_targets(gen, model, 2, 3)
    pred = ref(x.double())
    loss = yolo_loss(pred, classes, target, fg, ref.strides.double())
    loss.backward()
    blob = FloatBlob()
    put = blob.put
    meta = {
        "input": {"name": "image", "dims": [2, 3, 64, 64], "at": put(x)},
        "predictions": "predictions",
        "strides": list(STRIDES),
        "inputSize": [64, 64],
        "targets": {"yolo_cls": {"dims": list(classes.shape), "at": put(classes)}, "yolo_box": {"dims": list(target.shape), "at": put(target)},
                    "yolo_fg": {"dims": list(fg.shape), "at": put(fg)}},
        "loss": loss.item(),
        "grads": {n: put(p.grad) for n, p in ref.named_parameters()},
    }
    blob.save(FIXTURES, "yolo_det", meta)
    print(f"yolo_det: {sum(p.numel() for p in model.parameters())} params, {model.strides.numel()} anchors, loss {loss.item():.6f}, onnx {os.path.getsize(path)} B")


def cli_student():
    """The YOLO student of the CLI test: 96 x 96 input, 5 classes (synth objects)."""
    torch.manual_seed(9)
    model = YoloDet(classes=5, size=96)
    with torch.no_grad():
        for c in model.cls:  # Ultralytics' class prior (scores start near 0.01), distinct per level (torch.onnx merges equal initializers)
            c[1].bias.copy_(-4.6 + 0.01 * torch.randn(c[1].bias.shape))
    path = os.path.join(CLI_MODELS, "yolo-det.onnx")
    export(model, path, 96)
    manifest = OrderedDict([
        ("format", "omnidistill-model"), ("version", 1), ("role", "detector"), ("layout", "yolo"),
        ("inputs", {"image": "image"}), ("outputs", {"predictions": "predictions"}),
        ("categoryIds", [1, 2, 3, 4, 5]),
        ("training", {"loss": "yolo", "strides": list(STRIDES)}),
    ])
    with open(os.path.join(CLI_MODELS, "yolo-det.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print(f"yolo-det: {sum(p.numel() for p in model.parameters())} params, onnx {os.path.getsize(path)} B")


if __name__ == "__main__":
    gradient_fixture()
    cli_student()

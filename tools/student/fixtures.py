#!/usr/bin/python3
"""Gradient fixtures for the ONNX student importer (issue 14): small, reduced-width real
models built from torchvision parts, exported with torch.onnx (opset 17), plus torch
autograd's parameter gradients (float64) of a fixed weighted-sum loss on a fixed input.

Writes, per model, into packages/artifacts/test/fixtures/student/:
  NAME.onnx   the export (BatchNorm models exported in training mode so that BatchNorm nodes
              and the parameter names survive; the reference is eval mode = frozen BN)
  NAME.json   the loss, and [offset, length] (in floats) into NAME.bin of the input, of the
              loss weights per output and of each parameter's gradient
  NAME.bin    those float32 values, little-endian

Usage: /usr/bin/python3 tools/student/fixtures.py   (Debian python3-torch 1.13, torchvision 0.14)
"""
import json
import os
import struct
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F
import onnx
import onnx.numpy_helper
import torchvision
from torchvision.models.detection.keypoint_rcnn import KeypointRCNNHeads, KeypointRCNNPredictor
from torchvision.models.mobilenetv3 import InvertedResidual, InvertedResidualConfig
from torchvision.models.resnet import BasicBlock
from torchvision.ops import FeaturePyramidNetwork

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "packages", "artifacts", "test", "fixtures", "student")


def conv_bn(cin, cout, k=3, s=1, act=None):
    layers = [nn.Conv2d(cin, cout, k, s, k // 2, bias=False), nn.BatchNorm2d(cout)]
    if act is not None:
        layers.append(act)
    return nn.Sequential(*layers)


class ResNetFPN(nn.Module):
    """ResNet-18 stem and BasicBlocks at 1/8 width, torchvision's FPN, a heatmap head."""

    def __init__(self, k=3):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 7, 2, 3, bias=False), nn.BatchNorm2d(8), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1))
        down = lambda cin, cout: nn.Sequential(nn.Conv2d(cin, cout, 1, 2, bias=False), nn.BatchNorm2d(cout))
        self.layer1 = nn.Sequential(BasicBlock(8, 8), BasicBlock(8, 8))
        self.layer2 = nn.Sequential(BasicBlock(8, 16, 2, down(8, 16)), BasicBlock(16, 16))
        self.layer3 = nn.Sequential(BasicBlock(16, 32, 2, down(16, 32)), BasicBlock(32, 32))
        self.fpn = FeaturePyramidNetwork([8, 16, 32], 16)
        self.head = nn.Conv2d(16, k, 1)

    def forward(self, x):
        c2 = self.layer1(self.stem(x))
        c3 = self.layer2(c2)
        c4 = self.layer3(c3)
        p = self.fpn(OrderedDict([("c2", c2), ("c3", c3), ("c4", c4)]))
        return self.head(p["c2"]), p["c4"]


class MobileNetV3Blocks(nn.Module):
    """MobileNetV3 inverted residuals (HardSwish, squeeze-excitation with Hardsigmoid), ReLU6, a Linear classifier."""

    def __init__(self):
        super().__init__()
        cfg = lambda *a: InvertedResidualConfig(*a, dilation=1, width_mult=1.0)
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8), nn.Hardswish())
        self.blocks = nn.Sequential(
            InvertedResidual(cfg(8, 3, 8, 8, True, "RE", 2), nn.BatchNorm2d),
            InvertedResidual(cfg(8, 3, 24, 16, False, "RE", 2), nn.BatchNorm2d),
            InvertedResidual(cfg(16, 5, 48, 16, True, "HS", 1), nn.BatchNorm2d),
        )
        self.neck = nn.Sequential(nn.Conv2d(16, 24, 1), nn.ReLU6())
        self.classifier = nn.Linear(24, 5)

    def forward(self, x):
        h = self.neck(self.blocks(self.stem(x)))
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(h, 1), 1))


class KeypointHead(nn.Module):
    """Keypoint R-CNN's head and predictor (convs, ConvTranspose ×2, bilinear ×2) on pooled RoI features."""

    def __init__(self, k=4):
        super().__init__()
        self.heads = KeypointRCNNHeads(8, (16, 16))
        self.predictor = KeypointRCNNPredictor(16, k)

    def forward(self, x):
        return self.predictor(self.heads(x))


class TopDownHeatmap(nn.Module):
    """SimpleBaseline-style top-down model: strided conv backbone, two deconv+BN+ReLU, 1×1 head (channels × width)."""

    def __init__(self, k=4, width=1):
        super().__init__()
        c1, c2, c3 = 8 * width, 16 * width, 24 * width
        self.backbone = nn.Sequential(conv_bn(3, c1, 3, 2, nn.ReLU()), conv_bn(c1, c2, 3, 2, nn.ReLU()), conv_bn(c2, c3, 3, 2, nn.LeakyReLU(0.1)), nn.AvgPool2d(3, 1, 1))
        self.deconv = nn.Sequential(
            nn.ConvTranspose2d(c3, c2, 4, 2, 1, bias=False), nn.BatchNorm2d(c2), nn.ReLU(),
            nn.ConvTranspose2d(c2, c2, 4, 2, 1, bias=False), nn.BatchNorm2d(c2), nn.ReLU(),
        )
        self.final = nn.Conv2d(c2, k, 1)

    def forward(self, x):
        return self.final(self.deconv(self.backbone(x)))


class TopDownStride4(nn.Module):
    """Top-down counterpart of the reference keypoint model (DEMO-NOTES "Model that worked"): conv+BN
    layers to stride 4 (two dilated), 3×3 head convs, a conv to 4K channels and a ×2 pixel shuffle
    → K heatmaps at stride 2 of the crop."""

    def __init__(self, k=17, width=32):
        super().__init__()
        c = width
        self.backbone = nn.Sequential(
            conv_bn(3, c // 2, 3, 2, nn.ReLU()), conv_bn(c // 2, c, 3, 2, nn.ReLU()), conv_bn(c, c, 3, 1, nn.ReLU()),
            nn.Conv2d(c, c, 3, 1, 2, dilation=2, bias=False), nn.BatchNorm2d(c), nn.ReLU(),
            nn.Conv2d(c, c, 3, 1, 2, dilation=2, bias=False), nn.BatchNorm2d(c), nn.ReLU(),
        )
        self.head = nn.Sequential(nn.Conv2d(c, c, 3, 1, 1), nn.ReLU(), nn.Conv2d(c, c, 3, 1, 1), nn.ReLU(), nn.Conv2d(c, 4 * k, 3, 1, 1))
        self.up = nn.PixelShuffle(2)

    def forward(self, x):
        return self.up(self.head(self.backbone(x)))


class ConvSiLU(nn.Module):
    def __init__(self, cin, cout, k=1, s=1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, s, k // 2, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        h = self.bn(self.conv(x))
        return h * torch.sigmoid(h)


class C2f(nn.Module):
    def __init__(self, c, n=1):
        super().__init__()
        self.cv1 = ConvSiLU(c, 2 * (c // 2))
        self.m = nn.ModuleList(nn.Sequential(ConvSiLU(c // 2, c // 2, 3), ConvSiLU(c // 2, c // 2, 3)) for _ in range(n))
        self.cv2 = ConvSiLU((2 + n) * (c // 2), c)

    def forward(self, x):
        y = list(self.cv1(x).chunk(2, 1))
        y.extend(m(y[-1]) + y[-1] for m in self.m)
        return self.cv2(torch.cat(y, 1))


class YoloHead(nn.Module):
    """Ultralytics-style: Conv-BN-SiLU, C2f (Split/Concat), SPPF (MaxPool ×3), nearest ×2 upsample + Concat, a detect head with DFL softmax."""

    def __init__(self, classes=3, reg=4):
        super().__init__()
        self.reg = reg
        self.stem = nn.Sequential(ConvSiLU(3, 8, 3, 2), ConvSiLU(8, 16, 3, 2), C2f(16))
        self.down = nn.Sequential(ConvSiLU(16, 16, 3, 2), C2f(16))
        self.sppf_cv1 = ConvSiLU(16, 8)
        self.sppf_cv2 = ConvSiLU(32, 16)
        self.top = C2f(32)
        self.box = nn.Conv2d(32, 4 * reg, 1)
        self.cls = nn.Conv2d(32, classes, 1)
        self.register_buffer("proj", torch.arange(reg, dtype=torch.float32))

    def forward(self, x):
        p3 = self.stem(x)
        p4 = self.down(p3)
        s = self.sppf_cv1(p4)
        y1 = F.max_pool2d(s, 5, 1, 2)
        y2 = F.max_pool2d(y1, 5, 1, 2)
        y3 = F.max_pool2d(y2, 5, 1, 2)
        p4 = self.sppf_cv2(torch.cat([s, y1, y2, y3], 1))
        up = F.interpolate(p4, scale_factor=2.0, mode="nearest")
        h = self.top(torch.cat([up, p3], 1))
        n, _, hh, ww = h.shape
        box = self.box(h).view(n, 4, self.reg, hh * ww).softmax(2)
        dist = (box * self.proj.view(1, 1, -1, 1)).sum(2)
        cls = self.cls(h).view(n, -1, hh * ww)
        return torch.cat([dist, torch.sigmoid(cls)], 1)


class AttentionBlock(nn.Module):
    """Split, Transpose, MatMul (a bias-free Linear on 3-D input), Div, Softmax, Sub, bilinear ×2,
    and a BatchNorm trained with batch statistics (the importer's batchNorm: 'batch')."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 12, 3, 1, 1)
        self.bn = nn.BatchNorm2d(12)
        self.proj = nn.Linear(4, 4, bias=False)

    def forward(self, x):
        h = self.bn(self.conv(x))
        a, b, c = torch.split(h, [4, 4, 4], dim=1)
        n, _, hh, ww = a.shape
        q = a.flatten(2).transpose(1, 2)
        att = torch.softmax(q @ b.flatten(2) / 2.0, dim=-1)
        o = self.proj(att @ c.flatten(2).transpose(1, 2))
        out = o.transpose(1, 2).reshape(n, 4, hh, ww) - a
        return F.interpolate(out, scale_factor=2.0, mode="bilinear", align_corners=False)


class RoiKeypointHead(nn.Module):
    """Conv features → torchvision.ops.roi_align (fixed RoIs of two images, sampling ratio 2) →
    Keypoint R-CNN-style convs: RoiAlign lowered to the separable gathers, aligned or not."""

    def __init__(self, aligned=True):
        super().__init__()
        self.aligned = aligned
        self.backbone = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.ReLU(), nn.Conv2d(8, 8, 3, 1, 1))
        self.head = nn.Sequential(nn.Conv2d(8, 8, 3, 1, 1), nn.ReLU(), nn.Conv2d(8, 4, 1))
        # (batch index, x1, y1, x2, y2) in input pixels: inside, across the border, tiny, large.
        self.register_buffer("boxes", torch.tensor([[0, 2.0, 3.0, 20.0, 28.0], [1, -3.0, 10.0, 12.5, 33.0], [1, 7.2, 7.9, 8.1, 8.4], [0, 0.0, 0.0, 31.0, 31.0]]))

    def forward(self, x):
        f = self.backbone(x)
        pooled = torchvision.ops.roi_align(f, self.boxes, output_size=7, spatial_scale=0.5, sampling_ratio=2, aligned=self.aligned)
        return self.head(pooled)


class TransformerBlock(nn.Module):
    """A pre-norm transformer block on tokens: LayerNorm (LayerNormalization at opset 17),
    multi-head attention written out (MatMul, Softmax, Transpose, Reshape), GELU (Erf), residuals."""

    def __init__(self, d=8, heads=2):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.norm2 = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, 2 * d)
        self.fc2 = nn.Linear(2 * d, d)
        with torch.no_grad():  # distinct LayerNorm scales (torch.onnx merges equal initializers)
            self.norm1.weight.uniform_(0.5, 1.5)
            self.norm2.weight.uniform_(0.5, 1.5)

    def forward(self, x):
        n, t, d = x.shape
        q, k, v = self.qkv(self.norm1(x)).reshape(n, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        att = torch.softmax(q @ k.transpose(-2, -1) / (d // self.heads) ** 0.5, dim=-1)
        x = x + self.proj((att @ v).transpose(1, 2).reshape(n, t, d))
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))


MODELS = [
    # name, constructor, input shape, BatchNorm inside (export in training mode; "batch" = the
    # reference uses batch statistics, else frozen running statistics), output names
    ("resnet18_fpn", ResNetFPN, [2, 3, 64, 64], True, ["heatmaps", "p4"]),
    ("mobilenetv3_blocks", MobileNetV3Blocks, [2, 3, 64, 64], True, ["logits"]),
    ("keypoint_rcnn_head", KeypointHead, [3, 8, 7, 7], False, ["heatmaps"]),
    ("topdown_heatmap", TopDownHeatmap, [2, 3, 64, 48], True, ["heatmaps"]),
    ("yolo_head", YoloHead, [2, 3, 64, 64], True, ["preds"]),
    ("attention_block", AttentionBlock, [2, 3, 8, 8], "batch", ["out"]),
    ("transformer_block", TransformerBlock, [2, 6, 8], False, ["tokens"]),
    ("roi_align_aligned", RoiKeypointHead, [2, 3, 32, 32], False, ["heatmaps"]),
    ("roi_align_legacy", lambda: RoiKeypointHead(aligned=False), [2, 3, 32, 32], False, ["heatmaps"]),
]


class FloatBlob:
    """The NAME.bin of a fixture: tensors appended as little-endian float32, each put() giving its [offset, length] in floats."""

    def __init__(self):
        self.data = bytearray()

    def put(self, t):
        start = len(self.data) // 4
        values = t.detach().float().flatten().tolist()
        self.data.extend(struct.pack(f"<{len(values)}f", *values))
        return [start, len(values)]

    def save(self, folder, name, meta):
        """Writes folder/NAME.bin (the tensors) and folder/NAME.json (meta, pointing into it)."""
        with open(os.path.join(folder, f"{name}.bin"), "wb") as f:
            f.write(self.data)
        with open(os.path.join(folder, f"{name}.json"), "w") as f:
            json.dump(meta, f, indent=1)


def randomise(model, gen):
    """Non-trivial running statistics and affine parameters, so frozen BatchNorm is not an
    identity, and random biases: torch.onnx merges initializers with equal values (zero
    biases) into one, tying parameters that torch keeps apart."""
    with torch.no_grad():
        for n, p in model.named_parameters():
            if n.endswith("bias"):
                p.copy_(torch.randn(p.shape, generator=gen) * 0.1)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.2)
                m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=gen) * 0.1)


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, make, shape, has_bn, outputs in MODELS:
        gen = torch.Generator().manual_seed(17)
        torch.manual_seed(17)
        model = make().eval()
        randomise(model, gen)
        x = torch.randn(*shape, generator=gen)
        path = os.path.join(OUT, f"{name}.onnx")
        mode = torch.onnx.TrainingMode.TRAINING if has_bn else torch.onnx.TrainingMode.EVAL
        torch.onnx.export(model, (x,), path, input_names=["input"], output_names=outputs, opset_version=17,
                          training=mode, do_constant_folding=not has_bn)
        # Export in training mode leaves the model in train(); the reference is frozen BN unless "batch".
        model.train(has_bn == "batch")
        if getattr(model, "aligned", True) is False:
            # torchvision 0.14 writes RoiAlign without coordinate_transformation_mode, which at
            # opset >= 16 means half_pixel (aligned=True) even for aligned=False: patch in what a
            # correct exporter writes, so that the fixture states torch's semantics.
            m = onnx.load(path)
            for node in m.graph.node:
                if node.op_type == "RoiAlign":
                    node.attribute.append(onnx.helper.make_attribute("coordinate_transformation_mode", "output_half_pixel"))
            onnx.save(m, path)
        # Reference in float64 from the exported float32 values.
        ref = model.double()
        xd = x.double()
        with torch.no_grad():
            outs = ref(xd)
        outs = outs if isinstance(outs, tuple) else (outs,)
        weights = {o: torch.randn(t.shape, generator=gen, dtype=torch.float32) for o, t in zip(outputs, outs)}
        ref.zero_grad()
        outs = ref(xd)
        outs = outs if isinstance(outs, tuple) else (outs,)
        loss = sum((t * weights[o].double()).sum() for o, t in zip(outputs, outs))
        loss.backward()
        grads = OrderedDict((n, (p.grad if p.grad is not None else torch.zeros_like(p)).detach().float().flatten()) for n, p in ref.named_parameters())
        # torch.onnx stores a Linear's weight used by MatMul transposed, under a generated name
        # (onnx::MatMul_N): its gradient is the transpose of the torch parameter's.
        torch_params = dict(ref.named_parameters())
        renamed = {}
        for init in onnx.load(path).graph.initializer:
            if init.name in grads:
                continue
            value = torch.from_numpy(onnx.numpy_helper.to_array(init).copy()).double()
            for n, p in torch_params.items():
                if p.dim() == 2 and tuple(p.shape[::-1]) == tuple(value.shape) and torch.equal(p.detach().t(), value):
                    grads[init.name] = grads[n].view(p.shape).t().flatten()
                    renamed[n] = init.name
        blob = FloatBlob()
        put = blob.put

        meta = {
            "input": {"name": "input", "dims": list(shape), "at": put(x)},
            "weights": {o: put(w) for o, w in weights.items()},
            "loss": loss.item(),
            "grads": {n: put(gr) for n, gr in grads.items()},
            # torch parameter -> the (transposed) initializer the export holds instead
            "renamed": renamed,
            "batchNorm": "batch" if has_bn == "batch" else "frozen",
            # Float buffers (not torch parameters) are initializers like the weights: freeze them.
            "buffers": [n for n, b in model.named_buffers() if b.is_floating_point() and "running_" not in n],
        }
        with open(os.path.join(OUT, f"{name}.bin"), "wb") as f:
            f.write(blob.data)
        with open(os.path.join(OUT, f"{name}.json"), "w") as f:
            json.dump(meta, f, indent=1)
        params = sum(p.numel() for p in model.parameters())
        print(f"{name:20s} params {params:7d}  loss {loss.item():12.6f}  onnx {os.path.getsize(path)} B")


def export_cli_student():
    """A COCO-person (17 keypoints) top-down model for the CLI's end-to-end test: the
    topdown_heatmap architecture on 32×24 crops, exported with a dynamic batch axis."""
    out = os.path.join(os.path.dirname(__file__), "..", "..", "packages", "cli", "test", "fixtures", "models")
    torch.manual_seed(3)
    model = TopDownHeatmap(k=17).eval()
    randomise(model, torch.Generator().manual_seed(3))
    torch.onnx.export(model, (torch.randn(1, 3, 32, 24),), os.path.join(out, "topdown-student.onnx"), input_names=["input"],
                      output_names=["heatmaps"], opset_version=17, dynamic_axes={"input": {0: "batch"}, "heatmaps": {0: "batch"}},
                      training=torch.onnx.TrainingMode.TRAINING, do_constant_folding=False)
    manifest = {"format": "omnidistill-model", "version": 1, "role": "keypoints", "layout": "topdown-heatmap",
                "inputs": {"image": "input"}, "outputs": {"heatmaps": "heatmaps"},
                "pixels": {"mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]}, "keypoints": {"schema": "coco-person"}}
    with open(os.path.join(out, "topdown-student.json"), "w") as f:
        json.dump(manifest, f, indent=2)


if __name__ == "__main__":
    main()
    export_cli_student()

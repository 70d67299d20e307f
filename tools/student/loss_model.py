#!/usr/bin/python3
"""A top-down keypoint model exported by torch.onnx WITH its loss, for `omnidistill train
--model M.onnx --loss-output loss` (issue 14): inputs `input` [N, 3, 32, 24],
`heatmap_targets` int64 [N, 17] (flat cell y*w + x) and `heatmap_target_weights` [N, 17];
outputs `heatmaps` [N, 17, 8, 6] and `loss` (the spatial-softmax cross-entropy on the target
cell, Mask R-CNN's keypoint loss, written in torch with a comparison one-hot, since the
exported ops must be differentiable by the importer). The same weights are also exported
without the loss, so a test can check that both train identically.

Writes packages/cli/test/fixtures/models/heatmap-loss.{onnx,json} and heatmap-noloss.onnx.
Usage: /usr/bin/python3 tools/student/loss_model.py   (Debian python3-torch 1.13)
"""
import json
import os

import torch
import torch.nn as nn

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "packages", "cli", "test", "fixtures", "models")


class Heatmaps(nn.Module):
    def __init__(self, k=17):
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.ReLU(), nn.Conv2d(8, 16, 3, 2, 1), nn.ReLU())
        self.final = nn.Conv2d(16, k, 1)

    def forward(self, x):
        return self.final(self.backbone(x))


class WithLoss(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x, targets, weights):
        heat = self.net(x)
        n, k, h, w = heat.shape
        logp = torch.log_softmax(heat.reshape(n, k, h * w), -1)
        onehot = (torch.arange(h * w).reshape(1, 1, -1) == targets.unsqueeze(-1)).float()
        picked = (logp * onehot).sum(-1)
        loss = -(picked * weights).sum() / torch.clamp(weights.sum(), min=1)
        return heat, loss


def main():
    torch.manual_seed(9)
    net = Heatmaps().eval()
    x = torch.randn(2, 3, 32, 24)
    t = torch.randint(0, 48, (2, 17))
    wts = torch.ones(2, 17)
    batch = {0: "batch"}
    torch.onnx.export(WithLoss(net), (x, t, wts), os.path.join(OUT, "heatmap-loss.onnx"), opset_version=17,
                      input_names=["input", "heatmap_targets", "heatmap_target_weights"], output_names=["heatmaps", "loss"],
                      dynamic_axes={"input": batch, "heatmap_targets": batch, "heatmap_target_weights": batch, "heatmaps": batch})
    torch.onnx.export(net, (x,), os.path.join(OUT, "heatmap-noloss.onnx"), opset_version=17, input_names=["input"], output_names=["heatmaps"],
                      dynamic_axes={"input": batch, "heatmaps": batch})
    manifest = {"format": "omnidistill-model", "version": 1, "role": "keypoints", "layout": "topdown-heatmap",
                "inputs": {"image": "input"}, "outputs": {"heatmaps": "heatmaps"},
                "pixels": {"mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]}, "keypoints": {"schema": "coco-person"}}
    with open(os.path.join(OUT, "heatmap-loss.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print("heatmap-loss.onnx, heatmap-noloss.onnx:", sum(p.numel() for p in net.parameters()), "params")


if __name__ == "__main__":
    main()

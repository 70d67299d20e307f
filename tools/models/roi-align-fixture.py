#!/usr/bin/python3
# Writes packages/models/test/fixtures/roi-align-torchvision.json: torchvision.ops.roi_align
# outputs for fixed features and RoIs (edge cases named), the oracle of the graph RoIAlign.
# Run with Debian's python3-torch/torchvision: /usr/bin/python3 tools/models/roi-align-fixture.py
import json, os
import torch
from torchvision.ops import roi_align

torch.manual_seed(0)
B, C, H, W = 2, 3, 9, 11
features = torch.randn(B, C, H, W, dtype=torch.float64)
# (batch, x1, y1, x2, y2) in image pixels; spatial_scale 1/4 → features cover 44 × 36 pixels.
cases = [
    ("inside", [0, 4.0, 6.0, 30.0, 26.0]),
    ("second image", [1, 2.5, 3.5, 40.0, 33.0]),
    ("tiny box", [0, 10.0, 10.0, 10.5, 10.8]),
    ("crosses the left/top border", [1, -6.0, -5.0, 12.0, 9.0]),
    ("crosses the right/bottom border", [0, 30.0, 20.0, 50.0, 44.0]),
    ("mostly outside", [1, -20.0, -20.0, 2.0, 1.0]),
    ("whole image", [0, 0.0, 0.0, 44.0, 36.0]),
]
rois = torch.tensor([c[1] for c in cases], dtype=torch.float64)
out = {}
for aligned in (True, False):
    for sr in (1, 2):
        y = roi_align(features, rois, output_size=(5, 5), spatial_scale=0.25, sampling_ratio=sr, aligned=aligned)
        out[f"aligned={aligned},sampling={sr}"] = y.flatten().tolist()
fixture = {
    "reason": "torchvision.ops.roi_align %s (float64), output 5x5, spatial_scale 0.25" % __import__("torchvision").__version__,
    "dims": [B, C, H, W],
    "features": features.flatten().tolist(),
    "cases": [c[0] for c in cases],
    "rois": [c[1] for c in cases],
    "outputs": out,
}
path = os.path.join(os.path.dirname(__file__), "..", "..", "packages", "models", "test", "fixtures", "roi-align-torchvision.json")
with open(path, "w") as f:
    json.dump(fixture, f)
print("wrote", os.path.normpath(path))

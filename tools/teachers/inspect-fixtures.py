#!/usr/bin/python3
# Writes tiny real torch.onnx exports (random weights, reduced widths) that `omnidistill
# inspect` / `check-model` are tested on: packages/cli/test/fixtures/models/
#   roi-kp-opset11.onnx   keypoint head on given RoIs, torchvision roi_align(aligned=True)
#                         exported at opset 11 (ONNX RoiAlign has no aligned mode: the trap)
#   roi-kp-opset16.onnx   the same head at opset 16 (coordinate_transformation_mode half_pixel)
#   tv-frcnn-opset11.onnx torchvision FasterRCNN (tiny backbone): rank-3 image, in-graph
#                         Resize to min_size, RoiAlign, NonMaxSuppression, int64 labels
# Run with Debian's python3-torch/torchvision: /usr/bin/python3 tools/teachers/inspect-fixtures.py
import os
import torch
from torch import nn
import torchvision
from torchvision.ops import roi_align, MultiScaleRoIAlign
from torchvision.models.detection import FasterRCNN
from torchvision.models.detection.rpn import AnchorGenerator
from torchvision.models.detection.faster_rcnn import TwoMLPHead, FastRCNNPredictor

torch.manual_seed(0)
OUT = os.path.join(os.path.dirname(__file__), "..", "..", "packages", "cli", "test", "fixtures", "models")
os.makedirs(OUT, exist_ok=True)


class RoiKeypointHead(nn.Module):
    """image [1, 3, H, W] + rois [N, 4] -> heatmaps [N, K, 2S, 2S] (Mask R-CNN-style head)."""

    def __init__(self, k=5, s=7):
        super().__init__()
        self.s = s
        self.stem = nn.Conv2d(3, 4, 3, stride=2, padding=1)
        self.head = nn.Conv2d(4, k, 3, padding=1)

    def forward(self, image, rois):
        f = torch.relu(self.stem(image))
        idx = torch.zeros(rois.shape[0], 1, dtype=rois.dtype)
        x = roi_align(f, torch.cat([idx, rois], 1), output_size=(self.s, self.s), spatial_scale=0.5, sampling_ratio=2, aligned=True)
        return nn.functional.interpolate(self.head(x), scale_factor=2.0, mode="bilinear", align_corners=False)


def export_roi_head(opset):
    m = RoiKeypointHead().eval()
    image = torch.rand(1, 3, 64, 48)
    rois = torch.tensor([[4.0, 6.0, 30.0, 50.0]])
    path = os.path.join(OUT, f"roi-kp-opset{opset}.onnx")
    torch.onnx.export(m, (image, rois), path, opset_version=opset, input_names=["image", "rois"], output_names=["heatmaps"],
                      dynamic_axes={"image": {2: "height", 3: "width"}, "rois": {0: "n"}, "heatmaps": {0: "n"}})
    print("wrote", os.path.normpath(path), os.path.getsize(path), "bytes")


class TinyBackbone(nn.Sequential):
    def __init__(self):
        super().__init__(nn.Conv2d(3, 8, 3, stride=4, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, stride=4, padding=1), nn.ReLU())
        self.out_channels = 8


def export_frcnn():
    anchors = AnchorGenerator(sizes=((16, 32),), aspect_ratios=((0.5, 1.0, 2.0),))
    pooler = MultiScaleRoIAlign(featmap_names=["0"], output_size=7, sampling_ratio=2)
    m = FasterRCNN(TinyBackbone(), num_classes=None, rpn_anchor_generator=anchors, box_roi_pool=pooler,
                   box_head=TwoMLPHead(8 * 7 * 7, 16), box_predictor=FastRCNNPredictor(16, 3),
                   min_size=64, max_size=96, box_score_thresh=0.0).eval()
    image = torch.rand(3, 48, 64)
    path = os.path.join(OUT, "tv-frcnn-opset11.onnx")
    torch.onnx.export(m, ([image],), path, opset_version=11, input_names=["images"], output_names=["boxes", "labels", "scores"],
                      dynamic_axes={"images": {1: "height", 2: "width"}, "boxes": {0: "d"}, "labels": {0: "d"}, "scores": {0: "d"}})
    print("wrote", os.path.normpath(path), os.path.getsize(path), "bytes")


export_roi_head(11)
export_roi_head(16)
export_frcnn()

#!/usr/bin/python3
"""A realistic detector teacher for tools/bench/label-overhead.bench.ts (BENCH_MODEL):
a torchvision Faster R-CNN with a MobileNetV3-Large FPN backbone, exported by torch.onnx with
an omnidistill manifest (layout `torchvision-detection`). Its weights are seeded random (no
downloads): the bench measures time, and a detector's cost does not depend on its weights,
except through the boxes it returns, which are pinned to a trained teacher's count instead: every
image gives the full `box_detections_per_img` = 100 candidates above the 0.05 that label's box
merging starts from (the class weights × 400 turn the random head's near-uniform scores into one
clear class; the threshold of 0.001 keeps every candidate, as labeling does). The random backbone
gives every RoI the same features, so the candidates share one class and score; their boxes (the
RPN's proposals) differ, so NMS and box voting do real work on 100 boxes per transform.

Run with Debian's python3-torch 1.13 / torchvision 0.14 (about a minute on 2 cores):
    /usr/bin/python3 tools/bench/export_teacher.py OUT_DIR [mobilenet-320|mobilenet]
Writes OUT_DIR/teacher.onnx (~75 MB: not committed; the bench exports it into a cache folder)
and OUT_DIR/teacher.json.
- mobilenet-320: fasterrcnn_mobilenet_v3_large_320_fpn, every image resized in the graph to
  shorter side 320 (torchvision's mobile detector; the cheapest realistic teacher).
- mobilenet: fasterrcnn_mobilenet_v3_large_fpn at torchvision's default 800 px shorter side.
"""
import json
import os
import sys

import torch
import torchvision
from torchvision.models.detection import fasterrcnn_mobilenet_v3_large_320_fpn, fasterrcnn_mobilenet_v3_large_fpn

BUILDERS = {
    'mobilenet-320': fasterrcnn_mobilenet_v3_large_320_fpn,
    'mobilenet': fasterrcnn_mobilenet_v3_large_fpn,
}


def main():
    if len(sys.argv) < 2 or (len(sys.argv) > 2 and sys.argv[2] not in BUILDERS):
        sys.exit(f'usage: export_teacher.py OUT_DIR [{"|".join(BUILDERS)}]')
    out = sys.argv[1]
    name = sys.argv[2] if len(sys.argv) > 2 else 'mobilenet-320'
    torch.manual_seed(0)
    model = BUILDERS[name](weights=None, weights_backbone=None, num_classes=91, box_score_thresh=0.001).eval()
    with torch.no_grad():
        model.roi_heads.box_predictor.cls_score.weight.mul_(400)
    os.makedirs(out, exist_ok=True)
    # Traced on a 4:3 image; the graph resizes any input to its own min_size.
    example = torch.rand(3, 480, 640, generator=torch.Generator().manual_seed(0))
    # torchvision's RoIAlign(aligned=False) is opset 11's RoiAlign (opset >= 16 exports the wrong one).
    torch.onnx.export(model, ([example],), os.path.join(out, 'teacher.onnx'), opset_version=11,
                      input_names=['image'], output_names=['boxes', 'labels', 'scores'],
                      dynamic_axes={'image': [1, 2], 'boxes': [0], 'labels': [0], 'scores': [0]}, do_constant_folding=True)
    manifest = {'format': 'omnidistill-model', 'version': 1, 'role': 'detector', 'layout': 'torchvision-detection',
                'inputs': {'image': 'image'}, 'outputs': {'boxes': 'boxes', 'scores': 'scores', 'labels': 'labels'}}
    with open(os.path.join(out, 'teacher.json'), 'w') as f:
        json.dump(manifest, f, indent=2)
        f.write('\n')
    print(f'{name}: torch {torch.__version__}, torchvision {torchvision.__version__} -> {out}/teacher.onnx')


if __name__ == '__main__':
    main()

#!/usr/bin/python3
"""Trains a small torchvision keypoint R-CNN on @omnidistill/synth keypoint data and exports
it (opset 11) with its `torchvision-detection` manifest: a real, trained regressed-keypoint
teacher for measuring multi-transform fusion (tools/layouts/regressed-ap.ts).

    /usr/bin/python3 tools/layouts/train_keypointrcnn.py DATA_DIR OUT_DIR [SECONDS]

DATA_DIR holds the synth `labeled/` split (annotations.json + images/). Training stops after
SECONDS of wall time (default 300) on the CPU; seeded, but thread timing makes the exact
number of steps machine-dependent.
"""
import json
import os
import sys
import time

import cv2
import numpy as np
import torch
import torch.nn as nn
from torchvision.models.detection import KeypointRCNN
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.models.detection.keypoint_rcnn import KeypointRCNNHeads, KeypointRCNNPredictor
from torchvision.ops import MultiScaleRoIAlign

FLIP = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]


class Backbone(nn.Sequential):
    def __init__(self, c=48):
        layers = []
        for cin, cout, s in ((3, c, 2), (c, c, 1), (c, c, 2), (c, c, 1), (c, c, 2), (c, c, 1)):
            layers += [nn.Conv2d(cin, cout, 3, s, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]
        super().__init__(*layers)
        self.out_channels = c


def build():
    c = 32
    return KeypointRCNN(Backbone(c), num_classes=None,
                        rpn_anchor_generator=AnchorGenerator(sizes=((12, 24, 48, 96),), aspect_ratios=((0.5, 1.0, 2.0),)),
                        box_roi_pool=MultiScaleRoIAlign(['0'], 7, 2), box_head=TwoMLPHead(c * 49, 128), box_predictor=FastRCNNPredictor(128, 2),
                        keypoint_roi_pool=MultiScaleRoIAlign(['0'], 14, 2), keypoint_head=KeypointRCNNHeads(c, (32, 32, 32, 32)),
                        keypoint_predictor=KeypointRCNNPredictor(32, 17), min_size=128, max_size=128,
                        box_detections_per_img=20, box_score_thresh=0.01,
                        # few sampled RoIs per image: the keypoint head trains on the positives among them
                        box_batch_size_per_image=64, rpn_batch_size_per_image=64)


def load(split_dir):
    coco = json.load(open(os.path.join(split_dir, 'annotations.json')))
    by_image = {}
    for a in coco['annotations']:
        by_image.setdefault(a['image_id'], []).append(a)
    samples = []
    for im in coco['images']:
        anns = [a for a in by_image.get(im['id'], []) if a['bbox'][2] > 1 and a['bbox'][3] > 1]
        if not anns:
            continue
        img = cv2.imread(os.path.join(split_dir, 'images', im['file_name']))[..., ::-1].copy()
        boxes = torch.tensor([[a['bbox'][0], a['bbox'][1], a['bbox'][0] + a['bbox'][2], a['bbox'][1] + a['bbox'][3]] for a in anns], dtype=torch.float32)
        kps = torch.tensor([a['keypoints'] for a in anns], dtype=torch.float32).reshape(-1, 17, 3)
        kps[..., 2] = (kps[..., 2] > 0).float()
        samples.append((torch.from_numpy(img).permute(2, 0, 1).float() / 255, boxes, kps))
    return samples


def flipped(img, boxes, kps):
    w = img.shape[-1]
    b = boxes.clone()
    b[:, 0], b[:, 2] = w - boxes[:, 2], w - boxes[:, 0]
    k = kps[:, FLIP].clone()
    k[..., 0] = torch.where(k[..., 2] > 0, w - k[..., 0], k[..., 0])
    return img.flip(-1), b, k


def main():
    data, out = sys.argv[1], sys.argv[2]
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 300
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    torch.set_num_threads(2)
    samples = load(os.path.join(data, 'labeled'))
    model = build()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=0.02, momentum=0.9, weight_decay=1e-4)
    model.train()
    start, step, batch = time.time(), 0, 4
    while time.time() - start < seconds:
        idx = rng.choice(len(samples), batch, replace=False)
        images, targets = [], []
        for i in idx:
            img, boxes, kps = samples[i]
            if rng.random() < 0.5:
                img, boxes, kps = flipped(img, boxes, kps)
            images.append(img)
            targets.append({'boxes': boxes, 'labels': torch.ones(len(boxes), dtype=torch.int64), 'keypoints': kps})
        lr = 0.02 * min(1.0, (step + 1) / 100)
        if time.time() - start > 0.8 * seconds:
            lr *= 0.1
        for g in opt.param_groups:
            g['lr'] = lr
        losses = model(images, targets)
        loss = sum(losses.values())
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 20 == 0:
            print(f'step {step} {time.time() - start:.0f}s loss {loss.item():.3f} ' + ' '.join(f'{k}={v.item():.3f}' for k, v in losses.items()), flush=True)
        step += 1
    model.eval()
    os.makedirs(out, exist_ok=True)
    example = torch.rand(3, 96, 96)
    torch.onnx.export(model, ([example],), os.path.join(out, 'keypointrcnn.onnx'), opset_version=11, input_names=['image'],
                      output_names=['boxes', 'labels', 'scores', 'keypoints', 'keypoints_scores'],
                      dynamic_axes={'image': [1, 2], 'boxes': [0], 'labels': [0], 'scores': [0], 'keypoints': [0], 'keypoints_scores': [0]})
    with open(os.path.join(out, 'keypointrcnn.json'), 'w') as f:
        json.dump({'format': 'omnidistill-model', 'version': 1, 'role': 'keypoints', 'layout': 'torchvision-detection', 'inputs': {'image': 'image'},
                   'outputs': {'boxes': 'boxes', 'scores': 'scores', 'labels': 'labels', 'keypoints': 'keypoints', 'keypointScores': 'keypoints_scores'},
                   'keypoints': {'schema': 'coco-person', 'categoryId': 1}}, f, indent=2)
    print(f'trained {step} steps in {time.time() - start:.0f}s; wrote {out}/keypointrcnn.onnx')


if __name__ == '__main__':
    main()

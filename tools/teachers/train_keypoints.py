#!/usr/bin/python3
"""Trains a small keypoint model of one layout in torch on COCO keypoint data (the synthetic
people of `omnidistill synth`, optionally plus generated labels from `omnidistill label`) and
exports it with torch.onnx and its omnidistill manifest: the teachers (and, for the
self-detecting layouts, the students) of tools/teachers/keypoint-teachers.sh.

    /usr/bin/python3 tools/teachers/train_keypoints.py LAYOUT OUT_BASE --labeled L.json --images DIR
        --steps N [--generated G.json --generated-images DIR --labeled-fraction 0.6]
        [--batch B] [--lr X] [--seed S] [--threads T]

LAYOUT: topdown-heatmap | simcc | yolo-pose | keypointrcnn. Writes OUT_BASE.onnx + OUT_BASE.json;
yolo-pose also OUT_BASE-detector.onnx/.json (the same network's box + person-score channels as
a `yolo` detector, the person boxes of the top-down teachers).

The top-down crops reproduce packages/infer's `topdown-heatmap` / `simcc` adapters and the
`omnidistill train --model` student trainer (tools/layouts/export.py states the conventions):
box jittered by U(-5%, 5%) per side, made to the input's aspect, times 1.25, bilinear with
half-pixel centres, 0 outside; flip with left/right channel swap; heatmap loss = softmax cross-
entropy over the cells, SimCC loss = cross-entropy against a Gaussian (sigma 6 bins), as the
CLI trainer. AdamW, learning rate ÷10 at 70% and 90% of the steps, as `omnidistill train`.
"""
import argparse
import json
import math
import os
import sys
import time

import cv2
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'layouts'))
from export import COCO_FLIP, MEAN, STD  # noqa: E402  (the layouts' conventions)

K = 17
FLIP = list(range(K))
for a, b in COCO_FLIP:
    FLIP[a], FLIP[b] = b, a
CROP_HW = (64, 48)
PADDING = 1.25
SPLIT = 2.0
SIMCC_SIGMA = 6.0
SIMCC_MAPS = 4
JITTER = 0.05
MANIFEST_BASE = {'format': 'omnidistill-model', 'version': 1, 'role': 'keypoints'}
COCO_KEYPOINTS = {'schema': 'coco-person', 'categoryId': 1}


# ---------------------------------------------------------------------------- data

def load_split(annotations, images_dir):
    """Images (float [3, H, W] in 0..1, RGB) and their instances: boxes x1y1x2y2 [N, 4], keypoints [N, K, 3]."""
    coco = json.load(open(annotations))
    by_image = {}
    for a in coco.get('annotations', []):
        if a.get('iscrowd', 0) or a['bbox'][2] <= 1 or a['bbox'][3] <= 1 or a.get('num_keypoints', 1) == 0:
            continue
        by_image.setdefault(a['image_id'], []).append(a)
    samples = []
    for im in coco['images']:
        anns = by_image.get(im['id'], [])
        img = cv2.imread(os.path.join(images_dir, im['file_name']), cv2.IMREAD_COLOR)
        if img is None:
            raise SystemExit(f'{images_dir}/{im["file_name"]}: cannot read the image')
        chw = torch.from_numpy(img[..., ::-1].copy()).permute(2, 0, 1).float() / 255
        boxes = torch.tensor([[a['bbox'][0], a['bbox'][1], a['bbox'][0] + a['bbox'][2], a['bbox'][1] + a['bbox'][3]] for a in anns], dtype=torch.float32).reshape(-1, 4)
        kps = torch.tensor([a['keypoints'] for a in anns], dtype=torch.float32).reshape(-1, K, 3)
        kps[..., 2] = (kps[..., 2] > 0).float()
        samples.append((chw, boxes, kps))
    return samples


class Sources:
    """Labeled samples and generated ones. Every minibatch mixes both in a fixed ratio — exactly
    round(labeled_fraction · B) labeled samples, the rest generated, in a shuffled order (the
    paper's students see manually and automatically labeled data in each minibatch; 6:4 by
    default) —, so no batch is all generated."""

    def __init__(self, args, rng):
        self.rng = rng
        self.labeled = load_split(args.labeled, args.images)
        self.generated = load_split(args.generated, args.generated_images) if args.generated else []
        self.fraction = args.labeled_fraction if self.generated else 1.0
        self.pending = []
        print(f'{len(self.labeled)} labeled images, {len(self.generated)} with generated labels', flush=True)

    def start_batch(self, size):
        """The pools of the next `size` draws: the batch's labeled/generated mix (nothing to plan
        without generated labels: the draws then stay those of the teachers measured before)."""
        if not self.generated:
            return
        n_labeled = round(self.fraction * size)
        pools = [self.labeled] * n_labeled + [self.generated] * (size - n_labeled)
        self.pending = [pools[i] for i in self.rng.permutation(size)]

    def image(self, with_instances=True):
        pool = self.pending.pop() if self.pending else self.labeled if self.rng.random() < self.fraction else self.generated
        while True:
            s = pool[self.rng.integers(len(pool))]
            if not with_instances or len(s[1]):
                return s


def flip_instances(w, boxes, kps):
    b = boxes.clone()
    b[:, 0], b[:, 2] = w - boxes[:, 2], w - boxes[:, 0]
    k = kps[:, FLIP].clone()
    k[..., 0] = torch.where(k[..., 2] > 0, w - k[..., 0], k[..., 0])
    return b, k


def normalise(x):
    return (x - torch.tensor(MEAN)[:, None, None]) / torch.tensor(STD)[:, None, None]


# ---------------------------------------------------------------------------- top-down

def crop_batch(sources, batch):
    """Person crops [B, 3, h, w] (normalised) and their keypoints in crop pixels [B, K, 3]."""
    hin, win = CROP_HW
    rng = sources.rng
    crops, targets = [], []
    u = torch.arange(win, dtype=torch.float32) + 0.5
    v = torch.arange(hin, dtype=torch.float32) + 0.5
    for _ in range(batch):
        img, boxes, kps = sources.image()
        i = rng.integers(len(boxes))
        x1, y1, x2, y2 = boxes[i].tolist()
        bw, bh = x2 - x1, y2 - y1
        x1, x2 = x1 + rng.uniform(-JITTER, JITTER) * bw, x2 + rng.uniform(-JITTER, JITTER) * bw
        y1, y2 = y1 + rng.uniform(-JITTER, JITTER) * bh, y2 + rng.uniform(-JITTER, JITTER) * bh
        cx, cy, w, h = (x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1
        if w > h * win / hin:
            h = w * hin / win
        else:
            w = h * win / hin
        w, h = w * PADDING, h * PADDING
        flip = rng.random() < 0.5
        uu = win - u if flip else u
        xs = (cx - w / 2 + uu * w / win)[None].expand(hin, win)
        ys = (cy - h / 2 + v * h / hin)[:, None].expand(hin, win)
        _, H, W = img.shape
        grid = torch.stack([2 * xs / W - 1, 2 * ys / H - 1], -1)[None]
        crops.append(F.grid_sample(img[None], grid, mode='bilinear', padding_mode='zeros', align_corners=False)[0])
        k = kps[i].clone()
        k[:, 0] = (k[:, 0] - (cx - w / 2)) * win / w
        k[:, 1] = (k[:, 1] - (cy - h / 2)) * hin / h
        if flip:
            k = k[FLIP]
            k[:, 0] = win - k[:, 0]
        inside = (k[:, 0] >= 0) & (k[:, 0] < win) & (k[:, 1] >= 0) & (k[:, 1] < hin)
        k[:, 2] = k[:, 2] * inside.float()
        targets.append(k)
    return normalise(torch.stack(crops)), torch.stack(targets)


def conv_bn(cin, cout, s=1):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, s, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


class TopDown(nn.Module):
    """SimpleBaseline-like: stride-8 features, nearest ×2 + conv → heatmaps [1, K, h/4, w/4]; or
    SimCC: 1×1 conv to K × 4 maps at stride 8, each keypoint's 4 maps flattened, linear to x [1, K, w·2] and y [1, K, h·2]."""

    def __init__(self, simcc):
        super().__init__()
        hin, win = CROP_HW
        self.simcc = simcc
        self.body = nn.Sequential(conv_bn(3, 16, 2), conv_bn(16, 16), conv_bn(16, 32, 2), conv_bn(32, 32), conv_bn(32, 48, 2), conv_bn(48, 48))
        if simcc:
            self.fc = nn.Conv2d(48, K * SIMCC_MAPS, 1)
            self.features = SIMCC_MAPS * (hin // 8) * (win // 8)
            self.x = nn.Linear(self.features, int(win * SPLIT))
            self.y = nn.Linear(self.features, int(hin * SPLIT))
        else:
            self.up = conv_bn(48, 32)
            self.head = nn.Conv2d(32, K, 1)

    def forward(self, input):
        f = self.body(input)
        if self.simcc:
            # a constant target shape: the batch axis stays free in the export (f.shape[0] would be
            # traced as the example's 1, and the student trainer feeds batches of crops)
            g = self.fc(f).reshape(-1, K, self.features)
            return self.x(g), self.y(g)
        return self.head(self.up(F.interpolate(f, scale_factor=2.0, mode='nearest')))


def heatmap_loss(logits, kps):
    b, k, h, w = logits.shape
    hin, win = CROP_HW
    j = (kps[..., 0] * w / win).floor().clamp(0, w - 1)
    i = (kps[..., 1] * h / hin).floor().clamp(0, h - 1)
    target = (i * w + j).long()
    ce = F.cross_entropy(logits.reshape(b * k, h * w), target.reshape(-1), reduction='none')
    weight = kps[..., 2].reshape(-1)
    return (ce * weight).sum() / weight.sum().clamp(min=1)


def simcc_loss(out, kps):
    hin, win = CROP_HW
    sx, sy = out
    weight = kps[..., 2]

    def axis(logits, pos, n):
        bins = torch.arange(n, dtype=torch.float32)
        centre = (pos[..., None] * SPLIT - 0.5).clamp(0, n - 1)  # weight 0 outside; no 0/0 below
        g = torch.exp(-((bins - centre) ** 2) / (2 * SIMCC_SIGMA ** 2))
        g = g / g.sum(-1, keepdim=True)
        return -(g * F.log_softmax(logits, -1)).sum(-1)

    ce = axis(sx, kps[..., 0], int(win * SPLIT)) + axis(sy, kps[..., 1], int(hin * SPLIT))
    return (ce * weight).sum() / weight.sum().clamp(min=1)


def export_topdown(model, out, simcc):
    model.eval()
    hin, win = CROP_HW
    names = ['simcc_x', 'simcc_y'] if simcc else ['heatmaps']
    # PRESERVE keeps the BatchNormalization nodes (EVAL would fold them into the convs), so that
    # `omnidistill train --model … --batch-norm batch` can train the exported graph as a student.
    torch.onnx.export(model, (torch.zeros(1, 3, hin, win),), out + '.onnx', opset_version=17, input_names=['input'], output_names=names,
                      training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
    manifest = {**MANIFEST_BASE, 'layout': 'simcc' if simcc else 'topdown-heatmap', 'inputs': {'image': 'input'},
                'outputs': {'x': 'simcc_x', 'y': 'simcc_y'} if simcc else {'heatmaps': 'heatmaps'},
                'pixels': {'mean': MEAN, 'std': STD}, 'layoutOptions': {'padding': PADDING, **({'splitRatio': SPLIT} if simcc else {})},
                'keypoints': COCO_KEYPOINTS}
    write_json(out + '.json', manifest)


# ---------------------------------------------------------------------------- yolo-pose

STRIDE = 8
PAD = 114 / 255


class YoloPose(nn.Module):
    """A tiny anchor-free pose head at stride 8 (with stride-16 context), exported in the raw
    Ultralytics pose layout [1, 4 + 1 + 3K, A]: cx, cy, w, h (input pixels), person
    probability, then x, y (input pixels), visibility probability per keypoint."""

    def __init__(self):
        super().__init__()
        act = nn.SiLU
        self.s8 = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1), nn.BatchNorm2d(16), act(), nn.Conv2d(16, 32, 3, 2, 1), nn.BatchNorm2d(32), act(),
                                nn.Conv2d(32, 48, 3, 2, 1), nn.BatchNorm2d(48), act(), nn.Conv2d(48, 48, 3, 1, 1), nn.BatchNorm2d(48), act())
        self.s16 = nn.Sequential(nn.Conv2d(48, 64, 3, 2, 1), nn.BatchNorm2d(64), act(), nn.Conv2d(64, 48, 3, 1, 1), nn.BatchNorm2d(48), act())
        self.neck = nn.Sequential(nn.Conv2d(48, 64, 3, 1, 1), nn.BatchNorm2d(64), act())
        self.head = nn.Conv2d(64, 5 + 3 * K, 1)
        with torch.no_grad():
            self.head.bias[4] = -4.0  # few positives: start with low person scores

    def raw(self, x):
        f = self.s8(x)
        f = f + F.interpolate(self.s16(f), size=f.shape[-2:], mode='nearest')
        return self.head(self.neck(f))

    @staticmethod
    def grid(h, w):
        gy, gx = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing='ij')
        return torch.stack([gx, gy]).reshape(1, 2, h * w)

    def forward(self, images):
        p = self.raw(images)
        b, c, h, w = p.shape
        grid = self.grid(h, w)
        p = p.reshape(b, c, h * w)
        xy = (grid + 0.5 + 2 * torch.tanh(p[:, 0:2])) * STRIDE
        wh = torch.exp(p[:, 2:4].clamp(-4, 4)) * STRIDE * 4
        score = torch.sigmoid(p[:, 4:5])
        kp = p[:, 5:].reshape(b, K, 3, h * w)
        kxy = (kp[:, :, 0:2] * 2 + grid.reshape(1, 1, 2, h * w) + 0.5) * STRIDE
        kv = torch.sigmoid(kp[:, :, 2:3])
        return torch.cat([xy, wh, score, torch.cat([kxy, kv], 2).reshape(b, 3 * K, h * w)], 1)


class YoloDetector(nn.Module):
    """The pose network's first five channels: a one-class `yolo` detector [1, 5, A]."""

    def __init__(self, pose):
        super().__init__()
        self.pose = pose

    def forward(self, images):
        return self.pose(images)[:, :5]


def yolo_batch(sources, batch):
    """A batch at one random scale (0.75…1.5, padded to a multiple of the stride with 114) with flips."""
    rng = sources.rng
    s = rng.uniform(0.75, 1.5)
    items = [sources.image(with_instances=False) for _ in range(batch)]
    _, H, W = items[0][0].shape
    nh, nw = round(H * s), round(W * s)
    ph, pw = math.ceil(nh / 32) * 32, math.ceil(nw / 32) * 32
    images = torch.full((batch, 3, ph, pw), PAD)
    targets = []
    for n, (img, boxes, kps) in enumerate(items):
        if rng.random() < 0.5:
            img = img.flip(-1)
            boxes, kps = flip_instances(W, boxes, kps)
        images[n, :, :nh, :nw] = F.interpolate(img[None], size=(nh, nw), mode='bilinear', align_corners=False)[0]
        k = kps.clone()
        k[..., :2] *= torch.tensor([nw / W, nh / H])
        targets.append((boxes * torch.tensor([nw / W, nh / H, nw / W, nh / H]), k))
    return images, targets


def yolo_loss(model, images, targets):
    """Positives: the cells within 1.5 cells of each person's centre (the nearest person's);
    objectness BCE everywhere; L1 on centre, log size and visible keypoints (in cells, keypoints
    divided by the person's size in cells); BCE on keypoint visibility."""
    p = model.raw(images)
    b, c, h, w = p.shape
    p = p.reshape(b, c, h * w)
    grid = YoloPose.grid(h, w)[0].T  # [A, 2] cell indices
    centres = (grid + 0.5) * STRIDE
    obj_t = torch.zeros(b, h * w)
    box_l, kp_l, vis_l, npos = 0.0, 0.0, 0.0, 0
    for n, (boxes, kps) in enumerate(targets):
        if not len(boxes):
            continue
        bc = (boxes[:, :2] + boxes[:, 2:]) / 2
        d = (centres[:, None] - bc[None]).abs().max(-1).values / STRIDE  # [A, N]
        dist, owner = d.min(1)
        pos = dist < 1.5
        if not pos.any():
            continue
        obj_t[n, pos] = 1
        o = owner[pos]
        q = p[n, :, pos].T  # [P, c]
        g = grid[pos]
        xy = g + 0.5 + 2 * torch.tanh(q[:, 0:2])
        box = boxes[o] / STRIDE
        wh_t = (box[:, 2:] - box[:, :2]).clamp(min=1e-3)
        box_l = box_l + (xy - (box[:, :2] + box[:, 2:]) / 2).abs().sum() + (q[:, 2:4].clamp(-4, 4) - torch.log(wh_t / 4)).abs().sum()
        kq = q[:, 5:].reshape(-1, K, 3)
        kxy = kq[..., 0:2] * 2 + g[:, None] + 0.5
        kt = kps[o]
        vis = kt[..., 2]
        size = wh_t.max(-1).values[:, None, None]
        kp_l = kp_l + ((kxy - kt[..., :2] / STRIDE).abs() / size * vis[..., None]).sum() * 8
        vis_l = vis_l + F.binary_cross_entropy_with_logits(kq[..., 2], vis, reduction='sum') / K
        npos += int(pos.sum())
    npos = max(npos, 1)
    obj = F.binary_cross_entropy_with_logits(p[:, 4], obj_t, reduction='sum') / npos
    return obj + (box_l + kp_l + vis_l) / npos


def export_yolo(model, out):
    model.eval()
    dyn = {'images': {2: 'h', 3: 'w'}, 'output0': {2: 'anchors'}}
    torch.onnx.export(model, (torch.zeros(1, 3, 96, 96),), out + '.onnx', opset_version=17, input_names=['images'], output_names=['output0'], dynamic_axes=dyn)
    # At most 3 people per synthetic image: few candidates keep the regressed-keypoint fusion and
    # the top-down models (every detector box is a RoI, run through the whole plan) cheap; on the
    # val images the detector's box AP is 34.7 with all its boxes, 34.3 above 0.1.
    options = {'stride': 32, 'nmsThreshold': 0.6, 'scoreThreshold': 0.01, 'maxDetections': 30}
    detector = {**options, 'scoreThreshold': 0.1, 'maxDetections': 10}
    write_json(out + '.json', {**MANIFEST_BASE, 'layout': 'yolo', 'inputs': {'image': 'images'}, 'outputs': {'predictions': 'output0'},
                               'pixels': {'scale': 255}, 'layoutOptions': options, 'keypoints': COCO_KEYPOINTS})
    torch.onnx.export(YoloDetector(model).eval(), (torch.zeros(1, 3, 96, 96),), out + '-detector.onnx', opset_version=17, input_names=['images'],
                      output_names=['output0'], dynamic_axes=dyn)
    write_json(out + '-detector.json', {'format': 'omnidistill-model', 'version': 1, 'role': 'detector', 'layout': 'yolo', 'inputs': {'image': 'images'},
                                        'outputs': {'predictions': 'output0'}, 'pixels': {'scale': 255}, 'layoutOptions': detector, 'categoryIds': [1]})


# ---------------------------------------------------------------------------- keypoint R-CNN

def keypointrcnn_model():
    from torchvision.models.detection import KeypointRCNN
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
    from torchvision.models.detection.keypoint_rcnn import KeypointRCNNHeads, KeypointRCNNPredictor
    from torchvision.ops import MultiScaleRoIAlign

    c = 32
    body = nn.Sequential(conv_bn(3, 16, 2), conv_bn(16, 32, 2), conv_bn(32, c), conv_bn(c, c, 2), conv_bn(c, c))
    body.out_channels = c
    return KeypointRCNN(body, num_classes=None,
                        rpn_anchor_generator=AnchorGenerator(sizes=((24, 48, 96),), aspect_ratios=((0.5, 1.0),)),
                        box_roi_pool=MultiScaleRoIAlign(['0'], 7, 2), box_head=TwoMLPHead(c * 49, 128), box_predictor=FastRCNNPredictor(128, 2),
                        keypoint_roi_pool=MultiScaleRoIAlign(['0'], 14, 2), keypoint_head=KeypointRCNNHeads(c, (32, 32)),
                        keypoint_predictor=KeypointRCNNPredictor(32, K), min_size=96, max_size=96,
                        box_detections_per_img=20, box_score_thresh=0.01, rpn_pre_nms_top_n_train=300, rpn_post_nms_top_n_train=100,
                        rpn_pre_nms_top_n_test=300, rpn_post_nms_top_n_test=50, box_batch_size_per_image=32, rpn_batch_size_per_image=64)


def keypointrcnn_batch(sources, batch):
    images, targets = [], []
    for _ in range(batch):
        img, boxes, kps = sources.image()
        if sources.rng.random() < 0.5:
            boxes, kps = flip_instances(img.shape[-1], boxes, kps)
            img = img.flip(-1)
        images.append(img)
        targets.append({'boxes': boxes, 'labels': torch.ones(len(boxes), dtype=torch.int64), 'keypoints': kps})
    return images, targets


def export_keypointrcnn(model, out):
    model.eval()
    # opset 11: torchvision's RoIAlign(aligned=False) (packages/infer README, "torchvision-detection")
    torch.onnx.export(model, ([torch.rand(3, 96, 96)],), out + '.onnx', opset_version=11, input_names=['image'],
                      output_names=['boxes', 'labels', 'scores', 'keypoints', 'keypoints_scores'],
                      dynamic_axes={'image': [1, 2], 'boxes': [0], 'labels': [0], 'scores': [0], 'keypoints': [0], 'keypoints_scores': [0]})
    write_json(out + '.json', {**MANIFEST_BASE, 'layout': 'torchvision-detection', 'inputs': {'image': 'image'},
                               'outputs': {'boxes': 'boxes', 'scores': 'scores', 'labels': 'labels', 'keypoints': 'keypoints', 'keypointScores': 'keypoints_scores'},
                               'keypoints': COCO_KEYPOINTS})


# ---------------------------------------------------------------------------- main

def write_json(path, value):
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(value, f, indent=2)
        f.write('\n')
    os.replace(tmp, path)


LAYOUTS = {
    # layout: (model, batch function, loss(model, inputs, targets), export, default batch, default lr)
    'topdown-heatmap': (lambda: TopDown(False), crop_batch, lambda m, x, t: heatmap_loss(m(x), t), lambda m, o: export_topdown(m, o, False), 32, 2e-3),
    'simcc': (lambda: TopDown(True), crop_batch, lambda m, x, t: simcc_loss(m(x), t), lambda m, o: export_topdown(m, o, True), 32, 2e-3),
    'yolo-pose': (YoloPose, yolo_batch, yolo_loss, export_yolo, 16, 2e-3),
    'keypointrcnn': (keypointrcnn_model, keypointrcnn_batch, lambda m, x, t: sum(m(x, t).values()), export_keypointrcnn, 4, 2e-3),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('layout', choices=sorted(LAYOUTS))
    ap.add_argument('out', help='output base path (writes OUT.onnx + OUT.json)')
    ap.add_argument('--labeled', required=True)
    ap.add_argument('--images', required=True)
    ap.add_argument('--generated')
    ap.add_argument('--generated-images')
    ap.add_argument('--labeled-fraction', type=float, default=0.6)
    ap.add_argument('--steps', type=int, required=True)
    ap.add_argument('--batch', type=int)
    ap.add_argument('--lr', type=float)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--threads', type=int, default=1)
    args = ap.parse_args()
    if args.generated and not args.generated_images:
        ap.error('--generated needs --generated-images')
    build, make_batch, loss_of, export, batch, lr = LAYOUTS[args.layout]
    batch, lr = args.batch or batch, args.lr or lr
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    sources = Sources(args, np.random.default_rng(args.seed))
    model = build()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr, weight_decay=1e-4)
    model.train()
    start = time.time()
    for step in range(args.steps):
        f = step / args.steps
        for g in opt.param_groups:
            g['lr'] = lr * min(1.0, (step + 1) / 50) * (0.01 if f >= 0.9 else 0.1 if f >= 0.7 else 1.0)
        sources.start_batch(batch)
        x, t = make_batch(sources, batch)
        loss = loss_of(model, x, t)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 50 == 0 or step == args.steps - 1:
            print(f'step {step} {time.time() - start:.0f}s loss {loss.item():.4f}', flush=True)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    export(model, args.out)
    params = sum(p.numel() for p in model.parameters())
    print(f'{args.layout}: {params} parameters, {args.steps} steps of {batch} in {time.time() - start:.0f}s → {args.out}.onnx', flush=True)


if __name__ == '__main__':
    main()

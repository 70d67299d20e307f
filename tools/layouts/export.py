#!/usr/bin/python3
"""Proof fixtures of the model layouts (packages/infer/src/layouts): reduced-width models with
seeded random weights (no downloads), exported with torch.onnx.export, a few small test images,
and torch's golden outputs after torch's own pre/post-processing.

Run with Debian's python3-torch 1.13 / torchvision 0.14:
    /usr/bin/python3 tools/layouts/export.py packages/infer/test/layouts
Writes MODEL.onnx + MODEL.json (manifest) per model, images/*.png and golden.json.

Conventions the TypeScript adapters must reproduce (continuous pixel coordinates: the image
spans [0, W], pixel i covers [i, i + 1]):
- bilinear sampling at continuous x reads pixel-index x - 0.5 (half-pixel centres), neighbours
  outside the image take the fill value (torch grid_sample, align_corners=False);
- YOLO letterbox: r = min(Hin / h, Win / w), resize to round(w r) x round(h r) (bilinear,
  edges clamped: F.interpolate), pad (114) with left = round(dw - 0.1), top = round(dh - 0.1);
- top-down crop: the box made to the input's aspect ratio, times `padding`, mapped onto the
  input; heatmap cell j is the crop position (j + 0.5) * Win / w; decode = argmax + the
  quarter-cell shift toward the larger neighbour; SimCC bin i is (i + 0.5) / splitRatio.
"""
import json
import os
import sys
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torchvision.models.detection import FasterRCNN, KeypointRCNN
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.models.detection.keypoint_rcnn import KeypointRCNNHeads, KeypointRCNNPredictor
from torchvision.ops import MultiScaleRoIAlign, batched_nms

OUT = sys.argv[1] if len(sys.argv) > 1 else 'packages/infer/test/layouts'
K = 17
COCO_FLIP = [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10], [11, 12], [13, 14], [15, 16]]


def r6(x):
    """Rounds floats for the JSON (golden values keep 7 significant digits)."""
    if isinstance(x, (list, tuple)):
        return [r6(v) for v in x]
    return float('%.7g' % float(x))


# ---------------------------------------------------------------------------- images

def make_images():
    """Three small PNGs: odd sizes, one greyscale; smooth shapes so detectors see structure."""
    import cv2
    rng = np.random.default_rng(7)
    specs = [('odd-97x75.png', 97, 75, False), ('tall-64x120.png', 64, 120, False), ('grey-81x81.png', 81, 81, True)]
    images = {}
    os.makedirs(os.path.join(OUT, 'images'), exist_ok=True)
    for name, w, h, grey in specs:
        yy, xx = np.mgrid[0:h, 0:w]
        img = np.zeros((h, w, 3), np.float64)
        for c in range(3):
            img[..., c] = 60 + 50 * np.sin(xx / (5 + 3 * c)) + 40 * np.cos(yy / (7 + c))
        for _ in range(4):
            cx, cy = rng.integers(0, w), rng.integers(0, h)
            rx, ry = rng.integers(6, 20), rng.integers(10, 30)
            color = rng.integers(0, 255, 3)
            mask = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 < 1
            img[mask] = color
        img += rng.normal(0, 6, img.shape)
        img = np.clip(np.round(img), 0, 255).astype(np.uint8)
        if grey:
            g = img.mean(axis=2).round().astype(np.uint8)
            cv2.imwrite(os.path.join(OUT, 'images', name), g)
            img = np.stack([g, g, g], axis=2)
        else:
            cv2.imwrite(os.path.join(OUT, 'images', name), img[..., ::-1])
        images[name] = img  # RGB uint8, as the TypeScript decoder gives it
    return images


def boxes_for(name, w, h):
    """Person boxes for the top-down models: one inside, one crossing the image edge."""
    return [[0.12 * w, 0.1 * h, 0.55 * w, 0.9 * h], [0.5 * w, 0.3 * h, 1.08 * w, 0.75 * h]]


def to_chw(img):
    return torch.from_numpy(img).permute(2, 0, 1).float()  # 0..255


# ---------------------------------------------------------------------------- models

class TinyBackbone(nn.Sequential):
    def __init__(self, out=16):
        super().__init__(nn.Conv2d(3, 8, 3, 2, 1), nn.ReLU(), nn.Conv2d(8, 16, 3, 2, 1), nn.ReLU(), nn.Conv2d(16, out, 3, 2, 1), nn.ReLU())
        self.out_channels = out


def spread_scores(m):
    """Random heads give near-uniform class/objectness scores, whose order float noise decides;
    larger logits make the golden comparison about the adapter, not about ties."""
    with torch.no_grad():
        m.roi_heads.box_predictor.cls_score.weight.mul_(40)
        m.rpn.head.cls_logits.weight.mul_(20)
    return m


RCNN_TEST = dict(min_size=96, max_size=160, box_detections_per_img=10, rpn_pre_nms_top_n_test=5000, rpn_post_nms_top_n_test=5000)


def faster_rcnn():
    torch.manual_seed(1)
    anchors = AnchorGenerator(sizes=((16, 32, 64),), aspect_ratios=((0.5, 1.0, 2.0),))
    m = FasterRCNN(TinyBackbone(), num_classes=None, rpn_anchor_generator=anchors,
                   box_roi_pool=MultiScaleRoIAlign(['0'], 7, 2), box_head=TwoMLPHead(16 * 49, 32), box_predictor=FastRCNNPredictor(32, 3),
                   **RCNN_TEST)
    return spread_scores(m).eval()


def keypoint_rcnn():
    torch.manual_seed(2)
    anchors = AnchorGenerator(sizes=((16, 32, 64),), aspect_ratios=((0.5, 1.0, 2.0),))
    m = KeypointRCNN(TinyBackbone(), num_classes=None, rpn_anchor_generator=anchors,
                     box_roi_pool=MultiScaleRoIAlign(['0'], 7, 2), box_head=TwoMLPHead(16 * 49, 32), box_predictor=FastRCNNPredictor(32, 2),
                     keypoint_roi_pool=MultiScaleRoIAlign(['0'], 14, 2), keypoint_head=KeypointRCNNHeads(16, (16, 16)),
                     keypoint_predictor=KeypointRCNNPredictor(16, K), **RCNN_TEST)
    return spread_scores(m).eval()


class YoloHead(nn.Module):
    """Ultralytics-style exported head: [1, 4 + C, A] (cx, cy, w, h in input pixels, class
    probabilities) or, with `kpts`, [1, 4 + 1 + 3K, A] (box, person score, x, y, visibility)."""

    def __init__(self, classes, kpts=0):
        super().__init__()
        self.nc, self.nk = classes, kpts
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.SiLU(), nn.Conv2d(8, 16, 3, 2, 1), nn.SiLU(), nn.Conv2d(16, 16, 3, 2, 1), nn.SiLU())
        self.down = nn.Sequential(nn.Conv2d(16, 16, 3, 2, 1), nn.SiLU())
        no = 4 + classes + 3 * kpts
        self.h8 = nn.Conv2d(16, no, 1)
        self.h16 = nn.Conv2d(16, no, 1)

    def level(self, x, head, stride):
        p = head(x)
        b, c, h, w = p.shape
        gy, gx = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing='ij')
        grid = torch.stack([gx, gy]).reshape(1, 2, h * w)
        p = p.reshape(b, c, h * w)
        xy = (grid + 0.5 + torch.tanh(p[:, 0:2])) * stride
        wh = torch.exp(p[:, 2:4].clamp(-3, 3)) * stride * 2
        cls = torch.sigmoid(p[:, 4:4 + self.nc])
        out = [xy, wh, cls]
        if self.nk:
            kp = p[:, 4 + self.nc:].reshape(b, self.nk, 3, h * w)
            kxy = (kp[:, :, 0:2] * 2 + grid.reshape(1, 1, 2, h * w) + 0.5) * stride
            kv = torch.sigmoid(kp[:, :, 2:3])
            out.append(torch.cat([kxy, kv], 2).reshape(b, 3 * self.nk, h * w))
        return torch.cat(out, 1)

    def forward(self, images):
        f8 = self.stem(images)
        f16 = self.down(f8)
        return torch.cat([self.level(f8, self.h8, 8), self.level(f16, self.h16, 16)], 2)


class TopDown(nn.Module):
    """SimpleBaseline-style: strided convs + residual blocks, deconv to stride 4 heatmaps."""

    def __init__(self, simcc=False, input_hw=(64, 48), split=2.0):
        super().__init__()
        self.simcc = simcc
        self.c1 = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1), nn.BatchNorm2d(16), nn.ReLU())
        self.b1 = nn.Sequential(nn.Conv2d(16, 16, 3, 1, 1), nn.BatchNorm2d(16), nn.ReLU(), nn.Conv2d(16, 16, 3, 1, 1), nn.BatchNorm2d(16))
        self.c2 = nn.Sequential(nn.Conv2d(16, 24, 3, 2, 1), nn.BatchNorm2d(24), nn.ReLU())
        self.c3 = nn.Sequential(nn.Conv2d(24, 32, 3, 2, 1), nn.BatchNorm2d(32), nn.ReLU())
        h, w = input_hw
        if simcc:
            self.fc = nn.Conv2d(32, K, 1)
            self.x = nn.Linear((h // 8) * (w // 8), int(w * split))
            self.y = nn.Linear((h // 8) * (w // 8), int(h * split))
        else:
            self.up = nn.Sequential(nn.ConvTranspose2d(32, 16, 4, 2, 1), nn.BatchNorm2d(16), nn.ReLU())
            self.head = nn.Conv2d(16, K, 1)
        for mod in self.modules():  # non-trivial BatchNorm statistics
            if isinstance(mod, nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.2, 0.2)
                mod.running_var.uniform_(0.5, 1.5)

    def forward(self, input):
        x = self.c1(input)
        x = F.relu(x + self.b1(x))
        x = self.c3(self.c2(x))
        if self.simcc:
            f = self.fc(x).flatten(2)
            return self.x(f), self.y(f)
        return self.head(self.up(x))


# ---------------------------------------------------------------------------- export

def export(model, args, name, inputs, outputs, dynamic=None, opset=17):
    path = os.path.join(OUT, name + '.onnx')
    torch.onnx.export(model, args, path, opset_version=opset, input_names=inputs, output_names=outputs, dynamic_axes=dynamic or {}, do_constant_folding=True)
    return path


def write_manifest(name, manifest):
    with open(os.path.join(OUT, name + '.json'), 'w') as f:
        json.dump({'format': 'omnidistill-model', 'version': 1, **manifest}, f, indent=2)
        f.write('\n')


def sample_bilinear(img_chw, xs, ys, fill):
    """img_chw float [3, H, W]; xs [h, w], ys [h, w] continuous positions; fill outside."""
    _, H, W = img_chw.shape
    grid = torch.stack([2 * xs / W - 1, 2 * ys / H - 1], -1)[None].to(img_chw.dtype)
    out = F.grid_sample((img_chw - fill)[None], grid, mode='bilinear', padding_mode='zeros', align_corners=False)
    return out[0] + fill


def letterbox(img_chw, size):
    """Ultralytics letterbox (scaleup, centred), bilinear resize with edge clamping."""
    _, h, w = img_chw.shape
    hin, win = size
    r = min(hin / h, win / w)
    nw, nh = int(round(w * r)), int(round(h * r))
    dw, dh = (win - nw) / 2, (hin - nh) / 2
    left, top = int(round(dw - 0.1)), int(round(dh - 0.1))
    resized = F.interpolate(img_chw[None], size=(nh, nw), mode='bilinear', align_corners=False)[0]
    out = torch.full((3, hin, win), 114.0)
    out[:, top:top + nh, left:left + nw] = resized
    return out, r, left, top


def yolo_golden(model, img, size, kpts, score_thr, iou_thr, max_det):
    x, r, left, top = letterbox(to_chw(img), size)
    with torch.no_grad():
        p = model((x / 255)[None])[0].T  # [A, no]
    nc = 1 if kpts else p.shape[1] - 4
    scores, labels = p[:, 4:4 + nc].max(1)
    keep = scores > score_thr
    p, scores, labels = p[keep], scores[keep], labels[keep]
    xy, wh = p[:, 0:2], p[:, 2:4]
    boxes = torch.cat([xy - wh / 2, xy + wh / 2], 1)
    order = batched_nms(boxes, scores, labels, iou_thr)[:max_det]
    h, w = img.shape[:2]

    def back(v, axis):
        return ((v - (left if axis == 0 else top)) / r).clamp(0, w if axis == 0 else h)

    out = []
    for i in order.tolist():
        b = boxes[i]
        inst = {'box': r6([back(b[0], 0), back(b[1], 1), back(b[2], 0), back(b[3], 1)]), 'score': r6(scores[i]), 'label': int(labels[i])}
        if kpts:
            kp = p[i, 5:].reshape(kpts, 3)
            inst['keypoints'] = r6([v for j in range(kpts) for v in ((kp[j, 0] - left) / r, (kp[j, 1] - top) / r, kp[j, 2])])
        out.append(inst)
    return out


def crop_frame(box, input_hw, padding, scale=1.0):
    hin, win = input_hw
    x1, y1, x2, y2 = box
    cx, cy, w, h = (x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1
    aspect = win / hin
    if w > aspect * h:
        h = w / aspect
    else:
        w = h * aspect
    return cx, cy, w * padding / scale, h * padding / scale


def crop(img_chw, box, input_hw, padding, flip=False, fill=0.0):
    hin, win = input_hw
    cx, cy, w, h = crop_frame(box, input_hw, padding)
    u = torch.arange(win, dtype=torch.float64) + 0.5
    v = torch.arange(hin, dtype=torch.float64) + 0.5
    if flip:
        u = win - u
    xs = (cx - w / 2 + u * w / win)[None].expand(hin, win)
    ys = (cy - h / 2 + v * h / hin)[:, None].expand(hin, win)
    return sample_bilinear(img_chw.double(), xs, ys, fill)


MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]


def normalise(x):
    return ((x / 255 - torch.tensor(MEAN, dtype=x.dtype)[:, None, None]) / torch.tensor(STD, dtype=x.dtype)[:, None, None]).float()


def unflip_channels(t):
    perm = list(range(K))
    for a, b in COCO_FLIP:
        perm[a], perm[b] = b, a
    return t[perm]


def decode_heatmap(hm, box, input_hw, padding):
    """hm [K, h, w] in the crop frame → [K * 3] (x, y, score) in image pixels."""
    hin, win = input_hw
    kk, hh, ww = hm.shape
    cx, cy, w, h = crop_frame(box, input_hw, padding)
    out = []
    for k in range(kk):
        flat = int(torch.argmax(hm[k]))
        i, j = divmod(flat, ww)
        dx = dy = 0.0
        if 0 < j < ww - 1:
            dx = 0.25 * float(torch.sign(hm[k, i, j + 1] - hm[k, i, j - 1]))
        if 0 < i < hh - 1:
            dy = 0.25 * float(torch.sign(hm[k, i + 1, j] - hm[k, i - 1, j]))
        u = (j + dx + 0.5) * win / ww
        v = (i + dy + 0.5) * hin / hh
        out += [cx - w / 2 + u * w / win, cy - h / 2 + v * h / hin, float(hm[k, i, j])]
    return r6(out)


def decode_simcc(sx, sy, box, input_hw, padding, split):
    hin, win = input_hw
    cx, cy, w, h = crop_frame(box, input_hw, padding)
    out = []
    for k in range(sx.shape[0]):
        i, j = int(torch.argmax(sx[k])), int(torch.argmax(sy[k]))
        u, v = (i + 0.5) / split, (j + 0.5) / split
        out += [cx - w / 2 + u * w / win, cy - h / 2 + v * h / hin, min(float(sx[k, i]), float(sy[k, j]))]
    return r6(out)


def topdown_golden(model, img, simcc, input_hw, padding, split):
    """Single pass and identity + flip (averaged in the crop frame after un-flipping)."""
    chw = to_chw(img)
    h, w = img.shape[:2]
    single, flip = [], []
    for box in boxes_for(None, w, h):
        outs = []
        for f in (False, True):
            x = normalise(crop(chw, box, input_hw, padding, flip=f))[None]
            with torch.no_grad():
                o = model(x)
            if simcc:
                sx, sy = o[0][0], o[1][0]
                if f:
                    sx, sy = unflip_channels(sx.flip(-1)), unflip_channels(sy)
                outs.append((sx, sy))
            else:
                hm = o[0]
                if f:
                    hm = unflip_channels(hm.flip(-1))
                outs.append(hm)
        if simcc:
            single.append(decode_simcc(*outs[0], box, input_hw, padding, split))
            flip.append(decode_simcc((outs[0][0] + outs[1][0]) / 2, (outs[0][1] + outs[1][1]) / 2, box, input_hw, padding, split))
        else:
            single.append(decode_heatmap(outs[0], box, input_hw, padding))
            flip.append(decode_heatmap((outs[0] + outs[1]) / 2, box, input_hw, padding))
    return {'boxes': r6(boxes_for(None, w, h)), 'single': single, 'flip': flip}


def rcnn_golden(model, img, keypoints):
    with torch.no_grad():
        o = model([to_chw(img) / 255])[0]
    out = {'boxes': r6(o['boxes'].flatten().tolist()), 'scores': r6(o['scores'].tolist()), 'labels': o['labels'].tolist()}
    if keypoints:
        out['keypoints'] = r6(o['keypoints'].flatten().tolist())
        out['keypointScores'] = r6(o['keypoints_scores'].flatten().tolist())
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    images = make_images()
    golden = {'images': sorted(images)}
    # Traced on an image of none of the test sizes (the graph must not depend on the trace size).
    example = torch.rand(3, 70, 90, generator=torch.Generator().manual_seed(0))

    frcnn = faster_rcnn()
    # torchvision's box/keypoint heads use RoIAlign(aligned=False): opset 11 RoiAlign is that;
    # at opset >= 16 the export is the trap (fasterrcnn-opset17, kept for check-model tests).
    for opset in (11, 17):
        name = 'fasterrcnn' if opset == 11 else 'fasterrcnn-opset17'
        export(frcnn, ([example],), name, ['image'], ['boxes', 'labels', 'scores'],
               {'image': [1, 2], 'boxes': [0], 'labels': [0], 'scores': [0]}, opset=opset)
        write_manifest(name, {'role': 'detector', 'layout': 'torchvision-detection', 'inputs': {'image': 'image'},
                              'outputs': {'boxes': 'boxes', 'scores': 'scores', 'labels': 'labels'}})
    golden['fasterrcnn'] = {n: rcnn_golden(frcnn, im, False) for n, im in images.items()}

    kprcnn = keypoint_rcnn()
    export(kprcnn, ([example],), 'keypointrcnn', ['image'], ['boxes', 'labels', 'scores', 'keypoints', 'keypoints_scores'],
           {'image': [1, 2], 'boxes': [0], 'labels': [0], 'scores': [0], 'keypoints': [0], 'keypoints_scores': [0]}, opset=11)
    write_manifest('keypointrcnn', {'role': 'keypoints', 'layout': 'torchvision-detection', 'inputs': {'image': 'image'},
                                    'outputs': {'boxes': 'boxes', 'scores': 'scores', 'labels': 'labels', 'keypoints': 'keypoints', 'keypointScores': 'keypoints_scores'},
                                    'keypoints': {'schema': 'coco-person', 'categoryId': 1}})
    golden['keypointrcnn'] = {n: rcnn_golden(kprcnn, im, True) for n, im in images.items()}

    size = (96, 128)  # H, W: not square, so the letterbox pads both ways across the images
    yolo_opts = {'scoreThreshold': 0.25, 'nmsThreshold': 0.7, 'maxDetections': 20}
    for name, kpts, classes in (('yolo-detect', 0, 3), ('yolo-pose', K, 1)):
        torch.manual_seed(3 + kpts)
        m = YoloHead(classes, kpts).eval()
        export(m, (torch.zeros(1, 3, *size),), name, ['images'], ['output0'])
        manifest = {'role': 'keypoints' if kpts else 'detector', 'layout': 'yolo', 'inputs': {'image': 'images'},
                    'outputs': {'predictions': 'output0'}, 'layoutOptions': yolo_opts}
        if kpts:
            manifest['keypoints'] = {'schema': 'coco-person', 'categoryId': 1}
        else:
            manifest['categoryIds'] = [1, 2, 3]  # class index → COCO category id
        write_manifest(name, manifest)
        golden[name] = {n: yolo_golden(m, im, size, kpts, yolo_opts['scoreThreshold'], yolo_opts['nmsThreshold'], yolo_opts['maxDetections']) for n, im in images.items()}

    input_hw = (64, 48)
    for name, simcc in (('topdown', False), ('simcc', True)):
        torch.manual_seed(5 if simcc else 4)
        m = TopDown(simcc=simcc, input_hw=input_hw).eval()
        outs = ['simcc_x', 'simcc_y'] if simcc else ['heatmaps']
        export(m, (torch.zeros(1, 3, *input_hw),), name, ['input'], outs)
        manifest = {'role': 'keypoints', 'layout': 'simcc' if simcc else 'topdown-heatmap', 'inputs': {'image': 'input'},
                    'outputs': {'x': 'simcc_x', 'y': 'simcc_y'} if simcc else {'heatmaps': 'heatmaps'},
                    'pixels': {'mean': MEAN, 'std': STD}, 'keypoints': {'schema': 'coco-person', 'categoryId': 1},
                    'layoutOptions': {'padding': 1.25, **({'splitRatio': 2} if simcc else {})}}
        write_manifest(name, manifest)
        golden[name] = {n: topdown_golden(m, im, simcc, input_hw, 1.25, 2.0) for n, im in images.items()}

    with open(os.path.join(OUT, 'golden.json'), 'w') as f:
        json.dump(golden, f)
        f.write('\n')
    total = sum(os.path.getsize(os.path.join(dp, fn)) for dp, _, fns in os.walk(OUT) for fn in fns)
    print(f'wrote {OUT}: {total / 1e6:.2f} MB')


if __name__ == '__main__':
    main()

"""Keypoint ensemble + decode peers for tools/bench/heatmaps.bench.ts (maintainer peer, not CI).

What a user would run instead of @omnidistill/ensemble, on the same float32 inputs:
  detectron      Detectron-style numpy + OpenCV, written here after Detectron's semantics
                 (REFERENCE.md section 2-3): flipped passes un-flipped (left/right channels
                 swapped, x reversed), np.mean over the transforms, then per RoI one
                 cv2.resize(INTER_CUBIC) of its [M, M, K] maps to ceil(h) x ceil(w), first
                 argmax per keypoint, (cell + 0.5) * w / W + x1, the logit at the maximum.
                 (Detectron also computes a softmax probability per keypoint; left out, as
                 our default decode does not compute it either.)
  torch          the same ensemble in torch, then torchvision's heatmaps_to_keypoints.
  tv_decode      torchvision's heatmaps_to_keypoints alone on already combined maps [N, K, M, M].
All run single-threaded (torch.set_num_threads(1), cv2.setNumThreads(1)).

Protocol (stdin/stdout, one JSON object per line):
  -> {"dir": d, "op": "detectron"|"torch"|"tv_decode", "t": T, "n": N, "k": K, "m": M, "samples": 3}
  <- {"wall_ms": [...], "cpu_ms": [...], "keypoints": [x, y, logit, ...]}   (N*K*3 floats)
Inputs: <dir>/heatmaps.f32 [T,N,K,M,M], maps.f32 [N,K,M,M] (tv_decode), rois.f32 [N,4],
flipped.u8 [T], perm.i32 [K].
"""
import json, os, sys, time

import cv2
import numpy as np
import torch
from torchvision.models.detection.roi_heads import heatmaps_to_keypoints

torch.set_num_threads(1)
cv2.setNumThreads(1)


def unflip_mean_numpy(heatmaps, flipped, perm):
    """Detectron's flip_heatmaps for flipped passes, then the plain average (HM_AVG)."""
    parts = []
    for t in range(heatmaps.shape[0]):
        hm = heatmaps[t]
        if flipped[t]:
            hm = hm[:, perm, :, ::-1]
        parts.append(hm)
    return np.mean(np.stack(parts, axis=0), axis=0, dtype=np.float32)


def decode_numpy_cv2(maps, rois):
    """heatmaps_to_keypoints the Detectron way: cv2 bicubic resize of each RoI's maps."""
    n, k = maps.shape[0], maps.shape[1]
    x1, y1 = rois[:, 0], rois[:, 1]
    widths = np.maximum(rois[:, 2] - rois[:, 0], 1)
    heights = np.maximum(rois[:, 3] - rois[:, 1], 1)
    wc, hc = np.ceil(widths), np.ceil(heights)
    maps_hwk = np.transpose(maps, [0, 2, 3, 1])
    out = np.zeros((n, k, 3), dtype=np.float32)
    for i in range(n):
        W, H = int(wc[i]), int(hc[i])
        roi_map = cv2.resize(maps_hwk[i], (W, H), interpolation=cv2.INTER_CUBIC)
        roi_map = np.transpose(roi_map, [2, 0, 1]).reshape(k, -1)
        pos = roi_map.argmax(axis=1)
        xi, yi = pos % W, pos // W
        out[i, :, 0] = (xi + 0.5) * (widths[i] / W) + x1[i]
        out[i, :, 1] = (yi + 0.5) * (heights[i] / H) + y1[i]
        out[i, :, 2] = roi_map[np.arange(k), pos]
    return out


def torch_ensemble_decode(heatmaps, flipped, perm, rois):
    hm = torch.from_numpy(heatmaps)
    permt = torch.from_numpy(perm.astype(np.int64))
    parts = [hm[t][:, permt].flip(-1) if flipped[t] else hm[t] for t in range(hm.shape[0])]
    maps = torch.stack(parts).mean(0)
    return torch_decode(maps, rois)


def torch_decode(maps, rois):
    xy, scores = heatmaps_to_keypoints(maps, torch.from_numpy(rois))
    xy[:, :, 2] = scores
    return xy.numpy()


loaded = {}


def load(req):
    d, t, n, k, m = req['dir'], req['t'], req['n'], req['k'], req['m']
    key = (d, req['op'] == 'tv_decode')
    if any(k[0] != d for k in loaded):
        loaded.clear()  # a new workload: drop the previous one's arrays
    if key not in loaded:
        rois = np.fromfile(os.path.join(d, 'rois.f32'), dtype=np.float32).reshape(n, 4)
        if req['op'] == 'tv_decode':
            maps = torch.from_numpy(np.fromfile(os.path.join(d, 'maps.f32'), dtype=np.float32).reshape(n, k, m, m))
            loaded[key] = (maps, rois, None, None)
        else:
            heatmaps = np.fromfile(os.path.join(d, 'heatmaps.f32'), dtype=np.float32).reshape(t, n, k, m, m)
            flipped = np.fromfile(os.path.join(d, 'flipped.u8'), dtype=np.uint8).astype(bool)
            perm = np.fromfile(os.path.join(d, 'perm.i32'), dtype=np.int32)
            loaded[key] = (heatmaps, rois, flipped, perm)
    return loaded[key]


OPS = {
    'detectron': lambda a: decode_numpy_cv2(unflip_mean_numpy(a[0], a[2], a[3]), a[1]),
    'torch': lambda a: torch_ensemble_decode(a[0], a[2], a[3], a[1]),
    'tv_decode': lambda a: torch_decode(a[0], a[1]),
}

print(json.dumps({'torch': torch.__version__, 'opencv': cv2.__version__, 'numpy': np.__version__}), flush=True)
for line in sys.stdin:
    req = json.loads(line)
    args = load(req)
    fn = OPS[req['op']]
    out = fn(args)  # warm-up
    wall, cpu = [], []
    for _ in range(int(req['samples'])):
        c0, t0 = time.process_time(), time.perf_counter()
        out = fn(args)
        t1, c1 = time.perf_counter(), time.process_time()
        wall.append((t1 - t0) * 1e3)
        cpu.append((c1 - c0) * 1e3)
    print(json.dumps({'wall_ms': wall, 'cpu_ms': cpu, 'keypoints': out.reshape(-1).tolist()}), flush=True)

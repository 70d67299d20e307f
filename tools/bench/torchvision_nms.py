"""torchvision side of boxes.bench.ts: a small stdin/stdout server so the benchmark can
interleave its measurements with ours (the machine may be shared; interleaving exposes both
sides to the same load).

Protocol, one JSON object per line:
  -> {"dir": d, "stem": "n1000", "op": "nms"|"batched", "thr": 0.5, "samples": 4, "batch": 2}
  <- {"wall_ms": [...], "cpu_ms": [...], "keep": [...]}
Each sample times `batch` NMS calls (and nothing else) and reports the per-call wall-clock
and process CPU time; CPU time ignores time spent waiting for a core on a shared machine.
Boxes are read once per stem from <dir>/<stem>.boxes.f32 / .scores.f32 / .labels.i32.
"""
import json, os, sys, time
import numpy as np
import torch, torchvision

cache = {}

def load(d, stem):
    if stem not in cache:
        boxes = torch.from_numpy(np.fromfile(os.path.join(d, stem + '.boxes.f32'), dtype=np.float32).reshape(-1, 4))
        scores = torch.from_numpy(np.fromfile(os.path.join(d, stem + '.scores.f32'), dtype=np.float32))
        labels = torch.from_numpy(np.fromfile(os.path.join(d, stem + '.labels.i32'), dtype=np.int32).astype(np.int64))
        cache[stem] = (boxes, scores, labels)
    return cache[stem]

print(json.dumps({'torch': torch.__version__, 'torchvision': torchvision.__version__, 'threads': torch.get_num_threads()}), flush=True)
for line in sys.stdin:
    req = json.loads(line)
    boxes, scores, labels = load(req['dir'], req['stem'])
    thr = float(req['thr'])
    if req['op'] == 'nms':
        fn = lambda: torchvision.ops.nms(boxes, scores, thr)
    else:
        fn = lambda: torchvision.ops.batched_nms(boxes, scores, labels, thr)
    keep = fn()  # warm-up
    batch = int(req['batch'])
    wall, cpu = [], []
    for _ in range(int(req['samples'])):
        c0 = time.process_time()
        t0 = time.perf_counter()
        for _ in range(batch):
            keep = fn()
        t1 = time.perf_counter()
        c1 = time.process_time()
        wall.append((t1 - t0) * 1e3 / batch)
        cpu.append((c1 - c0) * 1e3 / batch)
    print(json.dumps({'wall_ms': wall, 'cpu_ms': cpu, 'keep': keep.tolist()}), flush=True)

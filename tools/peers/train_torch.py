#!/usr/bin/python3
"""PyTorch side of tools/bench/torch-train.bench.ts (issue 17): the reference keypoint model and the
reference detector of @omnidistill/models rebuilt in torch, trained on the bench's own minibatches.

  train_torch.py MODEL DATA.json

MODEL is `keypoints` or `detector`. DATA.json (written by the bench) names a raw file holding the
model's initial parameters (by our names: `backbone.0.w`, `backbone.0.bn.scale`, …) and a few
minibatches (our feed names), each entry {name, dtype, shape, offset}, plus the architecture and
the AdamW hyper-parameters. The model takes those parameters, so both sides start from the same
weights and the first losses must agree.

Then it serves JSON requests on stdin, one per line, answering one JSON line each:
  {"cmd": "info"}                         -> {"trainable": n, "torch": version}
  {"cmd": "losses", "steps": n}           -> {"losses": [...]}: a fresh model from the initial
                                             parameters, n steps over the minibatches in order
  {"cmd": "time", "threads": t, "steps": n}
                                          -> {"wall": [s per step...], "cpu": s per step}: n steps on a
                                             model kept per thread count (3 untimed warm-up steps
                                             the first time), torch.set_num_threads(t)
  {"cmd": "profile", "threads": t, "steps": n}
                                          -> {"convMs": ms, "opsMs": ms, "top": [[op, ms]...]}: per step,
                                             torch.profiler's self time of the convolution ops (forward
                                             and backward) and of all ops, on the timed model of that
                                             thread count
"""
import json
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.ops import roi_align

DTYPES = {"float32": np.float32, "int64": np.int64}


def load(manifest_path):
    with open(manifest_path) as f:
        manifest = json.load(f)
    raw = np.fromfile(manifest["raw"], dtype=np.uint8)

    def tensor(entry):
        dtype = DTYPES[entry["dtype"]]
        count = int(np.prod(entry["shape"])) if entry["shape"] else 1
        a = np.frombuffer(raw, dtype=dtype, count=count, offset=entry["offset"]).reshape(entry["shape"])
        return torch.from_numpy(a.copy())

    params = {e["name"]: tensor(e) for e in manifest["parameters"]}
    batches = [{e["name"]: tensor(e) for e in b} for b in manifest["batches"]]
    return manifest, params, batches


class ConvBnRelu(nn.Module):
    """conv (no bias) -> BatchNorm (batch statistics, running momentum 0.1 = ONNX 0.9) -> ReLU; 'same' padding."""

    def __init__(self, cin, spec):
        super().__init__()
        k, s, d = spec.get("kernel", 3), spec.get("stride", 1), spec.get("dilation", 1)
        self.conv = nn.Conv2d(cin, spec["out"], k, s, (d * (k - 1)) // 2, d, bias=False)
        self.bn = nn.BatchNorm2d(spec["out"], eps=1e-5, momentum=0.1)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


def conv_bias(cin, cout, kernel=3):
    return nn.Conv2d(cin, cout, kernel, 1, (kernel - 1) // 2, bias=True)


class Backbone(nn.Module):
    def __init__(self, specs):
        super().__init__()
        layers, cin = [], 3
        for spec in specs:
            layers.append(ConvBnRelu(cin, spec))
            cin = spec["out"]
        self.layers = nn.ModuleList(layers)
        self.channels = cin

    def named(self):
        """Our parameter names (backbone.i.w, backbone.i.bn.*) -> torch tensors."""
        out = {}
        for i, layer in enumerate(self.layers):
            out[f"backbone.{i}.w"] = layer.conv.weight
            out[f"backbone.{i}.bn.scale"] = layer.bn.weight
            out[f"backbone.{i}.bn.bias"] = layer.bn.bias
            out[f"backbone.{i}.bn.mean"] = layer.bn.running_mean
            out[f"backbone.{i}.bn.var"] = layer.bn.running_var
        return out

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


class KeypointModel(nn.Module):
    """Backbone, RoIAlign (torchvision, aligned), 3x3 head convs, a conv to 4K phase channels; the
    loss reads the un-shuffled cells (the training graph skips the pixel shuffle the same way)."""

    def __init__(self, arch):
        super().__init__()
        self.arch = arch
        self.backbone = Backbone(arch["backbone"])
        cin, heads = self.backbone.channels, []
        for _ in range(arch["headConvs"]):
            heads.append(conv_bias(cin, arch["headChannels"]))
            cin = arch["headChannels"]
        self.head = nn.ModuleList(heads)
        self.up = conv_bias(cin, 4 * arch["keypoints"])
        m = arch["heatmapSize"]
        h = m // 2
        cell = [(2 * (y & 1) + (x & 1)) * h * h + (y >> 1) * h + (x >> 1) for y in range(m) for x in range(m)]
        self.register_buffer("unshuffled", torch.tensor(cell, dtype=torch.int64), persistent=False)

    def named(self):
        """Our parameter names -> torch tensors."""
        out = self.backbone.named()
        for i, conv in enumerate(self.head):
            out[f"head.{i}.w"], out[f"head.{i}.b"] = conv.weight, conv.bias
        out["head.up.w"], out["head.up.b"] = self.up.weight, self.up.bias
        return out

    def loss(self, feeds):
        a = self.arch
        x = self.backbone(feeds["image"])
        rois = feeds["rois"]
        index = feeds["roi_batch"].to(rois.dtype) if "roi_batch" in feeds else torch.zeros(rois.shape[0])
        h = roi_align(x, torch.cat([index[:, None], rois], 1), a["heatmapSize"] // 2, 1 / 4, a["samplingRatio"], aligned=True)
        for conv in self.head:
            h = F.relu(conv(h))
        logits = self.up(h)
        r, k = logits.shape[0], a["keypoints"]
        logp = F.log_softmax(logits.reshape(r, k, -1), -1)
        picked = logp.gather(2, self.unshuffled[feeds["kp_target"]].unsqueeze(2)).squeeze(2)
        weight = feeds["kp_weight"]
        return -(picked * weight).sum() / weight.sum().clamp(min=1)


class Detector(nn.Module):
    """CenterNet-style: backbone, heat head (focal loss), regression head (L1 at centres)."""

    def __init__(self, arch):
        super().__init__()
        self.arch = arch
        self.backbone = Backbone(arch["backbone"])
        c, hc = self.backbone.channels, arch["headChannels"]
        self.heat0, self.heat_out = conv_bias(c, hc), conv_bias(hc, arch["classes"], 1)
        self.reg0, self.reg_out = conv_bias(c, hc), conv_bias(hc, 4, 1)

    def named(self):
        out = self.backbone.named()
        for ours, conv in (("heat.0", self.heat0), ("heat.out", self.heat_out), ("reg.0", self.reg0), ("reg.out", self.reg_out)):
            out[f"{ours}.w"], out[f"{ours}.b"] = conv.weight, conv.bias
        return out

    def loss(self, feeds):
        x = self.backbone(feeds["image"])
        logits = self.heat_out(F.relu(self.heat0(x)))
        reg = self.reg_out(F.relu(self.reg0(x)))
        heat, target, mask = feeds["det_heat"], feeds["det_reg"], feeds["det_mask"]
        npos = mask.sum().clamp(min=1)
        p = torch.sigmoid(logits)
        logp, log1mp = -F.softplus(-logits), -F.softplus(logits)
        pos = (heat >= 1).float()
        focal = -(((1 - p) ** 2 * logp * pos).sum() + (p ** 2 * log1mp * (1 - heat) ** 4 * (1 - pos)).sum()) / npos
        l1 = (reg - target).abs() * mask
        return focal + (l1[:, :2].sum() * self.arch["sizeWeight"] + l1[:, 2:].sum()) / npos


MODELS = {"keypoints": KeypointModel, "detector": Detector}


class Trainer:
    """A model from the bench's initial parameters with its AdamW, stepping through the minibatches in order."""

    def __init__(self, kind, manifest, params, batches):
        self.model = MODELS[kind](manifest["arch"]).train()
        with torch.no_grad():
            named = self.model.named()
            if set(named) != set(params):
                raise SystemExit(f"parameter names differ: torch only {sorted(set(named) - set(params))}, ours only {sorted(set(params) - set(named))}")
            for name, t in named.items():
                if tuple(t.shape) != tuple(params[name].shape):
                    raise SystemExit(f"{name}: torch shape {tuple(t.shape)}, ours {tuple(params[name].shape)}")
                t.copy_(params[name])
        o = manifest["optimizer"]
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=o["learningRate"], betas=(o["beta1"], o["beta2"]), eps=o["epsilon"], weight_decay=o["weightDecay"])
        self.batches = batches
        self.next = 0

    def step(self):
        feeds = self.batches[self.next % len(self.batches)]
        self.next += 1
        self.opt.zero_grad(set_to_none=True)
        loss = self.model.loss(feeds)
        loss.backward()
        self.opt.step()
        return loss.item()


def is_convolution(op_name):
    """aten's convolution kernels, forward and backward (mkldnn_convolution, convolution_backward, …)."""
    return op_name.startswith("aten::") and "convolution" in op_name


def profile_steps(trainer, steps):
    """Self time per step of the convolution ops, of all ops, and the largest ops (ms)."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            trainer.step()
    self_ms = {e.key: e.self_cpu_time_total / 1000 / steps for e in prof.key_averages()}
    top = sorted(self_ms.items(), key=lambda kv: -kv[1])[:8]
    return {
        "convMs": sum(ms for name, ms in self_ms.items() if is_convolution(name)),
        "opsMs": sum(self_ms.values()),
        "top": [[name, ms] for name, ms in top],
    }


def timed_trainer(timed, kind, manifest, params, batches, threads):
    """The model kept for this thread count (3 untimed warm-up steps when it is made)."""
    torch.set_num_threads(threads)
    if threads not in timed:
        timed[threads] = Trainer(kind, manifest, params, batches)
        for _ in range(3):
            timed[threads].step()
    return timed[threads]


def main():
    kind, manifest_path = sys.argv[1], sys.argv[2]
    manifest, params, batches = load(manifest_path)
    timed = {}
    for line in sys.stdin:
        req = json.loads(line)
        if req["cmd"] == "info":
            model = Trainer(kind, manifest, params, batches).model
            trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
            answer = {"trainable": trainable, "torch": torch.__version__}
        elif req["cmd"] == "losses":
            torch.set_num_threads(1)
            trainer = Trainer(kind, manifest, params, batches)
            answer = {"losses": [trainer.step() for _ in range(req["steps"])]}
        elif req["cmd"] == "time":
            trainer, wall = timed_trainer(timed, kind, manifest, params, batches, req["threads"]), []
            c0 = time.process_time()
            for _ in range(req["steps"]):
                t0 = time.perf_counter()
                trainer.step()
                wall.append(time.perf_counter() - t0)
            answer = {"wall": wall, "cpu": (time.process_time() - c0) / req["steps"], "threads": torch.get_num_threads()}
        elif req["cmd"] == "profile":
            answer = profile_steps(timed_trainer(timed, kind, manifest, params, batches, req["threads"]), req["steps"])
        else:
            raise SystemExit(f"unknown command {req['cmd']}")
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""PyTorch side of tools/bench/student.bench.ts (issue 14).

  export-topdown OUT.onnx              a SimpleBaseline-style top-down model (ResNet-18 BasicBlocks
                                       at 1/4 width, two deconvs, 17 heatmaps), seed 0, dynamic batch
  time-topdown THREADS BATCH STEPS     the same model trained in torch (AdamW, spatial-softmax
                                       cross-entropy, fixed random minibatch): prints JSON steps/s
  export-resnet50 OUT.onnx             torchvision ResNet-50 (25.6 M parameters), eval export
"""
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torchvision.models.resnet import BasicBlock

H, W, K = 128, 96, 17


def topdown():
    torch.manual_seed(0)

    def down(cin, cout):
        return nn.Sequential(nn.Conv2d(cin, cout, 1, 2, bias=False), nn.BatchNorm2d(cout))

    return nn.Sequential(
        nn.Conv2d(3, 16, 7, 2, 3, bias=False), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(3, 2, 1),
        BasicBlock(16, 16), BasicBlock(16, 16),
        BasicBlock(16, 32, 2, down(16, 32)), BasicBlock(32, 32),
        BasicBlock(32, 64, 2, down(32, 64)), BasicBlock(64, 64),
        nn.ConvTranspose2d(64, 32, 4, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
        nn.ConvTranspose2d(32, 32, 4, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
        nn.Conv2d(32, K, 1),
    )


def export(model, path, shape, training):
    torch.onnx.export(model, (torch.randn(*shape),), path, input_names=["input"], output_names=["heatmaps"], opset_version=17,
                      dynamic_axes={"input": {0: "batch"}, "heatmaps": {0: "batch"}}, training=training, do_constant_folding=False)


def time_topdown(threads, batch, steps):
    torch.set_num_threads(threads)
    model = topdown().eval()  # frozen BatchNorm, as the importer's default
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-4)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(batch, 3, H, W, generator=g)
    hh, ww = H // 4, W // 4
    target = torch.randint(0, hh * ww, (batch * K,), generator=g)

    def step():
        opt.zero_grad(set_to_none=True)
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(batch * K, hh * ww), target)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(3):
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    dt = time.perf_counter() - t0
    print(json.dumps({"stepsPerSecond": steps / dt, "threads": torch.get_num_threads(), "torch": torch.__version__}))


def main():
    cmd = sys.argv[1]
    if cmd == "export-topdown":
        export(topdown(), sys.argv[2], [1, 3, H, W], torch.onnx.TrainingMode.TRAINING)
    elif cmd == "time-topdown":
        time_topdown(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
    elif cmd == "export-resnet50":
        model = torchvision.models.resnet50().eval()
        torch.onnx.export(model, (torch.randn(1, 3, 224, 224),), sys.argv[2], input_names=["input"], output_names=["logits"], opset_version=17,
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    else:
        raise SystemExit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()

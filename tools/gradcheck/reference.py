#!/usr/bin/python3
"""Replays the gradient-check graphs (dump.ts output) in torch, float64, and writes the
reference loss and parameter gradients. Each ONNX op is mapped to the torch function
with the same semantics (F.conv2d, F.interpolate, F.batch_norm, pixel_shuffle, ...), so
the reference is torch's autograd, not our own gradient rules.

Usage: /usr/bin/python3 reference.py cases.json fixture.json
"""
import json
import sys

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)

DTYPES = {"float32": torch.float64, "int64": torch.int64, "int32": torch.int64, "bool": torch.bool, "uint8": torch.uint8}


def tensor(d):
    return torch.tensor(d["data"], dtype=DTYPES[d["dtype"]]).reshape(d["dims"])


def a(node, name, default=None):
    v = node["attrs"].get(name)
    return default if v is None else v["value"]


def pads_for(node, nsp):
    pads = a(node, "pads", [0] * (2 * nsp))
    return pads[:nsp], pads[nsp:]


def pad_input(x, begins, ends, value=0.0):
    # F.pad takes (last-dim begin, last-dim end, ...) order.
    spec = []
    for b, e in reversed(list(zip(begins, ends))):
        spec += [b, e]
    return F.pad(x, spec, value=value) if any(spec) else x


def conv(node, x, w, b=None):
    nsp = x.dim() - 2
    begins, ends = pads_for(node, nsp)
    x = pad_input(x, begins, ends)
    return F.conv2d(x, w, b, stride=a(node, "strides", [1] * nsp), dilation=a(node, "dilations", [1] * nsp), groups=a(node, "group", 1))


def conv_transpose(node, x, w, b=None):
    nsp = x.dim() - 2
    begins, ends = pads_for(node, nsp)
    strides = a(node, "strides", [1] * nsp)
    dil = a(node, "dilations", [1] * nsp)
    op = a(node, "output_padding", [0] * nsp)
    # Full transposed conv (padding 0, output_padding at the end as in ONNX), then crop the pads.
    y = F.conv_transpose2d(x, w, b, stride=strides, dilation=dil, output_padding=op)
    H, W = y.shape[2], y.shape[3]
    return y[:, :, begins[0]:H - ends[0], begins[1]:W - ends[1]]


def max_pool(node, x):
    nsp = x.dim() - 2
    k = a(node, "kernel_shape")
    s = a(node, "strides", k)
    begins, ends = pads_for(node, nsp)
    x = pad_input(x, begins, ends, value=float("-inf"))
    return F.max_pool2d(x, k, s)


def average_pool(node, x):
    k = a(node, "kernel_shape")
    begins, _ = pads_for(node, x.dim() - 2)
    include = bool(a(node, "count_include_pad", 0))
    return F.avg_pool2d(x, k, a(node, "strides", k), padding=begins, count_include_pad=include)


def resize(node, x, sizes):
    size = [int(v) for v in sizes.tolist()][2:]
    if a(node, "mode") == "nearest":
        return F.interpolate(x, size=size, mode="nearest")
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


RUNNING = {}


def batch_norm_train(node, x, scale, bias, mean, var):
    rm, rv = mean.detach().clone(), var.detach().clone()
    y = F.batch_norm(x, rm, rv, scale, bias, training=True, momentum=1 - a(node, "momentum", 0.9), eps=a(node, "epsilon", 1e-5))
    # torch updates the running statistics in place (unbiased variance): keep them as references.
    RUNNING[node["inputs"][3]] = rm.reshape(-1).tolist()
    RUNNING[node["inputs"][4]] = rv.reshape(-1).tolist()
    return y


def onnx_slice(x, starts, ends, axes, steps):
    for s, e, ax, st in zip(starts.tolist(), ends.tolist(), axes.tolist(), steps.tolist()):
        dim = x.shape[ax]
        if st > 0:
            s = max(0, min(dim, s + dim if s < 0 else s))
            e = max(0, min(dim, e + dim if e < 0 else e))
            x = x.index_select(ax, torch.arange(s, e, st)) if st != 1 else x.narrow(ax, s, max(0, e - s))
        else:
            # torch has no negative-step slicing: gather the indices ONNX's rules select.
            s = max(0, min(dim - 1, s + dim if s < 0 else s))
            e = max(-1, min(dim - 1, e + dim if e < 0 else e))
            x = x.index_select(ax, torch.arange(s, e, st))
    return x


def onnx_pad(x, pads):
    r = x.dim()
    pads = pads.tolist()
    return pad_input(x, pads[:r], pads[r:])


def depth_to_space(node, x):
    b = a(node, "blocksize")
    if a(node, "mode", "DCR") == "CRD":
        return F.pixel_shuffle(x, b)
    n, c, h, w = x.shape
    t = x.reshape(n, b, b, c // (b * b), h, w).permute(0, 3, 4, 1, 5, 2)
    return t.reshape(n, c // (b * b), h * b, w * b)


def space_to_depth(node, x):
    b = a(node, "blocksize")
    n, c, h, w = x.shape
    t = x.reshape(n, c, h // b, b, w // b, b).permute(0, 3, 5, 1, 2, 4)
    return t.reshape(n, c * b * b, h // b, w // b)


def reduce_axes(node, x, axes_tensor=None):
    axes = axes_tensor.tolist() if axes_tensor is not None else a(node, "axes")
    return [ax % x.dim() for ax in axes], bool(a(node, "keepdims", 1))


def run_node(node, env):
    ins = [env[i] if i else None for i in node["inputs"]]
    op = node["op"]
    if op == "Conv":
        return [conv(node, *ins)]
    if op == "ConvTranspose":
        return [conv_transpose(node, *ins)]
    if op == "MaxPool":
        return [max_pool(node, ins[0]), None]
    if op == "AveragePool":
        return [average_pool(node, ins[0])]
    if op == "Resize":
        return [resize(node, ins[0], ins[3])]
    if op == "BatchNormInternal":
        return [batch_norm_train(node, *ins), None, None, None, None]
    if op == "BatchNormalization":
        return [F.batch_norm(ins[0], ins[3], ins[4], ins[1], ins[2], training=False, eps=a(node, "epsilon", 1e-5))]
    unary = {"Relu": torch.relu, "Sigmoid": torch.sigmoid, "Tanh": torch.tanh, "Exp": torch.exp, "Log": torch.log, "Neg": torch.neg,
             "Abs": torch.abs, "Sqrt": torch.sqrt, "Sign": torch.sign, "Reciprocal": torch.reciprocal, "Erf": torch.erf, "Identity": lambda t: t, "Not": torch.logical_not}
    if op in unary:
        return [unary[op](ins[0])]
    binary = {"Add": torch.add, "Sub": torch.sub, "Mul": torch.mul, "Div": torch.div, "Pow": torch.pow, "Max": torch.maximum,
              "Min": torch.minimum, "Greater": torch.gt, "GreaterOrEqual": torch.ge, "Less": torch.lt, "Equal": torch.eq, "MatMul": torch.matmul}
    if op in binary:
        return [binary[op](ins[0], ins[1])]
    if op == "Where":
        return [torch.where(ins[0], ins[1], ins[2])]
    if op == "Cast":
        return [ins[0].to({1: torch.float64, 7: torch.int64, 9: torch.bool, 6: torch.int64}[a(node, "to")])]
    if op == "Reshape":
        return [ins[0].reshape(ins[1].tolist())]
    if op == "Transpose":
        return [ins[0].permute(a(node, "perm"))]
    if op == "Concat":
        return [torch.cat(ins, a(node, "axis"))]
    if op == "Slice":
        return [onnx_slice(*ins)]
    if op == "Pad":
        return [onnx_pad(ins[0], ins[1])]
    if op == "Expand":
        return [ins[0].expand(torch.broadcast_shapes(ins[0].shape, tuple(ins[1].tolist())))]
    if op == "Gather":
        ax = a(node, "axis", 0)
        data, idx = ins
        idx = torch.where(idx < 0, idx + data.shape[ax], idx)  # ONNX allows negative indices
        flat = torch.index_select(data, ax, idx.reshape(-1))
        shape = list(data.shape[:ax]) + list(idx.shape) + list(data.shape[ax + 1:])
        return [flat.reshape(shape)]
    if op == "GatherElements":
        return [torch.gather(ins[0], a(node, "axis"), ins[1])]
    if op == "ReduceSum":
        axes, keep = reduce_axes(node, ins[0], ins[1])
        return [ins[0].sum(dim=axes, keepdim=keep)]
    if op == "ReduceMean":
        axes, keep = reduce_axes(node, ins[0])
        return [ins[0].mean(dim=axes, keepdim=keep)]
    if op == "ReduceMax":
        axes, keep = reduce_axes(node, ins[0])
        return [ins[0].amax(dim=axes, keepdim=keep)]
    if op == "DepthToSpace":
        return [depth_to_space(node, ins[0])]
    if op == "SpaceToDepth":
        return [space_to_depth(node, ins[0])]
    if op == "Softmax":
        return [torch.softmax(ins[0], a(node, "axis"))]
    if op == "LogSoftmax":
        return [torch.log_softmax(ins[0], a(node, "axis"))]
    if op == "ConstantOfShape":
        v = a(node, "value")
        return [torch.full(ins[0].tolist(), float(v["data"][0]), dtype=DTYPES[v["dtype"]])]
    raise NotImplementedError(op)


def replay(case):
    RUNNING.clear()
    env = {}
    for t in case["initializers"] + case["inputs"]:
        env[t["name"]] = tensor(t)
    params = {}
    for p in case["params"]:
        t = torch.tensor(p["data"], dtype=torch.float64).reshape(p["dims"])
        if p["trainable"]:
            t.requires_grad_(True)
        params[p["name"]] = t
        env[p["name"]] = t
    for node in case["nodes"]:
        outs = run_node(node, env)
        for name, v in zip(node["outputs"], outs):
            if name:
                env[name] = v
    loss = env[case["loss"]]
    loss.backward()
    grads = {n: t.grad.reshape(-1).tolist() for n, t in params.items() if t.requires_grad}
    return {"loss": loss.item(), "grads": grads, "running": dict(RUNNING)}


def main():
    cases = json.load(open(sys.argv[1]))["cases"]
    out = {"generator": "tools/gradcheck/reference.py (torch %s, float64)" % torch.__version__, "cases": {}}
    for c in cases:
        out["cases"][c["name"]] = replay(c)
        print("%-32s loss %.6f  %d grads" % (c["name"], out["cases"][c["name"]]["loss"], len(out["cases"][c["name"]]["grads"])))
    with open(sys.argv[2], "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()

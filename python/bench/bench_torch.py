#!/usr/bin/python3
"""qeq.torch against PyTorch's own functions on identical copies, in one run: batch-norm
folding (fuse_modules) and cross-layer equalization (equalize) of torchvision's resnet18 and
mobilenet_v2 (random weights), cross_layer_equalization of two (2048, 2048, 3, 3) convs, and
a converted quantized Linear's forward (quantized_linear against the module, both engines).
Prints a markdown table of best-of-N times and speed-ups.

    QEQ_LIBRARY=build/libqeq.so /usr/bin/python3 python/bench/bench_torch.py [--threads N]
        [--only linear]
"""
from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

import torch
import torchvision
from torch import nn
from torch.ao.quantization import _equalize as teq
from torch.ao.quantization import fuse_modules as torch_fuse_modules

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import qeq  # noqa: E402
import qeq.torch as qt  # noqa: E402
from tests.test_torch_models import bn_groups, build, cle_pairs  # noqa: E402


def best(fn, setup, repeats):
    times = []
    for _ in range(repeats):
        arg = setup()
        start = time.perf_counter()
        fn(arg)
        times.append(time.perf_counter() - start)
    return min(times)


def linear_rows(row, repeats: int, m: int = 64, k: int = 1024, n: int = 1024) -> None:
    """A quantized Linear's forward (per-channel weights, bias; static and dynamic) by the
    module and by qeq.torch.quantized_linear (packed before timing), per engine."""
    import torch.ao.nn.quantized as nnq
    import torch.ao.nn.quantized.dynamic as nnqd
    torch.manual_seed(0)
    w = torch.randn(n, k)
    wq = torch.quantize_per_channel(w, (w.abs().amax(1) / 127).double(),
                                    torch.zeros(n, dtype=torch.long), 0, torch.qint8)
    x = torch.randn(m, k)
    xq = torch.quantize_per_tensor(x, 0.03125, 128, torch.quint8)
    before = torch.backends.quantized.engine
    for engine in [e for e in ("onednn", "qnnpack")
                   if e in torch.backends.quantized.supported_engines]:
        torch.backends.quantized.engine = engine
        static, dynamic = nnq.Linear(k, n), nnqd.Linear(k, n)
        for mod in (static, dynamic):
            mod.set_weight_bias(wq, torch.randn(n))
        static.scale, static.zero_point = 0.25, 64
        for mod, inp, what in ((static, xq, "static"), (dynamic, x, "dynamic")):
            qt.quantized_linear(mod, inp)  # packs once
            row(f"Linear {m}x{k}x{n} ({engine})", f"{what} forward (best of {repeats})",
                best(lambda _: mod(inp), lambda: None, repeats),
                best(lambda _: qt.quantized_linear(mod, inp), lambda: None, repeats))
    torch.backends.quantized.engine = before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="PyTorch threads (default 1; "
                        "qeq is single-threaded)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", choices=("all", "linear"), default="all")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"qeq {qeq.__version__} ({qeq.isa()}), PyTorch {torch.__version__} "
          f"({torch.get_num_threads()} thread(s)), best of {args.repeats}\n")
    print("| model | operation | PyTorch ms | qeq.torch ms | speed-up |")
    print("|---|---|---:|---:|---:|")

    def row(model, op, t_torch, t_qeq):
        print(f"| {model} | {op} | {t_torch * 1e3:.1f} | {t_qeq * 1e3:.1f} | "
              f"{t_torch / t_qeq:.1f}x |", flush=True)

    linear_rows(row, args.repeats * 10)
    if args.only == "linear":
        return
    for name in ("resnet18", "mobilenet_v2"):
        model = build(name)
        groups = bn_groups(model)
        row(name, f"fuse_modules ({len(groups)} conv+bn)",
            best(lambda m: torch_fuse_modules(m, groups, inplace=True), lambda: copy.deepcopy(model), args.repeats),
            best(lambda m: qt.fuse_modules(m, groups, inplace=True), lambda: copy.deepcopy(model), args.repeats))
        fused = qt.fuse_modules(model, groups)
        pairs = cle_pairs(fused)
        row(name, f"equalize ({len(pairs)} pairs, 1e-4)",
            best(lambda m: teq.equalize(m, pairs, 1e-4), lambda: copy.deepcopy(fused), args.repeats),
            best(lambda m: qt.equalize(m, pairs, 1e-4), lambda: copy.deepcopy(fused), args.repeats))
        sweeps = qt.last_equalize_report.sweeps
        print(f"|  | ({sweeps} sweeps) | | | |")

    torch.manual_seed(0)
    pair = (nn.Conv2d(2048, 2048, 3, bias=True), nn.Conv2d(2048, 2048, 3, bias=True))
    row("2 x conv 2048x2048x3x3", "cross_layer_equalization",
        best(lambda p: teq.cross_layer_equalization(*p), lambda: copy.deepcopy(pair), args.repeats),
        best(lambda p: qt.cross_layer_equalization(*p), lambda: copy.deepcopy(pair), args.repeats))
    bn = nn.BatchNorm2d(2048).eval()
    conv = pair[0].eval()
    row("conv 2048x2048x3x3", "fuse_conv_bn_eval",
        best(lambda c: torch.nn.utils.fusion.fuse_conv_bn_eval(c, bn), lambda: conv, args.repeats),
        best(lambda c: qt.fuse_conv_bn_eval(c, bn), lambda: conv, args.repeats))


if __name__ == "__main__":
    main()

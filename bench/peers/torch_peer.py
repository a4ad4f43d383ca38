#!/usr/bin/python3
"""PyTorch beside qeq: the main job's two comparisons, one subcommand each.

PyTorch 1.13 is Debian's python3-torch (docs/benchmarks.md#the-main-job); each subcommand
prints a markdown table of best-of-N times.

  /usr/bin/python3 bench/peers/torch_peer.py kernels [--qeq-json FILE]
      PyTorch on the work qeq_bench measures (channel ranges, per-channel quantize and
      fake-quantize of a 2048x2048x3x3 weight, batch-norm folding, cross-layer equalization of
      two such convs, equalize of qeq_bench's 8-conv chain with its weights, a uint8
      1x256x56x56 tensor permuted to channels-last and back, quantized hardswish and sigmoid
      on a channels-last quint8 one), one thread. With
      --qeq-json (qeq_bench's --benchmark_out, from the same job) it also prints qeq's time
      beside PyTorch's for each operation, for the dispatched (best detected) ISA. Needs
      torch and numpy only.

  QEQ_LIBRARY=build/libqeq.so /usr/bin/python3 bench/peers/torch_peer.py qeq-torch
      [--threads N] [--repeats N] [--only {all,linear,models}] [--cpu-time]
      qeq.torch (the Python package in python/) against PyTorch's own functions on identical
      copies: a converted quantized Linear's forward (quantized_linear against the module,
      both engines), batch-norm folding (fuse_modules) and cross-layer equalization (equalize)
      of torchvision's resnet18 and mobilenet_v2 (random weights), cross_layer_equalization of
      two (2048, 2048, 3, 3) convs and fuse_conv_bn_eval of one. Needs torchvision too.

  QEQ_LIBRARY=build/libqeq.so /usr/bin/python3 bench/peers/torch_peer.py models
      [--threads N] [--repeats N] [--batch B ...] [--models NAME ...]
      Whole torchvision models quantized by PyTorch (qeq.torch._models' recipe) against the
      same models converted by qeq.torch.convert: latency per engine (onednn, qnnpack) and
      batch, whether the outputs are equal and whether PyTorch is exact there.

  QEQ_LIBRARY=build/libqeq.so /usr/bin/python3 bench/peers/torch_peer.py prepare
      [--repeats N] [--cpu-time] [--phases]
      qeq.torch.equalize_model (tracing included) against the same folding and CLE written
      with PyTorch's functions on the pairs given to it (resnet18, mobilenet_v2), and the
      output SQNR with per-tensor int8 weights of a mobilenet_v2 whose channel ranges are
      spread by exp(N(0, 2)) across each chain link: unprepared, equalize_model, PyTorch's
      equalize. The two sides of each timing run alternately; --cpu-time counts the thread's
      CPU time (a machine shared with other work); --phases prints only the timing table and
      equalize_model's time split by phase (tracing, folding, CLE sweeps, report ranges,
      the rest).

apt-get install python3-torch python3-torchvision python3-numpy."""
import argparse
import copy
import math
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.ao.quantization import _equalize as eq
from torch.nn.utils.fusion import fuse_conv_bn_weights

MIB = 1024 * 1024
# python/ of this repository: qeq.torch comes from the source tree (QEQ_LIBRARY names the
# built library).
PYTHON_DIR = Path(__file__).resolve().parents[2] / "python"


# ---- kernels: PyTorch on qeq_bench's work ----------------------------------------------------

def best_seconds(fn, repeats=3):
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


# PyTorch operation -> qeq_bench benchmark (name without the ISA), for --qeq-json.
QEQ_BENCHMARKS = {
    "channel_range axis 0": "range_axis0/{isa}/2048x2048x3x3",
    "channel_range axis 1": "range_axis1/{isa}/2048x2048x3x3",
    "quantize_per_channel (qint8)": "quantize_axis0/{isa}/2048x2048x3x3",
    "fake_quantize_per_channel_affine": "fake_quantize_axis0/{isa}/2048x2048x3x3",
    "fuse_conv_bn_weights": "fold_batch_norm/{isa}",
    "cross_layer_equalization": "cle_pair/{isa}",
    "equalize (threshold 1e-4)": "equalize_chain/{isa}",
    "permute(0, 2, 3, 1).contiguous() (uint8)": "x8_nchw_to_nhwc/{isa}/1x56x56x256",
    "permute(0, 3, 1, 2).contiguous() (uint8)": "x8_nhwc_to_nchw/{isa}/1x56x56x256",
    "quantized hardswish (onednn)": "q8_hardswish/{isa}/1x56x56x256",
    "quantized sigmoid (onednn)": "q8_sigmoid/{isa}/1x56x56x256",
    "quantized sigmoid (qnnpack)": "q8_sigmoid_qnnpack/{isa}/1x56x56x256",
}
# Dispatch's preference among the ISAs a run may hold: the first one present is what a user
# gets without a cap.
ISA_PREFERENCE = ("avx512vnni", "avx512", "avxvnni", "avx2", "neondot", "neon", "scalar")
SECONDS = {}


def row(op, weights, nbytes, seconds, note=""):
    SECONDS[op] = seconds
    print(f"| {op} | {weights} | {nbytes / MIB:.1f} | {seconds * 1e3:.2f} | "
          f"{nbytes / seconds / 1e9:.2f} | {note} |")


def qeq_means(path):
    """Mean real time in seconds of each qeq_bench benchmark in a --benchmark_out JSON file
    (none when a --benchmark_filter left qeq_bench nothing to run and the file empty)."""
    with open(path) as f:
        text = f.read()
    if not text.strip():
        return {}
    report = json.loads(text)
    scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
    sums = {}
    for b in report["benchmarks"]:
        if b.get("run_type") != "iteration" or b.get("error_occurred"):
            continue
        name = b["run_name"].removesuffix("/real_time")
        total, count = sums.get(name, (0.0, 0))
        sums[name] = (total + b["real_time"] * scale[b["time_unit"]], count + 1)
    return {name: total / count for name, (total, count) in sums.items()}


def print_ratios(path):
    means = qeq_means(path)
    if not means:
        print("\nNo qeq_bench results to compare with (its filter matched nothing).")
        return
    print("\n| operation | PyTorch ms | qeq ms | qeq ISA | PyTorch / qeq |")
    print("|---|---:|---:|---|---:|")
    for op, pattern in QEQ_BENCHMARKS.items():
        isa = next((i for i in ISA_PREFERENCE if pattern.format(isa=i) in means), None)
        if op not in SECONDS or isa is None:
            continue
        ours = means[pattern.format(isa=isa)]
        print(f"| {op} | {SECONDS[op] * 1e3:.2f} | {ours * 1e3:.2f} | {isa} | "
              f"{SECONDS[op] / ours:.1f} |")
    print("PyTorch: best of its runs here; qeq: mean of qeq_bench's repetitions earlier in the "
          "same job.")


def chain_weights(seed, numel):
    """The LCG values bench/kernels/equalize-benchmarks.cc fills the chain with (bit for bit),
    by doubling: states [m, 2m) are a^m * states [0, m) + c * (a^(m-1) + ... + 1), mod 2^64."""
    a, c = np.uint64(6364136223846793005), np.uint64(1442695040888963407)
    states = np.empty(numel, dtype=np.uint64)
    with np.errstate(over="ignore"):
        states[0] = np.uint64(seed) * a + c
        mult, add, m = a, c, 1  # state[i + m] = mult * state[i] + add
        while m < numel:
            n = min(m, numel - m)
            states[m:m + n] = states[:n] * mult + add
            add = mult * add + add
            mult = mult * mult
            m *= 2
    out = (states >> np.uint64(32)).astype(np.uint32).view(np.int32)
    unit = np.float32(np.float32(1.0 / 2147483648.0) / np.float32(48.0))
    return torch.from_numpy(out.astype(np.float32) * unit)


def kernels(args):
    torch.set_num_threads(1)
    torch.manual_seed(0)
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} thread\n")
    print("| operation | weights | MiB | ms per call | GB/s | note |")
    print("|---|---|---:|---:|---:|---|")
    w = torch.randn(2048, 2048, 3, 3)
    nbytes = w.numel() * 4
    row("channel_range axis 0", "conv 2048x2048x3x3", nbytes,
        best_seconds(lambda: eq.channel_range(w, 0)))
    row("channel_range axis 1", "conv 2048x2048x3x3", nbytes,
        best_seconds(lambda: eq.channel_range(w, 1)))
    scales = (w.abs().amax(dim=(1, 2, 3)) / 127.5).double()
    zps = torch.zeros(2048, dtype=torch.long)
    row("quantize_per_channel (qint8)", "conv 2048x2048x3x3", nbytes,
        best_seconds(lambda: torch.quantize_per_channel(w, scales, zps, 0, torch.qint8)))
    fscales, izps = scales.float(), zps.int()
    row("fake_quantize_per_channel_affine", "conv 2048x2048x3x3", 2 * nbytes,
        best_seconds(lambda: torch.fake_quantize_per_channel_affine(w, fscales, izps, 0, -128,
                                                                    127)),
        "bytes read + written")
    mean, var = torch.randn(2048), torch.rand(2048) + 0.5
    gamma, beta, bias = torch.randn(2048), torch.randn(2048), torch.randn(2048)
    row("fuse_conv_bn_weights", "conv 2048x2048x3x3", 2 * nbytes,
        best_seconds(lambda: fuse_conv_bn_weights(w, bias, mean, var, 1e-5, gamma, beta)),
        "bytes read + written")
    del w
    with torch.no_grad():
        c1, c2 = torch.nn.Conv2d(2048, 2048, 3), torch.nn.Conv2d(2048, 2048, 3)
        row("cross_layer_equalization", "2 x conv 2048x2048x3x3", 2 * nbytes,
            best_seconds(lambda: eq.cross_layer_equalization(c1, c2), repeats=2))
    del c1, c2

    calls = [0]
    original = eq.cross_layer_equalization

    def counting(m1, m2, output_axis=0, input_axis=1):
        calls[0] += 1
        return original(m1, m2, output_axis, input_axis)

    eq.cross_layer_equalization = counting
    chain = torch.nn.Sequential(*[torch.nn.Conv2d(256, 256, 3) for _ in range(8)])
    with torch.no_grad():
        for j, conv in enumerate(chain):  # the same weights as qeq_bench's chain
            conv.weight.copy_(chain_weights(10 + j, conv.weight.numel()).reshape(conv.weight.shape))
            conv.bias.fill_(0.1)
    pairs = [[str(j), str(j + 1)] for j in range(7)]
    start = time.perf_counter()
    eq.equalize(chain, pairs, 1e-4, inplace=True)
    seconds = time.perf_counter() - start
    eq.cross_layer_equalization = original
    row("equalize (threshold 1e-4)", "8 x conv 256x256x3x3", 8 * 256 * 256 * 9 * 4, seconds,
        f"{calls[0] // len(pairs)} sweeps, qeq_bench's weights")
    # qeq_bench's 8-bit layout steps: a 1x256x56x56 uint8 tensor to NHWC and back.
    x8 = torch.randint(0, 256, (1, 256, 56, 56), dtype=torch.uint8)
    x8_nhwc = x8.permute(0, 2, 3, 1).contiguous()
    row("permute(0, 2, 3, 1).contiguous() (uint8)", "1x256x56x56", 2 * x8.numel(),
        best_seconds(lambda: x8.permute(0, 2, 3, 1).contiguous(), repeats=50),
        "bytes read + written")
    row("permute(0, 3, 1, 2).contiguous() (uint8)", "1x56x56x256", 2 * x8.numel(),
        best_seconds(lambda: x8_nhwc.permute(0, 3, 1, 2).contiguous(), repeats=50),
        "bytes read + written")
    # qeq_bench's activations on a channels-last 1x256x56x56 quint8 tensor (a whole number of
    # PyTorch's vectors: its vector body on every element, which qeq reproduces bit for bit).
    q8 = torch.quantize_per_tensor(torch.randn(1, 256, 56, 56), 0.05, 128, torch.quint8)
    q8 = q8.contiguous(memory_format=torch.channels_last)
    previous = torch.backends.quantized.engine
    for label, engine, fn in (
            ("quantized hardswish (onednn)", "onednn",
             lambda: torch.ops.quantized.hardswish(q8, 0.03, 100)),
            ("quantized sigmoid (onednn)", "onednn", lambda: torch.sigmoid(q8)),
            ("quantized sigmoid (qnnpack)", "qnnpack", lambda: torch.sigmoid(q8))):
        torch.backends.quantized.engine = engine
        row(label, "1x256x56x56", 2 * q8.numel(), best_seconds(fn, repeats=50),
            "bytes read + written; qeq gives the same bits")
    torch.backends.quantized.engine = previous
    if args.qeq_json:
        print_ratios(args.qeq_json)


# ---- qeq-torch: qeq.torch against PyTorch's own functions --------------------------------------

def build_model(name):
    """torchvision's `name`, untrained (nothing downloaded), eval mode, with batch norms that
    do something: random running statistics and affine parameters (fixed seeds)."""
    import torchvision
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)(weights=None).eval()
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.1)
    return model


def bn_groups(model):
    """Conv followed by its BatchNorm2d among a module's children, as these models build it."""
    groups = []
    for parent, module in model.named_modules():
        children = list(module.named_children())
        for (a, ma), (b, mb) in zip(children, children[1:]):
            if isinstance(ma, nn.Conv2d) and isinstance(mb, nn.BatchNorm2d):
                prefix = f"{parent}." if parent else ""
                groups.append([prefix + a, prefix + b])
    return groups


def cle_pairs(model):
    """Consecutive convs inside one block (first two name components), downsample paths
    excluded; only pairs PyTorch's cross_layer_equalization accepts (channel counts fit)."""
    convs = [(n, m) for n, m in model.named_modules()
             if isinstance(m, nn.Conv2d) and "downsample" not in n]
    pairs = []
    for (a, ma), (b, mb) in zip(convs, convs[1:]):
        if a.split(".")[:2] == b.split(".")[:2] and ma.out_channels == mb.weight.shape[1]:
            pairs.append([a, b])
    return pairs


def best(fn, setup, repeats):
    times = []
    for _ in range(repeats):
        arg = setup()
        start = time.perf_counter()
        fn(arg)
        times.append(time.perf_counter() - start)
    return min(times)


def best_pair(fn_a, fn_b, setup, repeats, clock=time.perf_counter):
    """best(fn_a, ...) and best(fn_b, ...) with the runs interleaved (a, b, a, b, ...), so
    that other work on a shared machine slows both alike. clock=time.thread_time counts the
    thread's CPU time instead of the wall clock (time spent preempted left out)."""
    times = ([], [])
    for _ in range(repeats):
        for fn, out in zip((fn_a, fn_b), times):
            arg = setup()
            start = clock()
            fn(arg)
            out.append(clock() - start)
    return min(times[0]), min(times[1])


def prepare_phases(qt, model, x, repeats, clock):
    """equalize_model (the prepare table's arguments) split by phase, by timing the functions
    it calls: tracing and discovery (find_chains), folding (fuse_modules' in-place path, with
    its checks), the CLE sweeps (qeq.core.equalize_groups), the report's weight ranges read
    outside the fold (_channel_minmax), and the rest (Python bookkeeping). The run with the
    best total."""
    from qeq import core
    from qeq.torch import _prepare
    spent = {}
    patched = [(_prepare, "find_chains", "trace and discovery"),
               (qt, "_fuse_in_place", "folding"), (core, "equalize_groups", "CLE sweeps"),
               (_prepare, "_channel_minmax", "report ranges")]
    originals = [getattr(obj, attr) for obj, attr, _ in patched]

    def timed(fn, label):
        def call(*args, **kwargs):
            start = clock()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[label] = spent.get(label, 0.0) + clock() - start
        return call
    for (obj, attr, label), fn in zip(patched, originals):
        setattr(obj, attr, timed(fn, label))
    runs = []
    try:
        for _ in range(repeats):
            m = copy.deepcopy(model)
            spent.clear()
            start = clock()
            qt.equalize_model(m, x, relu6="keep", triplets=False, high_bias="keep",
                              inplace=True)
            runs.append((clock() - start, dict(spent)))
    finally:
        for (obj, attr, _), fn in zip(patched, originals):
            setattr(obj, attr, fn)
    total, phases = min(runs, key=lambda run: run[0])
    phases["rest"] = total - sum(phases.values())
    return total, phases


def linear_rows(qt, row, repeats, m=64, k=1024, n=1024):
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


def qeq_torch(args):
    from torch.ao.quantization import fuse_modules as torch_fuse_modules
    sys.path.insert(0, str(PYTHON_DIR))
    import qeq
    import qeq.torch as qt

    torch.set_num_threads(args.threads)
    print(f"qeq {qeq.__version__} ({qeq.isa()}), PyTorch {torch.__version__} "
          f"({torch.get_num_threads()} thread(s)), best of {args.repeats}\n")
    print("| model | operation | PyTorch ms | qeq.torch ms | speed-up |")
    print("|---|---|---:|---:|---:|")

    def row(model, op, t_torch, t_qeq):
        print(f"| {model} | {op} | {t_torch * 1e3:.1f} | {t_qeq * 1e3:.1f} | "
              f"{t_torch / t_qeq:.1f}x |", flush=True)

    if args.only in ("all", "linear"):
        linear_rows(qt, row, args.repeats * 10)
    if args.only == "linear":
        return
    for name in ("resnet18", "mobilenet_v2"):
        model = build_model(name)
        groups = bn_groups(model)
        row(name, f"fuse_modules ({len(groups)} conv+bn, inplace=True, runs interleaved)",
            *best_pair(lambda m: torch_fuse_modules(m, groups, inplace=True),
                       lambda m: qt.fuse_modules(m, groups, inplace=True),
                       lambda: copy.deepcopy(model), args.repeats,
                       time.thread_time if args.cpu_time else time.perf_counter))
        fused = qt.fuse_modules(model, groups)
        pairs = cle_pairs(fused)
        row(name, f"equalize ({len(pairs)} pairs, 1e-4)",
            best(lambda m: eq.equalize(m, pairs, 1e-4), lambda: copy.deepcopy(fused),
                 args.repeats),
            best(lambda m: qt.equalize(m, pairs, 1e-4), lambda: copy.deepcopy(fused),
                 args.repeats))
        sweeps = qt.last_equalize_report.sweeps
        print(f"|  | ({sweeps} sweeps) | | | |")

    torch.manual_seed(0)
    pair = (nn.Conv2d(2048, 2048, 3, bias=True), nn.Conv2d(2048, 2048, 3, bias=True))
    row("2 x conv 2048x2048x3x3", "cross_layer_equalization",
        best(lambda p: eq.cross_layer_equalization(*p), lambda: copy.deepcopy(pair), args.repeats),
        best(lambda p: qt.cross_layer_equalization(*p), lambda: copy.deepcopy(pair), args.repeats))
    bn = nn.BatchNorm2d(2048).eval()
    conv = pair[0].eval()
    row("conv 2048x2048x3x3", "fuse_conv_bn_eval",
        best(lambda c: torch.nn.utils.fusion.fuse_conv_bn_eval(c, bn), lambda: conv, args.repeats),
        best(lambda c: qt.fuse_conv_bn_eval(c, bn), lambda: conv, args.repeats))


def models(args):
    """Whole torchvision models quantized by PyTorch (qeq.torch's recipe) against the same
    models converted by qeq.torch.convert: latency per engine and whether the outputs are
    equal, one thread, in one run."""
    sys.path.insert(0, str(PYTHON_DIR))
    import qeq
    import qeq.torch as qt
    from qeq._onednn_exactness import probe
    from qeq.run import _best_pair_ms
    from qeq.torch import _models

    torch.set_num_threads(args.threads)
    info = probe()
    engines = [e for e in ("onednn", "qnnpack") if e in torch.backends.quantized.supported_engines]
    print(f"qeq {qeq.__version__} ({qeq.isa()}), PyTorch {torch.__version__}, "
          f"{args.threads} thread(s), best of {args.repeats} (PyTorch and qeq timed "
          f"alternately); {info.describe()}. Recipe: "
          "qeq.torch._models (random weights, measured batch norms, fuse_model, default "
          "qconfig per engine: x86 for onednn, qnnpack for qnnpack; calibration on 2 x 4 "
          "generated images). Equal: qeq's output against PyTorch's on the timed batch "
          "(exact: PyTorch's kernels are exact on this CPU for this engine). Fallbacks: nodes "
          "qeq has no operator for yet, run by PyTorch inside qeq's time. Convert: the time of "
          "qeq.torch.convert (tracing and packing every weight), once per model and engine.\n")
    print("| model | input | batch | engine | PyTorch ms | qeq ms | PyTorch / qeq | equal | "
          "PyTorch exact | fallbacks | convert ms |")
    print("|---|---|---:|---|---:|---:|---:|---|---|---:|---:|")
    for name in args.models:
        size = _models.input_size(name)
        float_model = _models.float_torchvision(name, size=size)
        for engine in engines:
            _, model = _models.quantized_torchvision(name, engine, size=size,
                                                     float_model=float_model)
            start = time.perf_counter()
            converted = qt.convert(model, engine=engine, threads=args.threads, fallback=True)
            t_convert = (time.perf_counter() - start) * 1e3
            before = torch.backends.quantized.engine
            torch.backends.quantized.engine = engine
            try:
                for batch in args.batch or [1, 8]:
                    x = _models.generated_images(batch, size, 4321)
                    with torch.no_grad():
                        equal = torch.equal(model(x), converted(x))
                        t_torch, t_qeq, _ = _best_pair_ms(lambda: model(x),
                                                          lambda: converted(x), args.repeats)
                    exact = engine == "qnnpack" or not info.saturates
                    print(f"| {name} | {size}x{size} | {batch} | {engine} | {t_torch:.1f} | "
                          f"{t_qeq:.1f} | {t_torch / t_qeq:.2f}x | {'yes' if equal else 'NO'} | "
                          f"{'yes' if exact else 'no'} | {len(converted.fallbacks)} | "
                          f"{t_convert:.0f} |",
                          flush=True)
            finally:
                torch.backends.quantized.engine = before


def _weight_quantized(model):
    """A copy with every Linear / Conv weight fake-quantized per tensor (symmetric qint8, as
    MinMaxObserver: scale max|w| / 127.5)."""
    model = copy.deepcopy(model)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                w = m.weight
                scale = float(w.abs().max()) / 127.5
                if scale > 0:
                    w.copy_(torch.fake_quantize_per_tensor_affine(w, scale, 0, -128, 127))
    return model


def _sqnr(ref, x):
    ref, x = ref.double(), x.double()
    return 10 * math.log10(float(ref.pow(2).sum()) / float((ref - x).pow(2).sum()))


def _spread(model, pairs, sigma, seed):
    """Each first layer's output channel c times exp(N(0, sigma)), divided out of the second
    layer's input channel c (a depthwise layer's channel c): the float function is kept."""
    g = torch.Generator().manual_seed(seed)
    modules = dict(model.named_modules())
    with torch.no_grad():
        for a, b in pairs:
            ma, mb = modules[a], modules[b]
            s = torch.exp(torch.randn(ma.weight.shape[0], generator=g) * sigma)
            ma.weight.mul_(s.view(-1, *([1] * (ma.weight.dim() - 1))))
            if ma.bias is not None:
                ma.bias.mul_(s)
            if isinstance(mb, nn.Conv2d) and mb.groups == mb.in_channels and mb.groups > 1:
                mb.weight.div_(s.view(-1, 1, 1, 1))
            else:
                mb.weight.div_(s.view(1, -1, *([1] * (mb.weight.dim() - 2))))


def prepare(args):
    """equalize_model against the same preparation with PyTorch's functions, and the SQNR it
    buys on a mobilenet_v2 whose channel ranges are spread as trained networks' are."""
    from torch.ao.quantization import fuse_modules as torch_fuse_modules
    sys.path.insert(0, str(PYTHON_DIR))
    import qeq
    import qeq.torch as qt
    from qeq.torch import _models

    torch.set_num_threads(1)
    clock = time.thread_time if args.cpu_time else time.perf_counter
    print(f"qeq {qeq.__version__} ({qeq.isa()}), PyTorch {torch.__version__}, one thread, "
          f"best of {args.repeats} ({'thread CPU time' if args.cpu_time else 'wall clock'}, "
          "the two sides interleaved)\n")
    print("| model | preparation | PyTorch ms | qeq ms | speed-up |")
    print("|---|---|---:|---:|---:|")
    phase_rows = []
    for name in ("resnet18", "mobilenet_v2"):
        model = build_model(name)
        x = _models.generated_images(1, 224, 1)
        found = qt.find_chains(model, x)
        groups = [list(g) for g in found.batch_norms]
        torch_pairs = [list(p) for p in cle_pairs(qt.fuse_modules(model, groups))]

        def pytorch(m):
            m = torch_fuse_modules(m, groups, inplace=True)
            eq.equalize(m, torch_pairs, 1e-4)

        t_torch, t_qeq = best_pair(
            pytorch, lambda m: qt.equalize_model(m, x, relu6="keep", triplets=False,
                                                 high_bias="keep", inplace=True),
            lambda: copy.deepcopy(model), args.repeats, clock)
        if args.phases:
            phase_rows.append((name, *prepare_phases(qt, model, x, args.repeats, clock)))
        print(f"| {name} | fold {len(groups)} + CLE (PyTorch: {len(torch_pairs)} pairs given; "
              f"qeq: equalize_model traces and finds them) | {t_torch * 1e3:.1f} | "
              f"{t_qeq * 1e3:.1f} | {t_torch / t_qeq:.1f}x |", flush=True)
    if phase_rows:
        labels = list(phase_rows[0][2])
        print("\nequalize_model by phase (ms; the best of the runs timed apart, each phase "
              "timed around the function doing it):\n")
        print("| model | total | " + " | ".join(labels) + " |")
        print("|---|---:|" + "---:|" * len(labels))
        for name, total, phases in phase_rows:
            print(f"| {name} | {total * 1e3:.1f} | " +
                  " | ".join(f"{phases[k] * 1e3:.1f}" for k in labels) + " |")
    if args.phases:
        return

    # SQNR: mobilenet_v2 with spread ranges, per-tensor int8 weights, float activations.
    model = build_model("mobilenet_v2")
    x = _models.generated_images(4, 224, 2)
    relu = copy.deepcopy(model)
    for module in list(relu.modules()):
        for child_name, child in module.named_children():
            if type(child) is nn.ReLU6:
                setattr(module, child_name, nn.ReLU())
    found = qt.find_chains(relu, x)
    folded = qt.fuse_modules(relu, [list(g) for g in found.batch_norms])
    _spread(folded, found.pairs, 2.0, seed=5)
    prepared, report = qt.equalize_model(folded, x, high_bias="keep")
    torch_eq = copy.deepcopy(folded)
    eq.equalize(torch_eq, [list(p) for p in cle_pairs(torch_eq)], 1e-4)
    with torch.no_grad():
        original = model(x)
        rows = [("folded, spread, unprepared", folded),
                (f"qeq equalize_model ({len(report.pairs)} pairs, {len(report.triplets)} "
                 "triplets)", prepared),

                (f"PyTorch equalize on the pairs it accepts ({len(cle_pairs(torch_eq))})",
                 torch_eq)]
        print("\nmobilenet_v2 (random weights, measured batch norms, ReLU6 -> ReLU, folded), "
              "each chain link's output channels spread by exp(N(0, 2)) and divided out of the "
              "next layer (the float function kept); weights quantized per tensor "
              "(symmetric int8), activations float; 4 generated 224x224 images.\n")
        print("| model | output SQNR vs its own float, dB | vs the original ReLU6 model, dB |")
        print("|---|---:|---:|")
        for label, m in rows:
            wq = _weight_quantized(m)(x)
            print(f"| {label} | {_sqnr(m(x), wq):.2f} | {_sqnr(original, wq):.2f} |")
    bias_correction_table(qt, _models)


def _consistent_model(name, images):
    """torchvision's `name` with random affine batch norms whose running statistics are then
    measured on `images` (as training leaves them: each batch norm's statistics describe its
    actual input), in eval mode. Data-free bias correction relies on that."""
    import torchvision
    from qeq.torch import _models
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)(weights=None).eval()
    _models._perturb_affine(model, torch.Generator().manual_seed(1))
    _models._measure_running_stats(model, images)
    return model


def bias_correction_table(qt, _models):
    """resnet18 prepared without, with data-free and with empirical bias correction."""
    model = _consistent_model("resnet18", [_models.generated_images(8, 224, 100 + i)
                                           for i in range(4)])
    x = _models.generated_images(4, 224, 2)
    calibration = [_models.generated_images(4, 224, 50 + i) for i in range(2)]
    print("\nresnet18 (random weights and affine batch norms, running statistics measured on "
          "32 generated images), weights quantized per tensor (symmetric int8), activations "
          "float; SQNR of the output against the unprepared float model on 4 other images.\n")
    print("| equalize_model | layers corrected | output SQNR, dB |")
    print("|---|---:|---:|")
    with torch.no_grad():
        original = model(x)
        for label, kwargs in (("no bias correction", {}),
                              ("bias_correction=\"data_free\"", {"bias_correction": "data_free"}),
                              ("bias_correction=\"empirical\" (8 images)",
                               {"bias_correction": "empirical", "calibration": calibration})):
            prepared, report = qt.equalize_model(model, x, weight_qscheme="per_tensor", **kwargs)
            print(f"| {label} | {len(report.bias_corrected)} | "
                  f"{_sqnr(original, _weight_quantized(prepared)(x)):.2f} |", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    k = commands.add_parser("kernels", help="PyTorch on the work qeq_bench measures (one "
                            "thread)")
    k.add_argument("--qeq-json", help="qeq_bench --benchmark_out file of the same job")
    k.set_defaults(run=kernels)
    p = commands.add_parser("prepare", help="equalize_model against PyTorch's functions, and "
                            "its SQNR gain on spread ranges (needs QEQ_LIBRARY, torchvision)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--cpu-time", action="store_true",
                   help="time the thread's CPU time, not the wall clock (a shared machine)")
    p.add_argument("--phases", action="store_true",
                   help="equalize_model split by phase; only the timing table")
    p.set_defaults(run=prepare)
    w = commands.add_parser("models", help="whole torchvision models: PyTorch's quantized "
                            "model against qeq.torch.convert (needs QEQ_LIBRARY, torchvision)")
    w.add_argument("--threads", type=int, default=1)
    w.add_argument("--repeats", type=int, default=3)
    w.add_argument("--batch", type=int, action="append", help="batch sizes (default 1 and 8)")
    w.add_argument("--models", nargs="+", default=["resnet18", "resnet50", "mobilenet_v2",
                   "mobilenet_v3_large", "shufflenet_v2_x1_0", "inception_v3"])
    w.set_defaults(run=models)
    q = commands.add_parser("qeq-torch", help="qeq.torch against PyTorch's own functions "
                            "(needs QEQ_LIBRARY and torchvision)")
    q.add_argument("--threads", type=int, default=1, help="PyTorch threads (default 1; "
                   "qeq is single-threaded)")
    q.add_argument("--repeats", type=int, default=3)
    q.add_argument("--only", choices=("all", "linear", "models"), default="all",
                   help="linear: the quantized Linear rows only; models: all but those")
    q.add_argument("--cpu-time", action="store_true",
                   help="fuse_modules rows: the thread's CPU time, not the wall clock")
    q.set_defaults(run=qeq_torch)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()

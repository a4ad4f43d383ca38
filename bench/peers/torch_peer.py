#!/usr/bin/python3
"""PyTorch 1.13 (Debian's python3-torch) on the work qeq_bench measures, single thread, for
the main job's comparison (docs/benchmarks.md#the-main-job). Run:
/usr/bin/python3 bench/peers/torch_peer.py [--qeq-json FILE] (apt-get install python3-torch). Prints
a markdown table; times are the best of a few runs.
With --qeq-json (qeq_bench's --benchmark_out, from the same job) it also prints qeq's time
beside PyTorch's for each operation, for the dispatched (best detected) ISA."""
import argparse
import json
import time

import numpy as np
import torch
from torch.ao.quantization import _equalize as eq
from torch.nn.utils.fusion import fuse_conv_bn_weights

torch.set_num_threads(1)
torch.manual_seed(0)
MIB = 1024 * 1024


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
}
# Dispatch's preference among the ISAs a run may hold: the first one present is what a user
# gets without a cap.
ISA_PREFERENCE = ("avx512vnni", "avx512", "avxvnni", "avx2", "neondot", "neon", "scalar")
SECONDS = {}


def row(op, weights, nbytes, seconds, note=""):
    SECONDS[op] = seconds
    print(f"| {op} | {weights} | {nbytes / MIB:.1f} | {seconds * 1e3:.1f} | "
          f"{nbytes / seconds / 1e9:.2f} | {note} |")


def qeq_means(path):
    """Mean real time in seconds of each qeq_bench benchmark in a --benchmark_out JSON file."""
    with open(path) as f:
        report = json.load(f)
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
    print("\n| operation | PyTorch ms | qeq ms | qeq ISA | PyTorch / qeq |")
    print("|---|---:|---:|---|---:|")
    for op, pattern in QEQ_BENCHMARKS.items():
        isa = next((i for i in ISA_PREFERENCE if pattern.format(isa=i) in means), None)
        if op not in SECONDS or isa is None:
            continue
        ours = means[pattern.format(isa=isa)]
        print(f"| {op} | {SECONDS[op] * 1e3:.1f} | {ours * 1e3:.2f} | {isa} | "
              f"{SECONDS[op] / ours:.1f} |")
    print("PyTorch: best of its runs here; qeq: mean of qeq_bench's repetitions earlier in the "
          "same job.")


def chain_weights(seed, numel):
    """The LCG values bench/kernels/equalize-benchmarks.cc fills the chain with (bit for bit), by
    doubling: states [m, 2m) are a^m * states [0, m) + c * (a^(m-1) + ... + 1), mod 2^64."""
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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--qeq-json", help="qeq_bench --benchmark_out file of the same job")
    args = parser.parse_args()
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
        best_seconds(lambda: torch.fake_quantize_per_channel_affine(w, fscales, izps, 0, -128, 127)),
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
    if args.qeq_json:
        print_ratios(args.qeq_json)


if __name__ == "__main__":
    main()

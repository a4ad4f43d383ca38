"""`python3 -m qeq report MODEL`: what equalization does to a model's weights.

MODEL is a torch.save'd nn.Module, `torchvision:NAME` (a torchvision model with random
weights, nothing downloaded), a TorchScript file, or an .npz or .safetensors file of weight
arrays. For an nn.Module the report runs qeq.torch.equalize_model and writes, for every
weighted layer, the per-output-channel weight ranges as given and prepared, their max/min
ratio, the SQNR of per-tensor int8 weights and the layer's role (report.md, report.csv,
report.html) and plots of the ranges (matplotlib, PNG or SVG); with --calibration, the SQNR
of the int8 model's output on qeq's kernels before and after preparation, and each layer's
(int8_layer_sqnr). TorchScript and weight files have no graph torch.fx can trace: they get
the tables and plots of their weights as they are.
"""
from __future__ import annotations

import argparse
import csv
import math
import sys
from pathlib import Path
from typing import Any, Iterable, NamedTuple

import numpy as np

from . import core
from ._int8 import weight_sqnr

__all__ = ["main", "LayerStats", "stats"]


class LayerStats(NamedTuple):
    name: str
    shape: tuple[int, ...]
    ranges: np.ndarray  # per output channel
    ratio: float  # max / min of the nonzero ranges
    sqnr: float  # dB, per-tensor symmetric qint8


def stats(name: str, weight: np.ndarray, out_axis: int = 0) -> LayerStats:
    w = np.ascontiguousarray(weight, dtype=np.float32)
    ranges = core.channel_range(w, out_axis)
    nonzero = ranges[ranges > 0]
    ratio = float(nonzero.max() / nonzero.min()) if nonzero.size else math.nan
    return LayerStats(name, tuple(w.shape), ranges, ratio, weight_sqnr(w))


class Progress:
    """A one-line progress bar on stderr (silent when quiet or when stderr is not a terminal)."""

    def __init__(self, total: int, quiet: bool = False, width: int = 30):
        self.total, self.done, self.quiet, self.width = max(total, 1), 0, quiet, width

    def step(self, label: str) -> None:
        self.done += 1
        if self.quiet or not sys.stderr.isatty():  # no carriage returns in a log file
            return
        filled = self.width * self.done // self.total
        bar = "#" * filled + "." * (self.width - filled)
        end = "\n" if self.done >= self.total else ""
        sys.stderr.write(f"\r[{bar}] {self.done}/{self.total} {label[:40]:<40}{end}")
        sys.stderr.flush()


def _fmt(v: float) -> str:
    return "inf" if math.isinf(v) else "nan" if math.isnan(v) else f"{v:.4g}"


def write_tables(rows: list[tuple[LayerStats, LayerStats | None]], out: Path,
                 roles: dict[str, str] | None = None,
                 layer_sqnrs: tuple[dict[str, float], dict[str, float]] | None = None,
                 folded_ratios: dict[str, float] | None = None) -> list[list[str]]:
    """report.csv and report.md: each layer as given and prepared; folded_ratios (a module's
    report) adds the ratio once the batch norms are folded, before equalization, which tells
    the fold's share of a change from the equalization's."""
    header = ["layer", "shape", "range min before", "range max before", "ratio before",
              "SQNR dB before", "range min after", "range max after", "ratio after",
              "SQNR dB after", "role"]
    if folded_ratios is not None:
        header.insert(header.index("range min after"), "ratio folded")
    if layer_sqnrs is not None:
        header += ["int8 output SQNR dB before", "int8 output SQNR dB after"]
    lines = []
    roles = roles or {}
    for before, after in rows:
        row = [before.name, "x".join(map(str, before.shape)), _fmt(float(before.ranges.min())),
               _fmt(float(before.ranges.max())), _fmt(before.ratio), _fmt(before.sqnr)]
        if after is None:
            row += ["", "", "", ""]
        else:
            row += [_fmt(float(after.ranges.min())), _fmt(float(after.ranges.max())),
                    _fmt(after.ratio), _fmt(after.sqnr)]
        if folded_ratios is not None:
            folded = folded_ratios.get(before.name)
            row.insert(header.index("ratio folded"), "" if folded is None else _fmt(folded))
        row.append(roles.get(before.name, ""))
        if layer_sqnrs is not None:
            row += [_fmt(layer_sqnrs[0][before.name]) if before.name in layer_sqnrs[0] else "",
                    _fmt(layer_sqnrs[1][before.name]) if before.name in layer_sqnrs[1] else ""]
        lines.append(row)
    with open(out / "report.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(lines)
    md = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    md += ["| " + " | ".join(r) + " |" for r in lines]
    (out / "report.md").write_text("\n".join(md) + "\n")
    return [header] + lines


def _log_axis(ax: Any, axis: str = "y") -> None:
    """A log axis ticked at 1, 2 and 5 times powers of ten, labelled as plain numbers (0.02,
    0.05, 0.1, ...; no 4x10^-1)."""
    from matplotlib import ticker
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0), numticks=15))
    target.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    target.set_minor_formatter(ticker.NullFormatter())


def plot(before: LayerStats, after: LayerStats | None, path: Path) -> None:
    """Each output channel's weight range, sorted from largest to smallest: one curve per
    state, readable at any channel count; the legend outside the data."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.2))
    channels = np.arange(1, before.ranges.size + 1)
    ax.step(channels, np.sort(before.ranges)[::-1], where="mid", lw=1.2,
            label=f"as given (max/min {_fmt(before.ratio)})")
    if after is not None:
        ax.step(channels, np.sort(after.ranges)[::-1], where="mid", lw=1.2,
                label=f"prepared (max/min {_fmt(after.ratio)})")
    if (before.ranges > 0).all() and (after is None or (after.ranges > 0).all()):
        ax.set_yscale("log")
        _log_axis(ax)
    ax.set_xlabel("output channels, sorted by range")
    ax.set_ylabel("weight range (max - min)")
    ax.set_title(before.name, fontsize="medium")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_ratios(rows: list[tuple[LayerStats, LayerStats | None]], path: Path) -> None:
    """Every layer's max/min range ratio, as given and prepared (log scale)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [b.name for b, _ in rows]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.18 * len(names) + 2), 3.6))
    x = np.arange(len(names))
    ax.scatter(x, [b.ratio for b, _ in rows], s=12, label="as given")
    ax.scatter(x, [a.ratio if a is not None else np.nan for _, a in rows], s=12, marker="x",
               label="prepared")
    ax.set_yscale("log")
    _log_axis(ax)
    ax.set_xticks(x)
    ax.set_xticklabels(names, rotation=90, fontsize=6)
    ax.set_ylabel("range max / min")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def have_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


# ---- loading -------------------------------------------------------------------------------

def load(spec: str) -> tuple[str, Any]:
    """("module", nn.Module) / ("weights", {name: array})."""
    if spec.startswith("torchvision:"):
        import torch
        import torchvision
        from .torch._models import _measure_batch_norms, generated_images
        name = spec.split(":", 1)[1]
        builder = getattr(torchvision.models, name, None)
        if name.startswith("_") or not callable(builder):
            raise SystemExit(f"qeq report: torchvision has no model {name!r} (e.g. resnet18, "
                             "mobilenet_v2; torchvision.models.list_models() in newer "
                             "torchvision)")
        torch.manual_seed(0)
        kwargs = {"aux_logits": False, "init_weights": True} if name in (
            "googlenet", "inception_v3") else {}
        model = builder(weights=None, **kwargs)
        # Random weights, batch-norm statistics measured on generated images (as the
        # recipe of qeq.torch._models), so the layers' outputs have realistic ranges.
        _measure_batch_norms(model, [generated_images(4, 64, 100 + i) for i in range(2)], 0)
        return "module", model.eval()
    path = Path(spec)
    if not path.is_file():
        raise SystemExit(f"qeq report: {spec}: no such file")
    if path.suffix == ".npz":
        with np.load(path) as data:
            return "weights", {k: data[k] for k in data.files}
    if path.suffix == ".safetensors":
        from ._safetensors import SafetensorsError, load_safetensors
        try:
            return "weights", load_safetensors(path)
        except SafetensorsError as e:
            raise SystemExit(f"qeq report: {e}") from None
    import torch
    try:
        scripted = torch.jit.load(str(path), map_location="cpu")
        return "weights", {n: p.detach().numpy() for n, p in scripted.named_parameters()}
    except RuntimeError:
        pass  # not TorchScript: a pickled module
    obj = torch.load(str(path), map_location="cpu")
    if not isinstance(obj, torch.nn.Module):
        raise SystemExit(f"qeq report: {spec}: expected a torch.save'd nn.Module, got "
                         f"{type(obj).__name__} (a state_dict has no graph; save the module)")
    return "module", obj.eval()


def _example(model: Any, shape: str | None) -> Any:
    import torch
    if shape:
        return torch.randn(*[int(d) for d in shape.split(",")])
    first = next((m for m in model.modules() if hasattr(m, "weight") and
                  getattr(m, "weight") is not None and m.weight.dim() >= 2), None)
    if first is None:
        return None
    if first.weight.dim() == 2:
        return torch.randn(1, first.weight.shape[1])
    spatial = {3: (64,), 4: (64, 64), 5: (16, 16, 16)}[first.weight.dim()]
    return torch.randn(1, getattr(first, "in_channels", first.weight.shape[1]), *spatial)


def _roles(report: Any) -> dict[str, str]:
    """Each layer's part in the preparation, as the tables name it."""
    roles: dict[str, str] = {}
    for i, chain in enumerate(report.chains):
        for j, name in enumerate(chain):
            roles[name] = f"chain {i + 1}, layer {j + 1} of {len(chain)}"
    for a, b, c in report.triplets:
        for name, part in ((a, "conv"), (b, "depthwise"), (c, "conv")):
            roles[name] = roles.get(name, "") + f"; triplet {a} -> {b} -> {c} ({part})"
    for name, reason in report.refusals:
        if name not in roles:
            roles[name] = f"not chained: {reason}"
        elif "high-bias" in reason:
            roles[name] += f"; {reason}"
        else:
            roles[name] += f" (the chain ends: {reason})"
    return {k: v.lstrip("; ") for k, v in roles.items()}


def report_module(model: Any, args: argparse.Namespace, out: Path):
    import torch
    import qeq.torch as qt
    from qeq.torch._prepare import _weighted

    example = _example(model, args.input_shape)
    layers = list(_weighted(model))
    plots = args.plots and have_matplotlib()
    progress = Progress(1 + len(layers) * (2 if plots else 1), args.quiet)

    def weight(modules: dict, name: str) -> tuple[np.ndarray, int]:
        m = modules[name]
        inner = m[0] if isinstance(m, torch.nn.Sequential) else m
        # ConvTranspose weights are [in, out/groups, ...]: output channels on axis 1
        return inner.weight.detach().numpy().copy(), int(getattr(inner, "transposed", False))

    original = dict(model.named_modules())
    before = {n: stats(n, *weight(original, n)) for n in layers}
    prepared, prep = qt.equalize_model(model, example, relu6=args.relu6,
                                       threshold=args.threshold)
    progress.step(f"prepared: {len(prep.chains)} chains, {len(prep.folds)} folds")
    modules = dict(prepared.named_modules())
    rows = []
    for n in layers:
        rows.append((before[n], stats(n, *weight(modules, n)) if n in modules else None))
        progress.step(n)
    return prepared, prep, rows, plots, progress


def _int8_model(model: Any, inputs: list, per_channel: bool) -> Any:
    """`model` quantized by PyTorch's FX API (quint8 activations, qint8 weights per tensor or
    per channel, MinMax observers calibrated on `inputs`), run on qeq's kernels
    (qeq.torch.convert, qnnpack engine). Call under the qnnpack engine."""
    import copy
    import warnings
    import torch
    import qeq.torch as qt
    from torch.ao.quantization import (MinMaxObserver, PerChannelMinMaxObserver, QConfig,
                                       QConfigMapping)
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx
    weight = (PerChannelMinMaxObserver.with_args(dtype=torch.qint8,
                                                 qscheme=torch.per_channel_symmetric)
              if per_channel else MinMaxObserver.with_args(dtype=torch.qint8,
                                                           qscheme=torch.per_tensor_symmetric))
    qconfig = QConfig(activation=MinMaxObserver.with_args(dtype=torch.quint8), weight=weight)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        prepared = prepare_fx(copy.deepcopy(model), QConfigMapping().set_global(qconfig),
                              (inputs[0],))
        for x in inputs:
            prepared(x)
        return qt.convert(convert_fx(prepared), engine="qnnpack", fallback=True)


class _Engine:
    """torch.backends.quantized.engine set for a block."""

    def __init__(self, name: str):
        self.name = name

    def __enter__(self) -> None:
        import torch
        self.previous = torch.backends.quantized.engine
        torch.backends.quantized.engine = self.name

    def __exit__(self, *exc: Any) -> None:
        import torch
        torch.backends.quantized.engine = self.previous


def _db(signal: float, noise: float) -> float:
    return math.inf if noise == 0 else 10 * math.log10(signal / noise)


def int8_sqnr(model: Any, reference: Any, inputs: list, per_channel: bool) -> float:
    """SQNR (dB) of `model`'s int8 version (_int8_model) against `reference`'s float
    output."""
    import torch
    with _Engine("qnnpack"), torch.no_grad():
        int8 = _int8_model(model, inputs, per_channel)
        signal = noise = 0.0
        for x in inputs:
            want = reference(x).double()
            got = int8(x).double()
            signal += float(want.pow(2).sum())
            noise += float((want - got).pow(2).sum())
    return _db(signal, noise)


def int8_layer_sqnr(model: Any, inputs: list, per_channel: bool) -> dict[str, float]:
    """Per weighted layer, the SQNR (dB) of its output in `model`'s int8 version
    (_int8_model, run on qeq's kernels) against the same layer's output in the float model
    fused as the FX API fuses it (batch norm folded, a following ReLU included), both on
    `inputs`: PyTorch's model-numerics measure, layer by layer. The int8 layer sees the int8
    model's own (quantized) input, so the figure includes what earlier layers lost."""
    import copy
    import torch
    from torch import nn
    from torch.ao.quantization.quantize_fx import fuse_fx
    weighted = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)
    with _Engine("qnnpack"), torch.no_grad():
        int8 = _int8_model(model, inputs, per_channel)
        fused = fuse_fx(copy.deepcopy(model))
        nodes = {str(n.target): n.name for n in int8.graph.nodes if n.op == "call_module"}
        names = [n for n, m in fused.named_modules()
                 if n in nodes and (isinstance(m, weighted) or
                                    (isinstance(m, nn.Sequential) and len(m) and
                                     isinstance(m[0], weighted)))]
        floats: dict[str, list] = {n: [] for n in names}
        hooks = [fused.get_submodule(n).register_forward_hook(
            lambda m, a, out, n=n: floats[n].append(out.double())) for n in names]
        try:
            for x in inputs:
                fused(x)
        finally:
            for h in hooks:
                h.remove()
        sums = {n: [0.0, 0.0] for n in names}
        for i, x in enumerate(inputs):
            values = int8.node_values(x)
            for n in names:
                got = values[nodes[n]]
                got = (got.dequantize() if got.is_quantized else got).double()
                want = floats[n][i]
                sums[n][0] += float(want.pow(2).sum())
                sums[n][1] += float((want - got).pow(2).sum())
    return {n: _db(*sums[n]) for n in names}


def write_html(out: Path, title: str, summary: list[str], sqnr_rows: list[list[str]],
               table: list[list[str]], images: list[str]) -> None:
    import html
    parts = [f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}"
             "</title><style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:"
             "collapse;font-size:0.85em}td,th{border:1px solid #ccc;padding:2px 6px}"
             "img{max-width:100%;display:block;margin:0.5em 0}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>", "<ul>"]
    parts += [f"<li>{html.escape(line)}</li>" for line in summary]
    parts.append("</ul>")
    for caption, rows in (("int8 output SQNR (qeq kernels)", sqnr_rows), ("Layers", table)):
        if len(rows) < 2:
            continue
        parts.append(f"<h2>{caption}</h2><table><tr>" +
                     "".join(f"<th>{html.escape(h)}</th>" for h in rows[0]) + "</tr>")
        for r in rows[1:]:
            parts.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>")
        parts.append("</table>")
    if images:
        parts.append("<h2>Weight ranges</h2>")
        parts += [f"<img src='{html.escape(name)}' alt='{html.escape(name)}'>" for name in images]
    parts.append("</body></html>\n")
    (out / "report.html").write_text("\n".join(parts))


def report_weights(weights: dict[str, np.ndarray], args: argparse.Namespace):
    names = [n for n, w in weights.items() if np.asarray(w).ndim >= 2]
    plots = args.plots and have_matplotlib()
    progress = Progress(len(names) * (2 if plots else 1), args.quiet)
    rows = []
    for n in names:
        rows.append((stats(n, np.asarray(weights[n], np.float32)), None))
        progress.step(n)
    return rows, plots, progress


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m qeq report", description=__doc__.split(
        "\n\n")[0])
    parser.add_argument("model", help="torch.save'd module, torchvision:NAME, TorchScript "
                                      "file, or .npz / .safetensors of weights")
    parser.add_argument("-o", "--out", default="qeq-report", help="output directory")
    parser.add_argument("--input-shape", help="example input shape for tracing, e.g. "
                                              "1,3,224,224 (default: from the first layer)")
    parser.add_argument("--threshold", type=float, default=1e-4,
                        help="equalize's convergence threshold")
    parser.add_argument("--format", choices=("png", "svg"), default="png")
    parser.add_argument("--no-plots", dest="plots", action="store_false")
    parser.add_argument("--relu6", choices=("replace", "keep"), default="replace",
                        help="equalize_model's relu6 (default: replace ReLU6 by ReLU)")
    parser.add_argument("--calibration", type=int, default=0, metavar="N",
                        help="with N >= 1 generated inputs of --input-shape: the SQNR of the "
                        "int8 model's output (qeq's kernels) before and after preparation")
    parser.add_argument("--write", help="write the folded and equalized model (torch.save) "
                                        "or, for a .npz / .safetensors path, its weights")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(list(argv) if argv is not None else None)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.calibration < 0:
        parser.error("--calibration must be >= 0")
    kind, obj = load(args.model)
    roles: dict[str, str] = {}
    sqnr_rows: list[list[str]] = []
    layer_sqnrs: tuple[dict[str, float], dict[str, float]] | None = None
    if kind == "module":
        original = obj
        model, found, rows, plots, progress = report_module(obj, args, out)
        roles = _roles(found)
        if args.calibration:
            sqnr_rows, layer_sqnrs = _sqnr_table(original, model, args)
    else:
        if args.write:
            raise SystemExit("qeq report: --write needs a module (TorchScript and weight files "
                             "have no graph to equalize)")
        model, found = None, None
        rows, plots, progress = report_weights(obj, args)
    if args.plots and not plots:
        print("qeq report: matplotlib is not installed: no plots (apt-get install "
              "python3-matplotlib)", file=sys.stderr)
    images = []
    if plots:
        if found is not None and rows:
            plot_ratios(rows, out / f"ratios.{args.format}")
            images.append(f"ratios.{args.format}")
        for before, after in rows:
            name = f"{before.name.replace('/', '_')}.{args.format}"
            plot(before, after, out / name)
            images.append(name)
            progress.step(f"plot {before.name}")
    folded_ratios = ({n: r[1] for n, r in found.range_ratios.items()}
                     if found is not None else None)
    table = write_tables(rows, out, roles, layer_sqnrs, folded_ratios)
    if args.write:
        _write(model, Path(args.write))
    summary = [f"qeq report: {len(rows)} layers -> {out}/report.html, report.md, report.csv"
               + (f", {len(images)} {args.format} plots" if plots else "")]
    details = []
    if found is not None:
        details.append(f"{len(found.chains)} chains, {len(found.triplets)} triplets, "
                       f"{len(found.folds)} batch norms folded, {len(found.high_bias)} high "
                       f"biases absorbed, {len(found.relu6_replaced)} ReLU6 replaced, "
                       f"{found.sweeps} sweeps ({'converged' if found.converged else 'NOT converged'})")
        details += [f"refused {layer}: {reason}" for layer, reason in found.refusals]
    details += [" ".join(r) for r in sqnr_rows[1:]]
    print("\n".join(summary + ["  " + d for d in details]))
    if sqnr_rows:
        md = ["", "| " + " | ".join(sqnr_rows[0]) + " |", "|" + "---|" * len(sqnr_rows[0])]
        md += ["| " + " | ".join(r) + " |" for r in sqnr_rows[1:]]
        with open(out / "report.md", "a") as f:
            f.write("\n".join(md) + "\n")
    write_html(out, f"qeq report: {args.model}", details, sqnr_rows, table, images)
    return 0


def _sqnr_table(original: Any, prepared: Any, args: argparse.Namespace,
                ) -> tuple[list[list[str]], tuple[dict[str, float], dict[str, float]]]:
    """The int8 output SQNR before and after preparation, per-tensor and per-channel, and
    each layer's int8 SQNR before and after (per-tensor weights)."""
    import torch
    example = _example(original, args.input_shape)
    if example.dim() == 4 and example.shape[1] == 3:  # images: photo-like generated ones
        from .torch._models import generated_images
        inputs = [generated_images(example.shape[0], example.shape[2], 300 + i)
                  for i in range(args.calibration)] if example.shape[2] == example.shape[3] \
            else None
    else:
        inputs = None
    if inputs is None:
        g = torch.Generator().manual_seed(0)
        inputs = [torch.randn(*example.shape, generator=g) for _ in range(args.calibration)]
    rows = [["weights", "before: int8 vs its float", "after: int8 vs its float",
             "after: int8 vs the original float"]]
    for per_channel in (False, True):
        rows.append(["per channel" if per_channel else "per tensor",
                     _fmt(int8_sqnr(original, original, inputs, per_channel)) + " dB",
                     _fmt(int8_sqnr(prepared, prepared, inputs, per_channel)) + " dB",
                     _fmt(int8_sqnr(prepared, original, inputs, per_channel)) + " dB"])
    layers = (int8_layer_sqnr(original, inputs, False), int8_layer_sqnr(prepared, inputs, False))
    return rows, layers


def _write(model: Any, path: Path) -> None:
    import torch
    if path.suffix == ".npz":
        np.savez(path, **{k: v.detach().numpy() for k, v in model.state_dict().items()})
    elif path.suffix == ".safetensors":
        from ._safetensors import save_safetensors
        save_safetensors(path, {k: v.detach().numpy() for k, v in model.state_dict().items()})
    else:
        torch.save(model, path)

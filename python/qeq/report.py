"""`python3 -m qeq report MODEL`: what equalization does to a model's weights.

MODEL is a torch.save'd nn.Module, `torchvision:NAME` (a torchvision model with random
weights, nothing downloaded), a TorchScript file, or an .npz or .safetensors file of weight
arrays. For an nn.Module the report traces it (qeq.torch.find_chains), folds its batch norms, equalizes the
discovered chains and writes, per layer, the per-output-channel weight ranges before and
after, their max/min ratio and the SQNR of per-tensor int8 weights (report.md, report.csv)
and a plot of the ranges (matplotlib, PNG or SVG). TorchScript and weight files have no graph
torch.fx can trace: they get the tables and plots of their weights as they are.
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
    """A one-line progress bar on stderr (silent when quiet)."""

    def __init__(self, total: int, quiet: bool = False, width: int = 30):
        self.total, self.done, self.quiet, self.width = max(total, 1), 0, quiet, width

    def step(self, label: str) -> None:
        self.done += 1
        if self.quiet:
            return
        filled = self.width * self.done // self.total
        bar = "#" * filled + "." * (self.width - filled)
        end = "\n" if self.done >= self.total else ""
        sys.stderr.write(f"\r[{bar}] {self.done}/{self.total} {label[:40]:<40}{end}")
        sys.stderr.flush()


def _fmt(v: float) -> str:
    return "inf" if math.isinf(v) else "nan" if math.isnan(v) else f"{v:.4g}"


def write_tables(rows: list[tuple[LayerStats, LayerStats | None]], out: Path) -> None:
    header = ["layer", "shape", "range min before", "range max before", "ratio before",
              "SQNR dB before", "range min after", "range max after", "ratio after",
              "SQNR dB after"]
    lines = []
    for before, after in rows:
        row = [before.name, "x".join(map(str, before.shape)), _fmt(float(before.ranges.min())),
               _fmt(float(before.ranges.max())), _fmt(before.ratio), _fmt(before.sqnr)]
        if after is None:
            row += ["", "", "", ""]
        else:
            row += [_fmt(float(after.ranges.min())), _fmt(float(after.ranges.max())),
                    _fmt(after.ratio), _fmt(after.sqnr)]
        lines.append(row)
    with open(out / "report.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(lines)
    md = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    md += ["| " + " | ".join(r) + " |" for r in lines]
    (out / "report.md").write_text("\n".join(md) + "\n")


def plot(before: LayerStats, after: LayerStats | None, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.2))
    channels = np.arange(before.ranges.size)
    ax.plot(channels, before.ranges, lw=1, label=f"before (ratio {_fmt(before.ratio)})")
    if after is not None:
        ax.plot(channels, after.ranges, lw=1, label=f"after (ratio {_fmt(after.ratio)})")
    if (before.ranges > 0).all():
        ax.set_yscale("log")
    ax.set_xlabel("output channel")
    ax.set_ylabel("weight range (max - min)")
    ax.set_title(before.name)
    ax.legend(loc="upper right", fontsize="small")
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
        torch.manual_seed(0)
        return "module", getattr(torchvision.models, spec.split(":", 1)[1])(weights=None).eval()
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


def report_module(model: Any, args: argparse.Namespace, out: Path):
    import torch
    import qeq.torch as qt

    example = _example(model, args.input_shape)
    found = qt.find_chains(model, example)
    layers = list(dict.fromkeys(n for chain in found.chains for n in chain))
    plots = args.plots and have_matplotlib()
    progress = Progress(2 + len(layers) * (2 if plots else 1), args.quiet)
    model = qt.fuse_modules(model, found.fusions) if found.fusions else model
    progress.step(f"folded {len(found.batch_norms)} batch norms")
    modules = dict(model.named_modules())

    def weight(name: str) -> tuple[np.ndarray, int]:
        m = modules[name]
        inner = m[0] if isinstance(m, torch.nn.Sequential) else m
        # ConvTranspose weights are [in, out/groups, ...]: output channels on axis 1
        return inner.weight.detach().numpy().copy(), int(getattr(inner, "transposed", False))

    before = {n: stats(n, *weight(n)) for n in layers}
    if found.chains:
        qt.equalize(model, found.chains, threshold=args.threshold)
    progress.step(f"equalized {len(found.chains)} chains")
    rows = []
    for n in layers:
        rows.append((before[n], stats(n, *weight(n))))
        progress.step(n)
    return model, found, rows, plots, progress


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
    parser.add_argument("--write", help="write the folded and equalized model (torch.save) "
                                        "or, for a .npz / .safetensors path, its weights")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(list(argv) if argv is not None else None)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    kind, obj = load(args.model)
    if kind == "module":
        model, found, rows, plots, progress = report_module(obj, args, out)
    else:
        if args.write:
            raise SystemExit("qeq report: --write needs a module (TorchScript and weight files "
                             "have no graph to equalize)")
        model, found = None, None
        rows, plots, progress = report_weights(obj, args)
    if args.plots and not plots:
        print("qeq report: matplotlib is not installed: no plots (apt-get install "
              "python3-matplotlib)", file=sys.stderr)
    if plots:
        for before, after in rows:
            plot(before, after, out / f"{before.name.replace('/', '_')}.{args.format}")
            progress.step(f"plot {before.name}")
    write_tables(rows, out)
    if args.write:
        _write(model, Path(args.write))
    summary = [f"qeq report: {len(rows)} layers -> {out}/report.md, report.csv"
               + (f", {len(rows)} {args.format} plots" if plots else "")]
    if found is not None:
        summary.append(f"  {len(found.chains)} chains, {len(found.batch_norms)} batch norms "
                       f"folded, {len(found.refusals)} layers refused")
        for r in found.refusals:
            summary.append(f"  refused {r.layer}: {r.reason}")
    print("\n".join(summary))
    return 0


def _write(model: Any, path: Path) -> None:
    import torch
    if path.suffix == ".npz":
        np.savez(path, **{k: v.detach().numpy() for k, v in model.state_dict().items()})
    elif path.suffix == ".safetensors":
        from ._safetensors import save_safetensors
        save_safetensors(path, {k: v.detach().numpy() for k, v in model.state_dict().items()})
    else:
        torch.save(model, path)

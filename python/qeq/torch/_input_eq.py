"""Input-weight equalization for eager PyTorch models (PyTorch does it only in its FX pass,
torch/ao/quantization/fx/_equalize.py; docs/numerics.md#input-weight-equalization and
docs/numerics.md#sqnr-and-selective-equalization).

Forward pre-hooks observe the per-input-channel min/max of the chosen Linear / Conv layers
over calibration batches; the scales are PyTorch's (or SmoothQuant's with `alpha`), computed
by qeq from every layer's original weights before any weight changes; then, in execution
order as FX does, each layer's weight columns are scaled by 1/s and s goes either into the
producing layer (its rows and bias, when the layer's input is that layer's output, directly
or through a ReLU) or, without a producer, into the layer itself, which then multiplies its
input by s (qeq.torch._input_scale; FX inserts a mul node there). `selective=N` first measures each layer's
SQNR under int8 simulation and equalizes only the N worst, as FX's selective test does.
"""
from __future__ import annotations

import math
from typing import Any, Iterable, NamedTuple, Sequence

import torch
from torch import nn

from .. import core
from .._checks import check_int
from .._int8 import fake_quantize_per_tensor, fake_quantize_range
from .._lib import ShapeMismatchError
from ._input_scale import _SCALED, scale_input
from ._layers import _FUSED_RELU, layer_of

_FN = "equalize_inputs"


class InputEqualization(NamedTuple):
    """What equalize_inputs did: per equalized layer its scales, the producer that absorbed
    them (None: the layer scales its own input, listed in `input_scaled`), the input range
    the layer's input
    quantization observer would see afterwards (min_j x_min_j s_j, max_j x_max_j s_j); the
    SQNR (dB) of every candidate before equalization when selective was asked for."""

    scales: dict[str, torch.Tensor]
    producers: dict[str, str | None]
    scaled_input_ranges: dict[str, tuple[float, float]]
    input_scaled: list[str]
    sqnr: dict[str, float]
    selected: list[str]


def _inner(module: nn.Module) -> nn.Module:
    """The Linear/Conv of a fused LinearReLU/ConvReLU (PyTorch equalizes element [0])."""
    return module[0] if isinstance(module, _FUSED_RELU) else module


def _check_layer(name: str, module: nn.Module) -> None:
    inner = _inner(module)
    if type(inner) not in (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, *_SCALED.values()):
        raise ValueError(f"{_FN}: {name}: input equalization takes Linear and Conv1d/2d/3d "
                         f"(or fused with ReLU), got {type(module).__name__}")


def _channels_view(name: str, module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The input as [rows, C] (Linear: features last, as F.linear reads them; PyTorch's FX
    observer takes axis 1, wrong for a Linear on [N, L, C]) or [N, C, ...] (Conv)."""
    if not isinstance(x, torch.Tensor) or x.dtype != torch.float32 or x.device.type != "cpu":
        raise TypeError(f"{_FN}: {name}: input must be a float32 CPU tensor")
    x = x.detach().contiguous()  # read only: a copy of a strided activation is harmless
    if isinstance(_inner(module), nn.Linear):
        return x.reshape(-1, x.shape[-1])
    return x


def _named(model: nn.Module, layers: Sequence[Any]) -> dict[str, nn.Module]:
    modules = dict(model.named_modules())
    ids = {id(m): n for n, m in modules.items()}
    out = {}
    for item in layers:
        name = item if isinstance(item, str) else ids.get(id(item))
        if name is None or name not in modules:
            raise ValueError(f"{_FN}: layer {item!r} is not in the model")
        _check_layer(name, modules[name])
        out[name] = modules[name]
    return out


def _run_hooked(model: nn.Module, batches: Iterable[Any], named: dict[str, nn.Module],
                hook_for, pre: bool) -> None:
    """Runs the batches with hook_for(name, module) as a forward (pre-)hook on each named
    module; the hooks are removed afterwards, also on error."""
    register = "register_forward_pre_hook" if pre else "register_forward_hook"
    handles = [getattr(m, register)(hook_for(n, m)) for n, m in named.items()]
    try:
        with torch.no_grad():
            for batch in batches:
                model(*batch) if isinstance(batch, (tuple, list)) else model(batch)
    finally:
        for h in handles:
            h.remove()


def observe_input_ranges(model: nn.Module, layers: Sequence[Any], batches: Iterable[Any],
                         ) -> tuple[dict[str, tuple[Any, Any]], list[str]]:
    """Per-input-channel (min, max) of each layer's input over the batches (forward
    pre-hooks, removed afterwards), and the layers in the order they ran."""
    named = _named(model, layers)
    observers = {n: core.Observer("quint8", "per_channel_symmetric", ch_axis=1) for n in named}
    order: list[str] = []

    def hook_for(name: str, module: nn.Module):
        def hook(_module, inputs):
            if name not in order:
                order.append(name)
            observers[name].update(_channels_view(name, module, inputs[0]))
        return hook

    _run_hooked(model, batches, named, hook_for, pre=True)
    missing = [n for n in named if n not in order]
    if missing:
        raise ValueError(f"{_FN}: layers never ran on the batches: {', '.join(missing)}")
    return {n: observers[n].minmax() for n in named}, order


def _fake_quant_output(module: nn.Module, x: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
    """The layer's output with its input quantized per tensor (quint8, affine, range
    [lo, hi]) and its weight per tensor (qint8, symmetric): PyTorch's default_qconfig."""
    inner = _inner(module)
    xq = torch.from_numpy(fake_quantize_range(x.contiguous(), lo, hi))
    wq = torch.from_numpy(fake_quantize_per_tensor(inner.weight.detach().contiguous()))
    if isinstance(inner, nn.Linear):
        y = nn.functional.linear(xq, wq, inner.bias)
    else:
        y = inner._conv_forward(xq, wq, inner.bias)
    return torch.relu(y) if inner is not module else y


def layer_sqnr(model: nn.Module, layers: Sequence[Any], batches: Sequence[Any],
               ranges: dict[str, tuple[Any, Any]] | None = None) -> dict[str, float]:
    """SQNR (dB, PyTorch's compute_sqnr over all batches) of each layer's output when its
    input and weight are int8 (default_qconfig: per-tensor quint8 input from the calibrated
    range, per-tensor symmetric qint8 weight) against its float output, each layer fed the
    float model's activations."""
    named = _named(model, layers)
    if ranges is None:
        ranges, _ = observe_input_ranges(model, list(named), batches)
    sums = {n: [0.0, 0.0] for n in named}

    def hook_for(name: str, module: nn.Module):
        lo = float(min(0.0, ranges[name][0].min()))
        hi = float(max(0.0, ranges[name][1].max()))

        def hook(_module, inputs, output):
            ref = output.detach().double()
            q = _fake_quant_output(module, inputs[0].detach().float(), lo, hi).double()
            sums[name][0] += float((ref * ref).sum())
            sums[name][1] += float(((ref - q) ** 2).sum())
        return hook

    _run_hooked(model, batches, named, hook_for, pre=False)
    return {n: (math.inf if e == 0 else 10 * math.log10(s / e)) for n, (s, e) in sums.items()}


def _auto_producers(model: nn.Module, example: Any) -> dict[str, str]:
    """consumer -> producer from qeq.torch.find_chains, leaving out producers with a batch norm
    still to fold (the scale would have to go through it)."""
    from ._discover import find_chains
    found = find_chains(model, tuple(example) if isinstance(example, list) else example)
    unfolded = {layer for layer, _ in found.batch_norms}
    return {b: a for a, b in found.pairs if a not in unfolded}


def equalize_inputs(model: nn.Module, layers: Sequence[Any], batches: Sequence[Any],
                    producers: dict[str, str | None] | str | None = None, alpha: float = 0.5,
                    use_absmax: bool = False, selective: int | None = None,
                    ) -> InputEqualization:
    """Input-weight equalization of `layers` (names or modules) in place, calibrated on
    `batches` (inputs to model(...); tuples are unpacked). `producers` maps a layer to the
    Linear/Conv whose output is its input (directly or through a ReLU), or is "auto"
    (qeq.torch.find_chains on the first batch finds them); a layer without one gets a
    multiplying its own input by s (its class becomes qeq.torch's InputScaled* subclass with
    an `input_scale` buffer: torch.save, state_dict and tracing keep it). alpha=0.5 with ranges is PyTorch's rule; other alphas / use_absmax are SmoothQuant's. selective=N
    equalizes only the N layers with the lowest SQNR (Python's [:N]). Every check runs
    before any weight changes."""
    if selective is not None:  # checked now, not after calibrating
        selective = check_int(selective, f"{_FN}: selective", "ptrdiff_t")
    batches = list(batches)
    named = _named(model, layers)
    if producers == "auto":
        producers = _auto_producers(model, batches[0] if batches else None)
        producers = {b: a for b, a in producers.items() if b in named}
    producers = dict(producers or {})
    modules = dict(model.named_modules())
    for name, prod in producers.items():
        if name not in named:
            raise ValueError(f"{_FN}: producers: {name!r} is not one of the layers")
        if prod is not None and prod not in modules:
            raise ValueError(f"{_FN}: producers: {prod!r} is not in the model")
    used = [p for p in producers.values() if p is not None]
    if len(used) != len(set(used)):
        raise ValueError(f"{_FN}: producers: a layer can absorb the scales of one consumer")
    ranges, order = observe_input_ranges(model, list(named), batches)
    sqnr: dict[str, float] = {}
    chosen = order
    if selective is not None:
        sqnr = layer_sqnr(model, order, batches, ranges)
        picked = set(order[i] for i in core.select_lowest_sqnr([sqnr[n] for n in order],
                                                                selective))
        chosen = [n for n in order if n in picked]
    # All scales from the original weights first (FX's update_obs_for_equalization).
    qlayers = {n: layer_of(named[n], n) for n in chosen}
    prod_layers = {}
    for n in chosen:
        p = producers.get(n)
        if p is not None:
            prod_layers[n] = layer_of(modules[p], p)
            if prod_layers[n].channels[1] != qlayers[n].channels[0]:
                raise ShapeMismatchError(
                    f"{_FN}: producer {p} has {prod_layers[n].channels[1]} output channels, "
                    f"{n} takes {qlayers[n].channels[0]}", _FN)
    scales = {n: core.input_equalization_scales(qlayers[n], *ranges[n], alpha=alpha,
                                                use_absmax=use_absmax) for n in chosen}
    scaled_ranges = {n: core.scaled_input_minmax(*ranges[n], scales[n]) for n in chosen}
    input_scaled = []
    with torch.no_grad():  # the descriptors point at the parameters, scaled in place
        for n in chosen:  # execution order: a producer's columns before its rows, as FX
            core.apply_input_equalization(qlayers[n], scales[n], prod_layers.get(n))
    for n in chosen:
        if n not in prod_layers:
            scale_input(_inner(named[n]), torch.from_numpy(scales[n]))
            input_scaled.append(n)
    return InputEqualization({n: torch.from_numpy(scales[n]) for n in chosen},
                             {n: producers.get(n) for n in chosen}, scaled_ranges, input_scaled,
                             sqnr,
                             list(chosen))

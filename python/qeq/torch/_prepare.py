"""qeq.torch.equalize_model: a float model prepared for int8 in one call (AIMET's data-free
quantization steps): ReLU6 replaced by ReLU where allowed, batch norms folded, chains
cross-layer equalized, depthwise-separable triplets scaled, high biases absorbed; with a
report of what was done and refused, and why.
"""
from __future__ import annotations

import copy
import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from .. import core
from ._discover import find_chains
from ._layers import _FUSED_RELU, layer_of, named_errors

__all__ = ["equalize_model", "PrepareReport", "NonConvergenceWarning"]

_FN = "equalize_model"


class NonConvergenceWarning(UserWarning):
    """Cross-layer equalization stopped at max_sweeps before reaching the threshold."""


@dataclass
class PrepareReport:
    """What equalize_model did. Names are the modules' qualified names.

    relu6_replaced: ReLU6 modules replaced by ReLU; relu6_output_change: the largest absolute
    change of the float model's output on example_inputs that the replacement caused (nan when
    nothing was replaced); folds: (layer, batch norm) pairs folded; chains: the equalized
    chains; triplets: the depthwise-separable triplets scaled in one step; pairs: the pairs
    cross-layer equalized by sweeps; sweeps, final_change, converged: of those sweeps;
    high_bias: (first, second) pairs whose high bias moved; bias_corrected: the layers whose
    bias took the bias correction (empirical or data-free); refusals: (layer, reason) for
    every layer left as it was by some step; range_ratios: per weighted layer, the max / min
    of its per-output-channel weight ranges (nonzero ones) as given, after folding, and
    prepared (folding spreads them; equalization evens them again)."""

    relu6_replaced: list[str] = field(default_factory=list)
    relu6_output_change: float = math.nan
    folds: list[tuple[str, str]] = field(default_factory=list)
    chains: list[list[str]] = field(default_factory=list)
    triplets: list[tuple[str, str, str]] = field(default_factory=list)
    pairs: list[tuple[str, str]] = field(default_factory=list)
    sweeps: int = 0
    final_change: float = 0.0
    converged: bool = True
    high_bias: list[tuple[str, str]] = field(default_factory=list)
    bias_corrected: list[str] = field(default_factory=list)
    refusals: list[tuple[str, str]] = field(default_factory=list)
    range_ratios: dict[str, tuple[float, float, float]] = field(default_factory=dict)

    def summary(self) -> str:
        lines = [f"ReLU6 replaced: {len(self.relu6_replaced)} (output moved by up to "
                 f"{self.relu6_output_change:.3g})" if self.relu6_replaced else
                 "ReLU6 replaced: none",
                 f"batch norms folded: {len(self.folds)}",
                 f"chains: {len(self.chains)}, triplets: {len(self.triplets)}, pairs by "
                 f"sweeps: {len(self.pairs)} ({self.sweeps} sweeps, "
                 f"{'converged' if self.converged else 'NOT converged'}, final change "
                 f"{self.final_change:.3g})",
                 f"high biases absorbed: {len(self.high_bias)}",
                 f"biases corrected: {len(self.bias_corrected)}",
                 f"refusals: {len(self.refusals)}"]
        return "\n".join(lines)


def _naming(names: Sequence[str], what: str) -> Any:
    return named_errors(_FN, names, what)


def _weighted(model: nn.Module) -> dict[str, nn.Module]:
    """The Linear / Conv layers (a fused LinearReLU / ConvReLU as one), by qualified name."""
    from ._layers import _kind
    found: dict[str, nn.Module] = {}
    fused: set[str] = set()
    for name, module in model.named_modules():
        parent = name.rpartition(".")[0]
        if isinstance(module, _FUSED_RELU):
            found[name] = module
            fused.add(name)
        elif _kind(module) is not None and parent not in fused:
            found[name] = module
    return found


def _inner(module: nn.Module) -> nn.Module:
    return module[0] if isinstance(module, _FUSED_RELU) else module


def _ratio(ranges: np.ndarray) -> float:
    """max / min of the nonzero per-channel ranges (nan when all are zero)."""
    ranges = ranges[ranges > 0]
    return float(ranges.max() / ranges.min()) if ranges.size else math.nan


def _channel_minmax(module: nn.Module) -> tuple[np.ndarray, np.ndarray]:
    w = _inner(module).weight.detach()
    axis = 1 if "Transpose" in type(_inner(module)).__name__ else 0
    return core.channel_minmax(w.contiguous(), axis)


def _range_ratio(module: nn.Module) -> float:
    lo, hi = _channel_minmax(module)
    return _ratio(hi - lo)


def _folded_minmax(lo: np.ndarray, hi: np.ndarray, bn: nn.Module
                   ) -> tuple[np.ndarray, np.ndarray] | None:
    """The layer's per-output-channel min and max once `bn` is folded into it, from its
    channels' min and max as given, without reading the folded weight: folding multiplies
    channel c by k = gamma / sqrt(var + eps) (computed here in float32 as the fold computes
    it), and a rounded product is monotone in its factor, so the folded channel's extremes
    are exactly lo * k and hi * k (swapped where k < 0). None when lo does not have one value
    per batch-norm channel (a grouped ConvTranspose read along its axis 1)."""
    var = bn.running_var.detach().numpy().astype(np.float32)
    if var.shape != lo.shape:
        return None
    root = np.sqrt(var + np.float32(bn.eps))
    k = np.float32(1) / root
    if bn.weight is not None:
        k = bn.weight.detach().numpy().astype(np.float32) * k
    a, b = lo * k, hi * k
    return np.minimum(a, b), np.maximum(a, b)


def _absmax(minmax: tuple[np.ndarray, np.ndarray]) -> torch.Tensor:
    lo, hi = minmax
    return torch.from_numpy(np.maximum(np.abs(lo), np.abs(hi)))


def _same_axis(module: nn.Module, minmax: tuple[np.ndarray, np.ndarray]) -> bool:
    """Whether minmax has one value per channel as _channel_minmax reads the module."""
    w = _inner(module).weight
    axis = 1 if "Transpose" in type(_inner(module)).__name__ else 0
    return minmax[0].shape == (w.shape[axis],)


def _row_absmax(module: nn.Module) -> torch.Tensor:
    """Per output channel of the weight, the largest magnitude."""
    w = _inner(module).weight.detach()
    axis = 1 if "Transpose" in type(_inner(module)).__name__ else 0
    return torch.from_numpy(core.channel_absmax(w.contiguous(), axis))


def _replace_relu6(model: nn.Module) -> list[str]:
    replaced = []
    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            if type(child) is nn.ReLU6:
                setattr(module, child_name, nn.ReLU(inplace=child.inplace))
                replaced.append(f"{name}.{child_name}" if name else child_name)
    return replaced


def _run(model: nn.Module, example_inputs: Any) -> Any:
    args = example_inputs if isinstance(example_inputs, tuple) else (example_inputs,)
    with torch.no_grad():
        return model(*args)


def _max_change(a: Any, b: Any) -> float:
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        return float((a.float() - b.float()).abs().max()) if a.numel() else 0.0
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return max((_max_change(x, y) for x, y in zip(a, b)), default=0.0)
    return math.nan


def _input_means(model: nn.Module, names: list[str], batches: Sequence[Any]
                 ) -> dict[str, torch.Tensor]:
    """Per layer, the mean of its input per input channel over the batches (float64 sums)."""
    modules = dict(model.named_modules())
    sums: dict[str, torch.Tensor] = {}
    counts: dict[str, int] = {}

    def hook_for(name: str, linear: bool):
        def hook(_module: nn.Module, inputs: tuple) -> None:
            x = inputs[0].detach().double()
            x = x.reshape(-1, x.shape[-1]) if linear else x.transpose(0, 1).flatten(1).t()
            sums[name] = sums.get(name, 0) + x.sum(0)
            counts[name] = counts.get(name, 0) + x.shape[0]
        return hook
    handles = [modules[n].register_forward_pre_hook(
        hook_for(n, isinstance(_inner(modules[n]), nn.Linear))) for n in names]
    try:
        with torch.no_grad():
            for batch in batches:
                model(*(batch if isinstance(batch, tuple) else (batch,)))
    finally:
        for h in handles:
            h.remove()
    return {n: (sums[n] / counts[n]).float().contiguous() for n in sums}


def _correct_bias(module: nn.Module, name: str, input_mean: torch.Tensor,
                  weight_qscheme: str) -> None:
    """b -= (W_q - W) E[x] on the module (given a zero bias first if it has none)."""
    inner = _inner(module)
    if inner.bias is None:
        out_channels = inner.weight.shape[1 if "Transpose" in type(inner).__name__ else 0]
        inner.bias = nn.Parameter(torch.zeros(out_channels, dtype=inner.weight.dtype))
    quantized = _fake_quantized_weight(inner.weight, weight_qscheme == "per_channel")
    with _naming([name], "bias correction of"), torch.no_grad():
        core.correct_bias(layer_of(module, name), quantized, input_mean)


def _rectified_normal_mean(mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """E[max(0, x)] for x normal with mean mu and standard deviation sigma (max(0, mu) where
    sigma is 0): mu Phi(mu / sigma) + sigma phi(mu / sigma)."""
    safe = torch.where(sigma > 0, sigma, torch.ones_like(sigma))
    t = mu / safe
    cdf = 0.5 * (1 + torch.erf(t / math.sqrt(2)))
    pdf = torch.exp(-0.5 * t * t) / math.sqrt(2 * math.pi)
    return torch.where(sigma > 0, mu * cdf + sigma * pdf, mu.clamp(min=0))


def _fake_quantized_weight(weight: torch.Tensor, per_channel: bool) -> torch.Tensor:
    """The weight as symmetric qint8 quantizes and dequantizes it (PyTorch's MinMax observers:
    scale = max |w| / 127.5 per output channel or per tensor)."""
    w = weight.detach().float()
    if per_channel:
        scales = (w.abs().flatten(1).amax(1) / 127.5).double().clamp_min(1e-12)
        zeros = torch.zeros(w.shape[0], dtype=torch.int32)
        return torch.fake_quantize_per_channel_affine(w, scales.float(), zeros, 0, -128,
                                                      127).contiguous()
    scale = max(float(w.abs().max()) / 127.5, 1e-12)
    return torch.fake_quantize_per_tensor_affine(w, scale, 0, -128, 127).contiguous()


def equalize_model(model: nn.Module, example_inputs: Any, *, calibration: Any = None,
                   relu6: str = "replace", cle: bool = True, triplets: bool = True,
                   high_bias: str = "absorb", bias_correction: str | None = None,
                   weight_qscheme: str = "per_channel", threshold: float = 1e-4,
                   max_sweeps: int = 100, on_nonconvergence: str = "warn",
                   inplace: bool = False) -> tuple[nn.Module, PrepareReport]:
    """Prepares a float model for int8 in one call; returns (prepared model, report).

    1. relu6="replace": every nn.ReLU6 module becomes nn.ReLU (AIMET's practice; the report
       lists them and how far the float output moved on example_inputs); "keep" leaves them,
       and chains stop at them.
    2. Traces the model (torch.fx) with example_inputs and folds every batch norm that
       directly follows its layer (qeq.torch.fuse_modules), keeping each one's beta and gamma.
    3. triplets=True: each conv -> depthwise conv -> conv triplet is scaled in one step
       (the depthwise-separable scaling); cle=True: the remaining chain links are
       cross-layer equalized by sweeps until the weights change by less than threshold or
       max_sweeps sweeps ran (then on_nonconvergence "warn" warns NonConvergenceWarning,
       "raise" raises RuntimeError, "ignore" does neither; the report says so in any case).
    4. high_bias="absorb": along every equalized link whose first layer had a batch norm,
       max(0, beta - 3|gamma|) (scaled as equalization scaled the layer) moves out of the
       first layer's bias into the second's; "keep" skips it. Links whose first layer had no
       batch norm are refused, with the reason.
    5. bias_correction="empirical": every weighted layer's bias takes b -= (W_q - W) E[x],
       with E[x] its input's per-channel mean over the `calibration` batches (inputs to
       model(...); tuples are unpacked) run through the prepared float model, and W_q its
       weight as symmetric qint8 quantizes it (weight_qscheme "per_channel" or
       "per_tensor"). "data_free" needs no data: E[x] of the second layer of every chain link
       comes from the first layer's batch norm (its output taken as normal with mean beta and
       standard deviation |gamma|, both scaled as equalization scaled the layer and beta less
       what high-bias absorption moved), through the link's ReLU if it has one (the mean of
       a rectified normal); links with a max pool, and layers without a batch norm before
       them, are refused with the reason. None skips it.
    The model is copied first unless inplace=True, and must be in eval mode. Errors from a
    multi-layer step name the modules."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"{_FN}: model: expected a torch.nn.Module, got {type(model).__name__}")
    for name, value, allowed in (("relu6", relu6, ("replace", "keep")),
                                 ("high_bias", high_bias, ("absorb", "keep")),
                                 ("on_nonconvergence", on_nonconvergence,
                                  ("warn", "raise", "ignore")),
                                 ("bias_correction", bias_correction,
                                  (None, "empirical", "data_free")),
                                 ("weight_qscheme", weight_qscheme,
                                  ("per_channel", "per_tensor"))):
        if value not in allowed:
            raise ValueError(f"{_FN}: {name} must be one of {', '.join(map(repr, allowed))}, "
                             f"got {value!r}")
    if not (isinstance(threshold, (int, float)) and threshold > 0 and math.isfinite(threshold)):
        raise ValueError(f"{_FN}: threshold must be a positive finite number, got {threshold!r}")
    if isinstance(max_sweeps, bool) or not isinstance(max_sweeps, int) or max_sweeps < 1:
        raise ValueError(f"{_FN}: max_sweeps must be an integer >= 1, got {max_sweeps!r}")
    if model.training:
        raise ValueError(f"{_FN}: the model is in training mode (call .eval() first)")
    if bias_correction == "empirical":
        calibration = list(calibration) if calibration is not None else []
        if not calibration:
            raise ValueError(f"{_FN}: bias_correction={bias_correction!r} needs calibration "
                             "batches")
    if not inplace:
        model = copy.deepcopy(model)
    report = PrepareReport()

    if relu6 == "replace":
        reference = _run(model, example_inputs)
        report.relu6_replaced = _replace_relu6(model)
        if report.relu6_replaced:
            report.relu6_output_change = _max_change(reference, _run(model, example_inputs))

    try:
        found = find_chains(model, example_inputs)
    except Exception as e:  # torch.fx raises many kinds
        raise RuntimeError(f"{_FN}: torch.fx cannot trace {type(model).__name__} "
                           f"({type(e).__name__}: {e}); qeq prepares models that "
                           "torch.fx.symbolic_trace accepts (data-dependent control flow is "
                           "the usual cause)") from e
    report.refusals.extend((r.layer, r.reason) for r in found.refusals)

    modules = dict(model.named_modules())
    saved_bn = {layer: (modules[bn].bias.detach().clone() if modules[bn].bias is not None
                        else torch.zeros(modules[bn].num_features),
                        modules[bn].weight.detach().clone() if modules[bn].weight is not None
                        else torch.ones(modules[bn].num_features))
                for layer, bn in found.batch_norms}
    # Each weighted layer's per-channel min and max as given, for the report's range ratios:
    # the fold returns those of the layers it folds (it reads them anyway), the rest are read.
    minmax: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if found.batch_norms:
        from . import _fuse_in_place, fuse_modules
        groups = [[layer, bn] for layer, bn in found.batch_norms]
        with _naming([g[0] for g in groups], "folding"):
            if not _fuse_in_place(model, groups, {}, minmax):
                # shared layers: fuse_modules folds copies; the ranges are read before
                weighted = _weighted(model)
                minmax = {n: _channel_minmax(weighted[n]) for n, _ in found.batch_norms
                          if n in weighted}
                fuse_modules(model, groups, inplace=True)
        report.folds = list(found.batch_norms)
    batch_norms = {n: modules[bn] for n, bn in found.batch_norms}  # now out of the model
    modules = dict(model.named_modules())
    weighted = _weighted(model)  # the same modules from here on (later steps set biases)
    minmax.update((n, _channel_minmax(m)) for n, m in weighted.items()
                  if n not in minmax)  # not folded: as given
    before = {n: _ratio(hi - lo) for n, (lo, hi) in minmax.items()}
    folded_minmax = dict(minmax)
    for n, _ in found.batch_norms:
        if n in minmax:
            derived = _folded_minmax(*minmax[n], batch_norms[n])
            folded_minmax[n] = derived if derived is not None else _channel_minmax(modules[n])
    folded = {n: _ratio(hi - lo) for n, (lo, hi) in folded_minmax.items()}
    # what high-bias absorption needs to know how equalization scaled each first layer
    rows_before = ({a: _absmax(folded_minmax[a]) if _same_axis(modules[a], folded_minmax[a])
                    else _row_absmax(modules[a]) for a, _ in found.pairs}
                   if high_bias == "absorb" or bias_correction == "data_free" else {})

    in_triplet: set[tuple[str, str]] = set()
    if triplets:
        for a, b, c in found.triplets:
            if (a, b) in in_triplet or (b, c) in in_triplet:
                continue  # a layer is scaled by one triplet only
            names = [a, b, c]
            with _naming(names, "triplet"), torch.no_grad():
                core.equalize_depthwise_separable(*(layer_of(modules[n], n) for n in names))
            report.triplets.append((a, b, c))
            in_triplet.update({(a, b), (b, c)})
    report.chains = [list(c) for c in found.chains]
    if cle:
        report.pairs = [p for p in found.pairs if p not in in_triplet]
        if report.pairs:
            layers: dict[str, core.Layer] = {}
            groups = []
            for a, b in report.pairs:
                for n in (a, b):
                    if n not in layers:
                        layers[n] = layer_of(modules[n], n)
                groups.append([layers[a], layers[b]])
            names = [n for a, b in report.pairs for n in (a, b)]
            with _naming(names, "cross-layer equalization of"), torch.no_grad():
                result = core.equalize_groups(groups, threshold, max_sweeps)
            report.sweeps, report.final_change = result.sweeps, result.final_change
            report.converged = result.converged
            if not result.converged:
                message = (f"{_FN}: cross-layer equalization did not converge in {max_sweeps} "
                           f"sweeps (final change {result.final_change:.3g} > threshold "
                           f"{threshold:g})")
                if on_nonconvergence == "raise":
                    raise RuntimeError(message)
                if on_nonconvergence == "warn":
                    warnings.warn(message, NonConvergenceWarning, stacklevel=2)

    prepared: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # read once, after scaling

    def prepared_minmax(name: str) -> tuple[np.ndarray, np.ndarray]:
        if name not in prepared:
            prepared[name] = _channel_minmax(modules[name])
        return prepared[name]

    def scaled_bn(a: str) -> tuple[torch.Tensor, torch.Tensor]:
        """a's batch-norm beta and gamma, scaled as equalization scaled a's output channels."""
        beta, gamma = saved_bn[a]
        now = _absmax(prepared_minmax(a))
        if now.shape != rows_before[a].shape:
            now = _row_absmax(modules[a])
        ratio = torch.where(rows_before[a] > 0, now / rows_before[a], torch.ones_like(now))
        return beta * ratio, gamma * ratio

    absorbed: dict[str, torch.Tensor] = {}  # per first layer, the shift moved out of its bias
    if high_bias == "absorb":
        equalized = set(report.pairs) | in_triplet
        for a, b in found.pairs:
            if (a, b) not in equalized:
                continue
            if a not in saved_bn:
                report.refusals.append((a, f"high-bias absorption into {b}: {a} had no batch "
                                           "norm (no beta and gamma)"))
                continue
            beta, gamma = saved_bn[a]
            second = _inner(modules[b])
            if second.bias is None:  # the shifted constant needs somewhere to go
                out_channels = second.weight.shape[1 if "Transpose" in
                                                   type(second).__name__ else 0]
                second.bias = nn.Parameter(torch.zeros(out_channels,
                                                       dtype=second.weight.dtype))
            # Equalization scaled a's output channel c by now / before: beta and gamma too.
            beta, gamma = (v.float().contiguous() for v in scaled_bn(a))
            with _naming([a, b], "high-bias absorption"), torch.no_grad():
                core.absorb_high_bias(layer_of(modules[a], a), layer_of(modules[b], b),
                                      beta, gamma)
            absorbed[a] = torch.clamp(beta - 3 * gamma.abs(), min=0)  # the C rule's c
            report.high_bias.append((a, b))

    if bias_correction == "empirical":
        modules = dict(model.named_modules())
        names = list(_weighted(model))
        means = _input_means(model, names, calibration)
        for name in names:
            if name not in means:
                report.refusals.append((name, "bias correction: the layer did not run on the "
                                              "calibration batches"))
                continue
            _correct_bias(modules[name], name, means[name], weight_qscheme)
            report.bias_corrected.append(name)

    if bias_correction == "data_free":
        modules = dict(model.named_modules())
        for a, b in found.pairs:
            path = found.links.get((a, b), ())
            if a not in saved_bn:
                report.refusals.append((b, f"data-free bias correction: {a} before it had no "
                                           "batch norm (its output statistics are unknown)"))
                continue
            if "max_pool" in path:
                report.refusals.append((b, f"data-free bias correction: a max pool between "
                                           f"{a} and {b} changes the mean of its input"))
                continue
            beta, gamma = scaled_bn(a)
            mean = beta.double() - absorbed.get(a, torch.zeros_like(beta)).double()
            if "relu" in path:
                mean = _rectified_normal_mean(mean, gamma.double().abs())
            _correct_bias(modules[b], b, mean.float().contiguous(), weight_qscheme)
            report.bias_corrected.append(b)

    scaled = {n for group in report.triplets + report.pairs for n in group}
    report.range_ratios = {n: (before.get(n, math.nan), folded.get(n, math.nan),
                               _ratio(prepared_minmax(n)[1] - prepared_minmax(n)[0])
                               if n in scaled else folded.get(n, math.nan))
                           for n in weighted}
    return model, report

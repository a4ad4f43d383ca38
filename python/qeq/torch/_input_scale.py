"""Layers that scale their own input: what input-weight equalization leaves where a layer has
no producer to absorb the scales (FX inserts a `mul` node there; eager models have no graph).

equalize_inputs changes such a layer's class in place to the subclass below and registers the
scales as its buffer `input_scale`: the object, its parameters, hooks and state_dict keys stay;
`input_scale` is one more key. torch.save, copy.deepcopy, state_dict round trips into a copy
of the prepared model, TorchScript and torch.fx tracing keep the scales (forward is plain
tensor code: a multiply, then the layer's own operation). A model rebuilt from its
constructor takes such a state_dict through load_input_scaled_state_dict.
"""
from __future__ import annotations

from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["InputScaledLinear", "InputScaledConv1d", "InputScaledConv2d", "InputScaledConv3d",
           "scale_input", "load_input_scaled_state_dict"]


class InputScaledLinear(nn.Linear):
    """nn.Linear on x * input_scale (the scale along the features, x's last axis)."""

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.linear(torch.mul(input, self.input_scale), self.weight, self.bias)


class InputScaledConv1d(nn.Conv1d):
    """nn.Conv1d on x * input_scale (one scale per input channel)."""

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        x = torch.mul(input, self.input_scale.view(1, -1, 1))
        return self._conv_forward(x, self.weight, self.bias)


class InputScaledConv2d(nn.Conv2d):
    """nn.Conv2d on x * input_scale (one scale per input channel)."""

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        x = torch.mul(input, self.input_scale.view(1, -1, 1, 1))
        return self._conv_forward(x, self.weight, self.bias)


class InputScaledConv3d(nn.Conv3d):
    """nn.Conv3d on x * input_scale (one scale per input channel)."""

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        x = torch.mul(input, self.input_scale.view(1, -1, 1, 1, 1))
        return self._conv_forward(x, self.weight, self.bias)


_SCALED = {nn.Linear: InputScaledLinear, nn.Conv1d: InputScaledConv1d,
           nn.Conv2d: InputScaledConv2d, nn.Conv3d: InputScaledConv3d}


def scale_input(layer: nn.Module, scales: torch.Tensor) -> None:
    """Makes `layer` (nn.Linear / Conv1d/2d/3d, or already input-scaled) multiply its input by
    `scales` (one per input channel) before its operation; an existing input scale is
    multiplied by the new one."""
    cls = type(layer)
    if cls in _SCALED.values():
        with torch.no_grad():
            layer.input_scale.mul_(scales.to(layer.input_scale.dtype))
        return
    if cls not in _SCALED:
        raise TypeError(f"scale_input: expected nn.Linear or nn.Conv1d/2d/3d, got "
                        f"{cls.__name__}")
    layer.__class__ = _SCALED[cls]
    layer.register_buffer("input_scale", scales.detach().to(layer.weight.dtype).clone())


def load_input_scaled_state_dict(model: nn.Module, state_dict: Mapping[str, Any],
                                 strict: bool = True) -> Any:
    """model.load_state_dict(state_dict) for a state_dict of a model prepared by
    equalize_inputs, into a model built from its constructor: each layer with an
    `<name>.input_scale` key first becomes input-scaled. Returns load_state_dict's result."""
    modules = dict(model.named_modules())
    for key, value in state_dict.items():
        name, _, leaf = key.rpartition(".")
        if leaf != "input_scale" or name not in modules:
            continue
        layer = modules[name]
        if type(layer) in _SCALED:
            scale_input(layer, torch.ones_like(value))
    return model.load_state_dict(state_dict, strict=strict)

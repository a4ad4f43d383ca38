"""PyTorch modules as qeq layer descriptors (used where their parameters lie)."""
from __future__ import annotations

import re
from contextlib import contextmanager
from typing import Iterator, Sequence

from torch import nn
import torch.nn.intrinsic as nni

from .. import core
from .._arrays import buffer
from .._lib import QeqError

_KINDS: dict[type, str] = {
    nn.Linear: "linear",
    nn.Conv1d: "conv1d", nn.Conv2d: "conv2d", nn.Conv3d: "conv3d",
    nn.ConvTranspose1d: "conv_transpose1d", nn.ConvTranspose2d: "conv_transpose2d",
    nn.ConvTranspose3d: "conv_transpose3d",
}
_FUSED_RELU = (nni.LinearReLU, nni.ConvReLU1d, nni.ConvReLU2d, nni.ConvReLU3d)


def _kind(module: nn.Module) -> str | None:
    for cls in type(module).__mro__:
        if cls in _KINDS:
            return _KINDS[cls]
    return None


def layer_of(module: nn.Module, name: str = "module") -> core.Layer:
    """The qeq layer over a module's own parameters (Linear, Conv*, ConvTranspose*, or a fused
    LinearReLU / ConvReLU*d, whose activation is recorded). Raises ValueError for any other
    module, TypeError/ValueError for weights qeq cannot use where they lie."""
    activation = "none"
    inner = module
    if isinstance(module, _FUSED_RELU):
        inner, activation = module[0], "relu"
    kind = _kind(inner)
    if kind is None:
        raise ValueError(f"{name}: module type not supported: {type(module).__name__} "
                         "(qeq takes Linear, Conv1d/2d/3d, ConvTranspose1d/2d/3d and the fused "
                         "LinearReLU / ConvReLU1d/2d/3d)")
    weight = inner.weight
    bias = inner.bias
    buffer(weight, f"{name}.weight", writable=True)
    if bias is not None:
        buffer(bias, f"{name}.bias", writable=True)
        if bias.device != weight.device:
            raise ValueError(f"{name}: bias and weight on different devices")
    groups = getattr(inner, "groups", 1)
    return core.Layer(kind, weight.data, None if bias is None else bias.data, groups, activation)


_LAYER_INDEX = re.compile(r"layers\[(\d+)\]")


@contextmanager
def named_errors(fn: str, names: Sequence[str], what: str) -> Iterator[None]:
    """Re-raises a qeq error of a call over several layers (the C library names them
    layers[i]) with the modules' qualified names, prefixed by `fn: what [names]:`."""
    try:
        yield
    except QeqError as e:
        message = _LAYER_INDEX.sub(
            lambda m: repr(names[int(m.group(1))]) if int(m.group(1)) < len(names)
            else m.group(0), str(e))
        raise type(e)(f"{fn}: {what} {list(dict.fromkeys(names))}: {message}", fn) from e

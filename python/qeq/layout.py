"""8-bit layout conversion between PyTorch's NCHW and qeq's NHWC (include/qeq/nhwc.h), and the
channel shuffle of 8-bit NHWC tensors, on numpy arrays and torch tensors.

Inputs are uint8 or int8, C-contiguous, on the CPU, used where they lie (qeq._arrays); a
PyTorch quantized tensor (quint8 / qint8) is read through its integer storage without a copy.
Results are new arrays of the input's kind (a plain uint8 / int8 array or tensor, also for a
quantized input), or ``out``.
"""
from __future__ import annotations

import sys
from typing import Any

import numpy as np

from ._arrays import buffer, is_tensor
from ._checks import check_int
from ._lib import api

__all__ = ["nchw_to_nhwc", "nhwc_to_nchw", "q8_channel_shuffle"]

_INT8_DTYPES = (np.dtype(np.uint8), np.dtype(np.int8))


def _torch_int_dtype(x: Any) -> np.dtype | None:
    torch = sys.modules["torch"]
    return {torch.uint8: np.dtype(np.uint8), torch.int8: np.dtype(np.int8),
            torch.quint8: np.dtype(np.uint8), torch.qint8: np.dtype(np.int8)}.get(x.dtype)


def raw_bytes(x: Any, name: str, writable: bool = False,
              memory_format: Any = None) -> tuple[int, tuple[int, ...], np.dtype]:
    """(address, shape, integer dtype) of an 8-bit array or tensor. A quantized tensor gives
    its integer storage: contiguous in `memory_format` (torch.contiguous_format when None),
    per-tensor, on the CPU."""
    if is_tensor(x) and x.is_quantized:
        torch = sys.modules["torch"]
        dtype = _torch_int_dtype(x)
        if dtype is None:
            raise TypeError(f"{name}: expected a quint8 or qint8 tensor, got {x.dtype}")
        if x.device.type != "cpu":
            raise ValueError(f"{name}: the tensor is on {x.device}; qeq works on CPU tensors")
        if x.qscheme() not in (torch.per_tensor_affine, torch.per_tensor_symmetric):
            raise ValueError(f"{name}: expected a per-tensor quantized tensor, got "
                             f"{x.qscheme()}")
        fmt = torch.contiguous_format if memory_format is None else memory_format
        if not x.is_contiguous(memory_format=fmt):
            raise ValueError(f"{name}: the quantized tensor is not contiguous in {fmt} (qeq "
                             "does not copy)")
        return x.data_ptr(), tuple(x.shape), dtype
    if is_tensor(x):
        dtype = _torch_int_dtype(x)
        if dtype is None:
            raise TypeError(f"{name}: expected a uint8 or int8 tensor, got {x.dtype}")
    else:
        dtype = x.dtype if isinstance(x, np.ndarray) else None
        if dtype not in _INT8_DTYPES:
            raise TypeError(f"{name}: expected a uint8 or int8 numpy.ndarray or torch.Tensor, "
                            f"got {type(x).__name__}" + (f" of {dtype}" if dtype else ""))
    ptr, shape, _ = buffer(x, name, dtype, writable=writable)
    return ptr, tuple(shape), dtype


def _new_like(x: Any, shape: tuple[int, ...], dtype: np.dtype) -> Any:
    arr = np.empty(shape, dtype)
    if is_tensor(x):
        return sys.modules["torch"].from_numpy(arr)
    return arr


def _output(x: Any, shape: tuple[int, ...], dtype: np.dtype, out: Any, func: str) -> tuple[Any,
                                                                                           int]:
    if out is None:
        out = _new_like(x, shape, dtype)
    ptr, got, odtype = raw_bytes(out, f"{func}: out", writable=True)
    if got != shape or odtype != dtype:
        raise ValueError(f"{func}: out: expected {dtype} of shape {shape}, got {odtype} of "
                         f"shape {got}")
    return out, ptr


def _sizes(shape: tuple[int, ...], func: str) -> tuple[int, ...]:
    if len(shape) != 4:
        raise ValueError(f"{func}: expected a 4-D tensor, got {len(shape)} dimensions")
    return tuple(check_int(d, f"{func}: shape[{i}]", "size_t") for i, d in enumerate(shape))


def nchw_to_nhwc(x: Any, *, out: Any = None) -> Any:
    """x (N, C, H, W) of uint8 / int8 (or a quantized NCHW tensor's integers) as a new
    (N, H, W, C) array: x.permute(0, 2, 3, 1).contiguous() in C, every ISA."""
    px, shape, dtype = raw_bytes(x, "nchw_to_nhwc: x")
    n, c, h, w = _sizes(shape, "nchw_to_nhwc")
    out, py = _output(x, (n, h, w, c), dtype, out, "nchw_to_nhwc")
    api.qeq_nchw_to_nhwc_x8(n, c, h, w, px, py)
    return out


def nhwc_to_nchw(x: Any, *, out: Any = None) -> Any:
    """x (N, H, W, C) of uint8 / int8 as a new (N, C, H, W) array (the inverse of
    nchw_to_nhwc)."""
    px, shape, dtype = raw_bytes(x, "nhwc_to_nchw: x")
    n, h, w, c = _sizes(shape, "nhwc_to_nchw")
    out, py = _output(x, (n, c, h, w), dtype, out, "nhwc_to_nchw")
    api.qeq_nhwc_to_nchw_x8(n, c, h, w, px, py)
    return out


def q8_channel_shuffle(x: Any, groups: int, *, out: Any = None) -> Any:
    """torch.nn.ChannelShuffle(groups) on an NHWC uint8 / int8 tensor (any rank; the channels
    are the last axis, divisible by groups): channel g * (C / groups) + k moves to
    k * groups + g. The qparams are unchanged, so none are taken."""
    groups = check_int(groups, "q8_channel_shuffle: groups", "size_t", lo=1)
    px, shape, dtype = raw_bytes(x, "q8_channel_shuffle: x")
    if not shape:
        raise ValueError("q8_channel_shuffle: x has no channel axis (0-D)")
    channels = shape[-1]
    if channels % groups:
        raise ValueError(f"q8_channel_shuffle: {channels} channels do not split into "
                         f"{groups} groups")
    pixels = 1
    for d in shape[:-1]:
        pixels *= d
    out, py = _output(x, shape, dtype, out, "q8_channel_shuffle")
    if pixels and channels:
        api.qeq_x8_channel_shuffle(check_int(pixels, "q8_channel_shuffle: pixels", "size_t"),
                                   groups, channels // groups, px, py)
    return out



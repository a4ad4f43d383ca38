"""PyTorch 1.13's quantized mean over H and W of a channels-last tensor outside QNNPACK (the
onednn engine, and qint8 under qnnpack): dequantize, sum in float in the order of ATen's
reduction kernel, divide by H x W, quantize at the input's qparams
(docs/numerics.md#quantized-mean).

ATen sums a channels-last map over H x W with the channels contiguous: channels in blocks of
four vectors accumulate each channel's H x W values in one cascade (runs of 2^p values summed
in order, the runs' sums carried up through four levels); channels left over, one vector or
one value at a time, take ATen's row sum, four interleaved cascades (every fourth value) whose
results are added at the end. Which channels fall in the blocks depends on ATen's vector
width (8 floats under its AVX2 kernels, 16 under AVX-512), read from PyTorch's build report.
"""
from __future__ import annotations

import re

import numpy as np
import torch

from .. import core

_LEVELS = 4


def aten_float_lanes() -> int:
    """Floats per vector in the ATen kernels this PyTorch runs on this CPU."""
    found = re.search(r"CPU capability usage:\s*(\w+)", torch.__config__.show())
    return 16 if found and found.group(1).upper().startswith("AVX512") else 8


def _ceil_log2(n: int) -> int:
    return 1 if n <= 2 else (n - 1).bit_length()


def _cascade(values: np.ndarray) -> np.ndarray:
    """ATen's multi-row cascade sum along axis 0 of float32 values, every other axis a lane."""
    size = values.shape[0]
    power = max(4, _ceil_log2(size) // _LEVELS)
    step, mask = 1 << power, (1 << power) - 1
    acc = [np.zeros(values.shape[1:], np.float32) for _ in range(_LEVELS)]
    i = 0
    while i + step <= size:
        for _ in range(step):
            acc[0] = acc[0] + values[i]
            i += 1
        for j in range(1, _LEVELS):
            acc[j] = acc[j] + acc[j - 1]
            acc[j - 1] = np.zeros_like(acc[j - 1])
            if i & (mask << (j * power)):
                break
    while i < size:
        acc[0] = acc[0] + values[i]
        i += 1
    for j in range(1, _LEVELS):
        acc[0] = acc[0] + acc[j]
    return acc[0]


def _row_sum(values: np.ndarray) -> np.ndarray:
    """ATen's row sum along axis 0: four interleaved cascades, the leftover values added to
    the first, then the four added in order."""
    size = values.shape[0]
    whole = size // 4
    partial = [_cascade(values[k:whole * 4:4]) for k in range(4)]
    for i in range(whole * 4, size):
        partial[0] = partial[0] + values[i]
    total = partial[0]
    for k in range(1, 4):
        total = total + partial[k]
    return total


def float_means_hw(data: torch.Tensor, scale: float, zero_point: int,
                   lanes: int) -> np.ndarray:
    """The float means over H x W PyTorch computes for an NHWC uint8 / int8 tensor's
    channels-last integers (before requantizing): float32 [N][C]."""
    n, h, w, c = data.shape
    s = np.float32(scale)
    levels = data.numpy().reshape(n, h * w, c).transpose(1, 0, 2).astype(np.float32)
    values = (s * (levels - np.float32(zero_point))).astype(np.float32)  # f32(s * (q - z))
    sums = np.empty((n, c), np.float32)
    blocked = c // (4 * lanes) * 4 * lanes
    if blocked:
        sums[:, :blocked] = _cascade(values[:, :, :blocked])
    if blocked < c:
        sums[:, blocked:] = _row_sum(values[:, :, blocked:])
    return (sums / np.float32(h * w)).astype(np.float32)


def quantized_mean_hw(data: torch.Tensor, scale: float, zero_point: int,
                      lanes: int) -> torch.Tensor:
    """PyTorch's quantized x.mean((2, 3)) of an NHWC uint8 / int8 tensor (its channels-last
    integers) at the input's qparams: an [N][C] tensor of the same integer dtype."""
    means = float_means_hw(data, scale, zero_point, lanes)
    dtype = "quint8" if data.dtype == torch.uint8 else "qint8"
    return torch.from_numpy(core.quantize(means, [scale], [zero_point], 0, dtype))

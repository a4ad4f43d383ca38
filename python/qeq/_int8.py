"""Per-tensor int8 simulation shared by the SQNR report and selective equalization."""
from __future__ import annotations

from typing import Any

import numpy as np

from . import core

_RANGES = {"quint8": (0, 255), "qint8": (-128, 127)}


def fake_quantize_per_tensor(x: Any, dtype: str = "qint8",
                             qscheme: str = "per_tensor_symmetric") -> np.ndarray:
    """x quantized per tensor with MinMaxObserver's qparams for its own min/max, then
    dequantized (PyTorch's default_qconfig: qint8 symmetric weights, quint8 affine inputs)."""
    lo, hi = core.tensor_minmax(x)
    return fake_quantize_range(x, lo, hi, dtype, qscheme)


def fake_quantize_range(x: Any, lo: float, hi: float, dtype: str = "quint8",
                        qscheme: str = "per_tensor_affine") -> np.ndarray:
    """x fake-quantized per tensor with the qparams of an observed range [lo, hi]."""
    scale, zero_point = core.calculate_qparams([lo], [hi], dtype, qscheme)
    qmin, qmax = _RANGES[dtype]
    return core.fake_quantize(x, scale, zero_point, qmin, qmax)


def weight_sqnr(w: Any) -> float:
    """SQNR (dB) of a weight quantized to per-tensor symmetric qint8."""
    return core.sqnr(w, fake_quantize_per_tensor(w))

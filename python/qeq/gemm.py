"""qeq.Gemm: the int8 GEMM of include/qeq/gemm.h (PyTorch's quantized Linear, LinearReLU and
dynamic Linear, bit for bit per engine).

Packed once from int8 weights [n][k] (numpy or torch), their qparams and a float32 bias; run
many times on activations [..., k] (uint8 / int8, or float32 for a dynamic GEMM). Inputs and
outputs are used where they lie (C-contiguous, CPU); an output of the input's kind (numpy or
torch) is allocated unless `out` is given. C statuses raise the QeqError subclasses.
"""
from __future__ import annotations

import ctypes
from ctypes import c_float, c_int32, c_void_p
from typing import Any

import numpy as np

from ._arrays import buffer, is_tensor, vector
from ._checks import check_int
from ._lib import GemmConfig, InvalidArgumentError, api, lib
from ._threads import pool_handle

__all__ = ["Gemm", "ENGINES", "OUTPUTS", "CLAMPS"]

ENGINES = {"onednn": 0, "qnnpack": 1}
OUTPUTS = {"quantized": 0, "float": 1, "int32": 2}
CLAMPS = {"none": 0, "relu": 1, "relu6": 2, "range": 3}
_QDTYPES = {"quint8": (0, np.uint8), "qint8": (1, np.int8)}


def _choice(table: dict[str, Any], value: Any, what: str, owner: str = "Gemm") -> Any:
    key = str(value).replace("torch.", "").lower()
    if key not in table:
        raise ValueError(f"{owner}: unknown {what} {value!r}; expected one of {', '.join(table)}")
    return table[key]


def _count(keep: Any) -> int:
    return int(keep.size) if isinstance(keep, np.ndarray) else int(keep.numel())


def _fill_quantization(q: Any, owner: str, n: int, weight_scales: Any, weight_zero_points: Any,
                       bias: Any, input_dtype: Any, input_scale: float, input_zero_point: int,
                       output: str, output_dtype: Any, output_scale: float,
                       output_zero_point: int, clamp: Any, engine: str) -> tuple[list, Any, Any]:
    """Fills a GemmQuantization (qeq_gemm_quantization) from the keyword arguments Gemm and
    Conv2d share, n the output channels; returns the arrays C reads (keep them alive while it
    does) and the numpy dtypes of the input and of a quantized output."""
    pscale, kscale = vector(weight_scales, "weight_scales")
    q.weight_qparam_count, q.weight_scales = _count(kscale), pscale
    keep = [kscale]
    if weight_zero_points is not None:
        pzp, kzp = vector(weight_zero_points, f"{owner}: weight_zero_points", _count(kscale),
                          dtype=np.int32)
        q.weight_zero_points = pzp
        keep.append(kzp)
    if bias is not None:
        pbias, kbias = vector(bias, "bias", n)
        q.bias = pbias
        keep.append(kbias)
    q.input_dtype, in_np = _choice(_QDTYPES, input_dtype, "input dtype", owner)
    q.input_scale, q.input_zero_point = input_scale, input_zero_point
    q.output = _choice(OUTPUTS, output, "output", owner)
    q.output_dtype, out_np = _choice(_QDTYPES, output_dtype, "output dtype", owner)
    q.output_scale, q.output_zero_point = output_scale, output_zero_point
    if isinstance(clamp, (tuple, list)):
        q.clamp = CLAMPS["range"]
        q.clamp_min, q.clamp_max = clamp
    else:
        q.clamp = _choice(CLAMPS, clamp, "clamp", owner)
        if q.clamp == CLAMPS["range"]:
            raise ValueError(f"{owner}: clamp \"range\" is given as a (min, max) pair")
    q.engine = _choice(ENGINES, engine, "engine", owner)
    return keep, in_np, out_np


def _empty(like: Any, shape: tuple[int, ...], dtype: Any) -> Any:
    """A new array of `like`'s kind (torch tensor or numpy array)."""
    if is_tensor(like):
        import torch
        return torch.from_numpy(np.empty(shape, dtype))
    return np.empty(shape, dtype)


class Gemm:
    """y = out(sum_k (x - x_zp) * (w - w_zp[n]), bias), packed for the kernel dispatch picks now.

    weight: int8 [n][k]; weight_scales: 1 (per tensor) or n values; weight_zero_points: as
    many int32 values, or None (symmetric); bias: n float32 values or None.
    output: "quantized" (output_dtype "quint8"/"qint8", output_scale, output_zero_point),
    "float" or "int32". clamp: "none"/"relu"/"relu6" or a (min, max) pair in real units, on
    quantized and float outputs (a float output is clamped after requantization, so
    dynamic=True with clamp="relu" is PyTorch's dynamic LinearReLU); int32 outputs take none.
    engine: "onednn" or "qnnpack" (PyTorch's float32 operation orders). dynamic=True makes a
    float-in, float-out GEMM (run it with run_dynamic; reduce_range as PyTorch's module).
    """

    def __init__(self, weight: Any, weight_scales: Any, weight_zero_points: Any = None,
                 bias: Any = None, *, input_dtype: str = "quint8", input_scale: float = 1.0,
                 input_zero_point: int = 0, output: str = "quantized",
                 output_dtype: str = "quint8", output_scale: float = 1.0,
                 output_zero_point: int = 0, clamp: Any = "none", engine: str = "onednn",
                 dynamic: bool = False, reduce_range: bool = False):
        self._handle = None
        input_zero_point = check_int(input_zero_point, "Gemm: input_zero_point", "int32_t")
        output_zero_point = check_int(output_zero_point, "Gemm: output_zero_point", "int32_t")
        wptr, wshape, _ = buffer(weight, "weight", np.int8)
        if len(wshape) != 2:
            raise ValueError(f"weight: expected [n][k], got {len(wshape)} dimensions")
        n, k = (check_int(d, f"Gemm: weight shape[{i}]", "size_t") for i, d in enumerate(wshape))
        cfg = lib.qeq_gemm_config_default()
        cfg.n, cfg.k, cfg.weights = n, k, wptr
        keep, self._input_np, out_np = _fill_quantization(cfg.quant, "Gemm", n, weight_scales,
                                          weight_zero_points, bias, input_dtype, input_scale,
                                          input_zero_point, output, output_dtype, output_scale,
                                          output_zero_point, clamp, engine)
        cfg.dynamic, cfg.reduce_range = int(bool(dynamic)), int(bool(reduce_range))
        handle = c_void_p()
        api.qeq_gemm_create(ctypes.byref(cfg), ctypes.byref(handle))
        self._handle = handle
        self.n, self.k, self.dynamic = n, k, bool(dynamic)
        self.output = output
        self._output_np = {0: out_np, 1: np.float32, 2: np.int32}[cfg.quant.output]

    def __del__(self) -> None:
        if getattr(self, "_handle", None) is not None:
            lib.qeq_gemm_destroy(self._handle)
            self._handle = None

    @property
    def kernel_name(self) -> str:
        """The microkernel the weights were packed for."""
        return lib.qeq_gemm_kernel_name(self._handle).decode()

    def path_tiles(self) -> tuple[int, int]:
        """(fast, exact): the tiles every run so far took on each path of a kernel that has
        two (AVX2); (0, 0) elsewhere."""
        fast, exact = ctypes.c_uint64(0), ctypes.c_uint64(0)
        api.qeq_gemm_path_tiles(self._handle, ctypes.byref(fast), ctypes.byref(exact))
        return fast.value, exact.value

    def _operands(self, x: Any, dtype: Any, out: Any) -> tuple[int, int, Any, int]:
        ptr, shape, _ = buffer(x, "x", dtype)
        if not shape or shape[-1] != self.k:
            raise ValueError(f"x: expected [..., {self.k}] (k = {self.k}), got {tuple(shape)}")
        m = 1
        for d in shape[:-1]:  # Python ints: no int64 wrap
            m *= d
        m = check_int(m, "Gemm: x rows (m)", "size_t")
        oshape = tuple(shape[:-1]) + (self.n,)
        out_dtype = self._output_np
        if out is None:
            out = _empty(x, oshape, out_dtype)
        optr, got, _ = buffer(out, "out", out_dtype, writable=True)
        if tuple(got) != oshape:
            raise ValueError(f"out: expected shape {oshape}, got {tuple(got)}")
        return m, ptr, out, optr

    def run(self, x: Any, out: Any = None, *, pool: Any = None) -> Any:
        """The static GEMM on x [..., k] (uint8 for quint8 input, int8 for qint8); returns
        out [..., n]. pool: a qeq.ThreadPool, or None for the caller's thread."""
        handle = pool_handle(pool)
        if self.dynamic:
            raise InvalidArgumentError("Gemm.run: the GEMM is dynamic (float input): use "
                                       "run_dynamic", "Gemm.run")
        m, ptr, out, optr = self._operands(x, self._input_np, out)
        if m:
            item = np.dtype(self._output_np).itemsize
            api.qeq_gemm_run(self._handle, m, ptr, self.k, optr, self.n * item, handle)
        return out

    __call__ = run

    def _run_at(self, m: int, input_address: int, output_address: int) -> None:
        """run() on raw addresses (qeq.torch's quantized tensors, which numpy cannot view);
        the caller has checked the buffers hold m rows of k inputs and n outputs."""
        m = check_int(m, "Gemm: m", "size_t")
        item = np.dtype(self._output_np).itemsize
        api.qeq_gemm_run(self._handle, m, input_address, self.k, output_address,
                         self.n * item, None)

    def run_dynamic(self, x: Any, out: Any = None) -> tuple[Any, float, int]:
        """The dynamic GEMM on float32 x [..., k]: (out [..., n] float32, the input scale and
        zero point chosen for this call)."""
        if not self.dynamic:
            raise InvalidArgumentError("Gemm.run_dynamic: the GEMM is static: use run",
                                       "Gemm.run_dynamic")
        m, ptr, out, optr = self._operands(x, np.float32, out)
        scale, zero_point = c_float(0.0), c_int32(0)
        if m:
            api.qeq_gemm_run_dynamic(self._handle, m, ptr, self.k * 4, optr, self.n * 4, None,
                                     ctypes.byref(scale), ctypes.byref(zero_point))
        return out, scale.value, zero_point.value

    def __repr__(self) -> str:
        return (f"Gemm(n={self.n}, k={self.k}, output={self.output!r}, "
                f"dynamic={self.dynamic}, kernel={self.kernel_name!r})")

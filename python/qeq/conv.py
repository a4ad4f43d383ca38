"""qeq.Conv2d and qeq.Conv1d: the int8 convolution of include/qeq/conv.h (PyTorch's quantized
Conv2d / ConvReLU2d and Conv1d / ConvReLU1d, bit for bit per engine), on NHWC (NLC)
activations.

Packed once from PyTorch's int8 weights [O][C / groups][kh][kw] (numpy or torch), their
qparams and a float32 bias; run many times on [N][H][W][C] activations (uint8 for quint8
input, int8 for qint8), C-contiguous on the CPU. PyTorch's NCHW tensors become NHWC with
x.permute(0, 2, 3, 1).contiguous() (or qeq.core's nchw_to_nhwc for float data).
"""
from __future__ import annotations

import ctypes
from ctypes import c_size_t, c_void_p
from typing import Any

import numpy as np

from ._arrays import buffer
from ._checks import check_int, check_int_pair
from ._lib import api, lib
from ._threads import pool_handle
from .gemm import _empty, _fill_quantization

__all__ = ["Conv2d", "Conv1d"]


class Conv2d:
    """y = out(conv(x - x_zp, w - w_zp[o]), bias), packed for the kernel dispatch picks now.

    weight: int8 [O][C / groups][kh][kw] (PyTorch's layout); stride, padding (on both sides),
    dilation: an int or an (h, w) pair; groups divides C and O. The quantization keywords are
    those of qeq.Gemm (no dynamic form): weight_scales (1 or O values), weight_zero_points,
    bias (O float32 values), input and output qparams, output "quantized" / "float" / "int32",
    clamp ("relu" makes PyTorch's ConvReLU2d), engine "onednn" or "qnnpack".
    """

    def __init__(self, weight: Any, weight_scales: Any, weight_zero_points: Any = None,
                 bias: Any = None, *, stride: Any = 1, padding: Any = 0, dilation: Any = 1,
                 groups: int = 1, input_dtype: str = "quint8", input_scale: float = 1.0,
                 input_zero_point: int = 0, output: str = "quantized",
                 output_dtype: str = "quint8", output_scale: float = 1.0,
                 output_zero_point: int = 0, clamp: Any = "none", engine: str = "onednn"):
        self._handle = None
        input_zero_point = check_int(input_zero_point, "Conv2d: input_zero_point", "int32_t")
        output_zero_point = check_int(output_zero_point, "Conv2d: output_zero_point", "int32_t")
        groups = check_int(groups, "Conv2d: groups", "size_t", lo=1)
        wptr, wshape, _ = buffer(weight, "weight", np.int8)
        if len(wshape) != 4:
            raise ValueError(f"weight: expected [O][C / groups][kh][kw], got {len(wshape)} "
                             "dimensions")
        o, cg, kh, kw = (check_int(d, f"Conv2d: weight shape[{i}]", "size_t")
                         for i, d in enumerate(wshape))
        cfg = lib.qeq_conv_config_default()
        cfg.output_channels, cfg.groups = o, groups
        cfg.input_channels = check_int(cg * groups, "Conv2d: input channels (C)", "size_t")
        cfg.kernel_height, cfg.kernel_width = kh, kw
        cfg.stride_height, cfg.stride_width = check_int_pair(stride, "Conv2d: stride")
        cfg.padding_height, cfg.padding_width = check_int_pair(padding, "Conv2d: padding")
        cfg.dilation_height, cfg.dilation_width = check_int_pair(dilation, "Conv2d: dilation")
        cfg.weights = wptr
        keep, self._input_np, out_np = _fill_quantization(cfg.quant, "Conv2d", o, weight_scales,
                                          weight_zero_points, bias, input_dtype, input_scale,
                                          input_zero_point, output, output_dtype, output_scale,
                                          output_zero_point, clamp, engine)
        handle = c_void_p()
        api.qeq_conv_create(ctypes.byref(cfg), ctypes.byref(handle))
        del keep  # packed: C no longer reads the arrays
        self._handle = handle
        self.in_channels, self.out_channels = cfg.input_channels, o
        self._sizes: dict[tuple[int, int], tuple[int, int]] = {}
        self.output = output
        self._output_np = {0: out_np, 1: np.float32, 2: np.int32}[cfg.quant.output]

    def __del__(self) -> None:
        if getattr(self, "_handle", None) is not None:
            lib.qeq_conv_destroy(self._handle)
            self._handle = None

    @property
    def kernel_name(self) -> str:
        """The microkernel the weights were packed for (a GEMM, indirect GEMM or depthwise)."""
        return lib.qeq_conv_kernel_name(self._handle).decode()

    def path_tiles(self) -> tuple[int, int]:
        """(fast, exact): the tiles every run so far took on each path, as Gemm.path_tiles."""
        fast, exact = ctypes.c_uint64(0), ctypes.c_uint64(0)
        api.qeq_conv_path_tiles(self._handle, ctypes.byref(fast), ctypes.byref(exact))
        return fast.value, exact.value

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        """(output height, output width) for an input of height x width."""
        oh, ow = c_size_t(), c_size_t()
        api.qeq_conv_output_size(self._handle, check_int(height, "Conv2d: height", "size_t"),
                                 check_int(width, "Conv2d: width", "size_t"), ctypes.byref(oh),
                                 ctypes.byref(ow))
        return oh.value, ow.value

    def run(self, x: Any, out: Any = None, *, pool: Any = None) -> Any:
        """The convolution on x [N][H][W][C]; returns out [N][OH][OW][O]. pool: a
        qeq.ThreadPool, or None for the caller's thread (same bits either way)."""
        handle = pool_handle(pool)
        ptr, shape, _ = buffer(x, "x", self._input_np)
        if len(shape) != 4 or shape[3] != self.in_channels:
            raise ValueError(f"x: expected [N][H][W][{self.in_channels}] (NHWC), got "
                             f"{tuple(shape)}")
        n, h, w = (check_int(d, f"Conv2d: x shape[{i}]", "size_t") for i, d in enumerate(shape[:3]))
        oh, ow = self.output_size(h, w)
        oshape = (n, oh, ow, self.out_channels)
        if out is None:
            out = _empty(x, oshape, self._output_np)
        optr, got, _ = buffer(out, "out", self._output_np, writable=True)
        if tuple(got) != oshape:
            raise ValueError(f"out: expected shape {oshape}, got {tuple(got)}")
        if n:
            api.qeq_conv_run(self._handle, n, h, w, ptr, 0, optr, 0, handle)
        return out

    __call__ = run

    def _run_tensor(self, x: Any, pool_address: int | None, pixel_stride: int = 0) -> Any:
        """run() for qeq.torch.convert's activations: x a [N][H][W][C] torch tensor of the
        packed input dtype, C-contiguous or (pixel_stride > 0) a channel slice whose pixels
        are pixel_stride bytes apart (the producer's layout); the output a new tensor. The
        channels and dtype are checked here: the C call trusts the buffer's extent."""
        import torch
        n, h, w, c = x.shape
        dtype = torch.uint8 if self._input_np == np.uint8 else torch.int8
        if c != self.in_channels or x.dtype != dtype:
            # The C call trusts the buffer to hold n x h x w pixels of in_channels bytes.
            raise ValueError(f"Conv2d: x: expected [N][H][W][{self.in_channels}] {dtype}, got "
                             f"{tuple(x.shape)} {x.dtype}")
        sizes = self._sizes.get((h, w))
        if sizes is None:
            sizes = self._sizes[(h, w)] = self.output_size(h, w)
        out = torch.empty((n, sizes[0], sizes[1], self.out_channels), dtype=x.dtype)
        if n:
            api.qeq_conv_run(self._handle, n, h, w, x.data_ptr(), pixel_stride,
                             out.data_ptr(), 0, pool_address)
        return out

    def __repr__(self) -> str:
        return (f"Conv2d({self.in_channels}, {self.out_channels}, output={self.output!r}, "
                f"kernel={self.kernel_name!r})")


def _single(value: Any, name: str) -> int:
    """An int or a 1-tuple (PyTorch's _single), checked."""
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise ValueError(f"Conv1d: {name}: expected an int or a 1-tuple, got {value!r}")
        value = value[0]
    return check_int(value, f"Conv1d: {name}", "size_t")


class Conv1d:
    """PyTorch's quantized Conv1d / ConvReLU1d: PyTorch runs them as a 2-D convolution of
    height 1 under both engines (weight [O][C / groups][1][k], stride, padding and dilation
    (1, s), (0, p), (1, d)), and so does this class, through qeq.Conv2d: the same bits.

    weight: int8 [O][C / groups][k]; stride, padding, dilation: an int or a 1-tuple; the
    other keywords are qeq.Conv2d's. Activations are [N][L][C] (channels last), uint8 or
    int8 as packed; PyTorch's [N][C][L] tensors become x.permute(0, 2, 1).contiguous()."""

    def __init__(self, weight: Any, weight_scales: Any, weight_zero_points: Any = None,
                 bias: Any = None, *, stride: Any = 1, padding: Any = 0, dilation: Any = 1,
                 **keywords: Any):
        _, wshape, _ = buffer(weight, "weight", np.int8)
        if len(wshape) != 3:
            raise ValueError(f"weight: expected [O][C / groups][k], got {len(wshape)} "
                             "dimensions")
        o, cg, k = wshape
        self._conv = Conv2d(weight.reshape(o, cg, 1, k), weight_scales, weight_zero_points, bias,
                            stride=(1, _single(stride, "stride")),
                            padding=(0, _single(padding, "padding")),
                            dilation=(1, _single(dilation, "dilation")), **keywords)
        self.in_channels, self.out_channels = self._conv.in_channels, self._conv.out_channels
        self.output = self._conv.output

    @property
    def kernel_name(self) -> str:
        return self._conv.kernel_name

    def output_size(self, length: int) -> int:
        """The output length for an input of `length`."""
        return self._conv.output_size(1, length)[1]

    def run(self, x: Any, out: Any = None, *, pool: Any = None) -> Any:
        """The convolution on x [N][L][C]; returns out [N][L'][O] (pool as Conv2d.run)."""
        _, shape, _ = buffer(x, "x", self._conv._input_np)
        if len(shape) != 3:
            raise ValueError(f"x: expected [N][L][{self.in_channels}] (NLC), got "
                             f"{tuple(shape)}")
        n, length, c = shape
        if out is not None:
            _, oshape, _ = buffer(out, "out", self._conv._output_np, writable=True)
            if len(oshape) != 3:
                raise ValueError(f"out: expected [N][L'][{self.out_channels}], got "
                                 f"{tuple(oshape)}")
            out = out.reshape(oshape[0], 1, oshape[1], oshape[2])
        y = self._conv.run(x.reshape(n, 1, length, c), out, pool=pool)
        return y.reshape(y.shape[0], y.shape[2], y.shape[3])

    __call__ = run

    def _run_tensor(self, x: Any, pool_address: int | None) -> Any:
        """Conv2d._run_tensor on a contiguous [N][L][C] tensor."""
        n, length, c = x.shape
        y = self._conv._run_tensor(x.view(n, 1, length, c), pool_address)
        return y.view(n, y.shape[2], y.shape[3])

    def __repr__(self) -> str:
        return (f"Conv1d({self.in_channels}, {self.out_channels}, output={self.output!r}, "
                f"kernel={self.kernel_name!r})")

"""The quantized operations of include/qeq/qops.h on NHWC arrays: add, cat, pools and clamps,
bit for bit with PyTorch's CPU kernels (docs/numerics.md#quantized-operations).

Add, average pooling and adaptive average pooling take ``engine="onednn"`` (the default:
PyTorch's own quantized kernels) or ``"qnnpack"`` (QNNPACK's and XNNPACK's fixed-point add and
QNNPACK's average pooling where PyTorch's qnnpack engine runs them;
docs/numerics.md#the-qnnpack-engines-quantized-ops).

A quantized tensor is a 4-D [N][H][W][C] uint8 (quint8) or int8 (qint8) array, numpy or torch,
C-contiguous on the CPU, with its qparams as a (scale, zero_point) pair. A PyTorch quantized
NCHW tensor t gives t.int_repr().permute(0, 2, 3, 1).contiguous() and (t.q_scale(),
t.q_zero_point()). Results are new arrays of the input's kind, or `out`.
"""
from __future__ import annotations

import ctypes
from ctypes import c_size_t, c_void_p
from typing import Any, Sequence

import numpy as np

from ._arrays import buffer, is_tensor
from ._checks import check_int, check_int_pair
from ._lib import Pool2dParams, Q8Tensor, api

__all__ = ["q8_add", "q8_cat", "q8_max_pool2d", "q8_avg_pool2d", "q8_adaptive_avg_pool2d",
           "q8_relu", "q8_relu6", "q8_hardtanh",
           "q8_hardswish", "q8_hardsigmoid", "q8_sigmoid", "q8_mul"]

_DTYPES = {np.dtype(np.uint8): 0, np.dtype(np.int8): 1}
_ENGINES = {"onednn": 0, "qnnpack": 1}  # qeq_qops_engine


def _engine(engine: Any, func: str) -> int:
    """qeq_qops_engine of "onednn" / "qnnpack" (as torch.backends.quantized.engine names them)."""
    if not isinstance(engine, str) or engine.lower() not in _ENGINES:
        raise ValueError(f"{func}: engine must be 'onednn' or 'qnnpack', got {engine!r}")
    return _ENGINES[engine.lower()]


def _dtype_of(x: Any) -> np.dtype:
    if is_tensor(x):
        import torch
        table = {torch.uint8: np.dtype(np.uint8), torch.int8: np.dtype(np.int8)}
        if x.dtype not in table:
            raise TypeError(f"expected a uint8 or int8 tensor, got {x.dtype}")
        return table[x.dtype]
    dtype = np.asarray(x).dtype if not isinstance(x, np.ndarray) else x.dtype
    if dtype not in _DTYPES:
        raise TypeError(f"expected a uint8 (quint8) or int8 (qint8) array, got {dtype}")
    return dtype


def _qparams(qparams: Any, name: str) -> tuple[float, int]:
    try:
        scale, zero_point = qparams
    except (TypeError, ValueError):
        raise TypeError(f"{name}: expected a (scale, zero_point) pair, got {qparams!r}") from None
    return float(scale), check_int(zero_point, f"{name} zero_point", "int32_t")


def _tensor(x: Any, name: str, qparams: Any, dtype: Any = None,
            writable: bool = False) -> tuple[Q8Tensor, int, tuple[int, ...], np.dtype]:
    """x's descriptor, address, shape and dtype (checked: 4-D NHWC, uint8 or int8)."""
    dtype = _dtype_of(x) if dtype is None else np.dtype(dtype)
    ptr, shape, _ = buffer(x, name, dtype, writable=writable)
    if len(shape) != 4:
        raise ValueError(f"{name}: expected [N][H][W][C] (NHWC), got {len(shape)} dimensions")
    scale, zero_point = _qparams(qparams, f"{name} qparams")
    dims = [check_int(d, f"{name} shape[{i}]", "size_t") for i, d in enumerate(shape)]
    return Q8Tensor(*dims, 0, _DTYPES[dtype], scale, zero_point), ptr, tuple(shape), dtype


def _output(like: Any, shape: tuple[int, ...], dtype: np.dtype, out: Any, qparams: Any,
            name: str = "out") -> tuple[Any, Q8Tensor, int]:
    if out is None:
        if is_tensor(like):
            import torch
            out = torch.from_numpy(np.empty(shape, dtype))
        else:
            out = np.empty(shape, dtype)
    desc, ptr, got, _ = _tensor(out, name, qparams, dtype, writable=True)
    if got != shape:
        raise ValueError(f"{name}: expected shape {shape}, got {got}")
    return out, desc, ptr


def q8_add(a: Any, a_qparams: Any, b: Any, b_qparams: Any, out_qparams: Any, *,
           relu: bool = False, out: Any = None, engine: str = "onednn") -> Any:
    """torch.ops.quantized.add (add_relu with relu=True): a and b of one shape and dtype,
    requantized to out_qparams; out may be a or b. engine="qnnpack" runs the fixed-point add
    PyTorch's qnnpack engine runs: QNNPACK's for uint8, XNNPACK's for int8
    (qeq.UnsupportedError where the library refuses the scales, as PyTorch raises)."""
    eng = _engine(engine, "q8_add")
    ta, pa, shape, dtype = _tensor(a, "a", a_qparams)
    tb, pb, _, _ = _tensor(b, "b", b_qparams, dtype)
    out, ty, py = _output(a, shape, dtype, out, out_qparams)
    (api.qeq_q8_add_relu_ex if relu else api.qeq_q8_add_ex)(
        ctypes.byref(ta), pa, ctypes.byref(tb), pb, ctypes.byref(ty), py, eng)
    return out


def q8_cat(inputs: Sequence[Any], qparams: Sequence[Any], out_qparams: Any, *,
           axis: str = "channels", out: Any = None) -> Any:
    """torch.ops.quantized.cat along channels (PyTorch's dim=1) or batch (dim=0), every input
    requantized to out_qparams (one already at them is copied)."""
    if len(inputs) != len(qparams):
        raise ValueError(f"q8_cat: {len(inputs)} inputs but {len(qparams)} qparams")
    if axis not in ("channels", "batch"):
        raise ValueError(f"q8_cat: axis must be 'channels' or 'batch', got {axis!r}")
    if not inputs:
        raise ValueError("q8_cat: no inputs")
    descs, ptrs = [], []
    dtype = _dtype_of(inputs[0])
    for i, (x, qp) in enumerate(zip(inputs, qparams)):
        d, p, _, _ = _tensor(x, f"inputs[{i}]", qp, dtype)
        descs.append(d)
        ptrs.append(p)
    n = sum(d.n for d in descs) if axis == "batch" else descs[0].n
    c = sum(d.c for d in descs) if axis == "channels" else descs[0].c
    shape = (n, descs[0].h, descs[0].w, c)
    out, ty, py = _output(inputs[0], shape, dtype, out, out_qparams)
    count = len(descs)
    api.qeq_q8_cat(count, (Q8Tensor * count)(*descs), (c_void_p * count)(*ptrs),
                   1 if axis == "channels" else 0, ctypes.byref(ty), py)
    return out


def _pool(x: Any, func: str, kernel_size: Any, stride: Any, padding: Any, dilation: Any,
          ceil_mode: bool, count_include_pad: bool = True,
          divisor_override: Any = None) -> Pool2dParams:
    p = Pool2dParams()
    p.kernel_h, p.kernel_w = check_int_pair(kernel_size, f"{func}: kernel_size", lo=1)
    p.stride_h, p.stride_w = (check_int_pair(stride, f"{func}: stride", lo=1)
                              if stride is not None else (p.kernel_h, p.kernel_w))
    p.padding_h, p.padding_w = check_int_pair(padding, f"{func}: padding")
    p.dilation_h, p.dilation_w = check_int_pair(dilation, f"{func}: dilation", lo=1)
    p.ceil_mode, p.count_include_pad = int(bool(ceil_mode)), int(bool(count_include_pad))
    p.divisor_override = (0 if divisor_override is None else
                          check_int(divisor_override, f"{func}: divisor_override", "int64_t",
                                    lo=1))
    return p


def _pooled(x: Any, x_qparams: Any, p: Pool2dParams, out: Any,
            run: Any) -> Any:
    tx, px, (n, h, w, c), dtype = _tensor(x, "x", x_qparams)
    oh, ow = c_size_t(), c_size_t()
    api.qeq_pool2d_output_size(ctypes.byref(p), h, w, ctypes.byref(oh), ctypes.byref(ow))
    out, ty, py = _output(x, (n, oh.value, ow.value, c), dtype, out, x_qparams)
    run(ctypes.byref(tx), px, ctypes.byref(p), ctypes.byref(ty), py)
    return out


def q8_max_pool2d(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
                  dilation: Any = 1, ceil_mode: bool = False, *, out: Any = None) -> Any:
    """torch.nn.functional.max_pool2d on a quantized NHWC tensor (the qparams are kept and
    play no part)."""
    p = _pool(x, "q8_max_pool2d", kernel_size, stride, padding, dilation, ceil_mode)
    return _pooled(x, (1.0, 0), p, out, api.qeq_q8_max_pool2d)


def q8_avg_pool2d(x: Any, x_qparams: Any, kernel_size: Any, stride: Any = None,
                  padding: Any = 0, ceil_mode: bool = False, count_include_pad: bool = True,
                  divisor_override: Any = None, *, out: Any = None,
                  engine: str = "onednn") -> Any:
    """torch.nn.functional.avg_pool2d on a quantized channels-last tensor (qparams kept).
    engine="qnnpack" runs QNNPACK's average pooling for uint8 without ceil_mode, as PyTorch
    does: the whole window is the divisor (count_include_pad and divisor_override are
    ignored) and a 1 x 1 kernel raises qeq.UnsupportedError."""
    eng = _engine(engine, "q8_avg_pool2d")
    p = _pool(x, "q8_avg_pool2d", kernel_size, stride, padding, 1, ceil_mode, count_include_pad,
              divisor_override)
    return _pooled(x, x_qparams, p, out,
                   lambda *args: api.qeq_q8_avg_pool2d_ex(*args, eng))


def q8_adaptive_avg_pool2d(x: Any, x_qparams: Any, output_size: Any, *, out: Any = None,
                           engine: str = "onednn") -> Any:
    """torch.nn.functional.adaptive_avg_pool2d on a quantized channels-last tensor.
    engine="qnnpack": for uint8 with output sizes that divide the input's (and differ from
    it), QNNPACK's average pooling, as PyTorch runs it; other sizes as under onednn. The
    same op computes PyTorch's quantized torch.mean(x, (2, 3), keepdim=True) under qnnpack
    with output_size 1."""
    eng = _engine(engine, "q8_adaptive_avg_pool2d")
    tx, px, (n, _, _, c), dtype = _tensor(x, "x", x_qparams)
    oh, ow = check_int_pair(output_size, "q8_adaptive_avg_pool2d: output_size", lo=1)
    out, ty, py = _output(x, (n, oh, ow, c), dtype, out, x_qparams)
    api.qeq_q8_adaptive_avg_pool2d_ex(ctypes.byref(tx), px, ctypes.byref(ty), py, eng)
    return out


def _clamp(x: Any, x_qparams: Any, out: Any, run: Any, *bounds: float) -> Any:
    tx, px, shape, dtype = _tensor(x, "x", x_qparams)
    out, ty, py = _output(x, shape, dtype, out, x_qparams)
    run(ctypes.byref(tx), px, *bounds, ctypes.byref(ty), py)
    return out


def q8_relu(x: Any, x_qparams: Any, *, out: Any = None) -> Any:
    """ReLU on a quantized tensor: max(q, zero_point); out may be x."""
    return _clamp(x, x_qparams, out, api.qeq_q8_relu)


def q8_relu6(x: Any, x_qparams: Any, *, out: Any = None) -> Any:
    """ReLU6: q clamped to [zero_point, q(6)]; out may be x."""
    return _clamp(x, x_qparams, out, api.qeq_q8_relu6)


def q8_hardtanh(x: Any, x_qparams: Any, min_val: float = -1.0, max_val: float = 1.0, *,
                out: Any = None) -> Any:
    """hardtanh: q clamped to [q(min_val), q(max_val)]; out may be x."""
    return _clamp(x, x_qparams, out, api.qeq_q8_hardtanh, float(min_val), float(max_val))


# ---- Activations and multiply ----------------------------------------------------------------

_ENGINES = {"onednn": 0, "qnnpack": 1}


def _engine(engine: Any, func: str) -> int:
    if engine not in _ENGINES:
        raise ValueError(f"{func}: engine must be one of {', '.join(_ENGINES)}, got {engine!r}")
    return _ENGINES[engine]


def hardsigmoid_qparams(dtype: Any) -> tuple[float, int]:
    """PyTorch's fixed output qparams of a quantized hardsigmoid: 1/256, and zero point 0
    (quint8) or -128 (qint8)."""
    return 1.0 / 256.0, (-128 if np.dtype(dtype) == np.int8 else 0)


def q8_hardswish(x: Any, x_qparams: Any, out_qparams: Any, *, engine: str = "onednn",
                 out: Any = None) -> Any:
    """torch.ops.quantized.hardswish: x * clamp(x + 3, 0, 6) / 6, requantized to out_qparams,
    by the rule of `engine` ("onednn" or "qnnpack", which differ for uint8 at ties); out may
    be x."""
    e = _engine(engine, "q8_hardswish")
    tx, px, shape, dtype = _tensor(x, "x", x_qparams)
    out, ty, py = _output(x, shape, dtype, out, out_qparams)
    api.qeq_q8_hardswish(ctypes.byref(tx), px, e, ctypes.byref(ty), py)
    return out


def q8_hardsigmoid(x: Any, x_qparams: Any, *, engine: str = "onednn", out: Any = None) -> Any:
    """torch.nn.functional.hardsigmoid on a quantized tensor: clamp(x + 3, 0, 6) / 6 at
    PyTorch's fixed output qparams (hardsigmoid_qparams(dtype)); out may be x."""
    e = _engine(engine, "q8_hardsigmoid")
    tx, px, shape, dtype = _tensor(x, "x", x_qparams)
    out, ty, py = _output(x, shape, dtype, out, hardsigmoid_qparams(dtype))
    api.qeq_q8_hardsigmoid(ctypes.byref(tx), px, e, ctypes.byref(ty), py)
    return out


def q8_sigmoid(x: Any, x_qparams: Any, *, engine: str = "onednn", out: Any = None) -> Any:
    """torch.sigmoid on a quantized tensor: 1 / (1 + e^-x) at PyTorch's fixed output qparams
    (hardsigmoid_qparams(dtype), the same for both), with e^-x as the engine's kernel computes
    it ("onednn" or "qnnpack"); out may be x."""
    e = _engine(engine, "q8_sigmoid")
    tx, px, shape, dtype = _tensor(x, "x", x_qparams)
    out, ty, py = _output(x, shape, dtype, out, hardsigmoid_qparams(dtype))
    api.qeq_q8_sigmoid(ctypes.byref(tx), px, e, ctypes.byref(ty), py)
    return out


def q8_mul(a: Any, a_qparams: Any, b: Any, b_qparams: Any, out_qparams: Any, *,
           relu: bool = False, out: Any = None) -> Any:
    """torch.ops.quantized.mul (mul_relu with relu=True) on NHWC tensors of one dtype, each
    axis of a and b equal or 1 (broadcast; the result takes the larger); out may be an input
    of the result's shape. The same bits under both engines."""
    ta, pa, ashape, dtype = _tensor(a, "a", a_qparams)
    tb, pb, bshape, _ = _tensor(b, "b", b_qparams, dtype)
    shape = []
    for i, (m, n) in enumerate(zip(ashape, bshape)):
        if m != n and 1 not in (m, n):
            raise ValueError(f"q8_mul: a's shape {ashape} and b's {bshape} do not broadcast "
                             f"(axis {i})")
        shape.append(n if m == 1 else m)
    out, ty, py = _output(a, tuple(shape), dtype, out, out_qparams)
    (api.qeq_q8_mul_relu if relu else api.qeq_q8_mul)(ctypes.byref(ta), pa, ctypes.byref(tb), pb,
                                                        ctypes.byref(ty), py)
    return out

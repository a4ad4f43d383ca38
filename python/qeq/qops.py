"""The quantized operations of include/qeq/qops.h on NHWC arrays: add, cat, pools and clamps,
bit for bit with PyTorch's CPU kernels (docs/numerics.md#quantized-operations).

Add, average pooling and adaptive average pooling take ``engine="onednn"`` (the default:
PyTorch's own quantized kernels) or ``"qnnpack"`` (QNNPACK's and XNNPACK's fixed-point add and
QNNPACK's average pooling where PyTorch's qnnpack engine runs them;
docs/numerics.md#the-qnnpack-engines-quantized-ops).

A quantized tensor is a 4-D [N][H][W][C] uint8 (quint8) or int8 (qint8) array, numpy or torch,
C-contiguous on the CPU, with its qparams as a (scale, zero_point) pair. Results are new arrays
of the input's kind, or `out`.

Every op also takes PyTorch quantized tensors (4-D, per-tensor, NCHW-contiguous or
channels-last) in place of the arrays: pass None as their qparams (they come from the tensor).
A channels-last tensor is read where it lies; an NCHW one goes through qeq.nchw_to_nhwc. The
result is then a quantized tensor in the memory format of the first tensor input (`out` is not
taken).
"""
from __future__ import annotations

import ctypes
from ctypes import c_size_t, c_void_p
from typing import Any, Sequence

import numpy as np

from ._arrays import buffer, is_tensor
from ._checks import check_int, check_int_pair
from ._lib import Pool2dParams, Q8Tensor, api
from .layout import raw_bytes

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


def _is_quantized(x: Any) -> bool:
    return is_tensor(x) and x.is_quantized


def _from_quantized(x: Any, qparams: Any, name: str) -> tuple[np.ndarray, tuple[float, int],
                                                                bool]:
    """A quantized tensor's integers as an NHWC array (a view of a channels-last tensor's
    storage, else a conversion by qeq_nchw_to_nhwc_x8), its qparams and whether it is
    channels-last."""
    import torch
    if x.dim() != 4:
        raise ValueError(f"{name}: expected a 4-D quantized tensor, got {x.dim()}-D")
    if qparams is not None:
        raise ValueError(f"{name} qparams: pass None for a quantized tensor (its own are used)")
    channels_last = x.is_contiguous(memory_format=torch.channels_last)
    ptr, (n, c, h, w), dtype = raw_bytes(
        x, name, memory_format=torch.channels_last if channels_last else None)
    qp = (float(x.q_scale()), int(x.q_zero_point()))
    if channels_last:
        storage = (ctypes.c_uint8 * (n * h * w * c)).from_address(ptr)
        return np.ctypeslib.as_array(storage).view(dtype).reshape(n, h, w, c), qp, True
    nhwc = np.empty((n, h, w, c), dtype)
    api.qeq_nchw_to_nhwc_x8(n, c, h, w, ptr, nhwc.__array_interface__["data"][0])
    return nhwc, qp, False


def _to_quantized(y: np.ndarray, qparams: tuple[float, int], channels_last: bool) -> Any:
    """The NHWC result y as a PyTorch quantized tensor: channels-last sharing y's memory, or
    NCHW-contiguous through qeq_nhwc_to_nchw_x8."""
    import torch
    scale, zero_point = qparams
    if channels_last:
        data = torch.from_numpy(y)
        return torch._make_per_tensor_quantized_tensor(data, scale, zero_point).permute(0, 3, 1, 2)
    n, h, w, c = y.shape
    nchw = np.empty((n, c, h, w), y.dtype)
    api.qeq_nhwc_to_nchw_x8(n, c, h, w, y.__array_interface__["data"][0],
                            nchw.__array_interface__["data"][0])
    return torch._make_per_tensor_quantized_tensor(torch.from_numpy(nchw), scale, zero_point)


def _quantized_call(func: str, inputs: Sequence[tuple[Any, Any, str]], out: Any,
                    out_qparams: Any, run: Any) -> Any:
    """run(arrays, qparams) on the NHWC integers of the quantized tensors among inputs ((x,
    qparams, name) each; plain arrays pass through), its result returned as a quantized tensor
    at out_qparams (None: the first input's) in the first quantized input's memory format."""
    if out is not None:
        raise ValueError(f"{func}: out is not taken with quantized tensor inputs")
    arrays, qparams, layout = [], [], None
    for x, qp, name in inputs:
        if _is_quantized(x):
            arr, qp, channels_last = _from_quantized(x, qp, f"{func}: {name}")
            layout = channels_last if layout is None else layout
        else:
            arr = x
        arrays.append(arr)
        qparams.append(qp)
    result = run(arrays, qparams)
    target = qparams[0] if out_qparams is None else _qparams(out_qparams, f"{func}: out_qparams")
    return _to_quantized(np.asarray(result), target, bool(layout))


def _broadcast_shape(func: str, ashape: tuple[int, ...], bshape: tuple[int, ...]) -> tuple:
    """numpy's broadcast of two NHWC shapes: each axis equal, or 1 on one side."""
    shape = []
    for i, (m, n) in enumerate(zip(ashape, bshape)):
        if m != n and 1 not in (m, n):
            raise ValueError(f"{func}: a's shape {ashape} and b's {bshape} do not broadcast "
                             f"(axis {i})")
        shape.append(n if m == 1 else m)
    return tuple(shape)


def q8_add(a: Any, a_qparams: Any, b: Any, b_qparams: Any, out_qparams: Any, *,
           relu: bool = False, out: Any = None, engine: str = "onednn") -> Any:
    """torch.ops.quantized.add (add_relu with relu=True): a and b of one dtype, each axis equal
    or 1 (numpy broadcasting; the result takes the larger), requantized to out_qparams; out
    may be an input of the result's shape. engine="qnnpack" runs the fixed-point add PyTorch's
    qnnpack engine runs on equal shapes: QNNPACK's for uint8, XNNPACK's for int8
    (qeq.UnsupportedError where the library refuses the scales, as PyTorch raises); uint8
    inputs that broadcast take the onednn rule, as in PyTorch; int8 ones keep XNNPACK's."""
    if _is_quantized(a) or _is_quantized(b):
        return _quantized_call("q8_add", [(a, a_qparams, "a"), (b, b_qparams, "b")], out,
                               out_qparams, lambda t, q: q8_add(t[0], q[0], t[1], q[1],
                                                                out_qparams, relu=relu,
                                                                engine=engine))
    eng = _engine(engine, "q8_add")
    ta, pa, ashape, dtype = _tensor(a, "a", a_qparams)
    tb, pb, bshape, _ = _tensor(b, "b", b_qparams, dtype)
    shape = _broadcast_shape("q8_add", ashape, bshape)
    out, ty, py = _output(a, shape, dtype, out, out_qparams)
    (api.qeq_q8_add_relu_ex if relu else api.qeq_q8_add_ex)(
        ctypes.byref(ta), pa, ctypes.byref(tb), pb, ctypes.byref(ty), py, eng)
    return out


# q8_cat's axes: qeq_cat_axis and the NHWC size each concatenates.
_CAT_AXES = {"batch": (0, "n"), "channels": (1, "c"), "height": (2, "h"), "width": (3, "w")}


def q8_cat(inputs: Sequence[Any], qparams: Sequence[Any] | None, out_qparams: Any, *,
           axis: str = "channels", out: Any = None) -> Any:
    """torch.ops.quantized.cat (torch.cat of quantized tensors) along "batch", "channels",
    "height" or "width" (PyTorch's dims 0, 1, 2, 3 of NCHW), every input requantized to
    out_qparams (one already at them is copied); the other sizes must agree."""
    if qparams is None:
        qparams = [None] * len(inputs)
    if len(inputs) != len(qparams):
        raise ValueError(f"q8_cat: {len(inputs)} inputs but {len(qparams)} qparams")
    if any(_is_quantized(x) for x in inputs):
        return _quantized_call(
            "q8_cat", [(x, qp, f"inputs[{i}]") for i, (x, qp) in enumerate(zip(inputs, qparams))],
            out, out_qparams, lambda t, q: q8_cat(t, q, out_qparams, axis=axis))
    if axis not in _CAT_AXES:
        raise ValueError(f"q8_cat: axis must be one of {', '.join(_CAT_AXES)}, got {axis!r}")
    if not inputs:
        raise ValueError("q8_cat: no inputs")
    descs, ptrs = [], []
    dtype = _dtype_of(inputs[0])
    for i, (x, qp) in enumerate(zip(inputs, qparams)):
        d, p, _, _ = _tensor(x, f"inputs[{i}]", qp, dtype)
        descs.append(d)
        ptrs.append(p)
    code, field = _CAT_AXES[axis]
    sizes = {f: getattr(descs[0], f) for f in "nhwc"}
    sizes[field] = sum(getattr(d, field) for d in descs)
    shape = (sizes["n"], sizes["h"], sizes["w"], sizes["c"])
    out, ty, py = _output(inputs[0], shape, dtype, out, out_qparams)
    count = len(descs)
    api.qeq_q8_cat(count, (Q8Tensor * count)(*descs), (c_void_p * count)(*ptrs), code,
                   ctypes.byref(ty), py)
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
    if _is_quantized(x):
        return _quantized_call("q8_max_pool2d", [(x, None, "x")], out, None,
                               lambda t, q: q8_max_pool2d(t[0], kernel_size, stride, padding,
                                                          dilation, ceil_mode))
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
    if _is_quantized(x):
        return _quantized_call("q8_avg_pool2d", [(x, x_qparams, "x")], out, None,
                               lambda t, q: q8_avg_pool2d(t[0], q[0], kernel_size, stride,
                                                          padding, ceil_mode, count_include_pad,
                                                          divisor_override, engine=engine))
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
    if _is_quantized(x):
        return _quantized_call("q8_adaptive_avg_pool2d", [(x, x_qparams, "x")], out, None,
                               lambda t, q: q8_adaptive_avg_pool2d(t[0], q[0], output_size,
                                                                   engine=engine))
    eng = _engine(engine, "q8_adaptive_avg_pool2d")
    tx, px, (n, _, _, c), dtype = _tensor(x, "x", x_qparams)
    oh, ow = check_int_pair(output_size, "q8_adaptive_avg_pool2d: output_size", lo=1)
    out, ty, py = _output(x, (n, oh, ow, c), dtype, out, x_qparams)
    api.qeq_q8_adaptive_avg_pool2d_ex(ctypes.byref(tx), px, ctypes.byref(ty), py, eng)
    return out


def _clamp(func: str, x: Any, x_qparams: Any, out: Any, run: Any, *bounds: float) -> Any:
    if _is_quantized(x):
        return _quantized_call(func, [(x, x_qparams, "x")], out, None,
                               lambda t, q: _clamp(func, t[0], q[0], None, run, *bounds))
    tx, px, shape, dtype = _tensor(x, "x", x_qparams)
    out, ty, py = _output(x, shape, dtype, out, x_qparams)
    run(ctypes.byref(tx), px, *bounds, ctypes.byref(ty), py)
    return out


def q8_relu(x: Any, x_qparams: Any, *, out: Any = None) -> Any:
    """ReLU on a quantized tensor: max(q, zero_point); out may be x."""
    return _clamp("q8_relu", x, x_qparams, out, api.qeq_q8_relu)


def q8_relu6(x: Any, x_qparams: Any, *, out: Any = None) -> Any:
    """ReLU6: q clamped to [zero_point, q(6)]; out may be x."""
    return _clamp("q8_relu6", x, x_qparams, out, api.qeq_q8_relu6)


def q8_hardtanh(x: Any, x_qparams: Any, min_val: float = -1.0, max_val: float = 1.0, *,
                out: Any = None) -> Any:
    """hardtanh: q clamped to [q(min_val), q(max_val)]; out may be x."""
    return _clamp("q8_hardtanh", x, x_qparams, out, api.qeq_q8_hardtanh, float(min_val),
                  float(max_val))


# ---- Activations and multiply ----------------------------------------------------------------

def hardsigmoid_qparams(dtype: Any) -> tuple[float, int]:
    """PyTorch's fixed output qparams of a quantized hardsigmoid: 1/256, and zero point 0
    (quint8) or -128 (qint8)."""
    return 1.0 / 256.0, (-128 if np.dtype(dtype) == np.int8 else 0)


def q8_hardswish(x: Any, x_qparams: Any, out_qparams: Any, *, engine: str = "onednn",
                 out: Any = None) -> Any:
    """torch.ops.quantized.hardswish: x * clamp(x + 3, 0, 6) / 6, requantized to out_qparams,
    by the rule of `engine` ("onednn" or "qnnpack", which differ for uint8 at ties); out may
    be x."""
    if _is_quantized(x):
        return _quantized_call("q8_hardswish", [(x, x_qparams, "x")], out, out_qparams,
                               lambda t, q: q8_hardswish(t[0], q[0], out_qparams,
                                                         engine=engine))
    e = _engine(engine, "q8_hardswish")
    tx, px, shape, dtype = _tensor(x, "x", x_qparams)
    out, ty, py = _output(x, shape, dtype, out, out_qparams)
    api.qeq_q8_hardswish(ctypes.byref(tx), px, e, ctypes.byref(ty), py)
    return out


def q8_hardsigmoid(x: Any, x_qparams: Any, *, engine: str = "onednn", out: Any = None) -> Any:
    """torch.nn.functional.hardsigmoid on a quantized tensor: clamp(x + 3, 0, 6) / 6 at
    PyTorch's fixed output qparams (hardsigmoid_qparams(dtype)); out may be x."""
    if _is_quantized(x):
        return _quantized_call("q8_hardsigmoid", [(x, x_qparams, "x")], out,
                               hardsigmoid_qparams(np.int8 if str(x.dtype) == "torch.qint8"
                                                   else np.uint8),
                               lambda t, q: q8_hardsigmoid(t[0], q[0], engine=engine))
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
    if _is_quantized(a) or _is_quantized(b):
        return _quantized_call("q8_mul", [(a, a_qparams, "a"), (b, b_qparams, "b")], out,
                               out_qparams, lambda t, q: q8_mul(t[0], q[0], t[1], q[1],
                                                                out_qparams, relu=relu))
    ta, pa, ashape, dtype = _tensor(a, "a", a_qparams)
    tb, pb, bshape, _ = _tensor(b, "b", b_qparams, dtype)
    shape = _broadcast_shape("q8_mul", ashape, bshape)
    out, ty, py = _output(a, shape, dtype, out, out_qparams)
    (api.qeq_q8_mul_relu if relu else api.qeq_q8_mul)(ctypes.byref(ta), pa, ctypes.byref(tb), pb,
                                                        ctypes.byref(ty), py)
    return out

"""The numpy API: one function or class per public C function, same semantics.

Tensors are float32 (quantized data int8/uint8, accumulators int32), C-contiguous, on the
CPU; numpy arrays and torch tensors are both accepted and passed by address. Results are
new numpy arrays unless an ``out`` is given. Failures raise the QeqError subclass of the C
status, carrying qeq_last_error(); on failure nothing was written.

Integer arguments (axes, counts, zero points, quant_min / quant_max, groups, ...) are
checked against the C type they are passed as before anything reaches C (qeq._checks):
TypeError for a non-integer (a float is not truncated; bools and numpy integers are
integers), OverflowError outside the C type's range, ValueError for a negative count.
"""
from __future__ import annotations

import ctypes
import sys
from ctypes import POINTER, c_double, c_float, c_int, c_int32, c_size_t, c_void_p
from typing import Any, NamedTuple, Sequence

import numpy as np

from ._arrays import buffer, shape_struct, vector
from ._checks import check_int
from ._lib import (MAX_DIMS, BatchNorm, EqualizeReport, InputEqualizationOptions,
                   Layer as _CLayer, ObserverConfig, ShapeMismatchError, api, lib)

__all__ = [
    # version and dispatch
    "version", "version_string", "isa", "best_isa", "isa_detected", "detected_isas",
    "set_isa_cap", "clear_isa_cap", "isa_env_message", "kernel_variants", "kernel_paths",
    # the names string arguments take
    "ISAS", "KERNEL_FAMILIES", "DTYPES", "QSCHEMES", "LAYER_KINDS", "ACTIVATIONS",
    # ranges and scaling
    "channel_minmax", "channel_range", "channel_absmax", "tensor_minmax", "scale_channels",
    # quantization
    "quant_range", "calculate_qparams", "Observer", "quantize", "dequantize", "fake_quantize",
    "requantize", "sqnr", "select_lowest_sqnr",
    # layers: equalization, folding, bias
    "Layer", "cross_layer_equalize", "equalize_depthwise_separable", "EqualizeResult",
    "equalize_groups", "fold_batch_norm", "fold_batch_norm_to", "fold_batch_norms",
    "absorb_high_bias", "correct_bias", "input_equalization_scales", "apply_input_equalization",
    "scaled_input_minmax",
]

ArrayLike = Any  # numpy.ndarray or torch.Tensor (float32, contiguous, CPU)

ISAS = ("scalar", "avx2", "avx512", "avx512vnni", "avxvnni", "neon", "neondot")
# The library's own list (kernels/families.inc), in its order.
KERNEL_FAMILIES = tuple(lib.qeq_kernel_family_name(i).decode()
                        for i in range(lib.qeq_kernel_family_count()))
DTYPES = {"quint8": 0, "qint8": 1, "qint32": 2}
QSCHEMES = {"per_tensor_affine": 0, "per_tensor_symmetric": 1, "per_channel_affine": 2,
            "per_channel_symmetric": 3, "per_channel_affine_float_qparams": 4}
LAYER_KINDS = {"linear": 0, "conv1d": 1, "conv2d": 2, "conv3d": 3, "conv_transpose1d": 4,
               "conv_transpose2d": 5, "conv_transpose3d": 6}
ACTIVATIONS = {"none": 0, "relu": 1, "relu6": 2}
_INT8_DTYPES = {"quint8": np.uint8, "qint8": np.int8}


def _enum(table: dict[str, int], value: Any, what: str) -> int:
    key = value if isinstance(value, str) else getattr(value, "name", value)
    # torch dtypes print as torch.qint8
    key = str(key).replace("torch.", "").lower()
    if key not in table:
        raise ValueError(f"unknown {what} {value!r}; expected one of {', '.join(table)}")
    return table[key]


def _numel(shape: Sequence[int]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


# ---- versions and dispatch ----------------------------------------------------------------

def version() -> int:
    """The linked library's version, MAJOR * 10000 + MINOR * 100 + PATCH."""
    return lib.qeq_version()


def version_string() -> str:
    return lib.qeq_version_string().decode()


def isa() -> str:
    """The ISA level dispatch works under now (the cap if set, else the best detected)."""
    return lib.qeq_isa_name(lib.qeq_isa_effective()).decode()


def best_isa() -> str:
    return lib.qeq_isa_name(lib.qeq_isa_best_detected()).decode()


def isa_detected(name: str) -> bool:
    return bool(lib.qeq_isa_detected(_isa_from_name(name)))


def detected_isas() -> list[str]:
    return [name for name in ISAS if isa_detected(name)]


def _isa_from_name(name: str) -> int:
    level = c_int()
    api.qeq_isa_from_name(str(name).encode(), ctypes.byref(level))
    return level.value


def set_isa_cap(name: str) -> None:
    """Caps dispatch at `name` ("scalar", "avx2", ...). UnsupportedError if the CPU lacks it."""
    api.qeq_set_isa_cap(_isa_from_name(name))


def clear_isa_cap() -> None:
    lib.qeq_clear_isa_cap()


def isa_env_message() -> str:
    return lib.qeq_isa_env_message().decode()


def kernel_variants() -> dict[str, str]:
    """Kernel family -> the variant dispatch uses now."""
    return {family: lib.qeq_kernel_variant_name(family.encode()).decode()
            for family in KERNEL_FAMILIES}


def kernel_paths() -> dict[str, str]:
    """Kernel family -> how its variant computes: both paths of the AVX2 and AVX-512 (no
    VNNI) int8 GEMMs (vpmaddubsw where proven exact, else vpmaddwd), "one path" elsewhere."""
    return {family: lib.qeq_kernel_variant_paths(family.encode()).decode()
            for family in KERNEL_FAMILIES}


# ---- ranges and scaling --------------------------------------------------------------------

def _out_f32(n: int, out: Any, name: str) -> tuple[Any, int]:
    if out is None:
        out = np.empty(n, dtype=np.float32)
    ptr, shape, _ = buffer(out, name, writable=True)
    if _numel(shape) != n:
        raise ValueError(f"{name}: expected {n} elements, got {_numel(shape)}")
    return out, ptr


def _axis(axis: Any, func: str) -> int:
    """An axis argument, passed to C as an int (negative: from the end)."""
    return check_int(axis, f"{func}: axis", "int")


def _axis_len(shape: Sequence[int], axis: int, func: str) -> int:
    if not -len(shape) <= axis < len(shape):
        raise ValueError(f"{func}: axis {axis} out of range for x's {len(shape)} dimensions")
    return shape[axis]


def channel_minmax(x: ArrayLike, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel min and max along `axis` (NaN propagates; -0.0 < +0.0)."""
    axis = _axis(axis, "channel_minmax")
    ptr, shape, _ = buffer(x, "x")
    n = _axis_len(shape, axis, "channel_minmax")
    lo, plo = _out_f32(n, None, "min")
    hi, phi = _out_f32(n, None, "max")
    api.qeq_channel_minmax_f32(ctypes.byref(shape_struct(shape, "x")), ptr, axis, plo, phi)
    return lo, hi


def channel_range(x: ArrayLike, axis: int = 0, out: Any = None) -> Any:
    """max - min per channel along `axis`, PyTorch's channel_range bit for bit."""
    axis = _axis(axis, "channel_range")
    ptr, shape, _ = buffer(x, "x")
    out, pout = _out_f32(_axis_len(shape, axis, "channel_range"), out, "out")
    api.qeq_channel_range_f32(ctypes.byref(shape_struct(shape, "x")), ptr, axis, pout)
    return out


def channel_absmax(x: ArrayLike, axis: int = 0, out: Any = None) -> Any:
    axis = _axis(axis, "channel_absmax")
    ptr, shape, _ = buffer(x, "x")
    out, pout = _out_f32(_axis_len(shape, axis, "channel_absmax"), out, "out")
    api.qeq_channel_absmax_f32(ctypes.byref(shape_struct(shape, "x")), ptr, axis, pout)
    return out


def tensor_minmax(x: ArrayLike) -> tuple[float, float]:
    ptr, shape, _ = buffer(x, "x")
    lo, hi = c_float(), c_float()
    api.qeq_tensor_minmax_f32(ctypes.byref(shape_struct(shape, "x")), ptr, ctypes.byref(lo),
                              ctypes.byref(hi))
    return lo.value, hi.value


def scale_channels(x: ArrayLike, scales: Any, axis: int = 0, out: Any = None) -> Any:
    """out[..., c, ...] = x[..., c, ...] * scales[c]; in place when out is x."""
    axis = _axis(axis, "scale_channels")
    ptr, shape, _ = buffer(x, "x")
    n = _axis_len(shape, axis, "scale_channels")
    psc, _keep = vector(scales, "scales", n)
    if out is None:
        out = np.empty(shape, dtype=np.float32)
    pout, oshape, _ = buffer(out, "out", writable=True)
    if tuple(oshape) != tuple(shape):
        raise ValueError(f"out: shape {tuple(oshape)} differs from x's {tuple(shape)}")
    api.qeq_scale_channels_f32(ctypes.byref(shape_struct(shape, "x")), ptr, axis, psc, pout)
    return out


# ---- quantization parameters and observers -------------------------------------------------

def _config(func: str, dtype: Any, qscheme: Any, reduce_range: bool, quant_min: int | None,
            quant_max: int | None, eps: float | None, averaging_constant: float,
            ch_axis: int) -> ObserverConfig:
    if (quant_min is None) != (quant_max is None):
        raise ValueError(f"{func}: quant_min and quant_max must be given together")
    if quant_min is not None:
        quant_min = check_int(quant_min, f"{func}: quant_min", "int32_t")
        quant_max = check_int(quant_max, f"{func}: quant_max", "int32_t")
    ch_axis = check_int(ch_axis, f"{func}: ch_axis", "int")
    cfg = lib.qeq_observer_config_default(_enum(DTYPES, dtype, "dtype"),
                                          _enum(QSCHEMES, qscheme, "qscheme"))
    cfg.reduce_range = int(bool(reduce_range))
    if quant_min is not None:
        cfg.has_custom_range, cfg.quant_min, cfg.quant_max = 1, quant_min, quant_max
    if eps is not None:
        cfg.eps = eps
    cfg.averaging_constant = averaging_constant
    cfg.ch_axis = ch_axis
    return cfg


def quant_range(dtype: Any = "quint8", qscheme: Any = "per_tensor_affine",
                reduce_range: bool = False, quant_min: int | None = None,
                quant_max: int | None = None) -> tuple[int, int]:
    """PyTorch's calculate_qmin_qmax."""
    cfg = _config("quant_range", dtype, qscheme, reduce_range, quant_min, quant_max, None, 0.0,
                  0)
    lo, hi = c_int32(), c_int32()
    api.qeq_quant_range(ctypes.byref(cfg), ctypes.byref(lo), ctypes.byref(hi))
    return lo.value, hi.value


def calculate_qparams(min_val: Any, max_val: Any, dtype: Any = "quint8",
                      qscheme: Any = "per_tensor_affine", reduce_range: bool = False,
                      quant_min: int | None = None, quant_max: int | None = None,
                      eps: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Scale and zero point per channel from observed min/max, as PyTorch's observers.
    The zero points are float32 for per_channel_affine_float_qparams, else int32."""
    cfg = _config("calculate_qparams", dtype, qscheme, reduce_range, quant_min, quant_max, eps,
                  0.0, 0)
    pmin, kmin = vector(min_val, "min_val")
    count = kmin.size if isinstance(kmin, np.ndarray) else kmin.numel()
    pmax, _kmax = vector(max_val, "max_val", count)
    scale = np.empty(count, np.float32)
    floatzp = cfg.qscheme == QSCHEMES["per_channel_affine_float_qparams"]
    zp = np.empty(count, np.float32 if floatzp else np.int32)
    zp_ptr = zp.__array_interface__["data"][0]
    api.qeq_calculate_qparams(ctypes.byref(cfg), count, pmin, pmax,
                              scale.__array_interface__["data"][0],
                              None if floatzp else zp_ptr, zp_ptr if floatzp else None)
    return scale, zp


class Observer:
    """PyTorch's MinMaxObserver / PerChannelMinMaxObserver (averaging_constant 0) and their
    moving-average forms (averaging_constant in (0, 1]), fed batch after batch."""

    def __init__(self, dtype: Any = "quint8", qscheme: Any = "per_tensor_affine",
                 reduce_range: bool = False, quant_min: int | None = None,
                 quant_max: int | None = None, eps: float | None = None,
                 averaging_constant: float = 0.0, ch_axis: int = 0):
        self._handle = None
        self._config = _config("Observer", dtype, qscheme, reduce_range, quant_min, quant_max,
                               eps, averaging_constant, ch_axis)
        handle = ctypes.c_void_p()
        api.qeq_observer_create(ctypes.byref(self._config), ctypes.byref(handle))
        self._handle = handle

    def __del__(self) -> None:
        if getattr(self, "_handle", None) is not None:
            lib.qeq_observer_destroy(self._handle)
            self._handle = None

    def update(self, x: ArrayLike) -> "Observer":
        ptr, shape, _ = buffer(x, "x")
        api.qeq_observer_update(self._handle, ctypes.byref(shape_struct(shape, "x")), ptr)
        return self

    __call__ = update

    @property
    def channels(self) -> int:
        return lib.qeq_observer_channels(self._handle)

    def minmax(self) -> tuple[np.ndarray, np.ndarray]:
        n = self.channels
        lo, hi = np.empty(n, np.float32), np.empty(n, np.float32)
        api.qeq_observer_minmax(self._handle, n, lo.__array_interface__["data"][0],
                                hi.__array_interface__["data"][0])
        return lo, hi

    def qparams(self) -> tuple[np.ndarray, np.ndarray]:
        n = max(self.channels, 1)
        scale = np.empty(n, np.float32)
        floatzp = self._config.qscheme == QSCHEMES["per_channel_affine_float_qparams"]
        zp = np.empty(n, np.float32 if floatzp else np.int32)
        zp_ptr = zp.__array_interface__["data"][0]
        api.qeq_observer_qparams(self._handle, n, scale.__array_interface__["data"][0],
                                 None if floatzp else zp_ptr, zp_ptr if floatzp else None)
        return scale, zp


# ---- quantize, dequantize, fake-quantize, requantize, SQNR ---------------------------------

def _qparams(func: str, scales: Any, zero_points: Any) -> tuple[int, int, int, Any]:
    pscale, kscale = vector(scales, "scales")
    count = kscale.size if isinstance(kscale, np.ndarray) else kscale.numel()
    pzp, kzp = vector(zero_points, f"{func}: zero_points", count, dtype=np.int32)
    return count, pscale, pzp, (kscale, kzp)


def quantize(x: ArrayLike, scales: Any, zero_points: Any, axis: int = 0,
             dtype: Any = "qint8") -> np.ndarray:
    """torch.quantize_per_tensor (one scale) / quantize_per_channel (one per channel along
    axis), as int8 (qint8) or uint8 (quint8) integers."""
    axis = _axis(axis, "quantize")
    ptr, shape, _ = buffer(x, "x")
    code = _enum(DTYPES, dtype, "dtype")
    if code not in (0, 1):
        raise ValueError("quantize: dtype must be quint8 or qint8")
    count, psc, pzp, _keep = _qparams("quantize", scales, zero_points)
    out = np.empty(shape, np.uint8 if code == 0 else np.int8)
    api.qeq_quantize_f32(ctypes.byref(shape_struct(shape, "x")), ptr, axis, code, count, psc,
                         pzp, out.__array_interface__["data"][0])
    return out


def dequantize(q: Any, scales: Any, zero_points: Any, axis: int = 0) -> np.ndarray:
    """scale * (q - zero_point) as float32; q is uint8 (quint8) or int8 (qint8)."""
    axis = _axis(axis, "dequantize")
    for code, dt in ((0, np.uint8), (1, np.int8)):
        try:
            ptr, shape, _ = buffer(q, "q", dt)
            break
        except TypeError:
            continue
    else:
        raise TypeError("q: expected an int8 or uint8 array or tensor")
    count, psc, pzp, _keep = _qparams("dequantize", scales, zero_points)
    out = np.empty(shape, np.float32)
    api.qeq_dequantize_f32(ctypes.byref(shape_struct(shape, "q")), ptr, axis, code, count, psc,
                           pzp, out.__array_interface__["data"][0])
    return out


def fake_quantize(x: ArrayLike, scales: Any, zero_points: Any, quant_min: int,
                  quant_max: int, axis: int = 0, out: Any = None) -> Any:
    """fake_quantize_per_tensor_affine / fake_quantize_per_channel_affine; in place when
    out is x."""
    axis = _axis(axis, "fake_quantize")
    quant_min = check_int(quant_min, "fake_quantize: quant_min", "int32_t")
    quant_max = check_int(quant_max, "fake_quantize: quant_max", "int32_t")
    ptr, shape, _ = buffer(x, "x")
    count, psc, pzp, _keep = _qparams("fake_quantize", scales, zero_points)
    if out is None:
        out = np.empty(shape, np.float32)
    pout, oshape, _ = buffer(out, "out", writable=True)
    if tuple(oshape) != tuple(shape):
        raise ValueError(f"out: shape {tuple(oshape)} differs from x's {tuple(shape)}")
    api.qeq_fake_quantize_f32(ctypes.byref(shape_struct(shape, "x")), ptr, axis, count, psc, pzp,
                              quant_min, quant_max, pout)
    return out


def requantize(acc: Any, multipliers: Any, zero_point: int, quant_min: int, quant_max: int,
               axis: int = 0, dtype: Any = "quint8") -> np.ndarray:
    """int32 accumulators to 8-bit with float multipliers (one, or one per channel)."""
    axis = _axis(axis, "requantize")
    zero_point = check_int(zero_point, "requantize: zero_point", "int32_t")
    quant_min = check_int(quant_min, "requantize: quant_min", "int32_t")
    quant_max = check_int(quant_max, "requantize: quant_max", "int32_t")
    ptr, shape, _ = buffer(acc, "acc", np.int32)
    code = _enum(DTYPES, dtype, "dtype")
    if code not in (0, 1):
        raise ValueError("requantize: dtype must be quint8 or qint8")
    pm, km = vector(multipliers, "multipliers")
    count = km.size if isinstance(km, np.ndarray) else km.numel()
    out = np.empty(shape, np.uint8 if code == 0 else np.int8)
    api.qeq_requantize_s32(ctypes.byref(shape_struct(shape, "acc")), ptr, axis, count, pm,
                           zero_point, quant_min, quant_max, code,
                           out.__array_interface__["data"][0])
    return out


def sqnr(ref: ArrayLike, x: ArrayLike) -> float:
    """20 log10(||ref|| / ||ref - x||) in dB (+inf for an exact match)."""
    pref, sref, _ = buffer(ref, "ref")
    px, sx, _ = buffer(x, "x")
    if _numel(sref) != _numel(sx):
        raise ValueError(f"sqnr: ref has {_numel(sref)} elements, x {_numel(sx)}")
    out = c_double()
    api.qeq_sqnr_f32(_numel(sref), pref, px, ctypes.byref(out))
    return out.value


def select_lowest_sqnr(sqnrs: Sequence[float], n: int) -> list[int]:
    """Indices of the n lowest SQNRs (stable ascending order, Python's [:n] semantics; n is
    a C ptrdiff_t: OverflowError beyond it)."""
    n = check_int(n, "select_lowest_sqnr: n", "ptrdiff_t")
    values = np.ascontiguousarray(np.asarray(sqnrs, dtype=np.float64).reshape(-1))
    chosen = np.empty(max(values.size, 1), np.uintp)
    count = c_size_t()
    api.qeq_select_lowest_sqnr(values.size, values.__array_interface__["data"][0], n,
                               chosen.__array_interface__["data"][0], ctypes.byref(count))
    return [int(i) for i in chosen[:count.value]]


# ---- layers ---------------------------------------------------------------------------------

def _layer_struct(kind: str, weight: ArrayLike, bias: ArrayLike | None, groups: int,
                  activation: str) -> _CLayer:
    groups = check_int(groups, "Layer: groups", "size_t", lo=1)
    wptr, wshape, _ = buffer(weight, "weight", writable=True)
    bptr = None
    if bias is not None:
        out = wshape[1] * groups if kind.startswith("conv_t") else wshape[0]
        bptr, bshape, _ = buffer(bias, "bias", writable=True)
        if _numel(bshape) != out:
            raise ValueError(f"bias: expected {out} values (the output channels), "
                             f"got {_numel(bshape)}")
    dims = (c_size_t * len(wshape))(*[check_int(d, f"Layer: weight shape[{i}]", "size_t")
                                      for i, d in enumerate(wshape)])
    layer = _CLayer()
    api.qeq_layer_init(ctypes.byref(layer), _enum(LAYER_KINDS, kind, "layer kind"),
                       len(wshape), dims, wptr, bptr, groups,
                       _enum(ACTIVATIONS, activation, "activation"))
    return layer


class Layer:
    """A Linear / Conv / ConvTranspose layer's parameters in PyTorch's layouts, used where
    they lie: the equalization and folding calls rewrite `weight` and `bias` in place.

    kind: "linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", ...; activation:
    "none", "relu" or "relu6" (the activation applied after the layer)."""

    def __init__(self, kind: str, weight: ArrayLike, bias: ArrayLike | None = None,
                 groups: int = 1, activation: str = "none"):
        self.kind = kind
        self.weight = weight
        self.bias = bias
        self.groups = groups
        self.activation = activation
        self.struct()  # checks now

    def struct(self) -> _CLayer:
        """The C descriptor (checked by qeq_layer_init); valid while weight/bias live."""
        return _layer_struct(self.kind, self.weight, self.bias, self.groups, self.activation)

    @property
    def channels(self) -> tuple[int, int]:
        """(in_channels, out_channels)."""
        cin, cout = c_size_t(), c_size_t()
        api.qeq_layer_channels(ctypes.byref(self.struct()), ctypes.byref(cin),
                               ctypes.byref(cout))
        return cin.value, cout.value

    def __repr__(self) -> str:
        shape = tuple(self.weight.shape)
        return (f"Layer({self.kind!r}, weight{shape}, bias={'yes' if self.bias is not None else 'no'}"
                f", groups={self.groups}, activation={self.activation!r})")


def cross_layer_equalize(first: Layer, second: Layer) -> np.ndarray:
    """PyTorch's cross_layer_equalization on first -> (activation) -> second, in place;
    returns the scales s applied (first's rows times 1/s, second's input channels times s)."""
    a, b = first.struct(), second.struct()
    scales = np.empty(first.channels[1], np.float32)
    api.qeq_cross_layer_equalize(ctypes.byref(a), ctypes.byref(b),
                                 scales.__array_interface__["data"][0])
    return scales


def equalize_depthwise_separable(first: Layer, depthwise: Layer,
                                 third: Layer) -> tuple[np.ndarray, np.ndarray]:
    """conv -> depthwise -> conv scaled in one step (AIMET's DFQ triplet); returns
    (scales01, scales12)."""
    a, b, c = first.struct(), depthwise.struct(), third.struct()
    n = first.channels[1]
    s01, s12 = np.empty(n, np.float32), np.empty(n, np.float32)
    api.qeq_equalize_depthwise_separable(ctypes.byref(a), ctypes.byref(b), ctypes.byref(c),
                                         s01.__array_interface__["data"][0],
                                         s12.__array_interface__["data"][0])
    return s01, s12


class EqualizeResult(NamedTuple):
    sweeps: int
    final_change: float
    converged: bool


def equalize_groups(groups: Sequence[Sequence[Layer]], threshold: float = 1e-4,
                    max_sweeps: int = 1000) -> EqualizeResult:
    """PyTorch's equalize() on chains of layers: group [a, b, c] is the pairs [a, b], [b, c];
    sweeps until the weights change by less than threshold or max_sweeps (>= 1) sweeps ran."""
    max_sweeps = check_int(max_sweeps, "equalize_groups: max_sweeps", "size_t", lo=1)
    structs, sizes = [], []
    for group in groups:
        sizes.append(len(group))
        structs.extend(layer.struct() for layer in group)
    # one C descriptor per distinct layer object, so a layer shared by two pairs is one layer
    by_id: dict[int, _CLayer] = {}
    flat = [layer for group in groups for layer in group]
    for layer, st in zip(flat, structs):
        by_id.setdefault(id(layer), st)
    ptrs = (ctypes.POINTER(_CLayer) * len(flat))(*[ctypes.pointer(by_id[id(l)]) for l in flat])
    csizes = (c_size_t * len(sizes))(*sizes)
    report = EqualizeReport()
    api.qeq_equalize(ptrs, csizes, len(sizes), threshold, max_sweeps, ctypes.byref(report))
    return EqualizeResult(report.sweeps, report.final_change, bool(report.converged))


def _batch_norm(c: _CLayer, running_mean: Any, running_var: Any, gamma: Any, beta: Any,
                eps: float) -> tuple[BatchNorm, int, list]:
    """The C batch norm over c's output channels, its channel count, and what keeps it alive."""
    # c passed qeq_layer_init: a ConvTranspose weight is [in][out / groups][...]
    cout = c.weight_shape.dims[1] * c.groups if c.kind >= 4 else c.weight_shape.dims[0]
    bn = BatchNorm()
    bn.channels = cout
    keep = []
    for field, value in (("running_mean", running_mean), ("running_var", running_var),
                         ("gamma", gamma), ("beta", beta)):
        if value is None:
            continue
        ptr, k = vector(value, field, cout)
        keep.append(k)
        setattr(bn, field, ctypes.cast(ptr, ctypes.POINTER(c_float)))
    bn.eps = eps
    return bn, cout, keep


def fold_batch_norm(layer: Layer, running_mean: Any, running_var: Any, gamma: Any = None,
                    beta: Any = None, eps: float = 1e-5) -> Any:
    """Folds an eval-mode batch norm on the layer's output into the layer, in place. A layer
    without bias gets a new float32 bias (layer.bias is set). Returns layer.bias."""
    c = layer.struct()
    bn, cout, keep = _batch_norm(c, running_mean, running_var, gamma, beta, eps)
    storage = None
    if layer.bias is None:
        storage = _like(layer.weight, cout)
    api.qeq_fold_batch_norm(ctypes.byref(c), ctypes.byref(bn),
                            None if storage is None else buffer(storage, "bias")[0])
    if storage is not None:
        layer.bias = storage
    return layer.bias


def fold_batch_norm_to(layer: Layer, running_mean: Any, running_var: Any, gamma: Any = None,
                       beta: Any = None, eps: float = 1e-5, *, weight_out: Any,
                       bias_out: Any) -> None:
    """fold_batch_norm out of place: the layer is only read; the folded weight goes to
    weight_out (float32, the layer's weight shape, contiguous) and the folded bias to bias_out
    (one float32 per output channel). Either may be the layer's own array (in place). Nothing
    is written on error."""
    c = layer.struct()
    _fold_to(c, layer.weight.shape, running_mean, running_var, gamma, beta, eps, weight_out,
             bias_out)


def _fold_to(c: _CLayer, shape: Any, running_mean: Any, running_var: Any, gamma: Any,
             beta: Any, eps: float, weight_out: Any, bias_out: Any) -> None:
    bn, cout, keep = _batch_norm(c, running_mean, running_var, gamma, beta, eps)
    wptr, wshape, _ = buffer(weight_out, "weight_out", writable=True)
    if tuple(wshape) != tuple(shape):
        raise ShapeMismatchError(f"fold_batch_norm_to: weight_out has shape {tuple(wshape)}, "
                                 f"the layer's weight {tuple(shape)}")
    bptr, _ = vector(bias_out, "bias_out", cout, writable=True)
    api.qeq_fold_batch_norm_to(ctypes.byref(c), ctypes.byref(bn), wptr, bptr)


def fold_batch_norms(layers: Sequence[Layer], batch_norms: Sequence[Sequence[Any]]) -> None:
    """fold_batch_norm for several layers in one call, in place: batch_norms[i] =
    (running_mean, running_var, gamma, beta, eps) folds into layers[i] (gamma and beta may be
    None). Every layer is checked before the first is written, so on error none is modified
    (the message names layers[i]). A layer without bias gets a new float32 one (layer.bias
    set)."""
    if len(layers) != len(batch_norms):
        raise ValueError(f"fold_batch_norms: {len(layers)} layers but {len(batch_norms)} "
                         "batch norms")
    structs = [layer.struct() for layer in layers]
    storage = [_like(layer.weight, _output_channels(c)) if layer.bias is None else None
               for layer, c in zip(layers, structs)]
    _fold_many(structs, batch_norms, storage)
    for layer, new in zip(layers, storage):
        if new is not None:
            layer.bias = new


def _output_channels(c: _CLayer) -> int:
    # c passed qeq_layer_init: a ConvTranspose weight is [in][out / groups][...]
    return c.weight_shape.dims[1] * c.groups if c.kind >= 4 else c.weight_shape.dims[0]


def _fold_many(structs: Sequence[_CLayer], batch_norms: Sequence[Sequence[Any]],
               storage: Sequence[Any]) -> None:
    """qeq_fold_batch_norms over C descriptors; storage[i]: layer i's new bias (None when it
    has one). The descriptors' bias pointers are set on success."""
    count = len(structs)
    layers = (_CLayer * count)(*structs)
    bns = (BatchNorm * count)()
    keep = []
    for i, (c, args) in enumerate(zip(structs, batch_norms)):
        mean, var, gamma, beta, eps = args
        bn, _, k = _batch_norm(c, mean, var, gamma, beta, eps)
        bns[i] = bn
        keep.append(k)
    ptrs = (c_void_p * count)(*[None if s is None else buffer(s, f"bias_storage[{i}]",
                                                              writable=True)[0]
                                for i, s in enumerate(storage)])
    api.qeq_fold_batch_norms(layers, bns, ptrs, None, None, count)


class _LayerAddresses(ctypes.Structure):
    """qeq_layer's layout with its pointers as integers (assigned without ctypes.cast)."""
    _c_struct_ = "qeq_layer"
    _fields_ = [(name, c_void_p if name in ("weight", "bias") else ctype)
                for name, ctype in _CLayer._fields_]


class _BatchNormAddresses(ctypes.Structure):
    """qeq_batch_norm's layout with its pointers as integers."""
    _c_struct_ = "qeq_batch_norm"
    _fields_ = [(name, ctype if name in ("channels", "eps") else c_void_p)
                for name, ctype in BatchNorm._fields_]


def _tensor_address(x: Any, name: str, writable: bool = False) -> int:
    """buffer(x, name, writable)'s address for a float32 tensor, its checks first done
    directly (a model's many small tensors); anything else goes through buffer()."""
    torch = sys.modules["torch"]
    if isinstance(x, torch.Tensor) and x.dtype is torch.float32 and x.is_cpu and \
            x.layout is torch.strided and x.is_contiguous() and not x.is_quantized and \
            not x.is_conj() and not x.is_neg():
        return x.data_ptr()
    return buffer(x, name, writable=writable)[0]


def _fold_tensors(folds: Sequence[tuple[str, str, Any, Any, int, Any, Any, Any, Any, float,
                                        Any]], minmax: bool = False
                  ) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """qeq_fold_batch_norms over tensors: folds[i] = (name, kind, weight, bias, groups,
    running_mean, running_var, gamma, beta, eps, bias_storage), bias, gamma, beta and
    bias_storage possibly None (bias_storage: the new bias of a layer without one). The
    tensors are checked here (float32, contiguous, CPU), the descriptors and everything else
    by the C call; on error nothing is written. Errors name layers[i] as the C call does.
    minmax=True: returns each weight's per-output-channel (min, max) before folding."""
    count = len(folds)
    layers = (_LayerAddresses * count)()
    bns = (_BatchNormAddresses * count)()
    storage = (c_void_p * count)()
    mins, maxs = (c_void_p * count)(), (c_void_p * count)()
    ranges = []
    for i, (name, kind, weight, bias, groups, mean, var, gamma, beta, eps,
            new_bias) in enumerate(folds):
        layer, bn = layers[i], bns[i]
        layer.kind = LAYER_KINDS[kind]
        shape = weight.shape
        if not 1 <= len(shape) <= MAX_DIMS:
            raise ShapeMismatchError(f"{name}.weight: {len(shape)} dimensions")
        layer.weight_shape.ndim = len(shape)
        for d, size in enumerate(shape):
            layer.weight_shape.dims[d] = size
        layer.weight = _tensor_address(weight, f"{name}.weight", True)
        if bias is not None:
            layer.bias = _tensor_address(bias, f"{name}.bias", True)
        layer.groups = check_int(groups, f"{name}: groups", "size_t", lo=1)
        channels = shape[1] * groups if layer.kind >= 4 else shape[0]
        for what, vector_ in (("bias", bias), ("bias storage", new_bias)):
            if vector_ is not None and vector_.numel() != channels:
                raise ValueError(f"{name}: {what}: expected {channels} values (the output "
                                 f"channels), got {vector_.numel()}")
        bn.channels = channels
        for field, value in (("running_mean", mean), ("running_var", var), ("gamma", gamma),
                             ("beta", beta)):
            if value is not None:
                if value.numel() != channels:
                    raise ValueError(f"{name}'s batch norm: {field}: expected {channels} "
                                     f"values, got {value.numel()}")
                setattr(bn, field, _tensor_address(value, f"{name}'s batch norm {field}"))
        bn.eps = eps
        if new_bias is not None:
            storage[i] = _tensor_address(new_bias, f"{name}: bias storage", True)
        if minmax:
            ranges.append((np.empty(channels, np.float32), np.empty(channels, np.float32)))
            mins[i] = ranges[-1][0].ctypes.data
            maxs[i] = ranges[-1][1].ctypes.data
    api.qeq_fold_batch_norms(ctypes.cast(layers, POINTER(_CLayer)),
                             ctypes.cast(bns, POINTER(BatchNorm)), storage,
                             mins if minmax else None, maxs if minmax else None, count)
    return ranges if minmax else None


def _like(template: Any, n: int) -> Any:
    """A new zeroed float32 vector of the template's kind (numpy or torch)."""
    from ._arrays import is_tensor
    if is_tensor(template):
        import torch
        return torch.zeros(n, dtype=torch.float32)
    return np.zeros(n, np.float32)


def absorb_high_bias(first: Layer, second: Layer, beta: Any, gamma: Any,
                     scales: Any = None) -> None:
    """DFQ high-bias absorption from first's bias into second's (second gets a bias if it
    has none)."""
    cout = first.channels[1]
    pb, kb = vector(beta, "beta", cout)
    pg, kg = vector(gamma, "gamma", cout)
    ps, ks = (None, None) if scales is None else vector(scales, "scales", cout)
    storage = _like(second.weight, second.channels[1]) if second.bias is None else None
    a, b = first.struct(), second.struct()
    api.qeq_absorb_high_bias(ctypes.byref(a), ctypes.byref(b), pb, pg, ps,
                             None if storage is None else buffer(storage, "bias")[0])
    if storage is not None:
        second.bias = storage


def correct_bias(layer: Layer, quantized_weight: ArrayLike, input_mean: Any) -> None:
    """b -= (W_q - W) E[x] (the layer gets a bias if it has none)."""
    pq, qshape, _ = buffer(quantized_weight, "quantized_weight")
    if tuple(qshape) != tuple(layer.weight.shape):
        raise ValueError("quantized_weight: shape differs from the layer's weight")
    cin = layer.channels[0]
    pm, km = vector(input_mean, "input_mean", cin)
    storage = _like(layer.weight, layer.channels[1]) if layer.bias is None else None
    c = layer.struct()
    api.qeq_correct_bias(ctypes.byref(c), pq, pm,
                         None if storage is None else buffer(storage, "bias")[0])
    if storage is not None:
        layer.bias = storage


def input_equalization_scales(layer: Layer, input_min: Any, input_max: Any,
                              alpha: float = 0.5, use_absmax: bool = False) -> np.ndarray:
    """PyTorch's calculate_equalization_scale (alpha 0.5, ranges), or SmoothQuant's."""
    cin = layer.channels[0]
    pmin, kmin = vector(input_min, "input_min", cin)
    pmax, kmax = vector(input_max, "input_max", cin)
    opts = InputEqualizationOptions(alpha, int(bool(use_absmax)))
    out = np.empty(cin, np.float32)
    api.qeq_input_equalization_scales(ctypes.byref(layer.struct()), pmin, pmax,
                                      ctypes.byref(opts), out.__array_interface__["data"][0])
    return out


def apply_input_equalization(layer: Layer, scales: Any, producer: Layer | None = None) -> None:
    """The layer's input columns times 1/s; the producer's rows and bias times s."""
    ps, ks = vector(scales, "scales", layer.channels[0])
    a = layer.struct()
    p = None if producer is None else ctypes.byref(producer.struct())
    api.qeq_apply_input_equalization(ctypes.byref(a), p, ps)


def scaled_input_minmax(input_min: Any, input_max: Any, scales: Any) -> tuple[float, float]:
    pmin, kmin = vector(input_min, "input_min")
    n = kmin.size if isinstance(kmin, np.ndarray) else kmin.numel()
    pmax, kmax = vector(input_max, "input_max", n)
    ps, ks = vector(scales, "scales", n)
    lo, hi = c_float(), c_float()
    api.qeq_scaled_input_minmax(n, pmin, pmax, ps, ctypes.byref(lo), ctypes.byref(hi))
    return lo.value, hi.value

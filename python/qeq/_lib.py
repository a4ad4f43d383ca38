"""Loading libqeq.so with ctypes, the C declarations, and statuses as exceptions.

Only the public API in include/qeq/*.h is declared here. The library is found, in order,
through $QEQ_LIBRARY (a path to the shared object), the location recorded when this package
was installed (qeq/_install.py, relative to the package: `cmake --install` writes it with the
path to <libdir>/libqeq.so.<soversion>; `pip install .` ships the library inside the package,
qeq/libqeq.so.<soversion>, and writes it with that name), and the system's dynamic linker search
(ctypes.util.find_library("qeq")).

Each ctypes.Structure here mirrors the C struct named by its _c_struct_ attribute;
python/tests/test_abi.py checks sizes and field offsets against the library's own
(include/qeq/abi.h).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
from ctypes import (POINTER, c_char_p, c_double, c_float, c_int, c_int32, c_size_t, c_uint64,
                    c_void_p)
from pathlib import Path

MAX_DIMS = 8


class QeqError(Exception):
    """A qeq call failed. ``status`` is the C status name, ``message`` qeq_last_error()."""

    status = "error"

    def __init__(self, message: str, function: str = ""):
        super().__init__(message)
        self.message = message
        self.function = function


class InvalidArgumentError(QeqError, ValueError):
    status = "invalid argument"


class UnsupportedError(QeqError, ValueError):
    status = "unsupported"


class ShapeMismatchError(QeqError, ValueError, TypeError):
    """Operands whose shapes do not fit together. A TypeError too, as PyTorch raises one
    for a channel-count mismatch in cross_layer_equalization."""

    status = "shape mismatch"


class NonFiniteError(QeqError, ValueError):
    status = "non-finite"


class SizeOverflowError(QeqError, OverflowError):
    status = "size overflow"


class QeqMemoryError(QeqError, MemoryError):
    status = "out of memory"


_STATUS_ERRORS = {
    1: InvalidArgumentError,
    2: UnsupportedError,
    3: ShapeMismatchError,
    4: QeqMemoryError,
    5: NonFiniteError,
    6: SizeOverflowError,
}


class Shape(ctypes.Structure):
    _c_struct_ = "qeq_shape"
    _fields_ = [("ndim", c_size_t), ("dims", c_size_t * MAX_DIMS)]


class Layer(ctypes.Structure):
    _c_struct_ = "qeq_layer"
    _fields_ = [
        ("kind", c_int),
        ("weight_shape", Shape),
        ("weight", POINTER(c_float)),
        ("bias", POINTER(c_float)),
        ("groups", c_size_t),
        ("activation", c_int),
    ]


class BatchNorm(ctypes.Structure):
    _c_struct_ = "qeq_batch_norm"
    _fields_ = [
        ("channels", c_size_t),
        ("running_mean", POINTER(c_float)),
        ("running_var", POINTER(c_float)),
        ("gamma", POINTER(c_float)),
        ("beta", POINTER(c_float)),
        ("eps", c_float),
    ]


class EqualizeReport(ctypes.Structure):
    _c_struct_ = "qeq_equalize_report"
    _fields_ = [("sweeps", c_size_t), ("final_change", c_double), ("converged", c_int)]


class ObserverConfig(ctypes.Structure):
    _c_struct_ = "qeq_observer_config"
    _fields_ = [
        ("dtype", c_int),
        ("qscheme", c_int),
        ("reduce_range", c_int),
        ("has_custom_range", c_int),
        ("quant_min", c_int32),
        ("quant_max", c_int32),
        ("eps", c_float),
        ("averaging_constant", c_float),
        ("ch_axis", c_int),
    ]


class InputEqualizationOptions(ctypes.Structure):
    _c_struct_ = "qeq_input_equalization_options"
    _fields_ = [("alpha", c_float), ("use_absmax", c_int)]


class GemmQuantization(ctypes.Structure):
    """qeq_gemm_quantization (include/qeq/gemm.h); enums are ints."""

    _c_struct_ = "qeq_gemm_quantization"
    _fields_ = [
        ("weight_qparam_count", c_size_t),
        ("weight_scales", c_void_p),
        ("weight_zero_points", c_void_p),
        ("bias", c_void_p),
        ("input_dtype", c_int),
        ("input_scale", c_float),
        ("input_zero_point", c_int32),
        ("output", c_int),
        ("output_dtype", c_int),
        ("output_scale", c_float),
        ("output_zero_point", c_int32),
        ("clamp", c_int),
        ("clamp_min", c_float),
        ("clamp_max", c_float),
        ("engine", c_int),
    ]


class GemmConfig(ctypes.Structure):
    """qeq_gemm_config (include/qeq/gemm.h)."""

    _c_struct_ = "qeq_gemm_config"
    _fields_ = [
        ("n", c_size_t),
        ("k", c_size_t),
        ("weights", c_void_p),
        ("weight_stride_bytes", c_size_t),
        ("quant", GemmQuantization),
        ("dynamic", c_int),
        ("reduce_range", c_int),
    ]


class ConvConfig(ctypes.Structure):
    """qeq_conv_config (include/qeq/conv.h)."""

    _c_struct_ = "qeq_conv_config"
    _fields_ = [
        ("input_channels", c_size_t),
        ("output_channels", c_size_t),
        ("groups", c_size_t),
        ("kernel_height", c_size_t),
        ("kernel_width", c_size_t),
        ("stride_height", c_size_t),
        ("stride_width", c_size_t),
        ("padding_height", c_size_t),
        ("padding_width", c_size_t),
        ("dilation_height", c_size_t),
        ("dilation_width", c_size_t),
        ("weights", c_void_p),
        ("quant", GemmQuantization),
    ]


class Q8Tensor(ctypes.Structure):
    """qeq_q8_tensor (include/qeq/qops.h)."""

    _c_struct_ = "qeq_q8_tensor"
    _fields_ = [
        ("n", c_size_t),
        ("h", c_size_t),
        ("w", c_size_t),
        ("c", c_size_t),
        ("pixel_stride_bytes", c_size_t),
        ("dtype", c_int),
        ("scale", c_float),
        ("zero_point", c_int32),
    ]


class Pool2dParams(ctypes.Structure):
    """qeq_pool2d_params (include/qeq/qops.h)."""

    _c_struct_ = "qeq_pool2d_params"
    _fields_ = [
        ("kernel_h", c_size_t),
        ("kernel_w", c_size_t),
        ("stride_h", c_size_t),
        ("stride_w", c_size_t),
        ("padding_h", c_size_t),
        ("padding_w", c_size_t),
        ("dilation_h", c_size_t),
        ("dilation_w", c_size_t),
        ("ceil_mode", c_int),
        ("count_include_pad", c_int),
        ("divisor_override", ctypes.c_int64),
    ]


_fp = POINTER(c_float)
_ip = POINTER(c_int32)
_sp = POINTER(c_size_t)
_shp = POINTER(Shape)
_lp = POINTER(Layer)

# name: (restype, argtypes); restype "status" means a checked qeq_status.
_PROTOTYPES = {
    "qeq_version": (c_int, []),
    "qeq_version_string": (c_char_p, []),
    "qeq_status_string": (c_char_p, [c_int]),
    "qeq_last_error": (c_char_p, []),
    "qeq_shape_init": ("status", [_shp, c_size_t, _sp]),
    "qeq_isa_name": (c_char_p, [c_int]),
    "qeq_isa_from_name": ("status", [c_char_p, POINTER(c_int)]),
    "qeq_isa_detected": (c_int, [c_int]),
    "qeq_isa_best_detected": (c_int, []),
    "qeq_set_isa_cap": ("status", [c_int]),
    "qeq_clear_isa_cap": (None, []),
    "qeq_isa_effective": (c_int, []),
    "qeq_isa_env_message": (c_char_p, []),
    "qeq_kernel_family_count": (c_size_t, []),
    "qeq_kernel_family_name": (c_char_p, [c_size_t]),
    "qeq_kernel_variant_name": (c_char_p, [c_char_p]),
    "qeq_kernel_variant_paths": (c_char_p, [c_char_p]),
    "qeq_channel_minmax_f32": ("status", [_shp, c_void_p, c_int, c_void_p, c_void_p]),
    "qeq_channel_range_f32": ("status", [_shp, c_void_p, c_int, c_void_p]),
    "qeq_channel_absmax_f32": ("status", [_shp, c_void_p, c_int, c_void_p]),
    "qeq_tensor_minmax_f32": ("status", [_shp, c_void_p, _fp, _fp]),
    "qeq_scale_channels_f32": ("status", [_shp, c_void_p, c_int, c_void_p, c_void_p]),
    "qeq_observer_config_default": (ObserverConfig, [c_int, c_int]),
    "qeq_quant_range": ("status", [POINTER(ObserverConfig), _ip, _ip]),
    "qeq_calculate_qparams": ("status", [POINTER(ObserverConfig), c_size_t, c_void_p,
                                         c_void_p, c_void_p, c_void_p, c_void_p]),
    "qeq_observer_create": ("status", [POINTER(ObserverConfig), POINTER(c_void_p)]),
    "qeq_observer_destroy": (None, [c_void_p]),
    "qeq_observer_update": ("status", [c_void_p, _shp, c_void_p]),
    "qeq_observer_channels": (c_size_t, [c_void_p]),
    "qeq_observer_minmax": ("status", [c_void_p, c_size_t, c_void_p, c_void_p]),
    "qeq_observer_qparams": ("status", [c_void_p, c_size_t, c_void_p, c_void_p, c_void_p]),
    "qeq_quantize_f32": ("status", [_shp, c_void_p, c_int, c_int, c_size_t, c_void_p,
                                    c_void_p, c_void_p]),
    "qeq_fake_quantize_f32": ("status", [_shp, c_void_p, c_int, c_size_t, c_void_p, c_void_p,
                                         c_int32, c_int32, c_void_p]),
    "qeq_dequantize_f32": ("status", [_shp, c_void_p, c_int, c_int, c_size_t, c_void_p,
                                      c_void_p, c_void_p]),
    "qeq_requantize_s32": ("status", [_shp, c_void_p, c_int, c_size_t, c_void_p, c_int32,
                                      c_int32, c_int32, c_int, c_void_p]),
    "qeq_sqnr_f32": ("status", [c_size_t, c_void_p, c_void_p, POINTER(c_double)]),
    "qeq_select_lowest_sqnr": ("status", [c_size_t, c_void_p, ctypes.c_ssize_t, c_void_p,
                                          _sp]),
    "qeq_layer_init": ("status", [_lp, c_int, c_size_t, _sp, c_void_p, c_void_p, c_size_t,
                                  c_int]),
    "qeq_layer_channels": ("status", [_lp, _sp, _sp]),
    "qeq_cross_layer_equalize": ("status", [_lp, _lp, c_void_p]),
    "qeq_equalize_depthwise_separable": ("status", [_lp, _lp, _lp, c_void_p, c_void_p]),
    "qeq_equalize": ("status", [POINTER(_lp), _sp, c_size_t, c_float, c_size_t,
                                POINTER(EqualizeReport)]),
    "qeq_fold_batch_norm": ("status", [_lp, POINTER(BatchNorm), c_void_p]),
    "qeq_fold_batch_norm_to": ("status", [_lp, POINTER(BatchNorm), c_void_p, c_void_p]),
    "qeq_fold_batch_norms": ("status", [_lp, POINTER(BatchNorm), POINTER(c_void_p),
                                        POINTER(c_void_p), POINTER(c_void_p), c_size_t]),
    "qeq_absorb_high_bias": ("status", [_lp, _lp, c_void_p, c_void_p, c_void_p, c_void_p]),
    "qeq_correct_bias": ("status", [_lp, c_void_p, c_void_p, c_void_p]),
    "qeq_input_equalization_scales": ("status", [_lp, c_void_p, c_void_p,
                                                 POINTER(InputEqualizationOptions),
                                                 c_void_p]),
    "qeq_apply_input_equalization": ("status", [_lp, _lp, c_void_p]),
    "qeq_scaled_input_minmax": ("status", [c_size_t, c_void_p, c_void_p, c_void_p, _fp, _fp]),
    "qeq_gemm_config_default": (GemmConfig, []),
    "qeq_gemm_create": ("status", [POINTER(GemmConfig), POINTER(c_void_p)]),
    "qeq_gemm_destroy": (None, [c_void_p]),
    "qeq_gemm_kernel_name": (c_char_p, [c_void_p]),
    "qeq_gemm_path_tiles": ("status", [c_void_p, POINTER(c_uint64), POINTER(c_uint64)]),
    "qeq_gemm_run": ("status", [c_void_p, c_size_t, c_void_p, c_size_t, c_void_p, c_size_t,
                                c_void_p]),
    "qeq_gemm_run_dynamic": ("status", [c_void_p, c_size_t, c_void_p, c_size_t, c_void_p,
                                        c_size_t, c_void_p, _fp, _ip]),
    "qeq_q8_add": ("status", [POINTER(Q8Tensor), c_void_p, POINTER(Q8Tensor), c_void_p,
                              POINTER(Q8Tensor), c_void_p]),
    "qeq_q8_add_relu": ("status", [POINTER(Q8Tensor), c_void_p, POINTER(Q8Tensor), c_void_p,
                                   POINTER(Q8Tensor), c_void_p]),
    "qeq_q8_add_ex": ("status", [POINTER(Q8Tensor), c_void_p, POINTER(Q8Tensor), c_void_p,
                                 POINTER(Q8Tensor), c_void_p, c_int]),
    "qeq_q8_add_relu_ex": ("status", [POINTER(Q8Tensor), c_void_p, POINTER(Q8Tensor), c_void_p,
                                      POINTER(Q8Tensor), c_void_p, c_int]),
    "qeq_q8_cat": ("status", [c_size_t, POINTER(Q8Tensor), POINTER(c_void_p), c_int,
                              POINTER(Q8Tensor), c_void_p]),
    "qeq_pool2d_output_size": ("status", [POINTER(Pool2dParams), c_size_t, c_size_t, _sp, _sp]),
    "qeq_q8_max_pool2d": ("status", [POINTER(Q8Tensor), c_void_p, POINTER(Pool2dParams),
                                     POINTER(Q8Tensor), c_void_p]),
    "qeq_q8_avg_pool2d": ("status", [POINTER(Q8Tensor), c_void_p, POINTER(Pool2dParams),
                                     POINTER(Q8Tensor), c_void_p]),
    "qeq_q8_adaptive_avg_pool2d": ("status", [POINTER(Q8Tensor), c_void_p, POINTER(Q8Tensor),
                                              c_void_p]),
    "qeq_q8_avg_pool2d_ex": ("status", [POINTER(Q8Tensor), c_void_p, POINTER(Pool2dParams),
                                        POINTER(Q8Tensor), c_void_p, c_int]),
    "qeq_q8_adaptive_avg_pool2d_ex": ("status", [POINTER(Q8Tensor), c_void_p,
                                                 POINTER(Q8Tensor), c_void_p, c_int]),
    "qeq_q8_relu": ("status", [POINTER(Q8Tensor), c_void_p, POINTER(Q8Tensor), c_void_p]),
    "qeq_q8_relu6": ("status", [POINTER(Q8Tensor), c_void_p, POINTER(Q8Tensor), c_void_p]),
    "qeq_q8_hardtanh": ("status", [POINTER(Q8Tensor), c_void_p, c_float, c_float,
                                   POINTER(Q8Tensor), c_void_p]),
    "qeq_conv_config_default": (ConvConfig, []),
    "qeq_conv_create": ("status", [POINTER(ConvConfig), POINTER(c_void_p)]),
    "qeq_conv_destroy": (None, [c_void_p]),
    "qeq_conv_kernel_name": (c_char_p, [c_void_p]),
    "qeq_conv_path_tiles": ("status", [c_void_p, POINTER(c_uint64), POINTER(c_uint64)]),
    "qeq_conv_output_size": ("status", [c_void_p, c_size_t, c_size_t, _sp, _sp]),
    "qeq_conv_run": ("status", [c_void_p, c_size_t, c_size_t, c_size_t, c_void_p, c_size_t,
                                c_void_p, c_size_t, c_void_p]),
    # Activations and multiply (include/qeq/qops.h, its last block).
    "qeq_q8_hardswish": ("status", [POINTER(Q8Tensor), c_void_p, c_int, POINTER(Q8Tensor),
                                    c_void_p]),
    "qeq_q8_hardsigmoid": ("status", [POINTER(Q8Tensor), c_void_p, c_int, POINTER(Q8Tensor),
                                      c_void_p]),
    "qeq_q8_sigmoid": ("status", [POINTER(Q8Tensor), c_void_p, c_int, POINTER(Q8Tensor),
                                  c_void_p]),
    "qeq_q8_mul": ("status", [POINTER(Q8Tensor), c_void_p, POINTER(Q8Tensor), c_void_p,
                              POINTER(Q8Tensor), c_void_p]),
    "qeq_q8_mul_relu": ("status", [POINTER(Q8Tensor), c_void_p, POINTER(Q8Tensor), c_void_p,
                                   POINTER(Q8Tensor), c_void_p]),
    # 8-bit layout (include/qeq/nhwc.h).
    "qeq_nchw_to_nhwc_x8": ("status", [c_size_t, c_size_t, c_size_t, c_size_t, c_void_p,
                                       c_void_p]),
    "qeq_nhwc_to_nchw_x8": ("status", [c_size_t, c_size_t, c_size_t, c_size_t, c_void_p,
                                       c_void_p]),
    "qeq_x8_channel_shuffle": ("status", [c_size_t, c_size_t, c_size_t, c_void_p, c_void_p]),
}


def _candidates() -> list[str]:
    found = []
    env = os.environ.get("QEQ_LIBRARY")
    if env:
        return [env]  # explicit: nothing else is tried
    try:
        from . import _install  # written by `cmake --install` or pip's build (setup.py)

        found.append(str((Path(__file__).parent / _install.LIBRARY).resolve()))
    except ImportError:
        pass
    system = ctypes.util.find_library("qeq")
    if system:
        found.append(system)
    return found


def _load() -> ctypes.CDLL:
    tried = _candidates()
    errors = []
    for path in tried:
        try:
            return ctypes.CDLL(path)
        except OSError as exc:
            errors.append(f"{path}: {exc}")
    raise ImportError(
        "qeq: cannot load libqeq.so; install qeq with pip (pip install --no-build-isolation "
        "<qeq source>) or CMake (cmake --install), or set QEQ_LIBRARY to the library's path"
        + ("; tried " + "; ".join(errors) if errors else "")
    )


lib = _load()


def _make_checked(name: str, fn):
    def call(*args):
        status = fn(*args)
        if status != 0:
            message = lib.qeq_last_error().decode()
            raise _STATUS_ERRORS.get(status, QeqError)(message, name)
        return None

    call.__name__ = name
    return call


class _API:
    """The C functions: status-returning ones raise on failure and return None."""


api = _API()
for _name, (_res, _args) in _PROTOTYPES.items():
    _fn = getattr(lib, _name)
    _fn.argtypes = _args
    if _res == "status":
        _fn.restype = c_int
        setattr(api, _name, _make_checked(_name, _fn))
    else:
        _fn.restype = _res
        setattr(api, _name, _fn)

"""qeq.torch.quantized_linear: a converted quantized Linear's forward through qeq's GEMM.

torch.ao.nn.quantized.Linear, torch.nn.intrinsic.quantized.LinearReLU and
torch.ao.nn.quantized.dynamic.Linear (qint8 weights), under the current
torch.backends.quantized.engine ("onednn" or "qnnpack", the engines qeq reproduces), give
PyTorch's output bits. The packed GEMM is cached on the module and packed again when its
weights, qparams, the input's qparams, the engine or the ISA cap change.
"""
from __future__ import annotations

import weakref
from typing import Any

import numpy as np
import torch
import torch.ao.nn.quantized as nnq
import torch.ao.nn.quantized.dynamic as nnqd
import torch.nn.intrinsic.quantized as nniq  # not under torch.ao in 1.13

from .. import core
from .._lib import UnsupportedError
from ..gemm import Gemm

_FN = "quantized_linear"
_ENGINES = ("onednn", "qnnpack")
_QDTYPES = {torch.quint8: "quint8", torch.qint8: "qint8"}
# module -> ((packed-params object, settings), Gemm); the object itself, not its id, so a
# new set_weight_bias is seen even if the old object's address is reused.
_packed: "weakref.WeakKeyDictionary[torch.nn.Module, tuple[tuple, Gemm]]" = \
    weakref.WeakKeyDictionary()


def _engine() -> str:
    engine = torch.backends.quantized.engine
    if engine not in _ENGINES:
        raise UnsupportedError(f"{_FN}: torch.backends.quantized.engine is {engine!r}; qeq "
                               f"reproduces {' and '.join(_ENGINES)}", _FN)
    return engine


def _weight_qparams(weight: torch.Tensor) -> tuple[Any, Any, Any]:
    """(int8 values [n][k], float32 scales, zero points) of a quantized weight. The zero
    points stay Python ints (torch keeps them as int64): Gemm checks them against the int32_t
    they become instead of a numpy cast wrapping them."""
    if weight.dtype != torch.qint8:
        raise UnsupportedError(f"{_FN}: module weight: expected qint8, got {weight.dtype}", _FN)
    if weight.qscheme() in (torch.per_tensor_affine, torch.per_tensor_symmetric):
        scales = np.array([weight.q_scale()], np.float32)
        zero_points = [weight.q_zero_point()]
    elif weight.qscheme() in (torch.per_channel_affine, torch.per_channel_symmetric):
        if weight.q_per_channel_axis() != 0:
            raise UnsupportedError(f"{_FN}: module weight: per-channel qparams must be along "
                                   "the output channels (axis 0)", _FN)
        scales = weight.q_per_channel_scales().numpy().astype(np.float32)
        zero_points = weight.q_per_channel_zero_points().tolist()
    else:
        raise UnsupportedError(f"{_FN}: module weight: qscheme {weight.qscheme()} is not "
                               "supported", _FN)
    return weight.int_repr().contiguous(), scales, zero_points


def _bias(module: torch.nn.Module) -> Any:
    bias = module.bias()
    return None if bias is None else bias.detach().to(torch.float32).contiguous()


def _gemm(module: torch.nn.Module, settings: tuple, make) -> Gemm:
    """The module's packed GEMM for these settings, packed now if the cached one is for other
    weights (a new packed-params object) or settings."""
    packed = module._packed_params._packed_params
    cached = _packed.get(module)
    if cached is not None and cached[0][0] is packed and cached[0][1] == settings:
        return cached[1]
    gemm = make()
    _packed[module] = ((packed, settings), gemm)
    return gemm


def _check_input(x: Any) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{_FN}: x: expected a torch.Tensor, got {type(x).__name__}")
    if x.device.type != "cpu":
        raise ValueError(f"{_FN}: x: the tensor is on {x.device}; qeq works on CPU tensors")
    if not x.is_contiguous():
        raise ValueError(f"{_FN}: x: the tensor is not contiguous (qeq does not copy)")
    if x.dim() == 0:
        raise ValueError(f"{_FN}: x: expected at least one dimension")


def _dynamic(module: nnqd.Linear, x: torch.Tensor, engine: str) -> torch.Tensor:
    if module._packed_params.dtype != torch.qint8:
        raise UnsupportedError(f"{_FN}: dynamic Linear with {module._packed_params.dtype} "
                               "weights is not supported (qint8 only)", _FN)
    if x.is_quantized or x.dtype != torch.float32:
        raise TypeError(f"{_FN}: x: a dynamic Linear takes a float32 tensor, got {x.dtype}")
    # PyTorch's module asks for reduce_range from version 4 on (qnnpack ignores it).
    version = getattr(module, "version", None)
    reduce_range = not (version is None or version < 4)
    settings = (engine, core.isa(), reduce_range)

    def make() -> Gemm:
        wq, scales, zero_points = _weight_qparams(module.weight())
        return Gemm(wq, scales, zero_points, _bias(module), output="float", engine=engine,
                    dynamic=True, reduce_range=reduce_range)

    return _gemm(module, settings, make).run_dynamic(x)[0]


def _static(module: nnq.Linear, x: torch.Tensor, engine: str) -> torch.Tensor:
    if not x.is_quantized or x.qscheme() != torch.per_tensor_affine or \
            x.dtype not in _QDTYPES:
        raise TypeError(f"{_FN}: x: expected a per-tensor quint8 or qint8 quantized tensor "
                        f"(torch.quantize_per_tensor), got {x.dtype}"
                        + (f" {x.qscheme()}" if x.is_quantized else ""))
    k = module.in_features
    if x.shape[-1] != k:
        raise ValueError(f"{_FN}: x: expected [..., {k}] (the module's in_features), "
                         f"got {tuple(x.shape)}")
    dtype = _QDTYPES[x.dtype]
    clamp = "relu" if isinstance(module, nniq.LinearReLU) else "none"
    out_scale, out_zero_point = float(module.scale), int(module.zero_point)
    settings = (engine, core.isa(), dtype, float(x.q_scale()), int(x.q_zero_point()),
           out_scale, out_zero_point, clamp)

    def make() -> Gemm:
        wq, scales, zero_points = _weight_qparams(module.weight())
        return Gemm(wq, scales, zero_points, _bias(module), input_dtype=dtype,
                    input_scale=float(x.q_scale()), input_zero_point=int(x.q_zero_point()),
                    output_dtype=dtype, output_scale=out_scale,
                    output_zero_point=out_zero_point, clamp=clamp, engine=engine)

    gemm = _gemm(module, settings, make)
    out = torch._empty_affine_quantized(tuple(x.shape[:-1]) + (gemm.n,), scale=out_scale,
                                        zero_point=out_zero_point, dtype=x.dtype)
    m = x.numel() // k if k else 0
    if m:
        gemm._run_at(m, x.data_ptr(), out.data_ptr())
    return out


def quantized_linear(module: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """module(x) for a converted quantized Linear / LinearReLU (x a per-tensor quantized tensor;
    returns a quantized tensor with the module's scale and zero point) or dynamic Linear (x
    float32; returns float32), computed by qeq's GEMM with PyTorch's bits under the current
    torch.backends.quantized.engine. The input is read where it lies (contiguous CPU)."""
    engine = _engine()
    if not isinstance(module, nnq.Linear):
        raise TypeError(f"{_FN}: module: expected torch.ao.nn.quantized.Linear, "
                        "torch.nn.intrinsic.quantized.LinearReLU or "
                        f"torch.ao.nn.quantized.dynamic.Linear, got {type(module).__name__}")
    _check_input(x)
    if isinstance(module, nnqd.Linear):
        return _dynamic(module, x, engine)
    return _static(module, x, engine)

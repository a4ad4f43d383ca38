"""qeq.torch.convert: a model quantized by PyTorch (eager `torch.ao.quantization.convert` or FX
`convert_fx`) run on qeq's int8 operators, with PyTorch's bits under the engine it was
converted for.

The model is traced once with torch.fx (a converted FX model already is a graph). Every node
that takes a quantized tensor is mapped, at conversion, to a qeq operator: weights are packed
then, with the input qparams known from the producer of each quantized value. Quantized
activations stay NHWC bytes between qeq operators; the model's outputs have PyTorch's types and
memory formats (a 4-D quantized or dequantized output is channels-last, as PyTorch's quantized
convolutions make it). Float parts run in PyTorch, as the original model runs them.
"""
from __future__ import annotations

import ctypes
import operator
from typing import Any, Callable

import numpy as np
import torch
import torch.ao.nn.quantized as nnq
import torch.fx as fx
import torch.nn.functional as F
import torch.nn.intrinsic.quantized as nniq  # not under torch.ao in 1.13
from torch import nn

from .. import layout, qops
from .._arrays import shape_struct
from .._lib import Pool2dParams, Q8Tensor, UnsupportedError, api
from .._threads import ThreadPool
from ..conv import Conv1d, Conv2d
from ..gemm import Gemm
from . import _mean as _mean_module
from ._linear import _weight_qparams
from ._tracing import trace as _trace, torchvision_channel_shuffle

__all__ = ["convert", "ConvertedModel", "ConversionError"]

_FN = "convert"
_ENGINES = ("onednn", "qnnpack")
_QDTYPES = {torch.quint8: "quint8", torch.qint8: "qint8"}
_INT_DTYPES = {torch.quint8: torch.uint8, torch.qint8: torch.int8}


class ConversionError(UnsupportedError):
    """A node of the model that qeq cannot run (its qualified name is in the message)."""


class _Q:
    """A quantized activation between qeq operators: the integers (NHWC when 4-D, as PyTorch's
    logical NCHW tensor permuted; otherwise PyTorch's shape) and per-tensor qparams."""
    __slots__ = ("data", "scale", "zero_point")

    def __init__(self, data: torch.Tensor, scale: float, zero_point: int):
        self.data, self.scale, self.zero_point = data, scale, zero_point

    @property
    def qparams(self) -> tuple[float, int]:
        return self.scale, self.zero_point


class _Meta:
    """What conversion knows of a node's value: quantized (qparams, dtype, rank) or not."""
    __slots__ = ("quantized", "scale", "zero_point", "dtype", "ndim", "const", "sequence")

    def __init__(self, quantized: bool = False, scale: float = 0.0, zero_point: int = 0,
                 dtype: Any = None, ndim: int | None = None, const: Any = None):
        self.quantized, self.scale, self.zero_point = quantized, scale, zero_point
        self.dtype, self.ndim, self.const = dtype, ndim, const
        self.sequence = False  # a tuple of quantized tensors (x.chunk)


_FLOAT = _Meta()


def _to_torch(q: _Q) -> torch.Tensor:
    """PyTorch's quantized tensor for q (4-D: NCHW sizes, channels-last strides, no copy)."""
    data = q.data if q.data.is_contiguous() else q.data.contiguous()
    t = torch._make_per_tensor_quantized_tensor(data, q.scale, q.zero_point)
    return t.permute(0, 3, 1, 2) if t.dim() == 4 else t


def _from_torch(t: torch.Tensor) -> _Q:
    if t.qscheme() != torch.per_tensor_affine:
        raise ConversionError(f"{_FN}: a fallback node returned a {t.qscheme()} tensor; qeq "
                              "carries per-tensor quantized activations only", _FN)
    if t.dim() == 4 and t.is_contiguous() and not t.is_contiguous(
            memory_format=torch.channels_last):
        data = layout.nchw_to_nhwc(t)  # the integers straight from the NCHW storage
    else:
        data = t.int_repr()
        if data.dim() == 4:
            data = data.permute(0, 2, 3, 1)
    return _Q(data.contiguous(), float(t.q_scale()), int(t.q_zero_point()))


def _nhwc(q: _Q, who: str) -> torch.Tensor:
    """q's integers as a C-contiguous 4-D NHWC tensor (a 2-D [N, C] tensor is N x 1 x 1 x C;
    a channel slice left by chunk is copied)."""
    data = q.data
    if data.dim() == 4:
        return data if data.is_contiguous() else data.contiguous()
    if data.dim() == 2:
        data = data if data.is_contiguous() else data.contiguous()
        return data.view(data.shape[0], 1, 1, data.shape[1])
    raise ConversionError(f"{_FN}: {who}: expected a 2-D or 4-D quantized input, got "
                          f"{data.dim()}-D", _FN)


def _map(q: _Q, who: str) -> torch.Tensor:
    """q's integers as a C-contiguous 4-D NHWC map (pools, mean): a 2-D input is refused."""
    if q.data.dim() != 4:
        raise ConversionError(f"{_FN}: {who}: expected a 4-D input", _FN)
    return _nhwc(q, who)


def _pixels(data: torch.Tensor) -> tuple[torch.Tensor, int]:
    """A 4-D NHWC tensor and the bytes from one pixel to the next (0: dense): a channel slice
    (chunk's outputs) is read in place by the operators whose C calls take a pixel stride."""
    if data.is_contiguous():
        return data, 0
    n, h, w, c = data.shape
    s = data.stride()
    if s[3] == 1 and s[2] >= c and s[1] == w * s[2] and s[0] == h * s[1]:
        return data, s[2]
    return data.contiguous(), 0


_DESCRIPTORS: dict[tuple, Q8Tensor] = {}


def _descriptor(shape: tuple, dtype: torch.dtype, scale: float, zero_point: int,
                pixel_stride: int = 0) -> Any:
    """ctypes.byref of the qeq_q8_tensor of an NHWC tensor of this shape, dtype, qparams and
    pixel stride (0: dense), built once and reused: the steps call the qops C entry points on
    tensors their producers made, without the public Python functions' per-call description
    and checks (the C functions still check every size and buffer)."""
    return ctypes.byref(_q8_tensor(shape, dtype, scale, zero_point, pixel_stride))


def _q8_tensor(shape: tuple, dtype: torch.dtype, scale: float, zero_point: int,
               pixel_stride: int = 0) -> Q8Tensor:
    key = (shape, dtype, scale, zero_point, pixel_stride)
    desc = _DESCRIPTORS.get(key)
    if desc is None:
        if len(_DESCRIPTORS) > 4096:  # many models or input sizes in one process
            _DESCRIPTORS.clear()
        desc = _DESCRIPTORS[key] = Q8Tensor(*shape, pixel_stride,
                                            0 if dtype == torch.uint8 else 1, scale, zero_point)
    return desc


_SHAPES: dict[tuple, Any] = {}


def _shape(dims: tuple) -> Any:
    """ctypes.byref of the qeq_shape of dims, built once."""
    desc = _SHAPES.get(dims)
    if desc is None:
        if len(_SHAPES) > 4096:
            _SHAPES.clear()
        desc = _SHAPES[dims] = shape_struct(dims, _FN)
    return ctypes.byref(desc)


def _pair(v: Any) -> tuple[int, int]:
    return (int(v[0]), int(v[1])) if isinstance(v, (tuple, list)) else (int(v), int(v))


class ConvertedModel(nn.Module):
    """A converted model: call it as the original. `engine` is the engine whose bits it
    reproduces; `threads` the size of its thread pool; `fallbacks` the nodes PyTorch runs
    (empty unless convert(..., fallback=True) needed it); `kernels` the qeq kernel of each
    packed convolution or linear layer."""

    def __init__(self, graph_module: fx.GraphModule, steps: list, output: Any, engine: str,
                 threads: int, fallbacks: list[str], kernels: dict[str, str],
                 placeholders: list[tuple[str, str, Any]], pool: ThreadPool):
        super().__init__()
        self._graph_module = graph_module
        self._steps = steps
        self._output = output
        self._placeholders = placeholders
        self.engine = engine
        self.threads = threads
        self.fallbacks = fallbacks
        self.kernels = kernels
        self._pool = pool  # kept alive as long as the steps that use it

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        params = self._placeholders
        if len(args) > len(params):
            raise TypeError(f"forward: expected at most {len(params)} positional arguments, "
                            f"got {len(args)}")
        env: dict[str, Any] = {}
        given = dict(zip((p[1] for p in params), args))
        for key, value in kwargs.items():
            if key in given or all(key != p[1] for p in params):
                raise TypeError(f"forward: unexpected or repeated argument {key!r}")
            given[key] = value
        for node_name, arg_name, default in params:
            if arg_name in given:
                env[node_name] = given[arg_name]
            elif default is not _NO_DEFAULT:
                env[node_name] = default
            else:
                raise TypeError(f"forward: missing argument {arg_name!r}")
        with torch.no_grad():
            for name, step in self._steps:
                env[name] = step(env)
        return fx.node.map_aggregate(self._output, lambda v: _result(env, v))

    def node_values(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Every node's value for these inputs, keyed by the node's name in the traced graph
        (`graph`), quantized values as PyTorch's quantized tensors: to find the first node
        where two runs part."""
        values: dict[str, Any] = {}
        steps = self._steps
        self._steps = [(name, self._recording(name, step, values)) for name, step in steps]
        try:
            self.forward(*args, **kwargs)
        finally:
            self._steps = steps
        return values

    @staticmethod
    def _recording(name: str, step: Callable, values: dict) -> Callable:
        def run(env: dict) -> Any:
            value = step(env)
            values[name] = _to_torch(value) if isinstance(value, _Q) else value
            return value
        return run

    @property
    def graph(self) -> fx.Graph:
        """The traced graph whose nodes the model runs."""
        return self._graph_module.graph

    def extra_repr(self) -> str:
        return (f"engine={self.engine!r}, threads={self.threads}, "
                f"{len(self.kernels)} packed layers, fallbacks={len(self.fallbacks)}")


_NO_DEFAULT = object()


def _result(env: dict, v: Any) -> Any:
    if isinstance(v, fx.Node):
        v = env[v.name]
    if isinstance(v, _Q):
        return _to_torch(v)
    return v


class _Converter:
    def __init__(self, gm: fx.GraphModule, engine: str, pool: ThreadPool, fallback: bool):
        self.gm, self.engine, self.pool, self.fallback = gm, engine, pool, fallback
        self.modules = dict(gm.named_modules())
        self.meta: dict[str, _Meta] = {}
        self.steps: list = []
        self.fallbacks: list[str] = []
        self.kernels: dict[str, str] = {}

    # ---- helpers -------------------------------------------------------------------------

    def where(self, node: fx.Node) -> str:
        if node.op == "call_module":
            return f"module {node.target!r} ({type(self.modules[node.target]).__name__})"
        target = getattr(node.target, "__name__", str(node.target))
        return f"node {node.name!r} ({node.op} {target})"

    def arg_meta(self, a: Any) -> Any:
        return fx.node.map_aggregate(a, lambda v: self.meta[v.name] if isinstance(v, fx.Node)
                                     else v)

    def quantized_args(self, node: fx.Node) -> list[_Meta]:
        found: list[_Meta] = []
        fx.node.map_aggregate((node.args, node.kwargs), lambda v: found.append(self.meta[v.name])
                              if isinstance(v, fx.Node) and self.meta[v.name].quantized else v)
        return found

    @staticmethod
    def reader(a: Any) -> Callable[[dict], Any]:
        """A function of the environment giving argument a's run-time value."""
        if isinstance(a, fx.Node):
            name = a.name
            return lambda env: env[name]
        if isinstance(a, (tuple, list)) and any(isinstance(v, fx.Node) for v in a):
            readers = [_Converter.reader(v) for v in a]
            kind = type(a)
            return lambda env: kind(r(env) for r in readers)
        return lambda env: a

    def const(self, a: Any, what: str, node: fx.Node) -> Any:
        """A value conversion must know (a literal, or a get_attr constant)."""
        if isinstance(a, fx.Node):
            m = self.meta[a.name]
            if m.const is None:
                raise ConversionError(f"{_FN}: {self.where(node)}: {what} must be a constant",
                                      _FN)
            return m.const
        return a

    def q_input(self, node: fx.Node, index: int = 0, name: str = "input") -> tuple[Any, _Meta]:
        a = node.args[index] if len(node.args) > index else node.kwargs.get(name)
        if not isinstance(a, fx.Node) or not self.meta[a.name].quantized:
            raise ConversionError(f"{_FN}: {self.where(node)}: expected a quantized input", _FN)
        return a, self.meta[a.name]

    def add(self, node: fx.Node, step: Callable[[dict], Any], meta: _Meta) -> None:
        self.steps.append((node.name, step))
        self.meta[node.name] = meta

    # ---- the walk ------------------------------------------------------------------------

    def run(self) -> None:
        for node in self.gm.graph.nodes:
            if node.op == "placeholder":
                self.meta[node.name] = _FLOAT
            elif node.op == "get_attr":
                value = self.gm
                for part in node.target.split("."):
                    value = getattr(value, part)
                self.add(node, lambda env, v=value: v, _Meta(const=value))
            elif node.op == "output":
                continue
            else:
                self.node(node)

    def node(self, node: fx.Node) -> None:
        handler = None
        if node.op == "call_module":
            handler = self.module_handler(self.modules[node.target])
        elif node.op == "call_function":
            handler = _FUNCTIONS.get(node.target)
        elif node.op == "call_method":
            handler = _METHODS.get(node.target)
        quantized = self.quantized_args(node)
        if handler is not None and (quantized or handler in _FLOAT_OK):
            try:
                handler(self, node)
                return
            except ConversionError:
                if not self.fallback:
                    raise
        elif quantized and not self.fallback:
            raise ConversionError(f"{_FN}: {self.where(node)} takes a quantized tensor and "
                                  "qeq has no operator for it (convert(..., fallback=True) "
                                  "runs such nodes in PyTorch)", _FN)
        self.torch_node(node, bool(quantized))

    def module_handler(self, module: nn.Module) -> Callable | None:
        for kind, handler in _MODULES:
            if type(module) is kind:
                return handler
        return None

    def torch_node(self, node: fx.Node, quantized: bool) -> None:
        """The node run by PyTorch (float parts; quantized nodes only with fallback)."""
        args, kwargs = self.reader(node.args), self.reader(node.kwargs)
        if node.op == "call_module":
            fn: Callable = self.modules[node.target]
        elif node.op == "call_function":
            fn = node.target
        else:
            method = node.target
            fn = lambda self_, *a, **k: getattr(self_, method)(*a, **k)  # noqa: E731
        if not quantized:
            self.add(node, lambda env: fn(*args(env), **kwargs(env)), _FLOAT)
            return
        self.fallbacks.append(self.where(node))
        convert = lambda v: _to_torch(v) if isinstance(v, _Q) else v  # noqa: E731
        engine = self.engine

        def step(env: dict) -> Any:
            a = fx.node.map_aggregate(args(env), convert)
            k = fx.node.map_aggregate(kwargs(env), convert)
            # PyTorch picks some quantized kernels by the global engine: run under ours.
            previous = torch.backends.quantized.engine
            torch.backends.quantized.engine = engine
            try:
                out = fn(*a, **k)
            finally:
                torch.backends.quantized.engine = previous
            return fx.node.map_aggregate(
                out, lambda v: _from_torch(v) if isinstance(v, torch.Tensor) and v.is_quantized
                else v)
        # The qparams of a fallback's output are known only when it runs.
        self.add(node, step, _Meta(quantized=True, scale=float("nan")))


# ---- operators ---------------------------------------------------------------------------

def _quantize_step(c: _Converter, node: fx.Node, x: Any, scale: float, zero_point: int,
                   dtype: torch.dtype) -> None:
    if dtype not in _QDTYPES:
        raise ConversionError(f"{_FN}: {c.where(node)}: dtype {dtype} is not supported "
                              "(quint8, qint8)", _FN)
    read, where = c.reader(x), c.where(node)
    code = 0 if dtype == torch.quint8 else 1  # qeq_dtype
    int_dtype = _INT_DTYPES[dtype]
    scale = float(np.float32(scale))
    c_scale, c_zero_point = ctypes.c_float(scale), ctypes.c_int32(zero_point)
    scale_ptr, zero_point_ptr = ctypes.byref(c_scale), ctypes.byref(c_zero_point)

    def step(env: dict) -> _Q:
        t = read(env)
        if not isinstance(t, torch.Tensor) or t.dtype != torch.float32:
            # PyTorch's quantize takes float32 only (it raises for double, half, integers).
            raise TypeError(f"forward: {where}: expected a float32 tensor, got "
                            f"{t.dtype if isinstance(t, torch.Tensor) else type(t).__name__}")
        t = t.detach()
        nchw = False
        if t.dim() == 4 and t.is_contiguous(memory_format=torch.channels_last):
            t = t.permute(0, 2, 3, 1).contiguous()  # already NHWC in memory: no copy
        else:
            # Per-tensor quantization is element-wise: quantize where the floats lie, then
            # move the four times smaller bytes to NHWC.
            nchw = t.dim() == 4
            t = t.contiguous()
        shape = tuple(t.shape)
        q = torch.empty(shape, dtype=int_dtype)
        if t.numel() == 0:
            return _Q(q.permute(0, 2, 3, 1).contiguous() if nchw else q, scale, zero_point)
        api.qeq_quantize_f32(_shape(shape), t.data_ptr(), 0, code, 1, scale_ptr,
                             zero_point_ptr, q.data_ptr())
        if nchw:
            n, ch, h, w = shape
            out = torch.empty((n, h, w, ch), dtype=int_dtype)
            api.qeq_nchw_to_nhwc_x8(n, ch, h, w, q.data_ptr(), out.data_ptr())
            q = out
        return _Q(q, scale, zero_point)
    c.add(node, step, _Meta(True, scale, zero_point, dtype))


def _quantize_module(c: _Converter, node: fx.Node) -> None:
    m = c.modules[node.target]
    _quantize_step(c, node, node.args[0], float(m.scale), int(m.zero_point), m.dtype)


def _quantize_function(c: _Converter, node: fx.Node) -> None:
    names = ("input", "scale", "zero_point", "dtype")
    a = list(node.args) + [node.kwargs[n] for n in names[len(node.args):]]
    scale = c.const(a[1], "scale", node)
    zero_point = c.const(a[2], "zero_point", node)
    _quantize_step(c, node, a[0], float(scale), int(zero_point), c.const(a[3], "dtype", node))


def _dequantize(c: _Converter, node: fx.Node) -> None:
    x, _ = c.q_input(node)
    read = c.reader(x)

    def step(env: dict) -> torch.Tensor:
        q = read(env)
        data = q.data if q.data.is_contiguous() else q.data.contiguous()
        shape = tuple(data.shape)
        out = torch.empty(shape, dtype=torch.float32)
        if data.numel():
            api.qeq_dequantize_f32(_shape(shape), data.data_ptr(), 0,
                                   0 if data.dtype == torch.uint8 else 1, 1,
                                   ctypes.byref(ctypes.c_float(q.scale)),
                                   ctypes.byref(ctypes.c_int32(q.zero_point)), out.data_ptr())
        return out.permute(0, 3, 1, 2) if out.dim() == 4 else out
    c.add(node, step, _FLOAT)


_DATA_QDTYPES = {torch.uint8: "quint8", torch.int8: "qint8"}
_ENGINE_CODES = {"onednn": 0, "qnnpack": 1}  # qeq_qops_engine / qeq_gemm_engine


def _packed(c: _Converter, node: fx.Node, xm: _Meta, make: Callable[[str, float, int], Any]
            ) -> Callable[[_Q], Any]:
    """The operator packed for its input's qparams: now when conversion knows them, else (the
    input comes from a PyTorch fallback) on the first run, once per qparams seen."""
    key = node.target if node.op == "call_module" else node.name
    if xm.dtype is not None:
        op = make(_QDTYPES[xm.dtype], xm.scale, xm.zero_point)
        c.kernels[key] = op.kernel_name
        return lambda q: op
    cache: dict[tuple, Any] = {}

    def get(q: _Q) -> Any:
        key = (_DATA_QDTYPES[q.data.dtype], q.scale, q.zero_point)
        op = cache.get(key)
        if op is None:
            op = cache[key] = make(*key)
        return op
    c.kernels[key] = "packed on first run (input from a PyTorch fallback)"
    return get


def _module_bias(m: nn.Module) -> Any:
    bias = m.bias()
    return None if bias is None else bias.detach().to(torch.float32).contiguous()


def _conv(c: _Converter, node: fx.Node) -> None:
    """Conv2d / ConvReLU2d (qeq.Conv2d), and Conv1d / ConvReLU1d (qeq.Conv1d: PyTorch runs
    them as 2-D convolutions of height 1). 3-D activations stay in PyTorch's [N][C][L] layout
    between operators, so a Conv1d step transposes to [N][L][C] and back."""
    m = c.modules[node.target]
    x, xm = c.q_input(node)
    if m.padding_mode != "zeros":
        raise ConversionError(f"{_FN}: {c.where(node)}: padding_mode {m.padding_mode!r} is not "
                              "supported ('zeros')", _FN)
    one_d = isinstance(m, nnq.Conv1d)  # ConvReLU1d too
    wq, scales, zero_points = _weight_qparams(m.weight())
    if one_d and wq.dim() == 4:  # [O][C / g][1][k], as some versions unpack it
        wq = wq.squeeze(2).contiguous()
    bias = _module_bias(m)
    scale, zero_point = float(m.scale), int(m.zero_point)
    clamp = "relu" if isinstance(m, (nniq.ConvReLU2d, nniq.ConvReLU1d)) else "none"
    cls, geometry = ((Conv1d, (m.stride, m.padding, m.dilation)) if one_d else
                     (Conv2d, (_pair(m.stride), _pair(m.padding), _pair(m.dilation))))

    def make(dtype: str, in_scale: float, in_zero_point: int) -> Any:
        return cls(wq, scales, zero_points, bias, stride=geometry[0], padding=geometry[1],
                   dilation=geometry[2], groups=m.groups, input_dtype=dtype,
                   input_scale=in_scale, input_zero_point=in_zero_point, output_dtype=dtype,
                   output_scale=scale, output_zero_point=zero_point, clamp=clamp,
                   engine=c.engine)
    conv = _packed(c, node, xm, make)
    read, pool = c.reader(x), c.pool.handle
    where, ndim = c.where(node), 3 if one_d else 4
    in_channels = wq.shape[1] * m.groups

    def step(env: dict) -> _Q:
        q = read(env)
        data = q.data
        if data.dim() != ndim:
            raise ConversionError(f"{_FN}: {where}: expected a {ndim}-D input", _FN)
        channels = data.shape[1] if one_d else data.shape[3]
        if channels != in_channels:
            raise ValueError(f"forward: {where}: expected {in_channels} input channels, got "
                             f"{channels}")
        if one_d:
            y = conv(q)._run_tensor(data.permute(0, 2, 1).contiguous(), pool)
            return _Q(y.permute(0, 2, 1).contiguous(), scale, zero_point)
        data, pixel_stride = _pixels(data)
        return _Q(conv(q)._run_tensor(data, pool, pixel_stride), scale, zero_point)
    c.add(node, step, _Meta(True, scale, zero_point, xm.dtype, ndim))


def _linear(c: _Converter, node: fx.Node) -> None:
    m = c.modules[node.target]
    x, xm = c.q_input(node)
    wq, scales, zero_points = _weight_qparams(m.weight())
    bias = _module_bias(m)
    scale, zero_point = float(m.scale), int(m.zero_point)
    clamp = "relu" if isinstance(m, nniq.LinearReLU) else "none"

    def make(dtype: str, in_scale: float, in_zero_point: int) -> Gemm:
        return Gemm(wq, scales, zero_points, bias, input_dtype=dtype, input_scale=in_scale,
                    input_zero_point=in_zero_point, output_dtype=dtype, output_scale=scale,
                    output_zero_point=zero_point, clamp=clamp, engine=c.engine)
    gemm = _packed(c, node, xm, make)
    read, pool, where = c.reader(x), c.pool, c.where(node)

    def step(env: dict) -> _Q:
        q = read(env)
        if q.data.dim() == 4:
            raise ConversionError(f"{_FN}: {where}: expected [..., in_features] input, got a "
                                  "4-D tensor", _FN)
        data = q.data if q.data.is_contiguous() else q.data.contiguous()
        return _Q(gemm(q).run(data, pool=pool), scale, zero_point)
    c.add(node, step, _Meta(True, scale, zero_point, xm.dtype, xm.ndim))


def _linear_function(c: _Converter, node: fx.Node) -> None:
    """torch.ops.quantized.linear / linear_relu(x, packed weight, scale, zero_point), as
    convert_fx writes a functional linear."""
    names = ("X", "W_prepack", "Y_scale_i", "Y_zero_point_i")
    a = list(node.args) + [node.kwargs[n] for n in names[len(node.args):]]
    x, xm = c.q_input(node)
    packed = c.const(a[1], "the packed weight", node)
    weight, bias = torch.ops.quantized.linear_unpack(packed)
    wq, scales, zero_points = _weight_qparams(weight)
    bias = None if bias is None else bias.detach().to(torch.float32).contiguous()
    scale = float(np.float32(c.const(a[2], "scale", node)))
    zero_point = int(c.const(a[3], "zero_point", node))
    clamp = "relu" if node.target is torch.ops.quantized.linear_relu else "none"

    def make(dtype: str, in_scale: float, in_zero_point: int) -> Gemm:
        return Gemm(wq, scales, zero_points, bias, input_dtype=dtype, input_scale=in_scale,
                    input_zero_point=in_zero_point, output_dtype=dtype, output_scale=scale,
                    output_zero_point=zero_point, clamp=clamp, engine=c.engine)
    gemm = _packed(c, node, xm, make)
    read, pool = c.reader(x), c.pool

    def step(env: dict) -> _Q:
        q = read(env)
        data = q.data if q.data.is_contiguous() else q.data.contiguous()
        return _Q(gemm(q).run(data, pool=pool), scale, zero_point)
    c.add(node, step, _Meta(True, scale, zero_point, xm.dtype, xm.ndim))


def _identity(c: _Converter, node: fx.Node) -> None:
    x = node.args[0]
    if not isinstance(x, fx.Node):
        raise ConversionError(f"{_FN}: {c.where(node)}: expected a tensor", _FN)
    name = x.name
    c.add(node, lambda env: env[name], c.meta[name])


def _clamp_step(c: _Converter, node: fx.Node, kind: str, low: float = 0.0,
                high: float = 0.0) -> None:
    x, xm = c.q_input(node)
    read = c.reader(x)
    run, bounds = {"relu": (api.qeq_q8_relu, ()), "relu6": (api.qeq_q8_relu6, ()),
                   "hardtanh": (api.qeq_q8_hardtanh, (low, high))}[kind]

    def step(env: dict) -> _Q:
        q = read(env)
        data = _nhwc(q, "clamp")
        out = torch.empty_like(data)
        desc = _descriptor(tuple(data.shape), data.dtype, q.scale, q.zero_point)
        run(desc, data.data_ptr(), *bounds, desc, out.data_ptr())
        return _Q(out.view(q.data.shape), q.scale, q.zero_point)
    c.add(node, step, xm)


def _relu(c: _Converter, node: fx.Node) -> None:
    _clamp_step(c, node, "relu")


def _relu6(c: _Converter, node: fx.Node) -> None:
    _clamp_step(c, node, "relu6")


def _hardtanh_module(c: _Converter, node: fx.Node) -> None:
    m = c.modules[node.target]
    _clamp_step(c, node, "hardtanh", float(m.min_val), float(m.max_val))


def _hardtanh_function(c: _Converter, node: fx.Node) -> None:
    a = list(node.args) + [None] * 3
    low = c.const(node.kwargs.get("min_val", a[1] if a[1] is not None else -1.0), "min_val", node)
    high = c.const(node.kwargs.get("max_val", a[2] if a[2] is not None else 1.0), "max_val", node)
    _clamp_step(c, node, "hardtanh", float(low), float(high))


def _pool_args(c: _Converter, node: fx.Node, names: tuple, defaults: dict) -> dict:
    """Keyword values of a pooling node (module attributes or function arguments)."""
    if node.op == "call_module":
        m = c.modules[node.target]
        return {n: getattr(m, n, defaults.get(n)) for n in names}
    values = dict(defaults)
    for n, a in zip(names, node.args[1:]):
        values[n] = a
    for n, a in node.kwargs.items():
        if n in names:
            values[n] = a
    return {n: c.const(v, n, node) for n, v in values.items()}


def _pool_step(c: _Converter, node: fx.Node, x: fx.Node, xm: _Meta, params: Any,
               run: Callable, *extra: Any) -> None:
    """A pooling step: run(x, x_data, params, y, y_data, *extra), y at x's qparams, its size
    from qeq_pool2d_output_size (once per input size)."""
    read, where = c.reader(x), c.where(node)
    sizes: dict[tuple[int, int], tuple[int, int]] = {}
    p = ctypes.byref(params)

    def step(env: dict) -> _Q:
        q = read(env)
        data = _map(q, where)
        n, h, w, ch = data.shape
        size = sizes.get((h, w))
        if size is None:
            oh, ow = ctypes.c_size_t(), ctypes.c_size_t()
            api.qeq_pool2d_output_size(p, h, w, ctypes.byref(oh), ctypes.byref(ow))
            size = sizes[(h, w)] = (oh.value, ow.value)
        shape = (n, size[0], size[1], ch)
        out = torch.empty(shape, dtype=data.dtype)
        if out.numel():
            run(_descriptor(tuple(data.shape), data.dtype, q.scale, q.zero_point),
                data.data_ptr(), p, _descriptor(shape, data.dtype, q.scale, q.zero_point),
                out.data_ptr(), *extra)
        return _Q(out, q.scale, q.zero_point)
    c.add(node, step, xm)


def _pool_params(c: _Converter, node: fx.Node, func: str, kernel_size: Any, stride: Any,
                 padding: Any, dilation: Any, ceil_mode: Any, count_include_pad: Any = True,
                 divisor_override: Any = None) -> Pool2dParams:
    try:
        return qops._pool(None, func, kernel_size, stride, padding, dilation, ceil_mode,
                          count_include_pad, divisor_override)
    except (TypeError, ValueError, OverflowError) as e:
        raise ConversionError(f"{_FN}: {c.where(node)}: {e}", _FN) from e


def _max_pool(c: _Converter, node: fx.Node) -> None:
    x, xm = c.q_input(node)
    if xm.ndim not in (None, 4):
        raise ConversionError(f"{_FN}: {c.where(node)}: expected a 4-D input", _FN)
    p = _pool_args(c, node, ("kernel_size", "stride", "padding", "dilation", "ceil_mode",
                             "return_indices"),
                   {"stride": None, "padding": 0, "dilation": 1, "ceil_mode": False,
                    "return_indices": False})
    if p["return_indices"]:
        raise ConversionError(f"{_FN}: {c.where(node)}: return_indices is not supported", _FN)
    stride = p["stride"] if p["stride"] not in (None, []) else p["kernel_size"]
    params = _pool_params(c, node, "q8_max_pool2d", p["kernel_size"], stride, p["padding"],
                          p["dilation"], p["ceil_mode"])
    _pool_step(c, node, x, xm, params, api.qeq_q8_max_pool2d)


def _avg_pool(c: _Converter, node: fx.Node) -> None:
    x, xm = c.q_input(node)
    p = _pool_args(c, node, ("kernel_size", "stride", "padding", "ceil_mode",
                             "count_include_pad", "divisor_override"),
                   {"stride": None, "padding": 0, "ceil_mode": False,
                    "count_include_pad": True, "divisor_override": None})
    stride = p["stride"] if p["stride"] not in (None, []) else p["kernel_size"]
    params = _pool_params(c, node, "q8_avg_pool2d", p["kernel_size"], stride, p["padding"], 1,
                          p["ceil_mode"], p["count_include_pad"], p["divisor_override"])
    _pool_step(c, node, x, xm, params, api.qeq_q8_avg_pool2d_ex, _ENGINE_CODES[c.engine])


def _adaptive_avg_pool(c: _Converter, node: fx.Node) -> None:
    x, xm = c.q_input(node)
    if node.op == "call_module":
        size = c.modules[node.target].output_size
    else:
        size = c.const(node.args[1] if len(node.args) > 1 else node.kwargs["output_size"],
                       "output_size", node)
    size = list(size) if isinstance(size, (tuple, list)) else [size, size]
    if len(size) != 2 or any(v is not None and (not isinstance(v, int) or v < 1)
                             for v in size):
        raise ConversionError(f"{_FN}: {c.where(node)}: output_size {tuple(size)} is not two "
                              "positive sizes (or None)", _FN)
    read, where, code = c.reader(x), c.where(node), _ENGINE_CODES[c.engine]

    def step(env: dict) -> _Q:
        q = read(env)
        data = _map(q, where)
        n, h, w, ch = data.shape
        shape = (n, h if size[0] is None else size[0], w if size[1] is None else size[1], ch)
        out = torch.empty(shape, dtype=data.dtype)
        if out.numel():
            api.qeq_q8_adaptive_avg_pool2d_ex(
                _descriptor(tuple(data.shape), data.dtype, q.scale, q.zero_point),
                data.data_ptr(), _descriptor(shape, data.dtype, q.scale, q.zero_point),
                out.data_ptr(), code)
        return _Q(out, q.scale, q.zero_point)
    c.add(node, step, xm)


def _add_step(c: _Converter, node: fx.Node, relu: bool) -> None:
    names = ("qa", "qb", "scale", "zero_point")
    a = list(node.args) + [node.kwargs[n] for n in names[len(node.args):]]
    for v in a[:2]:
        if not isinstance(v, fx.Node) or not c.meta[v.name].quantized:
            raise ConversionError(f"{_FN}: {c.where(node)}: expected two quantized inputs", _FN)
    am = c.meta[a[0].name]
    scale = float(np.float32(c.const(a[2], "scale", node)))
    zero_point = int(c.const(a[3], "zero_point", node))
    ra, rb = c.reader(a[0]), c.reader(a[1])
    code = _ENGINE_CODES[c.engine]
    where = c.where(node)
    run = api.qeq_q8_add_relu_ex if relu else api.qeq_q8_add_ex

    def step(env: dict) -> _Q:
        qa, qb = ra(env), rb(env)
        if qa.data.dim() != qb.data.dim():
            raise ConversionError(f"{_FN}: {where}: inputs of shapes {tuple(qa.data.shape)} "
                                  f"and {tuple(qb.data.shape)} (qeq broadcasts inputs of one "
                                  "rank)", _FN)
        # NHWC is a permutation of NCHW's axes, so numpy's broadcasting carries over per axis.
        da, db = _nhwc(qa, where), _nhwc(qb, where)
        ashape, bshape = tuple(da.shape), tuple(db.shape)
        shape = ashape if ashape == bshape else _broadcast(where, ashape, bshape)
        out = torch.empty(shape, dtype=da.dtype)
        if out.numel():
            run(_descriptor(ashape, da.dtype, qa.scale, qa.zero_point), da.data_ptr(),
                _descriptor(bshape, db.dtype, qb.scale, qb.zero_point), db.data_ptr(),
                _descriptor(shape, da.dtype, scale, zero_point), out.data_ptr(), code)
        if qa.data.dim() == 2:
            out = out.view(out.shape[0], out.shape[3])
        return _Q(out, scale, zero_point)
    c.add(node, step, _Meta(True, scale, zero_point, am.dtype, am.ndim))


def _broadcast(where: str, ashape: tuple, bshape: tuple) -> tuple:
    """numpy's broadcast of two NHWC shapes (each axis equal, or 1 on one side)."""
    for m, n in zip(ashape, bshape):
        if m != n and 1 not in (m, n):
            raise ConversionError(f"{_FN}: {where}: inputs of NHWC shapes {ashape} and "
                                  f"{bshape} do not broadcast", _FN)
    return tuple(n if m == 1 else m for m, n in zip(ashape, bshape))


def _add(c: _Converter, node: fx.Node) -> None:
    _add_step(c, node, False)


def _add_relu(c: _Converter, node: fx.Node) -> None:
    _add_step(c, node, True)


def _cat_step(c: _Converter, node: fx.Node, tensors: Any, dim: int, scale: float | None,
              zero_point: int | None) -> None:
    if not isinstance(tensors, (list, tuple)) or not tensors or not all(
            isinstance(t, fx.Node) and c.meta[t.name].quantized for t in tensors):
        raise ConversionError(f"{_FN}: {c.where(node)}: expected a list of quantized tensors",
                              _FN)
    first = c.meta[tensors[0].name]
    if first.ndim not in (None, 4) or not -4 <= dim < 4:
        raise ConversionError(f"{_FN}: {c.where(node)}: qeq concatenates 4-D tensors along "
                              f"one of their four axes, got dim={dim}", _FN)
    axis = dim % 4  # PyTorch's NCHW dim: qeq_cat_axis's code
    nhwc_axis = (0, 3, 1, 2)[axis]
    readers = [c.reader(t) for t in tensors]
    fixed = scale is not None
    where = c.where(node)

    def step(env: dict) -> _Q:
        qs = [r(env) for r in readers]
        out_qparams = (scale, zero_point) if fixed else qs[0].qparams
        datas, descs = [], []
        for q in qs:
            if q.data.dim() != 4:
                raise ConversionError(f"{_FN}: {where}: expected 4-D inputs", _FN)
            data, pixel_stride = _pixels(q.data)  # chunk's channel slices read in place
            datas.append(data)
            descs.append(_q8_tensor(tuple(data.shape), data.dtype, q.scale, q.zero_point,
                                    pixel_stride))
        shape = list(datas[0].shape)
        shape[nhwc_axis] = sum(d.shape[nhwc_axis] for d in datas)
        shape = tuple(shape)
        out = torch.empty(shape, dtype=datas[0].dtype)
        count = len(datas)
        if out.numel():
            api.qeq_q8_cat(count, (Q8Tensor * count)(*descs),
                           (ctypes.c_void_p * count)(*(d.data_ptr() for d in datas)), axis,
                           _descriptor(shape, datas[0].dtype, *out_qparams), out.data_ptr())
        return _Q(out, *out_qparams)
    meta = _Meta(True, scale if fixed else first.scale,
                 zero_point if fixed else first.zero_point, first.dtype, 4)
    c.add(node, step, meta)


def _quantized_cat(c: _Converter, node: fx.Node) -> None:
    names = ("qx", "scale", "zero_point", "dim")
    a = list(node.args) + [node.kwargs.get(n, 0) for n in names[len(node.args):]]
    _cat_step(c, node, a[0], int(c.const(a[3], "dim", node)),
              float(np.float32(c.const(a[1], "scale", node))),
              int(c.const(a[2], "zero_point", node)))


def _torch_cat(c: _Converter, node: fx.Node) -> None:
    dim = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim", 0)
    _cat_step(c, node, node.args[0], int(c.const(dim, "dim", node)), None, None)


def _flatten_step(c: _Converter, node: fx.Node, start: int, end: int) -> None:
    x, xm = c.q_input(node)
    if start != 1 or end != -1:
        raise ConversionError(f"{_FN}: {c.where(node)}: qeq flattens from dimension 1 to the "
                              f"last, got start_dim={start}, end_dim={end}", _FN)
    read = c.reader(x)

    def step(env: dict) -> _Q:
        q = read(env)
        d = q.data
        if d.dim() == 4:
            # NCHW order: a copy unless H x W is 1 x 1 (then the bytes already are [N][C]).
            d = d.reshape(d.shape[0], -1) if d.shape[1] * d.shape[2] == 1 else \
                d.permute(0, 3, 1, 2).reshape(d.shape[0], -1)
        else:
            d = d.reshape(d.shape[0], -1)
        return _Q(d, q.scale, q.zero_point)
    c.add(node, step, _Meta(True, xm.scale, xm.zero_point, xm.dtype, 2))


def _flatten_function(c: _Converter, node: fx.Node) -> None:
    a = list(node.args) + [None, None]
    start = node.kwargs.get("start_dim", a[1] if a[1] is not None else 0)
    end = node.kwargs.get("end_dim", a[2] if a[2] is not None else -1)
    _flatten_step(c, node, int(c.const(start, "start_dim", node)),
                  int(c.const(end, "end_dim", node)))


def _flatten_module(c: _Converter, node: fx.Node) -> None:
    m = c.modules[node.target]
    _flatten_step(c, node, int(m.start_dim), int(m.end_dim))


def _size(c: _Converter, node: fx.Node) -> None:
    """x.size(dim) / x.size() of a quantized tensor, in PyTorch's (NCHW) order."""
    x, _ = c.q_input(node)
    read = c.reader(x)
    dim = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim")
    dim = c.const(dim, "dim", node)

    def step(env: dict) -> Any:
        d = read(env).data
        shape = (d.shape[0], d.shape[3], d.shape[1], d.shape[2]) if d.dim() == 4 else \
            tuple(d.shape)
        return torch.Size(shape) if dim is None else shape[dim]
    c.add(node, step, _FLOAT)


def _view(c: _Converter, node: fx.Node) -> None:
    """x.view(n, -1) / x.reshape(n, -1) of a quantized tensor: a flatten from dimension 1."""
    x, xm = c.q_input(node)
    shape = node.args[1:]
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    if len(shape) != 2 or xm.ndim not in (None, 4):
        raise ConversionError(f"{_FN}: {c.where(node)}: qeq reshapes a 4-D quantized tensor "
                              "to [N, -1] only", _FN)
    read_shape = c.reader(tuple(shape))
    read = c.reader(x)

    def step(env: dict) -> _Q:
        q = read(env)
        d = q.data
        n, rest = read_shape(env)
        if n not in (-1, d.shape[0]) or rest not in (-1, d[0].numel()):
            raise ConversionError(f"{_FN}: reshape to ({n}, {rest}) of a tensor of "
                                  f"{tuple(d.shape)} (NHWC) is not a flatten", _FN)
        d = d.reshape(d.shape[0], -1) if d.shape[1] * d.shape[2] == 1 else \
            d.permute(0, 3, 1, 2).reshape(d.shape[0], -1)
        return _Q(d, q.scale, q.zero_point)
    c.add(node, step, _Meta(True, xm.scale, xm.zero_point, xm.dtype, 2))


def _channel_shuffle(c: _Converter, node: fx.Node) -> None:
    """torchvision's channel_shuffle(x, groups): channel i * C/g + k moves to k * g + i, on
    NHWC bytes a transpose of the innermost axis (qeq_x8_channel_shuffle)."""
    x, xm = c.q_input(node)
    groups = int(c.const(node.args[1] if len(node.args) > 1 else node.kwargs["groups"],
                         "groups", node))
    read, where = c.reader(x), c.where(node)

    def step(env: dict) -> _Q:
        q = read(env)
        n, h, w, ch = q.data.shape
        if groups < 1 or ch % groups:
            raise ConversionError(f"{_FN}: {where}: {ch} channels in {groups} groups", _FN)
        data = layout.q8_channel_shuffle(q.data.contiguous(), groups)
        return _Q(data, q.scale, q.zero_point)
    c.add(node, step, xm)


def _chunk(c: _Converter, node: fx.Node) -> None:
    """x.chunk(chunks, dim=1) of a 4-D quantized tensor: contiguous NHWC channel slices."""
    x, xm = c.q_input(node)
    chunks = int(c.const(node.args[1] if len(node.args) > 1 else node.kwargs["chunks"],
                         "chunks", node))
    dim = int(c.const(node.args[2] if len(node.args) > 2 else node.kwargs.get("dim", 0),
                      "dim", node))
    if dim not in (1, -3) or xm.ndim not in (None, 4) or chunks < 1:
        raise ConversionError(f"{_FN}: {c.where(node)}: qeq chunks 4-D tensors along the "
                              f"channels (dim=1), got dim={dim}", _FN)
    read = c.reader(x)

    def step(env: dict) -> tuple:
        q = read(env)
        size = -(-q.data.shape[3] // chunks)
        # Channel slices of the NHWC bytes, not copied: convolutions and cat read them in
        # place (a pixel stride), other steps make them contiguous.
        return tuple(_Q(part, q.scale, q.zero_point) for part in torch.split(q.data, size, dim=3))
    meta = _Meta(True, xm.scale, xm.zero_point, xm.dtype, 4, const=None)
    meta.sequence = True
    c.add(node, step, meta)


def _getitem(c: _Converter, node: fx.Node) -> None:
    x, index = node.args
    xm = c.meta[x.name] if isinstance(x, fx.Node) else None
    if xm is None or not getattr(xm, "sequence", False) or not isinstance(index, int):
        raise ConversionError(f"{_FN}: {c.where(node)}: indexing a quantized tensor is not "
                              "supported", _FN)
    name = x.name
    c.add(node, lambda env: env[name][index], _Meta(True, xm.scale, xm.zero_point, xm.dtype, 4))


def _mean(c: _Converter, node: fx.Node) -> None:
    """x.mean([2, 3]) / torch.mean(x, [2, 3]) of a quantized 4-D tensor. quint8 under qnnpack:
    PyTorch runs QNNPACK's global average pool, the 1 x 1 adaptive pool of that engine.
    Otherwise PyTorch dequantizes, sums in float in its reduction kernel's order and
    requantizes (qeq.torch._mean), for a channels-last input: one a quantized convolution
    made (an NCHW one takes another kernel in PyTorch, which qeq does not reproduce)."""
    x, xm = c.q_input(node)
    dims = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim")
    dims = c.const(dims, "dim", node)
    dims = [int(d) for d in dims] if isinstance(dims, (tuple, list)) else [int(dims)]
    keepdim = bool(c.const(node.args[2] if len(node.args) > 2 else
                           node.kwargs.get("keepdim", False), "keepdim", node))
    qnnpack = c.engine == "qnnpack" and xm.dtype in (None, torch.quint8) and dims == [2, 3]
    source = x  # the node that made x, past identities (fused batch norms and ReLUs)
    while source.op == "call_module" and type(c.modules[source.target]) is nn.Identity:
        source = source.args[0]
    producer = c.modules.get(source.target) if source.op == "call_module" else None
    channels_last = isinstance(producer, (nnq.Conv2d, nniq.ConvReLU2d))
    if node.kwargs.get("dtype") is not None or sorted(d % 4 for d in dims) != [2, 3] or \
            xm.ndim not in (None, 4) or not (qnnpack or channels_last):
        raise ConversionError(f"{_FN}: {c.where(node)}: qeq has PyTorch's quantized mean over "
                              "dims (2, 3) of a convolution's output (or, under qnnpack, of "
                              "any quint8 tensor)", _FN)
    read, where = c.reader(x), c.where(node)
    lanes = _mean_module.aten_float_lanes()

    def step(env: dict) -> _Q:
        q = read(env)
        data = _map(q, where)
        if qnnpack and data.dtype == torch.uint8:
            out = qops.q8_adaptive_avg_pool2d(data, q.qparams, (1, 1), engine="qnnpack")
            out = out.view(out.shape[0], out.shape[3])
        else:
            out = _mean_module.quantized_mean_hw(data, q.scale, q.zero_point, lanes)
        return _Q(out.view(out.shape[0], 1, 1, out.shape[1]) if keepdim else out, q.scale,
                  q.zero_point)
    c.add(node, step, _Meta(True, xm.scale, xm.zero_point, xm.dtype, 4 if keepdim else 2))


def _no_op_method(c: _Converter, node: fx.Node) -> None:
    if len(node.args) != 1 or node.kwargs:
        raise ConversionError(f"{_FN}: {c.where(node)}: arguments are not supported", _FN)
    _identity(c, node)


def _dropout(c: _Converter, node: fx.Node) -> None:
    m = c.modules.get(node.target) if node.op == "call_module" else None
    # nn.quantized.Dropout is the identity in either mode (eager convert builds it in training
    # mode inside an eval model); a float nn.Dropout in training mode would drop.
    if m is not None and m.training and not isinstance(m, nnq.Dropout):
        raise ConversionError(f"{_FN}: {c.where(node)} is in training mode (call .eval())",
                              _FN)
    _identity(c, node)



def _hardswish(c: _Converter, node: fx.Node) -> None:
    """nn.quantized.Hardswish: requantized to the module's qparams, by the engine's rule."""
    m = c.modules[node.target]
    x, xm = c.q_input(node)
    scale, zero_point = float(m.scale), int(m.zero_point)
    read, where, engine = c.reader(x), c.where(node), c.engine
    code = _ENGINE_CODES[engine]

    def step(env: dict) -> _Q:
        q = read(env)
        data = _nhwc(q, where)
        out = torch.empty_like(data)
        shape = tuple(data.shape)
        api.qeq_q8_hardswish(_descriptor(shape, data.dtype, q.scale, q.zero_point),
                             data.data_ptr(), code,
                             _descriptor(shape, data.dtype, scale, zero_point), out.data_ptr())
        return _Q(out.view(q.data.shape), scale, zero_point)
    c.add(node, step, _Meta(True, scale, zero_point, xm.dtype, xm.ndim))


def _fixed_qparams_activation(c: _Converter, node: fx.Node, op: Callable) -> None:
    """An activation whose quantized output has PyTorch's fixed qparams (1/256 and zero point
    0, or -128 for qint8): hardsigmoid and sigmoid. op: its C entry point."""
    x, xm = c.q_input(node)
    read, where, engine = c.reader(x), c.where(node), c.engine
    code = _ENGINE_CODES[engine]

    def step(env: dict) -> _Q:
        q = read(env)
        data = _nhwc(q, where)
        out = torch.empty_like(data)
        shape, out_zero_point = tuple(data.shape), -128 if data.dtype == torch.int8 else 0
        op(_descriptor(shape, data.dtype, q.scale, q.zero_point), data.data_ptr(), code,
           _descriptor(shape, data.dtype, 1.0 / 256.0, out_zero_point), out.data_ptr())
        return _Q(out.view(q.data.shape), 1.0 / 256.0, out_zero_point)
    if xm.dtype is None:  # after a PyTorch fallback: the dtype is known when it runs
        meta = _Meta(True, 1.0 / 256.0, 0, None, xm.ndim)
    else:
        meta = _Meta(True, 1.0 / 256.0, -128 if xm.dtype == torch.qint8 else 0, xm.dtype,
                     xm.ndim)
    c.add(node, step, meta)


def _hardsigmoid(c: _Converter, node: fx.Node) -> None:
    """Hardsigmoid of a quantized tensor, at PyTorch's fixed output qparams."""
    _fixed_qparams_activation(c, node, api.qeq_q8_hardsigmoid)


def _sigmoid(c: _Converter, node: fx.Node) -> None:
    """Sigmoid of a quantized tensor (nn.Sigmoid, torch.sigmoid, Tensor.sigmoid), at PyTorch's
    fixed output qparams."""
    _fixed_qparams_activation(c, node, api.qeq_q8_sigmoid)


def _mul_step(c: _Converter, node: fx.Node, relu: bool) -> None:
    """torch.ops.quantized.mul / mul_relu (FloatFunctional.mul), broadcasting size-1 axes."""
    names = ("qa", "qb", "scale", "zero_point")
    a = list(node.args) + [node.kwargs[n] for n in names[len(node.args):]]
    for v in a[:2]:
        if not isinstance(v, fx.Node) or not c.meta[v.name].quantized:
            raise ConversionError(f"{_FN}: {c.where(node)}: expected two quantized inputs", _FN)
    am, bm = c.meta[a[0].name], c.meta[a[1].name]
    scale = float(c.const(a[2], "scale", node))
    zero_point = int(c.const(a[3], "zero_point", node))
    ra, rb = c.reader(a[0]), c.reader(a[1])
    where = c.where(node)
    run = api.qeq_q8_mul_relu if relu else api.qeq_q8_mul

    def step(env: dict) -> _Q:
        qa, qb = ra(env), rb(env)
        if qa.data.dim() != qb.data.dim():
            if max(qa.data.dim(), qb.data.dim()) > 2:
                raise ConversionError(f"{_FN}: {where}: inputs of {qa.data.dim()} and "
                                      f"{qb.data.dim()} dimensions (qeq broadcasts a lower "
                                      "rank against 1-D or 2-D tensors only)", _FN)
            # NumPy's rule: the lower-rank input gains leading axes of size 1.
            qa, qb = (_Q(q.data.view((1,) * (2 - q.data.dim()) + tuple(q.data.shape)),
                         q.scale, q.zero_point) for q in (qa, qb))
        da, db = _nhwc(qa, where), _nhwc(qb, where)
        if da.dtype != db.dtype:
            raise ConversionError(f"{_FN}: {where}: inputs of dtypes {da.dtype} and "
                                  f"{db.dtype}", _FN)
        shape = tuple(n if m == 1 else m for m, n in zip(da.shape, db.shape))
        out = torch.empty(shape, dtype=da.dtype)
        run(_descriptor(tuple(da.shape), da.dtype, qa.scale, qa.zero_point), da.data_ptr(),
            _descriptor(tuple(db.shape), db.dtype, qb.scale, qb.zero_point), db.data_ptr(),
            _descriptor(shape, da.dtype, scale, zero_point), out.data_ptr())
        if qa.data.dim() == 2:
            out = out.view(out.shape[0], out.shape[3])
        return _Q(out, scale, zero_point)
    ndim = am.ndim if am.ndim is not None else bm.ndim
    c.add(node, step, _Meta(True, scale, zero_point, am.dtype or bm.dtype, ndim))


def _mul(c: _Converter, node: fx.Node) -> None:
    _mul_step(c, node, False)


def _mul_relu(c: _Converter, node: fx.Node) -> None:
    _mul_step(c, node, True)


_MODULES: list[tuple[type, Callable]] = [
    (nnq.Quantize, _quantize_module),
    (nnq.DeQuantize, _dequantize),
    (nnq.Conv2d, _conv),
    (nniq.ConvReLU2d, _conv),
    (nnq.Conv1d, _conv),
    (nniq.ConvReLU1d, _conv),
    (nnq.Linear, _linear),
    (nniq.LinearReLU, _linear),
    (nn.ReLU, _relu),
    (nnq.ReLU6, _relu6),
    (nn.ReLU6, _relu6),
    (nn.Hardtanh, _hardtanh_module),
    (nn.MaxPool2d, _max_pool),
    (nnq.MaxPool2d, _max_pool),
    (nn.AvgPool2d, _avg_pool),
    (nn.AdaptiveAvgPool2d, _adaptive_avg_pool),
    (nn.Identity, _identity),
    (nn.Dropout, _dropout),
    (nnq.Dropout, _dropout),
    (nn.Flatten, _flatten_module),
    (nnq.Hardswish, _hardswish),
    (nn.Hardsigmoid, _hardsigmoid),
    (nn.Sigmoid, _sigmoid),
]

_FUNCTIONS: dict[Any, Callable] = {
    torch.quantize_per_tensor: _quantize_function,
    torch.dequantize: _dequantize,
    torch.ops.quantized.add: _add,
    torch.ops.quantized.add_relu: _add_relu,
    torch.ops.quantized.cat: _quantized_cat,
    torch.ops.quantized.linear: _linear_function,
    torch.ops.quantized.linear_relu: _linear_function,
    torch.cat: _torch_cat,
    torch.flatten: _flatten_function,
    torch.relu: _relu,
    F.relu: _relu,
    F.relu6: _relu6,
    F.hardtanh: _hardtanh_function,
    F.max_pool2d: _max_pool,
    F.avg_pool2d: _avg_pool,
    F.adaptive_avg_pool2d: _adaptive_avg_pool,
    F.dropout: _dropout,
    operator.getitem: _getitem,
    torch.mean: _mean,
    torch.ops.quantized.mul: _mul,
    torch.ops.quantized.mul_relu: _mul_relu,
    F.hardsigmoid: _hardsigmoid,
    torch.sigmoid: _sigmoid,
    F.sigmoid: _sigmoid,
}

_METHODS: dict[str, Callable] = {
    "dequantize": _dequantize,
    "relu": _relu,
    "sigmoid": _sigmoid,
    "flatten": _flatten_function,
    "size": _size,
    "chunk": _chunk,
    "mean": _mean,
    "view": _view,
    "reshape": _view,
    "contiguous": _no_op_method,
    "detach": _no_op_method,
}

# Handlers that also accept a node without quantized inputs (a quantize of a float tensor).
_FLOAT_OK = {_quantize_module, _quantize_function}


_TORCHVISION_CHANNEL_SHUFFLE = torchvision_channel_shuffle()
if _TORCHVISION_CHANNEL_SHUFFLE is not None:
    _FUNCTIONS[_TORCHVISION_CHANNEL_SHUFFLE] = _channel_shuffle


def convert(model: nn.Module, *, engine: str | None = None, threads: int | None = None,
            fallback: bool = False) -> ConvertedModel:
    """A module with model's forward signature that runs its quantized operators on qeq.

    model: the output of torch.ao.quantization.convert (eager) or convert_fx (FX), in eval
    mode. engine: the engine whose bits to reproduce, "onednn" or "qnnpack" (default: the
    current torch.backends.quantized.engine, the one the model was converted for).
    threads: the size of the model's thread pool (default torch.get_num_threads()).
    fallback: run nodes qeq has no operator for in PyTorch (listed in .fallbacks) instead of
    raising ConversionError. The model is not modified."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"{_FN}: model: expected a torch.nn.Module, got {type(model).__name__}")
    if engine is None:
        engine = torch.backends.quantized.engine
    if engine not in _ENGINES:
        raise ConversionError(f"{_FN}: engine {engine!r}: qeq reproduces "
                              f"{' and '.join(_ENGINES)}", _FN)
    if threads is None:
        threads = torch.get_num_threads()
    if model.training:
        raise ConversionError(f"{_FN}: the model is in training mode (call .eval() first)", _FN)
    from torch.ao.quantization import FakeQuantizeBase, ObserverBase
    observed = next((name for name, m in model.named_modules()
                     if isinstance(m, (ObserverBase, FakeQuantizeBase))), None)
    if observed is not None:
        raise ConversionError(f"{_FN}: module {observed!r} is an observer: the model is prepared, "
                              "not quantized (call torch.ao.quantization.convert, or convert_fx, "
                              "after calibrating, then qeq.torch.convert)", _FN)
    if isinstance(model, fx.GraphModule):
        gm = model
    else:
        try:
            gm = _trace(model)
        except Exception as e:  # torch.fx raises many kinds
            raise ConversionError(f"{_FN}: torch.fx cannot trace {type(model).__name__} "
                                  f"({type(e).__name__}: {e}); qeq converts models that "
                                  "torch.fx.symbolic_trace accepts (data-dependent control "
                                  "flow is the usual cause)", _FN) from e
    pool = ThreadPool(threads)
    converter = _Converter(gm, engine, pool, fallback)
    converter.run()
    placeholders = [(n.name, str(n.target).lstrip("*"), n.args[0] if n.args else _NO_DEFAULT)
                    for n in gm.graph.nodes if n.op == "placeholder"]
    output = next(n for n in gm.graph.nodes if n.op == "output").args[0]
    return ConvertedModel(gm, converter.steps, output, engine, pool.threads,
                          converter.fallbacks, converter.kernels, placeholders, pool)

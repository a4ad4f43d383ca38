"""torch.fx tracing as qeq.torch needs it (convert, find_chains, equalize_model): PyTorch's
quantized and fused modules kept whole, tuple unpacking of traced values on Python 3.11, and
torchvision's channel_shuffle as one node (it reads x.size() into Python ints, which a trace
cannot)."""
from __future__ import annotations

from typing import Any, Callable

from torch import fx, nn

__all__ = ["trace", "torchvision_channel_shuffle"]


def torchvision_channel_shuffle() -> Any:
    """torchvision's channel_shuffle function, or None without torchvision."""
    try:
        from torchvision.models import shufflenetv2
    except ImportError:
        return None
    return shufflenetv2.channel_shuffle


_CHANNEL_SHUFFLE = torchvision_channel_shuffle()


class _Tracer(fx.Tracer):
    """torch.fx's tracer with PyTorch's quantized and fused modules kept whole, and tuple
    unpacking of a traced value (`a, b = x.chunk(2, dim=1)`) on Python 3.11, whose bytecode
    offsets torch 1.13's tracer does not read."""

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return super().is_leaf_module(m, qualname) or type(m).__module__.startswith(
            ("torch.nn.intrinsic", "torch.ao.nn"))

    def iter(self, obj: fx.Proxy) -> Any:
        import dis
        import inspect
        frame = inspect.currentframe()
        caller = frame.f_back.f_back if frame and frame.f_back else None
        if caller is not None:
            for inst in dis.get_instructions(caller.f_code):
                if inst.offset == caller.f_lasti and inst.opname == "UNPACK_SEQUENCE":
                    return (obj[i] for i in range(inst.argval))
        return super().iter(obj)


def _leaf_functions() -> list[tuple[Any, str, Callable]]:
    """(module, name, function) of library functions traced as one node."""
    if _CHANNEL_SHUFFLE is None:
        return []
    from torchvision.models import shufflenetv2
    return [(shufflenetv2, "channel_shuffle", _CHANNEL_SHUFFLE)]


def trace(model: nn.Module) -> fx.GraphModule:
    """The model's GraphModule (torch.fx symbolic tracing with the additions above)."""
    graph, root = trace_graph(model)
    return fx.GraphModule(root, graph)


def trace_graph(model: nn.Module) -> tuple[fx.Graph, nn.Module]:
    """The model's graph and the root its nodes name, without the GraphModule (whose code
    generation costs as much as the tracing: analyses that only read the graph skip it)."""
    leaves = _leaf_functions()
    tracer = _Tracer()

    def as_node(function: Callable) -> Callable:
        def traced(*args: Any, **kwargs: Any) -> Any:
            if any(isinstance(a, fx.Proxy) for a in args):
                return tracer.create_proxy("call_function", function, args, kwargs)
            return function(*args, **kwargs)
        return traced
    for module, name, function in leaves:
        setattr(module, name, as_node(function))
    try:
        graph = tracer.trace(model)
    finally:
        for module, name, function in leaves:
            setattr(module, name, function)
    return graph, tracer.root

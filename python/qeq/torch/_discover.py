"""Automatic pair discovery: trace a model with torch.fx and list what qeq can equalize and
fold, and why the rest cannot be.

A chain link is layer A -> (ops that commute with a positive per-channel scale) -> layer B,
where each node on the way has exactly one user: then scaling A's output channel c by 1/s and
B's input channel c by s keeps the function. ReLU, pooling, dropout and identity commute; a
batch norm directly after A folds into A first (so it is transparent); a flatten keeps
channels only where the spatial size is 1 (checked on the example input). Anything else
breaks the chain, with a reason: a branch (the value feeds several nodes), a residual add or
other arithmetic, a non-scale-equivariant op (ReLU6, hardswish, sigmoid, ...), a channel
count mismatch.
"""
from __future__ import annotations

import operator
from typing import Any, NamedTuple

import torch
from torch import fx, nn
import torch.nn.functional as F

from ._layers import _FUSED_RELU, _kind
from ._tracing import trace_graph

_RELU_FUNCS = {F.relu, torch.relu}
_PASS_MODULES = (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AvgPool1d, nn.AvgPool2d,
                 nn.AvgPool3d, nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d,
                 nn.AdaptiveAvgPool3d, nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d,
                 nn.AdaptiveMaxPool3d, nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d,
                 nn.Identity)
_PASS_FUNCS = {F.max_pool1d, F.max_pool2d, F.max_pool3d, F.avg_pool1d, F.avg_pool2d,
               F.avg_pool3d, F.adaptive_avg_pool1d, F.adaptive_avg_pool2d,
               F.adaptive_avg_pool3d, F.dropout}
_FLATTEN_FUNCS = {torch.flatten}
_FLATTEN_METHODS = {"flatten", "view", "reshape"}
_ARITHMETIC = {operator.add, operator.iadd, torch.add, operator.mul, operator.imul, torch.mul,
               torch.cat, operator.sub, torch.sub}
_BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


class Refusal(NamedTuple):
    """A layer whose output does not reach another layer as a chain link, and why."""

    layer: str
    reason: str


class Discovery(NamedTuple):
    """chains: maximal layer sequences for qeq.torch.equalize (each consecutive pair a
    link); pairs: the links; triplets: conv -> depthwise conv -> conv links (AIMET's
    depthwise-separable triplet); batch_norms: (layer, batch norm) folds; fusions: groups for
    fuse_modules ([layer, bn], [layer, bn, relu], [layer, relu]; a ReLU module called more
    than once is left out, as fusing it would change its other uses); refusals."""

    chains: list[list[str]]
    pairs: list[tuple[str, str]]
    triplets: list[tuple[str, str, str]]
    batch_norms: list[tuple[str, str]]
    fusions: list[list[str]]
    refusals: list[Refusal]
    # per pair, what lies between the two layers, in order: "bn", "relu", "max_pool",
    # "avg_pool", "flatten", "pass" (dropout, identity)
    links: dict[tuple[str, str], tuple[str, ...]] = {}


def _is_layer(module: nn.Module | None) -> bool:
    if module is None:
        return False
    if isinstance(module, _FUSED_RELU):
        module = module[0]
    return _kind(module) is not None


def _inner(module: nn.Module) -> nn.Module:
    return module[0] if isinstance(module, _FUSED_RELU) else module


def _channels(module: nn.Module) -> tuple[int, int]:
    """(in, out) channels of a Linear / Conv / ConvTranspose (fused or not)."""
    m = _inner(module)
    if isinstance(m, nn.Linear):
        return m.in_features, m.out_features
    return m.in_channels, m.out_channels


def _is_depthwise(module: nn.Module) -> bool:
    m = _inner(module)
    return isinstance(m, nn.modules.conv._ConvNd) and not m.transposed and \
        m.groups > 1 and m.groups == m.in_channels == m.out_channels


def _describe(node: fx.Node, modules: dict[str, nn.Module]) -> str:
    if node.op == "call_module":
        return f"{node.target} ({type(modules[node.target]).__name__})"
    if node.op == "call_function":
        return f"{getattr(node.target, '__name__', node.target)}()"
    if node.op == "call_method":
        return f".{node.target}()"
    return node.op


def _flatten_keeps_channels(node: fx.Node, src: fx.Node) -> bool | None:
    """Whether a flatten/view keeps channels 1:1 (spatial size 1); None without shapes."""
    shapes = getattr(node.graph, "_qeq_shapes", None)
    if shapes is not None:
        shapes()  # shape propagation, run once, the first time a flatten needs it
    meta = src.meta.get("tensor_meta")
    if meta is None:
        return None
    shape = tuple(meta.shape)
    spatial = 1
    for d in shape[2:]:
        spatial *= d
    return len(shape) >= 2 and spatial == 1


def _kind_of(node: fx.Node, modules: dict[str, nn.Module]) -> str:
    """relu / pass / flatten / bn / layer / arithmetic / other."""
    if node.op == "call_module":
        m = modules[node.target]
        if _is_layer(m):
            return "layer"
        if type(m) is nn.ReLU:
            return "relu"
        if isinstance(m, _PASS_MODULES):
            return "pass"
        if isinstance(m, nn.Flatten):
            return "flatten"
        if isinstance(m, _BATCH_NORMS):
            return "bn"
        return "other"
    if node.op == "call_function":
        if node.target in _RELU_FUNCS:
            return "relu"
        if node.target in _PASS_FUNCS:
            return "pass"
        if node.target in _FLATTEN_FUNCS:
            return "flatten"
        if node.target in _ARITHMETIC:
            return "arithmetic"
        return "other"
    if node.op == "call_method":
        if node.target in ("relu", "relu_"):
            return "relu"
        if node.target in _FLATTEN_METHODS:
            return "flatten"
        if node.target in ("add", "add_", "mul", "mul_", "sub", "sub_"):
            return "arithmetic"
        return "other"
    return node.op  # "output", ...


def _pass_kind(node: fx.Node, modules: dict[str, nn.Module]) -> str:
    """max_pool / avg_pool / pass for a node _kind_of calls "pass"."""
    what = modules[node.target] if node.op == "call_module" else node.target
    label = type(what).__name__ if node.op == "call_module" else getattr(what, "__name__", "")
    label = label.lower()
    return "max_pool" if "max" in label else "avg_pool" if "avg" in label else "pass"


def _follow(start: fx.Node, modules: dict[str, nn.Module], calls: dict[str, int],
            path: list[str]) -> tuple[fx.Node | None, str | None, str | None, list[str]]:
    """From layer node `start` along single users: (next layer node or None, refusal reason
    or None, the batch norm folded into start, the fusion group). `path` gets the kinds of
    the nodes passed."""
    name = str(start.target)
    bn_name = None
    fusion = [name]
    node = start
    while True:
        users = list(node.users)
        if not users:
            return None, None, bn_name, fusion
        if len(users) > 1:
            names = ", ".join(_describe(u, modules) for u in users)
            where = "" if node is start else f" (after {_describe(node, modules)})"
            return None, f"branch: the output{where} feeds {len(users)} nodes: {names}", \
                bn_name, fusion
        user = users[0]
        kind = _kind_of(user, modules)
        if kind == "output":
            return None, None, bn_name, fusion
        if kind in ("bn", "relu", "flatten"):
            path.append(kind)
        elif kind == "pass":
            path.append(_pass_kind(user, modules))
        if kind == "bn":
            if node is not start:
                return None, (f"batch norm {user.target} is not directly after the layer "
                              "(cannot fold; not scale-equivariant)"), bn_name, fusion
            bn_name = str(user.target)
            fusion.append(bn_name)
        elif kind == "relu":
            # fusable: a ReLU module used once, right after the layer or its batch norm
            if user.op == "call_module" and calls[str(user.target)] == 1 and \
                    node.op == "call_module" and str(node.target) == fusion[-1]:
                fusion.append(str(user.target))
        elif kind == "pass":
            pass
        elif kind == "flatten":
            keeps = _flatten_keeps_channels(user, node)
            if not keeps:
                why = ("no example input to check its layout" if keeps is None
                       else "it merges channels with spatial positions")
                return None, f"{_describe(user, modules)} breaks the channel layout ({why})", \
                    bn_name, fusion
        elif kind == "layer":
            return user, None, bn_name, fusion
        elif kind == "arithmetic":
            what = "residual add" if "add" in _describe(user, modules) else "arithmetic"
            return None, f"{what}: {_describe(user, modules)} combines this output with " \
                         "another value", bn_name, fusion
        else:
            return None, (f"non-scale-equivariant op {_describe(user, modules)}"), bn_name, \
                fusion
        node = user


def find_chains(model: nn.Module, example_inputs: Any = None) -> Discovery:
    """Traces `model` (torch.fx.symbolic_trace) and lists its equalizable chains, batch-norm
    folds and fusion groups, and a reason for every layer whose output starts no chain link.
    example_inputs (a tensor or a tuple) lets flattens be checked (shape propagation)."""
    graph, root = trace_graph(model)
    modules = dict(root.named_modules())
    if example_inputs is not None:
        from torch.fx.passes.shape_prop import ShapeProp
        args = example_inputs if isinstance(example_inputs, tuple) else (example_inputs,)
        # One sample is enough for the shapes a flatten check reads, and the forward pass
        # runs only if some chain reaches a flatten.
        args = tuple(a[:1] if isinstance(a, torch.Tensor) and a.dim() >= 2 and
                     a.shape[0] > 1 else a for a in args)
        done = []

        def propagate() -> None:
            if not done:
                done.append(True)
                with torch.no_grad():
                    ShapeProp(fx.GraphModule(root, graph)).propagate(*args)
        graph._qeq_shapes = propagate  # type: ignore[attr-defined]
    calls: dict[str, int] = {}
    for node in graph.nodes:
        if node.op == "call_module":
            calls[str(node.target)] = calls.get(str(node.target), 0) + 1
    nxt: dict[str, str] = {}
    pairs, bns, fusions, refusals = [], [], [], []
    links: dict[tuple[str, str], tuple[str, ...]] = {}
    seen_layers = []
    for node in graph.nodes:
        if node.op != "call_module" or not _is_layer(modules[node.target]):
            continue
        name = str(node.target)
        if calls[name] > 1:
            refusals.append(Refusal(name, f"the module is called {calls[name]} times"))
            continue
        seen_layers.append(name)
        path: list[str] = []
        target, reason, bn, fusion = _follow(node, modules, calls, path)
        if bn is not None:
            bns.append((name, bn))
        if len(fusion) > 1:
            fusions.append(fusion)
        if target is None:
            if reason is not None:
                refusals.append(Refusal(name, reason))
            continue
        other = str(target.target)
        a, b = modules[name], modules[other]
        if calls[other] > 1:
            refusals.append(Refusal(name, f"{other} is called {calls[other]} times"))
        elif _channels(a)[1] != _channels(b)[0]:
            refusals.append(Refusal(name, f"channel counts differ: {name} gives "
                                          f"{_channels(a)[1]}, {other} takes {_channels(b)[0]}"))
        else:
            pairs.append((name, other))
            links[(name, other)] = tuple(path)
            nxt[name] = other
    starts = [a for a, _ in pairs if a not in set(nxt.values())]
    chains = []
    for a in starts:
        chain = [a]
        while chain[-1] in nxt:
            chain.append(nxt[chain[-1]])
        chains.append(chain)
    triplets = [(c[i], c[i + 1], c[i + 2]) for c in chains for i in range(len(c) - 2)
                if _is_depthwise(modules[c[i + 1]])]
    return Discovery(chains, pairs, triplets, bns, fusions, refusals, links)

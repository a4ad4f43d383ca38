"""qeq.torch: drop-in replacements for PyTorch 1.13's quantization-preparation functions.

    from qeq.torch import cross_layer_equalization, equalize, fuse_modules

Same signatures and, for the modules PyTorch accepts, the same bits as
torch.ao.quantization._equalize, torch.nn.utils.fusion and torch.ao.quantization.fuse_modules
(qeq's C library does the arithmetic in PyTorch's float32 order). Differences, all
deliberate (docs/differences.md#the-python-drop-ins and
docs/differences.md#pytorch-113-versus-main):

- Equalization works in place on the modules' existing Parameters (no new Parameter
  objects, so optimizers and hooks stay attached) and needs float32, contiguous CPU weights.
- More layers: Conv1d/3d, ConvTranspose1d/2d/3d, grouped and depthwise convolutions, the
  fused ConvReLU1d/3d; a first layer without bias; groups longer than two ([a, b, c] means
  [a, b], [b, c]) and module objects in equalize's list, as PyTorch's main branch.
- Channels PyTorch would turn into Inf/NaN (a zero range) are left unscaled; a NaN or Inf in
  a weight raises NonFiniteError instead of spreading. equalize stops after max_sweeps.
- Grouped ConvTranspose + BatchNorm folds correctly (PyTorch raises); Linear + an
  affine=False BatchNorm works (PyTorch raises TypeError).
- fuse_modules honours fuser_func and fuse_custom_config_dict and moves every forward
  pre-hook of the first module and forward hook of the last (PyTorch main's behaviour);
  fuse_modules_qat too, with PyTorch's QAT fuser (captured at import, so qeq's functions may
  be installed in PyTorch's namespace).
- Every check runs before anything is written: an error leaves the model as it was.

Beyond PyTorch's eager API: quantized_linear (a converted quantized Linear's forward through
qeq's GEMM), equalize_inputs / observe_input_ranges / layer_sqnr (FX's input-weight
equalization on eager models) and find_chains (torch.fx discovery of equalizable chains).
"""
from __future__ import annotations

import copy
import importlib
from typing import Any, Callable, Iterable, Sequence

import torch
from torch import nn
import torch.nn.intrinsic as nni

from .. import core
from .._arrays import buffer
from .._checks import check_int
from ._convert import ConversionError, ConvertedModel, convert
from ._discover import Discovery, Refusal, find_chains
from ._input_eq import (InputEqualization, equalize_inputs, layer_sqnr,
                        observe_input_ranges)
from .._lib import QeqError
from ._layers import (_FUSED_RELU, _KINDS, _LAYER_INDEX, _kind, layer_of,  # noqa: F401
                      named_errors)
from ._input_scale import (InputScaledConv1d, InputScaledConv2d, InputScaledConv3d,
                           InputScaledLinear, load_input_scaled_state_dict)
from ._linear import quantized_linear
from ._prepare import NonConvergenceWarning, PrepareReport, equalize_model

__all__ = [
    "channel_range", "cross_layer_equalization", "equalize", "converged",
    "fuse_conv_bn_weights", "fuse_conv_bn_eval", "fuse_linear_bn_weights",
    "fuse_linear_bn_eval", "fuse_known_modules", "fuse_modules", "fuse_modules_qat",
    "layer_of", "FusionError", "quantized_linear", "find_chains", "Discovery", "Refusal",
    "equalize_inputs", "observe_input_ranges", "layer_sqnr", "InputEqualization",
    "convert", "ConvertedModel", "ConversionError", "equalize_model", "PrepareReport",
    "NonConvergenceWarning", "InputScaledLinear", "InputScaledConv1d", "InputScaledConv2d",
    "InputScaledConv3d", "load_input_scaled_state_dict",
]


# PyTorch's own functions, captured at import: users may install qeq's functions in PyTorch's
# namespace (torch.ao.quantization.fuse_modules_qat = qeq.torch.fuse_modules_qat), and a
# lookup at call time would then find qeq's and recurse.
_TORCH_FUSE_KNOWN_MODULES = importlib.import_module(
    "torch.ao.quantization.fuse_modules").fuse_known_modules


class FusionError(ValueError, AssertionError):
    """A fusion request qeq cannot serve (unknown pattern, mode mismatch, training mode).
    Also an AssertionError, which is what PyTorch raises in these cases."""


# ---- equalization (torch.ao.quantization._equalize) ----------------------------------------

def channel_range(input: torch.Tensor, axis: int = 0) -> torch.Tensor:
    """max - min of `input` per index of `axis` (PyTorch's channel_range, bit for bit)."""
    axis = check_int(axis, "channel_range: axis", "int")
    out = torch.empty(input.shape[axis] if input.dim() else 0, dtype=torch.float32)
    core.channel_range(input, axis, out)
    return out


def cross_layer_equalization(m1: nn.Module, m2: nn.Module, output_axis: int = 0,
                             input_axis: int = 1) -> None:
    """Scales m1's output channels by 1/s and m2's input channels by s, in place, so their
    weight ranges match (PyTorch's cross_layer_equalization). The axes follow from the layer
    kinds; only PyTorch's defaults are accepted."""
    if (output_axis, input_axis) != (0, 1):
        raise ValueError("qeq.torch.cross_layer_equalization takes the axes from the layer "
                         "kinds; pass output_axis=0, input_axis=1 (PyTorch's defaults)")
    first, second = layer_of(m1, "m1"), layer_of(m2, "m2")
    with torch.no_grad():
        core.cross_layer_equalize(first, second)


def _resolve(model: nn.Module, paired_modules_list: Sequence[Sequence[Any]]) -> list[list[str]]:
    names_by_id = None
    groups = []
    for group in paired_modules_list:
        if isinstance(group, (str, nn.Module)):
            raise TypeError("paired_modules_list: expected a list of groups (lists of names or "
                            "modules)")
        if len(group) < 2:
            raise ValueError("Group must have at least two modules")
        names = []
        for item in group:
            if isinstance(item, str):
                names.append(item)
            elif isinstance(item, nn.Module):
                if names_by_id is None:
                    names_by_id = {id(m): n for n, m in model.named_modules()}
                if id(item) not in names_by_id:
                    raise ValueError("module is not in the model")
                names.append(names_by_id[id(item)])
            else:
                raise TypeError("item must be a nn.Module or a string")
        groups.append(names)
    return groups


def equalize(model: nn.Module, paired_modules_list: Sequence[Sequence[Any]],
             threshold: float = 1e-4, inplace: bool = True,
             max_sweeps: int = 10000) -> nn.Module:
    """PyTorch's equalize: cross-layer equalization of every pair, sweep after sweep, until the
    weights change by less than `threshold` (PyTorch's measure) or max_sweeps sweeps ran.
    Groups are lists of dotted names or module objects; [a, b, c] means [a, b], [b, c].
    The sweep count and final change of the last call are in qeq.torch.last_equalize_report."""
    global last_equalize_report
    max_sweeps = check_int(max_sweeps, "equalize: max_sweeps", "size_t", lo=1)
    groups = _resolve(model, paired_modules_list)
    if not inplace:
        model = copy.deepcopy(model)
    modules = dict(model.named_modules())
    layers: dict[str, core.Layer] = {}
    chains = []
    for names in groups:
        chain = []
        for name in names:
            if name not in modules:
                raise KeyError(name)
            if name not in layers:
                layers[name] = layer_of(modules[name], name)
            chain.append(layers[name])
        chains.append(chain)
    flat = [name for names in groups for name in names]
    with torch.no_grad(), named_errors("equalize", flat, "the chains over"):
        last_equalize_report = core.equalize_groups(chains, threshold, max_sweeps)
    return model


last_equalize_report: core.EqualizeResult | None = None


def converged(curr_modules: dict[str, nn.Module], prev_modules: dict[str, nn.Module | None],
              threshold: float = 1e-4) -> bool:
    """True when the summed Frobenius norms of the weights' changes are below threshold."""
    if curr_modules.keys() != prev_modules.keys():
        raise ValueError("The keys to the given mappings must have the same set of names of "
                         "modules")
    total = torch.zeros((), dtype=torch.float32)
    if any(m is None for m in prev_modules.values()):
        return False
    for name, cur in curr_modules.items():
        prev = prev_modules[name]
        wc = (cur[0] if isinstance(cur, _FUSED_RELU) else cur).weight
        wp = (prev[0] if isinstance(prev, _FUSED_RELU) else prev).weight
        total = total + torch.norm(wc - wp)
    return bool(total < threshold)


# ---- batch-norm folding (torch.nn.utils.fusion) --------------------------------------------

def _conv_kind(ndim: int, transpose: bool) -> str:
    if ndim not in (3, 4, 5):
        raise ValueError(f"conv_w: a convolution weight has 3 to 5 dimensions, got {ndim}")
    return f"conv{'_transpose' if transpose else ''}{ndim - 2}d"


def _fold(kind: str, weight: torch.Tensor, bias: torch.Tensor | None, groups: int,
          bn_rm: Any, bn_rv: Any, bn_eps: float, bn_w: Any, bn_b: Any,
          ) -> tuple[torch.Tensor, torch.Tensor]:
    """Folds into new tensors (copies of weight and bias; the inputs stay as they are). The
    batch-norm vectors are checked by core.fold_batch_norm_to."""
    if bn_rm is None or bn_rv is None:
        raise ValueError("bn.running_mean and bn.running_var must not be None")
    with torch.no_grad():
        source = weight.detach()
        layer = core._layer_struct(kind, source, None if bias is None else bias.detach(),
                                   groups, "none")
        w = torch.empty_like(source, memory_format=torch.contiguous_format)
        b = torch.empty(bn_rm.numel(), dtype=torch.float32)
        core._fold_to(layer, source.shape, bn_rm.detach(), bn_rv.detach(),
                      None if bn_w is None else bn_w.detach(),
                      None if bn_b is None else bn_b.detach(), float(bn_eps), w, b)
    return w, b


def fuse_conv_bn_weights(conv_w: torch.Tensor, conv_b: torch.Tensor | None, bn_rm: torch.Tensor,
                         bn_rv: torch.Tensor, bn_eps: float, bn_w: torch.Tensor | None,
                         bn_b: torch.Tensor | None, transpose: bool = False,
                         ) -> tuple[nn.Parameter, nn.Parameter]:
    """PyTorch's fuse_conv_bn_weights: new (weight, bias) Parameters with the eval-mode batch
    norm folded in. transpose=True: a ConvTranspose weight; its groups follow from the batch
    norm's channel count, and grouped ones fold correctly."""
    groups = 1
    if transpose:
        if conv_w.dim() < 2 or conv_w.shape[1] == 0 or bn_rm.numel() % conv_w.shape[1]:
            raise core.ShapeMismatchError(
                f"fuse_conv_bn_weights: {bn_rm.numel()} batch-norm channels are not a "
                f"multiple of the ConvTranspose weight's dimension 1 ({conv_w.shape[1]})")
        groups = bn_rm.numel() // conv_w.shape[1]
    w, b = _fold(_conv_kind(conv_w.dim(), transpose), conv_w, conv_b, groups, bn_rm, bn_rv,
                 bn_eps, bn_w, bn_b)
    return nn.Parameter(w), nn.Parameter(b)


def fuse_linear_bn_weights(linear_w: torch.Tensor, linear_b: torch.Tensor | None,
                           bn_rm: torch.Tensor, bn_rv: torch.Tensor, bn_eps: float,
                           bn_w: torch.Tensor | None, bn_b: torch.Tensor | None,
                           ) -> tuple[nn.Parameter, nn.Parameter]:
    """PyTorch's fuse_linear_bn_weights (bn_w / bn_b None: an affine=False batch norm)."""
    if linear_w.dim() != 2:
        raise ValueError(f"linear_w: expected 2 dimensions, got {linear_w.dim()}")
    w, b = _fold("linear", linear_w, linear_b, 1, bn_rm, bn_rv, bn_eps, bn_w, bn_b)
    return nn.Parameter(w), nn.Parameter(b)


def _check_eval(*modules: nn.Module) -> None:
    if any(m.training for m in modules):
        raise FusionError("Fusion only for eval!")


def _copy_module(module: nn.Module, parameters: dict[str, nn.Parameter]) -> nn.Module:
    """A copy of a leaf module (Linear, Conv*) with `parameters` replacing its own: what
    copy.deepcopy(module, memo) gives, without its generic walk (the cost of folding a small
    layer). Containers are copied (parameters, buffers cloned, hook dicts), submodules
    deep-copied; immutable attributes are shared."""
    new = type(module).__new__(type(module))
    # hook dicts and the like: the copy's own
    new.__dict__.update((key, type(value)(value) if isinstance(value, (dict, list)) else value)
                        for key, value in module.__dict__.items())
    new.__dict__["_parameters"] = type(module._parameters)(
        (k, parameters[k] if k in parameters else
         (None if v is None else nn.Parameter(v.detach().clone(), v.requires_grad)))
        for k, v in module._parameters.items())
    new.__dict__["_buffers"] = type(module._buffers)(
        (k, None if v is None else v.detach().clone()) for k, v in module._buffers.items())
    new.__dict__["_modules"] = type(module._modules)(
        (k, copy.deepcopy(v)) for k, v in module._modules.items())
    return new


def _fold_module(module: nn.Module, bn: nn.modules.batchnorm._BatchNorm) -> nn.Module:
    kind = _kind(module)
    if kind is None:
        raise FusionError(f"cannot fold a batch norm into {type(module).__name__}")
    w, b = _fold(kind, module.weight, module.bias, getattr(module, "groups", 1),
                 bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias)
    return _copy_module(module, {"weight": nn.Parameter(w), "bias": nn.Parameter(b)})


def fuse_conv_bn_eval(conv: nn.Module, bn: nn.modules.batchnorm._BatchNorm,
                      transpose: bool = False) -> nn.Module:
    """A copy of conv with the eval-mode batch norm folded in (PyTorch's fuse_conv_bn_eval).
    The layout follows the module: transpose must say whether conv is a ConvTranspose."""
    _check_eval(conv, bn)
    is_transpose = isinstance(conv, nn.modules.conv._ConvTransposeNd)
    if bool(transpose) != is_transpose:
        raise ValueError(f"fuse_conv_bn_eval: transpose={transpose} for a "
                         f"{type(conv).__name__}")
    return _fold_module(conv, bn)


def fuse_linear_bn_eval(linear: nn.Linear, bn: nn.modules.batchnorm._BatchNorm) -> nn.Linear:
    """A copy of linear with the eval-mode batch norm folded in."""
    _check_eval(linear, bn)
    return _fold_module(linear, bn)


# ---- fuse_modules (torch.ao.quantization.fuse_modules) ------------------------------------

def _same_mode(what: str, *modules: nn.Module) -> None:
    if len({m.training for m in modules}) != 1:
        raise FusionError(f"{what} and BN both must be in the same mode (train or eval).")


def _conv_bn(is_qat: bool, conv: nn.Module, bn: nn.Module) -> nn.Module:
    _check_fold(_conv_bn, conv, bn)
    return _fold_module(conv, bn)


_CONV_RELU = {nn.Conv1d: nni.ConvReLU1d, nn.Conv2d: nni.ConvReLU2d, nn.Conv3d: nni.ConvReLU3d}


def _conv_bn_relu(is_qat: bool, conv: nn.Module, bn: nn.Module, relu: nn.Module) -> nn.Module:
    _check_fold(_conv_bn_relu, conv, bn, relu)
    return _CONV_RELU[type(conv)](_fold_module(conv, bn), relu)


def _conv_relu(is_qat: bool, conv: nn.Module, relu: nn.Module) -> nn.Module:
    return _CONV_RELU[type(conv)](conv, relu)


def _linear_bn(is_qat: bool, linear: nn.Module, bn: nn.Module) -> nn.Module:
    _check_fold(_linear_bn, linear, bn)
    return _fold_module(linear, bn)


def _linear_relu(is_qat: bool, linear: nn.Module, relu: nn.Module) -> nn.Module:
    return nni.LinearReLU(linear, relu)


def _bn_relu(is_qat: bool, bn: nn.Module, relu: nn.Module) -> nn.Module:
    cls = nni.BNReLU2d if isinstance(bn, nn.BatchNorm2d) else nni.BNReLU3d
    return cls(bn, relu)


def _convtranspose_bn(is_qat: bool, convt: nn.Module, bn: nn.Module) -> nn.Module:
    _check_fold(_convtranspose_bn, convt, bn)
    return _fold_module(convt, bn)


# The fuser methods that fold a batch norm, and the layer name their mode errors use.
_FOLDING: dict[Callable[..., nn.Module], str] = {
    _conv_bn: "Conv", _conv_bn_relu: "Conv", _linear_bn: "Linear",
    _convtranspose_bn: "ConvTranspose"}


def _check_fold(method: Callable[..., nn.Module], *mods: nn.Module) -> None:
    """A folding method's checks: one mode for all, and that mode eval."""
    _same_mode(_FOLDING[method], *mods)
    _check_eval(*mods[:2])


FUSER_METHODS: dict[tuple[type, ...], Callable[..., nn.Module]] = {}
for _n, (_conv, _bn) in enumerate(((nn.Conv1d, nn.BatchNorm1d), (nn.Conv2d, nn.BatchNorm2d),
                                   (nn.Conv3d, nn.BatchNorm3d))):
    FUSER_METHODS[(_conv, _bn)] = _conv_bn
    FUSER_METHODS[(_conv, _bn, nn.ReLU)] = _conv_bn_relu
    FUSER_METHODS[(_conv, nn.ReLU)] = _conv_relu
FUSER_METHODS[(nn.Linear, nn.BatchNorm1d)] = _linear_bn
FUSER_METHODS[(nn.Linear, nn.ReLU)] = _linear_relu
FUSER_METHODS[(nn.BatchNorm2d, nn.ReLU)] = _bn_relu
FUSER_METHODS[(nn.BatchNorm3d, nn.ReLU)] = _bn_relu
for _convt, _bn in ((nn.ConvTranspose1d, nn.BatchNorm1d), (nn.ConvTranspose2d, nn.BatchNorm2d),
                    (nn.ConvTranspose3d, nn.BatchNorm3d)):
    FUSER_METHODS[(_convt, _bn)] = _convtranspose_bn


try:
    from torch.nn.utils.parametrize import type_before_parametrizations as _type_of
except ImportError:  # pragma: no cover
    _type_of = type


def _fuse_known(mod_list: Sequence[nn.Module], is_qat: bool,
                additional_fuser_method_mapping: dict | None) -> list[nn.Module]:
    """fuse_known_modules without touching mod_list: the hooks are registered on the fused
    module but not yet removed from the originals."""
    types = tuple(_type_of(m) for m in mod_list)
    mapping = dict(FUSER_METHODS)
    mapping.update(additional_fuser_method_mapping or {})
    method = mapping.get(types)
    if method is None:
        raise FusionError(f"did not find fuser method for: {types} ")
    fused = method(is_qat, *mod_list)
    first, last = mod_list[0], mod_list[-1]
    # (a folded copy of the first module already carries its pre-hooks)
    for hook in list(first._forward_pre_hooks.values()):
        if hook not in fused._forward_pre_hooks.values():
            fused.register_forward_pre_hook(hook)
    for hook in list(last._forward_hooks.values()):
        if hook not in fused._forward_hooks.values():
            fused.register_forward_hook(hook)
    # a folded copy inside the fused module must not run the moved hooks a second time
    moved_pre = list(first._forward_pre_hooks.values())
    moved_post = list(last._forward_hooks.values())
    originals = {id(m) for m in mod_list}
    for sub in fused.modules():
        if sub is fused or id(sub) in originals:
            continue
        for hooks, moved in ((sub._forward_pre_hooks, moved_pre), (sub._forward_hooks, moved_post)):
            for key in [k for k, h in hooks.items() if any(h is m for m in moved)]:
                del hooks[key]
    new_mods: list[nn.Module] = [fused]
    for _ in mod_list[1:]:
        identity = _copy_module(_IDENTITY, {})  # nn.Identity() without Module.__init__'s cost
        identity.training = first.training
        new_mods.append(identity)
    return new_mods


_IDENTITY = nn.Identity()


def _clear_moved_hooks(mod_list: Sequence[nn.Module]) -> None:
    mod_list[0]._forward_pre_hooks.clear()
    mod_list[-1]._forward_hooks.clear()


def fuse_known_modules(mod_list: Sequence[nn.Module], is_qat: bool = False,
                       additional_fuser_method_mapping: dict | None = None) -> list[nn.Module]:
    """The fused module followed by nn.Identity()s (training flag copied from the first), for
    the eval-mode patterns of PyTorch's fuser_method_mappings (plus any additional ones).
    Forward pre-hooks of the first module and forward hooks of the last move to the fused
    module. is_qat=True is PyTorch's own fuse_known_modules."""
    if is_qat:
        return _TORCH_FUSE_KNOWN_MODULES(list(mod_list), True, additional_fuser_method_mapping)
    new_mods = _fuse_known(mod_list, is_qat, additional_fuser_method_mapping)
    _clear_moved_hooks(mod_list)
    return new_mods


def _get_module(model: nn.Module, name: str) -> nn.Module:
    module = model
    for part in name.split("."):
        # registered submodules first: nn.Module.__getattr__ is slow on deep models
        sub = module._modules.get(part) if isinstance(module, nn.Module) else None
        if sub is None:
            if not hasattr(module, part) or not isinstance(getattr(module, part), nn.Module):
                raise KeyError(f"{name}: no such submodule")
            sub = getattr(module, part)
        module = sub
    return module


def _set_module(model: nn.Module, name: str, new: nn.Module) -> None:
    parent, _, last = name.rpartition(".")
    module = _get_module(model, parent) if parent else model
    setattr(module, last, new)


def fuse_modules(model: nn.Module, modules_to_fuse: Sequence[Any], inplace: bool = False,
                 fuser_func: Callable[..., list[nn.Module]] = fuse_known_modules,
                 fuse_custom_config_dict: dict | None = None) -> nn.Module:
    """PyTorch's fuse_modules for eval-mode models with qeq-folded weights. modules_to_fuse is
    one list of dotted names or a list of such lists. Every group is fused before any is
    installed, so an error leaves the model as it was."""
    return _fuse(model, modules_to_fuse, False, inplace, fuser_func, fuse_custom_config_dict)


def fuse_modules_qat(model: nn.Module, modules_to_fuse: Sequence[Any], inplace: bool = False,
                     fuser_func: Callable[..., list[nn.Module]] = fuse_known_modules,
                     fuse_custom_config_dict: dict | None = None) -> nn.Module:
    """Train-mode (QAT) fusion keeps the batch norms (nothing to fold): PyTorch's own
    fuse_known_modules(is_qat=True) builds the fused modules, or fuser_func with the
    fuse_custom_config_dict's additional_fuser_method_mapping. Every group is fused before any
    is installed, as in fuse_modules."""
    if fuser_func is fuse_known_modules:
        fuser_func = _TORCH_FUSE_KNOWN_MODULES
    return _fuse(model, modules_to_fuse, True, inplace, fuser_func, fuse_custom_config_dict)


def _fuse(model: nn.Module, modules_to_fuse: Sequence[Any], is_qat: bool, inplace: bool,
          fuser_func: Callable[..., list[nn.Module]], custom: dict | None) -> nn.Module:
    additional = (custom or {}).get("additional_fuser_method_mapping", {})
    if all(isinstance(item, str) for item in modules_to_fuse):
        groups = [list(modules_to_fuse)]
    else:
        groups = [list(group) for group in modules_to_fuse]
    ours = fuser_func is fuse_known_modules
    if ours and inplace and not is_qat and _fuse_in_place(model, groups, additional):
        return model
    # Look everything up and fuse on the caller's model first (fusers copy what they fold),
    # then copy if asked and install: nothing changes unless every group fuses.
    plan = []
    for group in groups:
        mods = [_get_module(model, name) for name in group]
        new_mods = (_fuse_known(mods, is_qat, additional) if ours
                    else fuser_func(mods, is_qat, additional))
        plan.append((group, mods, new_mods))
    if not inplace:
        # fused modules hold the originals (ConvReLU etc.): copy model and plan together
        model, plan = copy.deepcopy((model, plan))
    for group, mods, new_mods in plan:
        if ours:
            _clear_moved_hooks(mods)
        for name, new in zip(group, new_mods):
            _set_module(model, name, new)
    return model



def _storage_bytes(t: torch.Tensor) -> int:
    storage = t.untyped_storage() if hasattr(t, "untyped_storage") else t.storage()
    return storage.nbytes()


def _own_parameters(model: nn.Module, layers: list[nn.Module]) -> bool:
    """Whether every layer is registered once in the model, and its weight and bias are its
    own: Parameters of no other module, each the whole of a storage no other parameter or
    buffer of the model uses (tied weights and views would see the fold twice or at all)."""
    wanted = {id(m) for m in layers}
    seen: set[int] = set()
    modules = []
    stack = [model]
    while stack:
        module = stack.pop()
        modules.append(module)
        for child in module._modules.values():
            if child is None:
                continue
            if id(child) in seen:
                if id(child) in wanted:
                    return False
                continue
            seen.add(id(child))
            stack.append(child)
    owned: dict[int, int] = {}  # data_ptr -> how many tensors of the model start there
    for module in modules:
        for tensors in (module._parameters, module._buffers):
            for t in tensors.values():
                if t is not None and t.numel():
                    owned[t.data_ptr()] = owned.get(t.data_ptr(), 0) + 1
    for layer in layers:
        if hasattr(layer, "parametrizations"):
            return False
        for t in (layer.weight, layer.bias):
            if t is None:
                continue
            if not isinstance(t, torch.Tensor) or owned.get(t.data_ptr(), 0) != 1 or \
                    t.storage_offset() != 0 or _storage_bytes(t) != t.numel() * t.element_size():
                return False
    return True


def _fuse_in_place(model: nn.Module, groups: list[list[str]], additional: dict,
                   ranges: dict[str, tuple[Any, Any]] | None = None) -> bool:
    """fuse_modules(inplace=True) with qeq's fuser, folding each batch norm into its layer's own
    weight and bias (qeq_fold_batch_norms: every layer checked before the first is written),
    without copying the layers: the folded layer keeps its module and Parameter objects, and
    the model gets no new tensor but the biases of layers that had none. False (nothing done)
    when a layer to fold is shared (registered twice, tied or viewed weights): fuse_modules
    then copies as PyTorch does. `ranges`, when given, gets each folded layer's
    per-output-channel (min, max) numpy arrays before folding, by its group's first name (the
    fold reads them anyway to check the weight)."""
    mapping = dict(FUSER_METHODS)
    mapping.update(additional or {})
    folds = []  # (group, mods) of the groups that fold a batch norm
    resolved = []  # per group in order: (group, mods, whether it folds)
    for group in groups:
        mods = [_get_module(model, name) for name in group]
        types = tuple(_type_of(m) for m in mods)
        method = mapping.get(types)
        if method is None:
            raise FusionError(f"did not find fuser method for: {types} ")
        if method in _FOLDING:
            _check_fold(method, *mods)
            folds.append((group, mods))
        resolved.append((group, mods, method in _FOLDING))
    layers = [mods[0] for _, mods in folds]
    if len({id(m) for m in layers}) != len(layers) or not _own_parameters(model, layers):
        return False
    # per group in order: (group, mods, its new modules, or None for a fold); the other
    # patterns' fusers run here, once, before anything is written
    plan = [(group, mods, None if folding else _fuse_known(mods, False, additional))
            for group, mods, folding in resolved]
    entries, storage = [], []
    for group, (layer, bn, *_) in folds:
        if bn.running_mean is None or bn.running_var is None:
            raise ValueError(f"{group[1]}: bn.running_mean and bn.running_var must not be None")
        weight, bias = layer.weight, layer.bias
        out_channels = weight.shape[1] * layer.groups if isinstance(
            layer, nn.modules.conv._ConvTransposeNd) else weight.shape[0]
        storage.append(torch.empty(out_channels, dtype=torch.float32) if bias is None else None)
        entries.append((group[0], _kind(layer), weight, bias, getattr(layer, "groups", 1),
                        bn.running_mean, bn.running_var, bn.weight, bn.bias, float(bn.eps),
                        storage[-1]))
    if entries:
        try:
            found = core._fold_tensors(entries, minmax=ranges is not None)
            if ranges is not None:
                ranges.update(zip((group[0] for group, _ in folds), found))
        except QeqError as e:
            names = [group[0] for group, _ in folds]
            message = _LAYER_INDEX.sub(lambda m: repr(names[int(m.group(1))]), str(e))
            raise type(e)(f"fuse_modules: {message}", "fuse_modules") from e
    # Folded: from here on nothing can fail.
    new_biases = iter(storage)
    for group, mods, new_mods in plan:
        if new_mods is not None:
            _clear_moved_hooks(mods)
            for name, new in zip(group, new_mods):
                _set_module(model, name, new)
            continue
        layer, last = mods[0], mods[-1]
        new_bias = next(new_biases)
        if new_bias is not None:
            layer._parameters["bias"] = nn.Parameter(new_bias)
        for p in (layer.weight, layer.bias):
            if not p.requires_grad:  # PyTorch's folded Parameters require grad
                p.requires_grad_(True)
        if len(mods) == 3:  # conv, bn, relu: the first's pre-hooks move to the ConvReLU
            fused = _CONV_RELU[type(layer)](layer, last)
            for hook in list(layer._forward_pre_hooks.values()):
                fused.register_forward_pre_hook(hook)
            layer._forward_pre_hooks.clear()
        else:
            fused = layer
        for hook in list(last._forward_hooks.values()):
            fused.register_forward_hook(hook)
        last._forward_hooks.clear()
        _set_module(model, group[0], fused)
        for name in group[1:]:
            identity = _copy_module(_IDENTITY, {})
            identity.training = layer.training
            _set_module(model, name, identity)
    return True

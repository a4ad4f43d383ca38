"""torchvision's quantizable models, quantized by PyTorch with a fixed recipe (random weights,
nothing downloaded): what `python3 -m qeq run torchvision:NAME`, the tests and the benchmarks
convert.

The recipe, per engine:
1. torchvision.models.quantization.NAME(weights=None, quantize=False) with torch.manual_seed
   (seed): random weights;
2. batch-norm statistics measured on generated images (each BatchNorm's running mean and
   variance averaged over `stats_batches` batches in training mode), then perturbed: gamma
   in [0.5, 1.5), beta ~ N(0, 0.1), so that every layer's output range is realistic and the
   batch norms do something when folded;
3. model.fuse_model(), qconfig = get_default_qconfig(QCONFIG[engine]), prepare, calibration
   on `calibration_batches` batches of generated images, convert, all under
   torch.backends.quantized.engine = engine. QCONFIG maps onednn to PyTorch's "x86" qconfig
   (7-bit activations, the configuration PyTorch recommends for x86 CPUs and the one its
   oneDNN path is exact on, see docs/python.md) and qnnpack to "qnnpack".
Generated images: per-pixel uniform noise blurred by a 5x5 box filter and normalised as
torchvision normalises photos, so neighbouring pixels correlate as in photos.
"""
from __future__ import annotations

import copy
from typing import Any, Callable

import torch
from torch import nn

__all__ = ["MODELS", "QCONFIG", "generated_images", "quantized_torchvision", "input_size"]

MODELS = ("resnet18", "resnet50", "resnext101_32x8d", "mobilenet_v2", "mobilenet_v3_large",
          "shufflenet_v2_x1_0", "googlenet", "inception_v3")
QCONFIG = {"onednn": "x86", "qnnpack": "qnnpack"}


def input_size(name: str) -> int:
    """The input side torchvision's weights were trained at."""
    return 299 if name == "inception_v3" else 224


def generated_images(batch: int, size: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(batch, 3, size + 4, size + 4, generator=g)
    x = nn.functional.avg_pool2d(x, 5, stride=1)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    # Box-filtered noise has a small spread: stretch it to a photo's.
    x = (x - 0.5) * 3.0 + 0.5
    return ((x.clamp(0, 1) - mean) / std).contiguous()


def _builder(name: str) -> Callable[..., nn.Module]:
    import torchvision.models.quantization as tvq
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; qeq's recipe covers torchvision's "
                         f"quantizable {', '.join(MODELS)}")
    return getattr(tvq, name)


def _measure_running_stats(model: nn.Module, images: list[torch.Tensor]) -> None:
    """Every BatchNorm2d's running mean and variance averaged over the images' batches (in
    training mode), then eval mode."""
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the batches
        m.train()
    with torch.no_grad():
        for x in images:
            model(x)
    for m in norms:
        m.eval()
        m.momentum = 0.1


def _perturb_affine(model: nn.Module, generator: torch.Generator) -> None:
    """gamma in [0.5, 1.5), beta ~ N(0, 0.1) for every BatchNorm2d."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.weight.data.copy_(torch.rand(m.num_features, generator=generator) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=generator) * 0.1)


def _measure_batch_norms(model: nn.Module, images: list[torch.Tensor], seed: int) -> None:
    _measure_running_stats(model, images)
    _perturb_affine(model, torch.Generator().manual_seed(seed + 1))


def float_torchvision(name: str, *, seed: int = 0, size: int | None = None,
                      stats_batches: int = 2, batch: int = 4) -> nn.Module:
    """The float quantizable model of the recipe's steps 1 and 2, in eval mode (batch: the
    images per statistics batch, at least 2)."""
    size = input_size(name) if size is None else size
    torch.manual_seed(seed)
    kwargs: dict[str, Any] = {"weights": None, "quantize": False}
    if name in ("googlenet", "inception_v3"):
        kwargs.update(aux_logits=False, init_weights=True)
    model = _builder(name)(**kwargs)
    model.eval()
    images = [generated_images(max(batch, 2), size, seed + 100 + i)
              for i in range(stats_batches)]
    _measure_batch_norms(model, images, seed)
    return model.eval()


def quantized_torchvision(name: str, engine: str, *, seed: int = 0, size: int | None = None,
                          calibration: list[torch.Tensor] | None = None,
                          calibration_batches: int = 2, batch: int = 4,
                          qconfig: Any = None, float_model: nn.Module | None = None
                          ) -> tuple[nn.Module, nn.Module]:
    """(float model, PyTorch's quantized model) by the recipe, for engine "onednn" or
    "qnnpack". calibration: the batches to calibrate on (default: generated images);
    qconfig: another QConfig than the recipe's (tests use cheaper observers)."""
    from torch.ao.quantization import convert, get_default_qconfig, prepare
    if engine not in QCONFIG:
        raise ValueError(f"engine must be one of {', '.join(QCONFIG)}, got {engine!r}")
    size = input_size(name) if size is None else size
    if float_model is None:
        float_model = float_torchvision(name, seed=seed, size=size, batch=batch)
    model = copy.deepcopy(float_model)
    if calibration is None:
        calibration = [generated_images(batch, size, seed + 200 + i)
                       for i in range(calibration_batches)]
    previous = torch.backends.quantized.engine
    torch.backends.quantized.engine = engine
    try:
        model.fuse_model()
        model.qconfig = qconfig if qconfig is not None else get_default_qconfig(QCONFIG[engine])
        prepare(model, inplace=True)
        with torch.no_grad():
            for x in calibration:
                model(x)
        convert(model, inplace=True)
    finally:
        torch.backends.quantized.engine = previous
    return float_model, model.eval()

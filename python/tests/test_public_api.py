"""The package's public surface: each public module's __all__ lists what it offers and
nothing leaks beside it (numpy, ctypes, the ctypes handles); qeq.torch is a subpackage whose
`torch` is PyTorch; the package is typed (py.typed)."""
import importlib
import types
from pathlib import Path

import pytest

import qeq

PUBLIC_MODULES = ["qeq", "qeq.core", "qeq.gemm", "qeq.report", "qeq.__main__", "qeq.torch"]


def public_module(name):
    if name == "qeq.torch":
        pytest.importorskip("torch", reason="python3-torch is not installed")
    return importlib.import_module(name)


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_all_lists_existing_names_once(name):
    module = public_module(name)
    assert isinstance(module.__all__, list)
    assert len(module.__all__) == len(set(module.__all__)), "duplicates in __all__"
    assert [n for n in module.__all__ if not hasattr(module, n)] == []


def test_star_import_gives_all():
    namespace = {}
    exec("from qeq import *", namespace)
    assert sorted(k for k in namespace if k != "__builtins__") == sorted(qeq.__all__)


def test_nothing_public_by_accident():
    """Every public name on qeq is in __all__ or one of qeq's own modules (qeq.core, ...)."""
    leaked = [n for n in dir(qeq) if not n.startswith("_") and n not in qeq.__all__
              and not (isinstance(getattr(qeq, n), types.ModuleType)
                       and getattr(qeq, n).__name__ == f"qeq.{n}")]
    assert leaked == []
    for name in ("np", "ctypes", "lib", "api", "POINTER", "annotations", "buffer"):
        assert not hasattr(qeq, name), name


def test_the_documented_api_is_there():
    for name in ("channel_minmax", "channel_range", "channel_absmax", "tensor_minmax",
                 "scale_channels", "quant_range", "calculate_qparams", "Observer", "quantize",
                 "dequantize", "fake_quantize", "requantize", "sqnr", "select_lowest_sqnr",
                 "Layer", "cross_layer_equalize", "equalize_depthwise_separable",
                 "equalize_groups", "fold_batch_norm", "fold_batch_norm_to", "absorb_high_bias",
                 "correct_bias",
                 "input_equalization_scales", "apply_input_equalization", "scaled_input_minmax",
                 "Gemm", "QeqError", "InvalidArgumentError", "UnsupportedError",
                 "ShapeMismatchError", "NonFiniteError", "isa", "best_isa", "set_isa_cap",
                 "clear_isa_cap", "kernel_variants", "version", "version_string"):
        assert name in qeq.__all__, name
    assert qeq.__version__ == qeq.version_string()


def test_torch_is_a_subpackage_over_pytorch():
    torch = pytest.importorskip("torch", reason="python3-torch is not installed")
    import qeq.torch as qt

    assert Path(qt.__file__).name == "__init__.py"
    assert qt.__name__ == "qeq.torch" and qt.__path__
    assert qt.torch is torch and qt.nn is torch.nn  # absolute imports: PyTorch, not qeq.torch
    for name in ("_discover", "_input_eq", "_layers", "_linear"):
        module = importlib.import_module(f"qeq.torch.{name}")
        assert getattr(module, "torch", torch) is torch, name
        assert getattr(module, "nn", torch.nn) is torch.nn, name


def test_the_package_is_typed():
    assert (Path(qeq.__file__).parent / "py.typed").is_file()

"""pytest setup: qeq from this source tree (QEQ_LIBRARY names the built libqeq.so; ctest
sets both), and a visible note when PyTorch is missing."""
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

try:
    import torch  # noqa: F401
    HAVE_TORCH = True
except ImportError:
    HAVE_TORCH = False


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "live_pytorch: compares qeq's int8 results with PyTorch's live output; "
        "ctest runs these a second time with ONEDNN_MAX_CPU_ISA=AVX2 (python_onednn_avx2), so "
        "a VNNI machine also exercises oneDNN's saturating AVX2 path")


def pytest_report_header(config):
    lib = os.environ.get("QEQ_LIBRARY", "(installed)")
    if HAVE_TORCH:
        import torch
        from qeq._onednn_exactness import probe
        return [f"qeq library: {lib}; PyTorch {torch.__version__}",
                probe().describe() + ("; live onednn comparisons skip outputs with a saturating "
                                      "pair and check those against the saturation model"
                                      if probe().saturates else "")]
    return (f"qeq library: {lib}; PyTorch NOT installed: the qeq.torch tests are SKIPPED "
            "(apt-get install python3-torch python3-torchvision)")


@pytest.fixture
def onednn_one_thread():
    """PyTorch's quantized engine set to onednn, one intra-op thread, for one test."""
    import torch
    old = torch.backends.quantized.engine
    torch.backends.quantized.engine = "onednn"
    torch.set_num_threads(1)
    yield
    torch.backends.quantized.engine = old

"""pytest setup: qeq from this source tree (QEQ_LIBRARY names the built libqeq.so; ctest
sets both), and a visible note when PyTorch is missing."""
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

try:
    import torch  # noqa: F401
    HAVE_TORCH = True
except ImportError:
    HAVE_TORCH = False


def pytest_report_header(config):
    lib = os.environ.get("QEQ_LIBRARY", "(installed)")
    if HAVE_TORCH:
        import torch
        return f"qeq library: {lib}; PyTorch {torch.__version__}"
    return (f"qeq library: {lib}; PyTorch NOT installed: the qeq.torch tests are SKIPPED "
            "(apt-get install python3-torch python3-torchvision)")

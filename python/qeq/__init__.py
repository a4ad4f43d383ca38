"""qeq: int8 quantization kernels and PyTorch's quantization-preparation numerics.

``import qeq`` gives the numpy API over libqeq (see qeq.core), qeq.Gemm, qeq.Conv2d and the
quantized ops (qeq.qops: q8_add, q8_cat, pools, clamps); ``import
qeq.torch`` the drop-in for torch.ao.quantization's equalization and fusion functions.
The public names are those in ``__all__``.
"""
from . import core
from ._lib import (InvalidArgumentError, NonFiniteError, QeqError, QeqMemoryError,
                   ShapeMismatchError, SizeOverflowError, UnsupportedError)
from .core import *  # noqa: F401,F403  (the numpy API: qeq.core.__all__)
from .conv import Conv1d, Conv2d
from .gemm import Gemm
from ._threads import ThreadPool
from .qops import *  # noqa: F401,F403  (qeq.qops.__all__)
from .layout import *  # noqa: F401,F403  (qeq.layout.__all__)
from . import layout, qops

__version__ = core.version_string()

__all__ = [
    "QeqError", "InvalidArgumentError", "UnsupportedError", "ShapeMismatchError",
    "NonFiniteError", "SizeOverflowError", "QeqMemoryError", "Gemm", "Conv2d", "Conv1d",
    "ThreadPool",
]
__all__ += core.__all__
__all__ += qops.__all__
__all__ += layout.__all__

"""qeq: int8 quantization kernels and PyTorch's quantization-preparation numerics.

``import qeq`` gives the numpy API over libqeq (see qeq.core); ``import qeq.torch`` the
drop-in for torch.ao.quantization's equalization and fusion functions.
"""
from ._lib import (InvalidArgumentError, NonFiniteError, QeqError, QeqMemoryError,
                   ShapeMismatchError, SizeOverflowError, UnsupportedError)
from .core import *  # noqa: F401,F403
from .core import (Layer, Observer, best_isa, clear_isa_cap, detected_isas, isa,  # noqa: F401
                   kernel_variants, set_isa_cap, version, version_string)

from .gemm import Gemm  # noqa: F401,E402

__version__ = version_string()

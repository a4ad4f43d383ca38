"""Zero-copy views of numpy arrays and torch tensors as C pointers.

An input is used where it lies: a float32 (or the stated dtype), C-contiguous, CPU array or
tensor is passed by address. Anything else raises TypeError (wrong type or dtype) or
ValueError (non-contiguous, read-only where written, not on the CPU); nothing is copied
behind the caller's back. Plain Python sequences are the one exception: they own no buffer
the caller could expect to see written, so they are converted (integers checked against the
C type first, qeq._checks, where numpy's cast would wrap them).
"""
from __future__ import annotations

import sys
from typing import Any, Sequence

import numpy as np

from ._checks import check_int, check_int_array
from ._lib import MAX_DIMS, Shape

_TORCH_DTYPES = {
    np.dtype(np.float32): "float32",
    np.dtype(np.int32): "int32",
    np.dtype(np.int8): "int8",
    np.dtype(np.uint8): "uint8",
}


def is_tensor(x: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def _article(dtype: Any) -> str:
    """'an int32', 'an int8', but 'a uint8', 'a float32'."""
    return "an" if str(dtype)[0] in "aeio" else "a"


def buffer(x: Any, name: str, dtype: Any = np.float32, writable: bool = False,
           sequence_ok: bool = False) -> tuple[int, tuple[int, ...], Any]:
    """(address, shape, keep-alive object) of x, checked as the module docstring says."""
    dtype = np.dtype(dtype)
    if isinstance(x, np.ndarray):
        if x.dtype != dtype:
            raise TypeError(f"{name}: expected {_article(dtype)} {dtype} array, got {x.dtype}")
        if not x.flags.c_contiguous:
            raise ValueError(f"{name}: the array is not C-contiguous (qeq does not copy; "
                             "pass np.ascontiguousarray(...) if a copy is what you want)")
        if writable and not x.flags.writeable:
            raise ValueError(f"{name}: the array is read-only but qeq writes to it")
        return x.__array_interface__["data"][0], x.shape, x
    if is_tensor(x):
        torch = sys.modules["torch"]
        expected = _TORCH_DTYPES[dtype]
        if x.dtype is not getattr(torch, expected):
            raise TypeError(f"{name}: expected a torch.{expected} tensor, got {x.dtype}")
        if not x.is_cpu:
            raise ValueError(f"{name}: the tensor is on {x.device}; qeq works on CPU tensors")
        if x.layout is not torch.strided:
            raise ValueError(f"{name}: expected a dense (strided) tensor, got {x.layout}")
        if not x.is_contiguous():
            raise ValueError(f"{name}: the tensor is not contiguous (qeq does not copy; "
                             "pass .contiguous() if a copy is what you want)")
        if x.is_quantized or x.is_conj() or x.is_neg():
            raise ValueError(f"{name}: expected a plain tensor")
        return x.data_ptr(), tuple(x.shape), x
    if sequence_ok and isinstance(x, (list, tuple, float, int)):
        arr = np.ascontiguousarray(np.asarray(x, dtype=dtype).reshape(-1))
        return arr.__array_interface__["data"][0], arr.shape, arr
    raise TypeError(f"{name}: expected a numpy.ndarray or torch.Tensor, got {type(x).__name__}")


def shape_struct(dims: Sequence[int], name: str) -> Shape:
    if not 1 <= len(dims) <= MAX_DIMS:
        raise ValueError(f"{name}: qeq takes tensors of 1 to {MAX_DIMS} dimensions, "
                         f"got {len(dims)}")
    s = Shape()
    s.ndim = len(dims)
    for i, d in enumerate(dims):
        s.dims[i] = check_int(d, f"{name}: shape[{i}]", "size_t")
    return s


_INT_CTYPES = {np.dtype(np.int32): "int32_t"}


def vector(x: Any, name: str, length: int | None = None, dtype: Any = np.float32,
           writable: bool = False) -> tuple[int, Any]:
    """A 1-D parameter vector (scales, means, zero points, ...): arrays/tensors are checked
    as buffer() does, Python sequences converted; integers (int32 zero points) are checked
    against their C type first (qeq._checks), as numpy's cast would wrap them. Returns
    (address, keep-alive)."""
    ctype = _INT_CTYPES.get(np.dtype(dtype))
    if ctype is not None and not isinstance(x, np.ndarray) and not is_tensor(x):
        x = check_int_array(x, name, ctype)
    ptr, shape, keep = buffer(x, name, dtype, writable, sequence_ok=True)
    n = 1
    for d in shape:
        n *= d
    if length is not None and n != length:
        raise ValueError(f"{name}: expected {length} values, got {n}")
    return ptr, keep

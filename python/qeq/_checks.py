"""Integers on their way into C, checked against the C type that receives them.

ctypes and numpy wrap an out-of-range Python integer silently (2**32 + 3 passed as an
int32_t is 3, -1 passed as a size_t is SIZE_MAX), so every integer argument the package
hands to libqeq goes through check_int() (one value) or check_int_array() (a sequence)
first, before anything reaches C and before any caller data is written. ``name`` says where
the value came from, as "<Python function or class>: <argument>" (e.g. "quantize: axis");
every message starts with it. The rules:

- An integer is what operator.index() accepts: int, bool (and numpy.bool_) as 0 / 1, numpy
  integer scalars, 0-d integer arrays and tensors. Anything else (float, numpy.floating, a
  float tensor, str, None) raises TypeError, also when its value is integral: nothing is
  truncated.
- A value outside the C type's range raises OverflowError; a negative value where the C
  type is unsigned (a count, size or dimension) raises ValueError, as does a value the C
  type holds but the argument does not allow (``lo`` / ``hi``, e.g. groups >= 1). Other
  rules that depend on the rest of the call (a zero point inside the dtype's range, an
  axis inside the tensor's dimensions) are the C library's to check: it raises
  InvalidArgumentError, also a ValueError, and writes nothing.
"""
from __future__ import annotations

import ctypes
import operator
import reprlib
from typing import Any

import numpy as np


def _signed(ct: Any) -> tuple[int, int]:
    bits = 8 * ctypes.sizeof(ct)
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def _unsigned(ct: Any) -> tuple[int, int]:
    return 0, (1 << (8 * ctypes.sizeof(ct))) - 1


# C type -> (min, max, numpy dtype of the same width and signedness)
_CTYPES: dict[str, tuple[int, int, Any]] = {
    "int": (*_signed(ctypes.c_int), np.intc),
    "int8_t": (-(1 << 7), (1 << 7) - 1, np.int8),
    "uint8_t": (0, (1 << 8) - 1, np.uint8),
    "int32_t": (-(1 << 31), (1 << 31) - 1, np.int32),
    "int64_t": (-(1 << 63), (1 << 63) - 1, np.int64),
    "size_t": (*_unsigned(ctypes.c_size_t), np.uintp),
    "ptrdiff_t": (*_signed(ctypes.c_ssize_t), np.intp),
}


def _short(value: Any) -> str:
    return f"{type(value).__name__} {reprlib.repr(value)}"


def check_int(value: Any, name: str, ctype: str, lo: int | None = None,
              hi: int | None = None) -> int:
    """value as a Python int that fits the C type ``ctype`` ("int", "int32_t", "size_t",
    "ptrdiff_t", ...) and, if given, lies in [lo, hi]; raises as the module docstring says."""
    tmin, tmax, _ = _CTYPES[ctype]
    if isinstance(value, (bool, np.bool_)):
        v = int(value)
    else:
        try:
            v = operator.index(value)
        except TypeError:
            raise TypeError(f"{name}: expected an integer, got {_short(value)}") from None
    if v < tmin or v > tmax:
        if tmin == 0 and v < 0:
            raise ValueError(f"{name} = {v} must not be negative (C {ctype})")
        raise OverflowError(f"{name} = {v} is out of range for the C {ctype} it is passed as "
                            f"([{tmin}, {tmax}])")
    if lo is not None and v < lo:
        raise ValueError(f"{name} = {v} must be >= {lo}" if hi is None else
                         f"{name} = {v} is outside [{lo}, {hi}]")
    if hi is not None and v > hi:
        raise ValueError(f"{name} = {v} must be <= {hi}" if lo is None else
                         f"{name} = {v} is outside [{lo}, {hi}]")
    return v


def check_int_array(values: Any, name: str, ctype: str, lo: int | None = None,
                    hi: int | None = None) -> np.ndarray:
    """A Python sequence of integers (nested sequences are flattened; numpy integers in it
    count as integers) or one integer, as a new contiguous 1-D numpy array of the C type's
    width. Every value is checked as check_int() checks it (named "name[i]") before the cast,
    which would wrap."""
    dtype = _CTYPES[ctype][2]
    scalar = not isinstance(values, (list, tuple))
    try:
        arr = np.asarray(values)
    except (ValueError, TypeError):  # ragged nesting and the like: element by element
        arr = None
    if arr is not None and arr.dtype.kind in "iub" and arr.size:
        flat = arr.reshape(-1)
        tmin, tmax, _ = _CTYPES[ctype]
        low = tmin if lo is None else max(lo, tmin)
        high = tmax if hi is None else min(hi, tmax)
        if int(flat.min()) >= low and int(flat.max()) <= high:
            return flat.astype(dtype)
        items = flat.tolist()
        bad = next(i for i, v in enumerate(items) if not low <= v <= high)
        check_int(items[bad], name if scalar else f"{name}[{bad}]", ctype, lo, hi)
        raise AssertionError("unreachable")  # pragma: no cover: check_int raised
    flat = np.asarray(values, dtype=object).reshape(-1)
    if scalar and flat.size == 1:
        return np.array([check_int(flat[0], name, ctype, lo, hi)], dtype)
    return np.array([check_int(v, f"{name}[{i}]", ctype, lo, hi) for i, v in enumerate(flat)],
                    dtype)


def check_int_pair(value: Any, name: str, ctype: str = "size_t",
                   lo: int | None = None) -> tuple[int, int]:
    """An int or an (h, w) pair, as PyTorch's conv and pool arguments are given, each checked
    as check_int() checks it (named "name[0]", "name[1]")."""
    items = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(items) != 2:
        raise ValueError(f"{name}: expected an int or a pair, got {value!r}")
    return (check_int(items[0], f"{name}[0]", ctype, lo=lo),
            check_int(items[1], f"{name}[1]", ctype, lo=lo))

"""qeq.ThreadPool: a pthreadpool (the library libqeq links) for Conv2d.run and Gemm.run.

Results are bit-identical for every pool size; a pool of one thread runs on the caller's
thread (no pool is created). The pool is destroyed with the object.
"""
from __future__ import annotations

import ctypes
import ctypes.util
from ctypes import c_size_t, c_void_p

from ._checks import check_int

__all__ = ["ThreadPool"]

_pthreadpool = None


def _library() -> ctypes.CDLL:
    global _pthreadpool
    if _pthreadpool is None:
        name = ctypes.util.find_library("pthreadpool") or "libpthreadpool.so.0"
        lib = ctypes.CDLL(name)
        lib.pthreadpool_create.restype = c_void_p
        lib.pthreadpool_create.argtypes = [c_size_t]
        lib.pthreadpool_destroy.restype = None
        lib.pthreadpool_destroy.argtypes = [c_void_p]
        lib.pthreadpool_get_threads_count.restype = c_size_t
        lib.pthreadpool_get_threads_count.argtypes = [c_void_p]
        _pthreadpool = lib
    return _pthreadpool


class ThreadPool:
    """A pool of `threads` threads (>= 1) to pass as `pool=` to Conv2d.run and Gemm.run."""

    def __init__(self, threads: int):
        self._handle = None
        self.threads = check_int(threads, "ThreadPool: threads", "size_t", lo=1)
        if self.threads > 1:
            lib = _library()
            handle = lib.pthreadpool_create(self.threads)
            if not handle:
                raise MemoryError(f"ThreadPool: pthreadpool_create({self.threads}) failed")
            self._handle = handle

    @property
    def handle(self) -> int | None:
        """The pthreadpool_t address (None: the caller's thread)."""
        return self._handle

    def __del__(self) -> None:
        if getattr(self, "_handle", None) is not None:
            _library().pthreadpool_destroy(self._handle)
            self._handle = None

    def __repr__(self) -> str:
        return f"ThreadPool({self.threads})"


def pool_handle(pool: "ThreadPool | None") -> int | None:
    if pool is None:
        return None
    if not isinstance(pool, ThreadPool):
        raise TypeError(f"pool: expected a qeq.ThreadPool or None, got {type(pool).__name__}")
    return pool.handle

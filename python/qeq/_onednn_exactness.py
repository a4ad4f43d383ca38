"""Whether PyTorch's oneDNN int8 matmul and convolution are exact on this CPU.

On CPUs without VNNI (AVX2, AVX-512 without VNNI), oneDNN multiplies u8 activations by s8
weights with ``vpmaddubsw``, which adds each pair of adjacent products (k = 2j, 2j + 1) in a
saturating int16 before widening. The sum of a row is then not the exact dot product once a
pair exceeds [-32768, 32767], e.g. 255 * 127 + 255 * 127. With VNNI (``vpdpbusd``) the four
products are added in int32 and the result is exact. qeq always computes the exact sum.

PyTorch 1.13 has no API that reports oneDNN's ISA, so :func:`probe` asks a child interpreter
(oneDNN reads ``ONEDNN_VERBOSE`` and ``ONEDNN_MAX_CPU_ISA`` once, at start-up): it prints the
ISA oneDNN chose and runs the two-element reproducer below, whose result tells the two
behaviours apart whatever the ISA string says.

    x = [[255, 255]] (quint8, scale 1, zero point 0), w = [[127, 127]] (qint8, scale 1),
    output scale 1024: exact sum 64770 -> 63; saturated 32767 -> 32.

This module needs only numpy (and torch for :func:`probe`), not libqeq, so the fixture
generators load it by path.
"""
from __future__ import annotations

import functools
import os
import subprocess
import sys
from dataclasses import dataclass

import numpy as np

__all__ = ["OnednnInfo", "probe", "pair_saturated_dot", "saturating_pairs"]

_REPRODUCER = r"""
import torch
import torch.ao.nn.quantized as nnq
torch.set_num_threads(1)
if "onednn" not in torch.backends.quantized.supported_engines:
    print("qeq-probe none")
    raise SystemExit(0)
torch.backends.quantized.engine = "onednn"
x = torch.quantize_per_tensor(torch.tensor([[255.0, 255.0]]), 1.0, 0, torch.quint8)
m = nnq.Linear(2, 1, bias_=False)
m.set_weight_bias(torch.quantize_per_tensor(torch.tensor([[127.0, 127.0]]), 1.0, 0,
                                            torch.qint8), None)
m.scale, m.zero_point = 1024.0, 0
print("qeq-probe", int(m(x).int_repr()[0, 0]))
"""

EXACT_RESULT = 63  # round(64770 / 1024)
SATURATED_RESULT = 32  # round(32767 / 1024)


@dataclass(frozen=True)
class OnednnInfo:
    available: bool  # PyTorch has the onednn quantized engine
    isa: str  # oneDNN's own name for the ISA it dispatched to ("" if it printed none)
    saturates: bool  # u8 x s8 pairs are added in a saturating int16
    max_cpu_isa: str  # ONEDNN_MAX_CPU_ISA as the child saw it ("" if unset)

    def describe(self) -> str:
        if not self.available:
            return "PyTorch has no onednn engine"
        cap = f", ONEDNN_MAX_CPU_ISA={self.max_cpu_isa}" if self.max_cpu_isa else ""
        how = ("adds u8 x s8 product pairs in a saturating int16 (inexact on full-range "
               "activations)" if self.saturates else "exact (no int16 pair saturation)")
        return f"PyTorch's oneDNN: isa '{self.isa or 'unknown'}'{cap}: {how}"


@functools.lru_cache(maxsize=None)
def probe(python: str = sys.executable) -> OnednnInfo:
    """Runs the reproducer in a child ``python`` with ``ONEDNN_VERBOSE=1`` and this
    process's environment otherwise (so ``ONEDNN_MAX_CPU_ISA`` applies)."""
    env = dict(os.environ, ONEDNN_VERBOSE="1", OMP_NUM_THREADS="1")
    out = subprocess.run([python, "-c", _REPRODUCER], env=env, capture_output=True,
                         text=True, check=True).stdout
    isa, result = "", None
    for line in out.splitlines():
        if line.startswith("onednn_verbose,info,cpu,isa:"):
            isa = line.split("isa:", 1)[1].strip()
        elif line.startswith("qeq-probe "):
            word = line.split()[1]
            result = None if word == "none" else int(word)
    max_isa = os.environ.get("ONEDNN_MAX_CPU_ISA", "")
    if result is None:
        return OnednnInfo(False, isa, False, max_isa)
    if result not in (EXACT_RESULT, SATURATED_RESULT):
        raise RuntimeError(f"oneDNN probe: unexpected result {result} (isa '{isa}')")
    return OnednnInfo(True, isa, result == SATURATED_RESULT, max_isa)


def _paired(xq, wq):
    """Row-major u8 activations (m, k) and s8 weights (n, k) as int64, k padded to even."""
    x = np.asarray(xq, np.int64)
    w = np.asarray(wq, np.int64)
    if x.shape[-1] % 2:
        x = np.pad(x, ((0, 0), (0, 1)))
        w = np.pad(w, ((0, 0), (0, 1)))
    pairs = x[:, None, 0::2] * w[None, :, 0::2] + x[:, None, 1::2] * w[None, :, 1::2]
    return x, w, pairs  # pairs: (m, n, k / 2)


def saturating_pairs(xq, wq) -> np.ndarray:
    """(m, n) bool: outputs with at least one pair outside int16, where a saturating oneDNN
    differs from the exact dot product (or may: two saturations can cancel)."""
    _, _, pairs = _paired(xq, wq)
    return ((pairs < -32768) | (pairs > 32767)).any(-1)


def pair_saturated_dot(xq, x_zp, wq) -> np.ndarray:
    """(m, n) int64: sum_k (xq - x_zp) * wq as a saturating oneDNN computes it: each pair of
    raw u8 x s8 products clamped to int16, then summed in int32, minus the zero point's
    compensation x_zp * sum_k wq, which oneDNN computes exactly. Weights are symmetric
    (PyTorch's onednn engine refuses weight zero points)."""
    _, w, pairs = _paired(xq, wq)
    return np.clip(pairs, -32768, 32767).sum(-1) - int(x_zp) * w.sum(1)[None, :]


if __name__ == "__main__":  # scripts/run-tests.sh prints this before the PyTorch comparisons
    print(probe().describe())

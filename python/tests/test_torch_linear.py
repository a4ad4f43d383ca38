"""qeq.torch.quantized_linear against the modules' own forward, both engines, bit for bit.

PyTorch 1.13 caches between calls (oneDNN's primitive cache ignores zero points), so every
PyTorch call here has a shape of its own and a fresh module.

Where PyTorch's oneDNN saturates u8 x s8 product pairs in int16 (CPUs without VNNI, or
ONEDNN_MAX_CPU_ISA=AVX2), it is compared with qeq only on outputs where no pair leaves int16;
there qeq is checked against the exact formula and PyTorch against the saturation model."""
import itertools
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="python3-torch is not installed")
import torch.ao.nn.quantized as nnq  # noqa: E402
import torch.ao.nn.quantized.dynamic as nnqd  # noqa: E402
import torch.nn.intrinsic.quantized as nniq  # noqa: E402

import qeq  # noqa: E402
import qeq.torch as qt  # noqa: E402
from qeq._onednn_exactness import pair_saturated_dot, probe, saturating_pairs  # noqa: E402
from qeq.torch._linear import _packed  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "golden"))
from gemm_cases import static_onednn  # noqa: E402  (the engine's formula, numpy float32)

pytestmark = pytest.mark.live_pytorch  # run again under ONEDNN_MAX_CPU_ISA=AVX2 (conftest.py)
ENGINES = [e for e in ("onednn", "qnnpack") if e in torch.backends.quantized.supported_engines]
_shapes = itertools.count(3)


def f32(v):
    """A float32 value, as PyTorch's observers give scales (qeq takes float32 scales)."""
    return float(np.float32(v))


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """PyTorch's bits must not depend on how its threads split the work."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(params=ENGINES)
def engine(request):
    before = torch.backends.quantized.engine
    torch.backends.quantized.engine = request.param
    yield request.param
    torch.backends.quantized.engine = before


def weight(gen, n, k, per_channel, zero_points):
    w = torch.randn(n, k, generator=gen)
    if per_channel:
        scales = (w.abs().amax(1) / 127 + 1e-3).double()
        zps = torch.randint(-5, 6, (n,), generator=gen) if zero_points else torch.zeros(
            n, dtype=torch.long)
        return torch.quantize_per_channel(w, scales, zps, 0, torch.qint8)
    zp = int(torch.randint(-5, 6, (1,), generator=gen)) if zero_points else 0
    return torch.quantize_per_tensor(w, f32(float(w.abs().max()) / 127), zp, torch.qint8)


def static_module(gen, k, n, relu, per_channel, bias, zero_points=False):
    mod = (nniq.LinearReLU if relu else nnq.Linear)(k, n, bias)
    b = torch.randn(n, generator=gen) if bias else None
    mod.set_weight_bias(weight(gen, n, k, per_channel, zero_points), b)
    mod.scale, mod.zero_point = f32(0.05 + float(torch.rand(1, generator=gen)) / 5), int(
        torch.randint(0, 256, (1,), generator=gen))
    return mod


@pytest.mark.parametrize("relu,per_channel,bias", itertools.product([False, True], repeat=3))
def test_static_linear_matches_pytorch(engine, relu, per_channel, bias):
    gen = torch.Generator().manual_seed(hash((relu, per_channel, bias)) % 1000)
    for lead in [(1,), (7,), (2, 5)]:
        k, n = 16 + next(_shapes), 9 + next(_shapes)
        mod = static_module(gen, k, n, relu, per_channel, bias,
                            zero_points=engine == "qnnpack")
        x = torch.quantize_per_tensor(torch.randn(*lead, k, generator=gen) * 3,
                                      f32(0.02 + float(torch.rand(1, generator=gen)) / 20),
                                      int(torch.randint(0, 256, (1,), generator=gen)),
                                      torch.quint8)
        expect = mod(x)
        got = qt.quantized_linear(mod, x)
        assert got.dtype == torch.quint8 and got.shape == expect.shape
        assert (got.q_scale(), got.q_zero_point()) == (expect.q_scale(), expect.q_zero_point())
        if engine == "onednn" and probe().saturates:
            compare_with_saturating_onednn(mod, x, got, expect, relu)
        else:
            assert torch.equal(got.int_repr(), expect.int_repr()), (engine, lead)


def compare_with_saturating_onednn(mod, x, got, expect, relu):
    """qeq equals the exact formula everywhere; PyTorch equals qeq where no pair of products
    leaves int16, and the saturation model where one does."""
    k = x.shape[-1]
    xq = x.int_repr().reshape(-1, k).numpy()
    w = mod.weight()
    wq = w.int_repr().numpy()
    s_w = (w.q_per_channel_scales() if w.qscheme() == torch.per_channel_affine
           else torch.tensor([w.q_scale()])).numpy()
    bias = None if mod.bias() is None else mod.bias().detach().numpy()
    args = (xq, f32(x.q_scale()), x.q_zero_point(), wq, s_w, 0, bias, f32(mod.scale),
            mod.zero_point, relu)
    ours = got.int_repr().reshape(xq.shape[0], -1).numpy()
    theirs = expect.int_repr().reshape(xq.shape[0], -1).numpy()
    assert np.array_equal(ours, static_onednn(*args))
    saturated = saturating_pairs(xq, wq)
    assert np.array_equal(ours[~saturated], theirs[~saturated])
    model = static_onednn(*args, acc=pair_saturated_dot(xq, x.q_zero_point(), wq))
    assert np.array_equal(theirs[saturated], model[saturated])


def test_saturation_reproducer(engine):
    """The two-element case: 255 * 127 twice, output scale 1024. qeq gives the exact 63 under
    both engines; PyTorch's onednn gives 32 where it saturates."""
    k = 2 + 2 * next(_shapes)  # a shape of its own; the extra inputs are zero
    mod = nnq.Linear(k, 1, bias_=False)
    wv = torch.zeros(1, k)
    wv[0, :2] = 127
    mod.set_weight_bias(torch.quantize_per_tensor(wv, 1.0, 0, torch.qint8), None)
    mod.scale, mod.zero_point = 1024.0, 0
    xv = torch.zeros(1, k)
    xv[0, :2] = 255
    x = torch.quantize_per_tensor(xv, 1.0, 0, torch.quint8)
    assert int(qt.quantized_linear(mod, x).int_repr()) == 63
    saturates = engine == "onednn" and probe().saturates
    assert int(mod(x).int_repr()) == (32 if saturates else 63)


def test_onednn_probe_agrees_with_its_isa():
    """The probe's verdict and the ISA oneDNN reports belong together; with
    ONEDNN_MAX_CPU_ISA=AVX2 (run-tests.sh's second pass) it must saturate."""
    info = probe()
    if not info.available:
        pytest.skip("PyTorch has no onednn engine")
    print(info.describe())
    if info.isa.startswith("Intel AVX-512 with Intel DL Boost"):  # VNNI: vpdpbusd, exact
        assert not info.saturates, info
    elif "DL Boost" not in info.isa:  # AVX2, AVX-512 without VNNI, SSE4.1: vpmaddubsw
        assert info.saturates, info
    if info.max_cpu_isa.upper() == "AVX2":
        assert info.saturates and info.isa == "Intel AVX2", info


@pytest.mark.parametrize("per_channel,bias", itertools.product([False, True], repeat=2))
def test_dynamic_linear_matches_pytorch(engine, per_channel, bias):
    gen = torch.Generator().manual_seed(10 + 2 * per_channel + bias)
    for lead in [(1,), (6,), (3, 4)]:
        k, n = 20 + next(_shapes), 5 + next(_shapes)
        mod = nnqd.Linear(k, n, bias_=bias)
        mod.set_weight_bias(weight(gen, n, k, per_channel, False),
                            torch.randn(n, generator=gen) if bias else None)
        x = torch.randn(*lead, k, generator=gen) * 2
        expect = mod(x)
        got = qt.quantized_linear(mod, x)
        assert got.dtype == torch.float32
        assert torch.equal(got.view(torch.int32), expect.view(torch.int32)), (engine, lead)


def test_packed_once_and_again_when_something_changes(engine):
    gen = torch.Generator().manual_seed(5)
    k, n = 40 + next(_shapes), 11
    mod = static_module(gen, k, n, False, True, True)
    x = torch.quantize_per_tensor(torch.randn(4, k, generator=gen), 0.0625, 120, torch.quint8)
    first = qt.quantized_linear(mod, x)
    gemm = _packed[mod][1]
    assert torch.equal(qt.quantized_linear(mod, x).int_repr(), first.int_repr())
    assert _packed[mod][1] is gemm  # no repacking for the same settings
    mod.set_weight_bias(weight(gen, n, k, True, False), None)  # new weights: packed again
    x2 = torch.quantize_per_tensor(torch.randn(4, k, generator=gen), 0.078125, 100, torch.quint8)
    got = qt.quantized_linear(mod, x2)
    assert _packed[mod][1] is not gemm
    k2 = 40 + next(_shapes)  # PyTorch's reference on a fresh module and shape of its own
    ref = nnq.Linear(k2, n)
    ref.set_weight_bias(torch.quantize_per_channel(
        torch.nn.functional.pad(mod.weight().dequantize(), (0, k2 - k)),
        mod.weight().q_per_channel_scales(), mod.weight().q_per_channel_zero_points(), 0,
        torch.qint8), None)
    ref.scale, ref.zero_point = mod.scale, mod.zero_point
    xr = torch.quantize_per_tensor(torch.nn.functional.pad(x2.dequantize(), (0, k2 - k)),
                                   0.078125, 100, torch.quint8)
    assert torch.equal(got.int_repr(), ref(xr).int_repr())


def test_bad_input_raises(engine):
    gen = torch.Generator().manual_seed(6)
    mod = static_module(gen, 8, 4, False, False, True)
    x = torch.quantize_per_tensor(torch.randn(3, 8), 0.1, 128, torch.quint8)
    with pytest.raises(TypeError, match="module"):
        qt.quantized_linear(torch.nn.Linear(8, 4), x)
    with pytest.raises(TypeError, match="quantized"):
        qt.quantized_linear(mod, torch.randn(3, 8))
    with pytest.raises(ValueError, match="in_features"):
        qt.quantized_linear(mod, torch.quantize_per_tensor(torch.randn(3, 7), 0.1, 128,
                                                           torch.quint8))
    with pytest.raises(ValueError, match="contiguous"):
        qt.quantized_linear(mod, torch.quantize_per_tensor(torch.randn(8, 3), 0.1, 128,
                                                           torch.quint8).t())
    dyn = nnqd.Linear(8, 4)
    with pytest.raises(TypeError, match="float32"):
        qt.quantized_linear(dyn, torch.randn(3, 8, dtype=torch.float64))
    with pytest.raises(qeq.NonFiniteError):
        qt.quantized_linear(dyn, torch.full((3, 8), float("inf")))
    before = torch.backends.quantized.engine
    try:
        torch.backends.quantized.engine = "none"
        with pytest.raises(qeq.UnsupportedError, match="engine"):
            qt.quantized_linear(mod, x)
    finally:
        torch.backends.quantized.engine = before

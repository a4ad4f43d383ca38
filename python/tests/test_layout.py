"""qeq.layout (nchw_to_nhwc, nhwc_to_nchw, q8_channel_shuffle) against index arithmetic and
PyTorch's permute, and the qops on PyTorch quantized tensors (NCHW and channels-last in, the
same memory format out) against PyTorch's quantized ops."""
import numpy as np
import pytest

import qeq
from qeq import _lib

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def onednn(onednn_one_thread):
    yield


SHAPES = [(1, 1, 1, 1), (2, 3, 7, 5), (1, 16, 4, 8), (3, 33, 5, 7), (1, 64, 2, 32), (1, 3, 17, 19)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.uint8, np.int8])
def test_nchw_nhwc_round_trip(shape, dtype):
    rng = np.random.default_rng(sum(shape))
    x = rng.integers(np.iinfo(dtype).min, np.iinfo(dtype).max + 1, shape, dtype=dtype)
    y = qeq.nchw_to_nhwc(x)
    n, c, h, w = shape
    want = np.empty((n, h, w, c), dtype)
    for i in range(c):  # index arithmetic, not numpy's transpose
        want[:, :, :, i] = x[:, i, :, :]
    assert y.dtype == dtype and np.array_equal(y, want)
    assert np.array_equal(qeq.nhwc_to_nchw(y), x)
    t = torch.from_numpy(x)
    ty = qeq.nchw_to_nhwc(t)
    assert isinstance(ty, torch.Tensor) and torch.equal(ty, t.permute(0, 2, 3, 1).contiguous())
    out = torch.empty(n, c, h, w, dtype=t.dtype)
    assert qeq.nhwc_to_nchw(ty, out=out) is out and torch.equal(out, t)


def test_nchw_to_nhwc_of_a_quantized_tensor_gives_its_integers():
    q = torch.quantize_per_tensor(torch.randn(2, 5, 3, 4), 0.1, 7, torch.qint8)
    got = qeq.nchw_to_nhwc(q)
    assert got.dtype == torch.int8
    assert torch.equal(got, q.int_repr().permute(0, 2, 3, 1).contiguous())


@pytest.mark.parametrize("groups,cpg", [(2, 58), (2, 1), (1, 9), (3, 5), (4, 16), (2, 64), (8, 3)])
def test_channel_shuffle(groups, cpg):
    rng = np.random.default_rng(groups * 100 + cpg)
    x = rng.integers(0, 256, (2, 3, 5, groups * cpg), dtype=np.uint8)
    y = qeq.q8_channel_shuffle(x, groups)
    for g in range(groups):
        for k in range(cpg):
            assert np.array_equal(y[..., k * groups + g], x[..., g * cpg + k])
    # PyTorch's ChannelShuffle on the NCHW view of the same tensor.
    t = torch.from_numpy(x).permute(0, 3, 1, 2)
    want = torch.nn.ChannelShuffle(groups)(t.contiguous()).permute(0, 2, 3, 1)
    assert torch.equal(torch.from_numpy(y), want)


def test_layout_bad_input_is_refused_before_c():
    x = np.zeros((2, 4, 3, 3), np.uint8)
    with pytest.raises(TypeError, match="nchw_to_nhwc: x"):
        qeq.nchw_to_nhwc(x.astype(np.float32))
    with pytest.raises(ValueError, match="4-D"):
        qeq.nchw_to_nhwc(x[0])
    with pytest.raises(ValueError, match="not C-contiguous"):
        qeq.nchw_to_nhwc(x.transpose(0, 2, 3, 1))
    with pytest.raises(ValueError, match="out"):
        qeq.nchw_to_nhwc(x, out=np.zeros((2, 4, 3, 3), np.uint8))
    with pytest.raises(ValueError, match="groups = -1 must not be negative"):
        qeq.q8_channel_shuffle(x, -1)
    with pytest.raises(OverflowError, match="groups"):
        qeq.q8_channel_shuffle(x, 2**64)
    with pytest.raises(ValueError, match="groups = 0 must be >= 1"):
        qeq.q8_channel_shuffle(x, 0)
    with pytest.raises(ValueError, match="do not split"):
        qeq.q8_channel_shuffle(x, 2)
    with pytest.raises(TypeError, match="groups"):
        qeq.q8_channel_shuffle(x, 1.0)
    out = np.full((2, 4, 3, 3), 9, np.uint8)
    with pytest.raises(_lib.InvalidArgumentError, match="qeq_x8_channel_shuffle: y overlaps x"):
        qeq.q8_channel_shuffle(out, 3, out=out)
    assert (out == 9).all()


FORMATS = [torch.contiguous_format, torch.channels_last]


def qtensor(seed, shape, scale, zero_point, dtype=torch.quint8, fmt=torch.contiguous_format):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=g) * 2
    return torch.quantize_per_tensor(x, scale, zero_point, dtype).contiguous(memory_format=fmt)


def same(got, want, fmt):
    assert got.is_quantized and got.dtype == want.dtype
    assert got.is_contiguous(memory_format=fmt)
    assert (got.q_scale(), got.q_zero_point()) == (want.q_scale(), want.q_zero_point())
    assert torch.equal(got.int_repr(), want.int_repr())


@pytest.mark.live_pytorch
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("dtype", [torch.quint8, torch.qint8])
def test_qops_on_quantized_tensors(fmt, dtype):
    zp = 100 if dtype == torch.quint8 else -10
    a = qtensor(1, (2, 8, 6, 6), 0.05, zp, dtype, fmt)
    b = qtensor(2, (2, 8, 6, 6), 0.04, zp + 3, dtype, fmt)
    # Powers of two: the add's two float rules agree (test_qops_add.py checks the rule itself).
    a2 = qtensor(3, (2, 8, 6, 6), 0.0625, zp, dtype, fmt)
    b2 = qtensor(4, (2, 8, 6, 6), 0.125, zp, dtype, fmt)
    same(qeq.q8_add(a2, None, b2, None, (0.25, zp)), torch.ops.quantized.add(a2, b2, 0.25, zp),
         fmt)
    same(qeq.q8_mul(a, None, b, None, (0.1, zp)), torch.ops.quantized.mul(a, b, 0.1, zp), fmt)
    same(qeq.q8_cat([a, b], None, (0.05, zp)), torch.ops.quantized.cat([a, b], 1, 0.05, zp), fmt)
    same(qeq.q8_relu(a, None), torch.relu(a), fmt)
    same(qeq.q8_max_pool2d(a, 3, 2, 1), torch.nn.functional.max_pool2d(a, 3, 2, 1), fmt)
    same(qeq.q8_avg_pool2d(a, None, 2), torch.nn.functional.avg_pool2d(a, 2), fmt)
    # 256 elements: whole vector steps of PyTorch's loop (test_qops_act.py explains its tail).
    h = qtensor(7, (1, 16, 4, 4), 0.05, zp, dtype, fmt)
    same(qeq.q8_hardswish(h, None, (0.0371, zp)), torch.ops.quantized.hardswish(h, 0.0371, zp),
         fmt)


def test_channels_last_input_is_not_converted(monkeypatch):
    a = qtensor(5, (1, 16, 4, 4), 0.1, 128, fmt=torch.channels_last)
    calls = []
    real = _lib.api.qeq_nchw_to_nhwc_x8
    monkeypatch.setattr(_lib.api, "qeq_nchw_to_nhwc_x8",
                        lambda *args: calls.append(args) or real(*args))
    out = qeq.q8_relu(a, None)
    assert calls == [] and out.is_contiguous(memory_format=torch.channels_last)
    qeq.q8_relu(a.contiguous(), None)
    assert len(calls) == 1


def test_quantized_inputs_refuse_qparams_and_out():
    a = qtensor(6, (1, 4, 3, 3), 0.1, 128)
    with pytest.raises(ValueError, match="pass None"):
        qeq.q8_relu(a, (0.1, 128))
    with pytest.raises(ValueError, match="out is not taken"):
        qeq.q8_relu(a, None, out=np.empty((1, 3, 3, 4), np.uint8))
    with pytest.raises(ValueError, match="4-D"):
        qeq.q8_relu(a[0], None)
    per_channel = torch.quantize_per_channel(torch.randn(1, 4, 3, 3), torch.ones(4) / 10,
                                             torch.zeros(4, dtype=torch.long), 1, torch.quint8)
    with pytest.raises(ValueError, match="per-tensor"):
        qeq.q8_relu(per_channel, None)


@pytest.mark.live_pytorch
@pytest.mark.parametrize("engine", ["onednn", "qnnpack"])
@pytest.mark.parametrize("dtype", [torch.quint8, torch.qint8])
@pytest.mark.parametrize("dim", [0, 1, 2, 3])
def test_cat_on_every_axis_matches_pytorch(engine, dtype, dim):
    """torch.ops.quantized.cat along each NCHW dim against q8_cat(axis=...), on NCHW and
    channels-last tensors (scales without ties between PyTorch's two dequantization rules)."""
    torch.backends.quantized.engine = engine
    zp = 100 if dtype == torch.quint8 else -5
    for fmt in FORMATS:
        shapes = [[2, 64, 4, 4] for _ in range(3)]
        for k, s in enumerate(shapes):
            s[dim] = (k + 1) * (32 if dim == 1 else 2)
        xs = [qtensor(10 + k, s, (0.0513, 0.0317, 0.0711)[k], zp + k, dtype, fmt)
              for k, s in enumerate(shapes)]
        axis = ("batch", "channels", "height", "width")[dim]
        same(qeq.q8_cat(xs, None, (0.0597, zp), axis=axis),
             torch.ops.quantized.cat(xs, dim, 0.0597, zp), fmt)


# (a's shape, b's shape): squeeze-excite style, per-pixel, batch broadcast; the smaller first
# in the second half (the order PyTorch's qnnpack engine runs XNNPACK's qint8 add in).
BROADCASTS = [((2, 128, 5, 3), (2, 128, 1, 1)), ((2, 128, 5, 3), (1, 1, 5, 3)),
              ((2, 128, 5, 3), (1, 128, 5, 3)), ((2, 128, 1, 1), (2, 128, 5, 3)),
              ((1, 1, 5, 3), (2, 128, 5, 3)), ((1, 128, 1, 3), (2, 128, 5, 1))]


@pytest.mark.live_pytorch
@pytest.mark.parametrize("engine", ["onednn", "qnnpack"])
@pytest.mark.parametrize("dtype", [torch.quint8, torch.qint8])
@pytest.mark.parametrize("shapes", BROADCASTS)
def test_broadcasting_add_matches_pytorch(engine, dtype, shapes):
    torch.backends.quantized.engine = engine
    zp = 120 if dtype == torch.quint8 else -8
    a = qtensor(20, shapes[0], 0.0312, zp, dtype, torch.channels_last)
    b = qtensor(21, shapes[1], 0.0517, zp + 3, dtype, torch.channels_last)
    if engine == "qnnpack" and dtype == torch.qint8 and any(
            m != n and m != 1 for m, n in zip(a.shape, b.shape)):
        pytest.skip("PyTorch 1.13's XNNPACK add fails, or corrupts memory, unless the first "
                    "input broadcasts to the second")
    for relu in (False, True):
        want = (torch.ops.quantized.add_relu if relu else torch.ops.quantized.add)(a, b, 0.07, zp)
        got = qeq.q8_add(a, None, b, None, (0.07, zp), relu=relu, engine=engine)
        assert torch.equal(got.int_repr(), want.int_repr())
    # NHWC arrays: the broadcast shape, and a refusal for shapes that do not broadcast
    x = np.zeros((2, 4, 4, 8), np.uint8)
    assert qeq.q8_add(x, (0.1, 0), x[:1, :1, :, :], (0.1, 0), (0.2, 0)).shape == (2, 4, 4, 8)
    with pytest.raises(ValueError, match="do not broadcast"):
        qeq.q8_add(x, (0.1, 0), np.zeros((2, 3, 4, 8), np.uint8), (0.1, 0), (0.2, 0))

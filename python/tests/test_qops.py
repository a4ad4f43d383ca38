"""qeq.qops (q8_add, q8_cat, pools, clamps) against PyTorch's quantized CPU ops on
channels-last tensors (the onednn engine: PyTorch's own kernels, not QNNPACK's), and their
argument checks. The add and cat rounding rule is checked element by element in
test_qops_add.py; here they run on values where PyTorch's two rules agree."""
import numpy as np
import pytest

import qeq

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.live_pytorch


@pytest.fixture(autouse=True)
def onednn(onednn_one_thread):
    yield


def quantized(x_nhwc, scale, zero_point):
    """PyTorch's channels-last quantized tensor holding x_nhwc's integers."""
    t = torch.from_numpy(x_nhwc).permute(0, 3, 1, 2)
    return torch._make_per_tensor_quantized_tensor(t.contiguous(), scale, zero_point).contiguous(
        memory_format=torch.channels_last)


def nhwc(t):
    return t.int_repr().permute(0, 2, 3, 1).contiguous().numpy()


@pytest.mark.parametrize("dtype", [np.uint8, np.int8])
def test_pools_and_clamps(dtype):
    rng = np.random.default_rng(3)
    info = np.iinfo(dtype)
    x = rng.integers(info.min, info.max + 1, (2, 13, 11, 7)).astype(dtype)
    qp = (0.05, int(rng.integers(info.min, info.max + 1)))
    tx = quantized(x, *qp)
    F = torch.nn.functional
    assert np.array_equal(qeq.q8_max_pool2d(x, 3, 2, 1), nhwc(F.max_pool2d(tx, 3, 2, 1)))
    assert np.array_equal(qeq.q8_max_pool2d(x, (2, 3), 2, 1, (2, 1), True),
                          nhwc(F.max_pool2d(tx, (2, 3), 2, 1, (2, 1), True)))
    assert np.array_equal(qeq.q8_avg_pool2d(x, qp, 3, 2, 1),
                          nhwc(F.avg_pool2d(tx, 3, 2, 1)))
    assert np.array_equal(qeq.q8_avg_pool2d(x, qp, 3, 2, 1, True, False),
                          nhwc(F.avg_pool2d(tx, 3, 2, 1, True, False)))
    assert np.array_equal(qeq.q8_adaptive_avg_pool2d(x, qp, (5, 3)),
                          nhwc(F.adaptive_avg_pool2d(tx, (5, 3))))
    assert np.array_equal(qeq.q8_relu(x, qp), nhwc(F.relu(tx)))
    assert np.array_equal(qeq.q8_relu6(x, qp), nhwc(torch.ao.nn.quantized.ReLU6()(tx)))
    assert np.array_equal(qeq.q8_hardtanh(x, qp, -0.7, 1.3), nhwc(F.hardtanh(tx, -0.7, 1.3)))


def test_add_and_cat():
    rng = np.random.default_rng(4)
    a = rng.integers(0, 256, (1, 4, 5, 64)).astype(np.uint8)  # whole vector steps only
    b = rng.integers(0, 256, (1, 4, 5, 64)).astype(np.uint8)
    qa, qb, qy = (0.03, 120), (0.02, 130), (0.04, 110)
    ta, tb = quantized(a, *qa), quantized(b, *qb)
    assert np.array_equal(qeq.q8_add(a, qa, b, qb, qy),
                          nhwc(torch.ops.quantized.add(ta, tb, *qy)))
    assert np.array_equal(qeq.q8_add(a, qa, b, qb, qy, relu=True),
                          nhwc(torch.ops.quantized.add_relu(ta, tb, *qy)))
    y = qeq.q8_cat([a, b], [qa, qb], qy)
    assert y.shape == (1, 4, 5, 128)
    assert np.array_equal(y, nhwc(torch.ops.quantized.cat([ta, tb], dim=1, scale=qy[0],
                                                          zero_point=qy[1])))
    assert np.array_equal(qeq.q8_cat([a, a], [qa, qa], qa, axis="batch"),
                          np.concatenate([a, a]))  # already at the output's qparams: copied


def test_torch_arrays_and_out():
    x = torch.randint(0, 256, (1, 6, 6, 3), dtype=torch.uint8)
    y = qeq.q8_max_pool2d(x, 2)
    assert isinstance(y, torch.Tensor) and tuple(y.shape) == (1, 3, 3, 3)
    out = np.empty((1, 6, 6, 3), np.uint8)
    assert qeq.q8_relu(x.numpy(), (0.1, 9), out=out) is out


def test_arguments():
    x = np.zeros((1, 4, 4, 2), np.uint8)
    with pytest.raises(ValueError, match="NHWC"):
        qeq.q8_relu(np.zeros((4, 4, 2), np.uint8), (0.1, 0))
    with pytest.raises(TypeError, match="uint8"):
        qeq.q8_relu(np.zeros((1, 4, 4, 2), np.float32), (0.1, 0))
    with pytest.raises(TypeError, match="pair"):
        qeq.q8_relu(x, 0.1)
    with pytest.raises(ValueError, match="kernel_size"):
        qeq.q8_max_pool2d(x, 0)
    with pytest.raises(ValueError, match="divisor_override"):
        qeq.q8_avg_pool2d(x, (0.1, 0), 2, divisor_override=0)
    with pytest.raises(OverflowError):
        qeq.q8_relu(x, (0.1, 2 ** 40))
    with pytest.raises(qeq.InvalidArgumentError, match="zero_point|zero point"):
        qeq.q8_relu(x, (0.1, 300))
    with pytest.raises(ValueError, match="out"):
        qeq.q8_relu(x, (0.1, 0), out=np.zeros((1, 4, 4, 3), np.uint8))
    with pytest.raises(ValueError, match="axis"):
        qeq.q8_cat([x], [(0.1, 0)], (0.1, 0), axis="depth")


# ---- the qnnpack engine: QNNPACK's fixed-point add and average pooling, live ----

@pytest.fixture
def qnnpack():
    if "qnnpack" not in torch.backends.quantized.supported_engines:
        pytest.skip("this PyTorch has no qnnpack engine")
    torch.backends.quantized.engine = "qnnpack"  # the autouse fixture restores the old one
    torch.set_num_threads(1)


def every_pair(dtype=np.uint8):
    """Every (a, b) byte pair once, as two [1][16][16][256] NHWC arrays."""
    lo = np.iinfo(dtype).min
    a = (np.repeat(np.arange(256), 256) + lo).astype(dtype).reshape(1, 16, 16, 256)
    b = (np.tile(np.arange(256), 256) + lo).astype(dtype).reshape(1, 16, 16, 256)
    return a, b


@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8])
def test_qnnpack_add_every_pair(qnnpack, relu, dtype):
    """Every input pair under random qparams: QNNPACK's add for quint8, ratios across its whole
    range (including below 2^-10, where its x86 shift passes 31); XNNPACK's for qint8. Half the
    scales are powers of two, whose sums land on exact halves."""
    rng = np.random.default_rng(11 + relu + 2 * (dtype == np.int8))
    a, b = every_pair(dtype)
    info = np.iinfo(dtype)
    low = 2.0 ** (-10 if dtype == np.int8 else -14)
    op = torch.ops.quantized.add_relu if relu else torch.ops.quantized.add
    done = 0
    while done < 24:
        sy = float(np.exp(rng.uniform(-6, 1)))
        exps = rng.uniform(np.log2(low) + 0.1, 7.9, 2)
        if done % 2:
            sy, exps = float(2.0 ** int(rng.integers(-6, 2))), np.floor(exps)
        sa, sb = (sy * float(2.0 ** e) for e in exps)
        za, zb, zy = (int(v) for v in rng.integers(info.min, info.max + 1, 3))
        if relu and zy == info.max:
            continue
        ra, rb = np.float32(sa) / np.float32(sy), np.float32(sb) / np.float32(sy)
        if not all(low <= r < 2.0 ** 8 for r in (ra, rb)):
            continue
        want = nhwc(op(quantized(a, sa, za), quantized(b, sb, zb), sy, zy))
        got = qeq.q8_add(a, (sa, za), b, (sb, zb), (sy, zy), relu=relu, engine="qnnpack")
        assert np.array_equal(got, want), (sa, za, sb, zb, sy, zy)
        done += 1


def test_qnnpack_add_refusals(qnnpack):
    a, b = every_pair()
    y = np.full(a.shape, 7, np.uint8)
    ta, tb = quantized(a, 1.0, 0), quantized(b, 1.0, 0)
    for sy in (1.0 / 2.0 ** -14.01, 1.0 / 256.0):  # a ratio just under 2^-14, one of 2^8
        with pytest.raises(RuntimeError):
            torch.ops.quantized.add(ta, tb, sy, 0)
        with pytest.raises(qeq.UnsupportedError, match=r"\[2\^-14, 2\^8\)"):
            qeq.q8_add(a, (1.0, 0), b, (1.0, 0), (sy, 0), engine="qnnpack", out=y)
        assert (y == 7).all()
    with pytest.raises(RuntimeError):
        torch.ops.quantized.add_relu(ta, tb, 1.0, 255)
    with pytest.raises(qeq.UnsupportedError, match="255"):
        qeq.q8_add(a, (1.0, 0), b, (1.0, 0), (1.0, 255), relu=True, engine="qnnpack", out=y)
    assert (y == 7).all()
    s8, _ = every_pair(np.int8)  # XNNPACK's limits for qint8: [2^-10, 2^8), zero point 127
    t8 = quantized(s8, 1.0, 0)
    for sy, zy, relu in ((1.0 / 2.0 ** -10.01, 0, False), (1.0, 127, True)):
        with pytest.raises(RuntimeError):
            (torch.ops.quantized.add_relu if relu else torch.ops.quantized.add)(t8, t8, sy, zy)
        with pytest.raises(qeq.UnsupportedError, match="XNNPACK"):
            qeq.q8_add(s8, (1.0, 0), s8, (1.0, 0), (sy, zy), relu=relu, engine="qnnpack")
    for bad in ("QNNPACK ", "fbgemm", 1, None):
        with pytest.raises(ValueError, match="engine"):
            qeq.q8_add(a, (1.0, 0), b, (1.0, 0), (1.0, 0), engine=bad)
    # the default engine is onednn: unchanged results, no ratio limit
    got = qeq.q8_add(a, (1.0, 0), b, (1.0, 0), (300.0, 0))
    assert np.array_equal(got, qeq.q8_add(a, (1.0, 0), b, (1.0, 0), (300.0, 0), engine="onednn"))


def test_qnnpack_avg_pool2d(qnnpack):
    """QNNPACK's pooling, as PyTorch calls it: padding counts, count_include_pad and
    divisor_override are ignored; ceil_mode runs PyTorch's own kernel."""
    rng = np.random.default_rng(12)
    F = torch.nn.functional
    for it in range(60):
        kh, kw = (int(v) for v in rng.integers(1, 8, 2))
        if kh * kw == 1:
            kw = 2
        sh, sw = (int(v) for v in rng.integers(1, 4, 2))
        ph, pw = int(rng.integers(0, kh // 2 + 1)), int(rng.integers(0, kw // 2 + 1))
        h, w = int(rng.integers(kh, 14)), int(rng.integers(kw, 14))
        c, n = int(rng.integers(1, 40)), int(rng.integers(1, 3))
        qp = (float(np.exp(rng.uniform(-10, 3))), int(rng.integers(0, 256)))
        cip, ceil = bool(rng.integers(0, 2)), it % 5 == 0
        dov = None if rng.integers(0, 3) else int(rng.integers(1, 20))
        x = rng.integers(0, 256, (n, h, w, c)).astype(np.uint8)
        want = nhwc(F.avg_pool2d(quantized(x, *qp), (kh, kw), (sh, sw), (ph, pw), ceil, cip, dov))
        got = qeq.q8_avg_pool2d(x, qp, (kh, kw), (sh, sw), (ph, pw), ceil, cip, dov,
                                engine="qnnpack")
        assert np.array_equal(got, want), (kh, kw, sh, sw, ph, pw, ceil, cip, dov, qp)
    x = rng.integers(0, 256, (1, 5, 5, 3)).astype(np.uint8)
    with pytest.raises(RuntimeError):
        F.avg_pool2d(quantized(x, 0.1, 3), 1)
    with pytest.raises(qeq.UnsupportedError, match="1 x 1"):
        qeq.q8_avg_pool2d(x, (0.1, 3), 1, engine="qnnpack")
    # qint8 runs PyTorch's own kernel under qnnpack too
    s8 = rng.integers(-128, 128, (2, 9, 7, 5)).astype(np.int8)
    assert np.array_equal(qeq.q8_avg_pool2d(s8, (0.3, -4), 3, 2, 1, False, False, engine="qnnpack"),
                          nhwc(F.avg_pool2d(quantized(s8, 0.3, -4), 3, 2, 1, False, False)))


@pytest.mark.parametrize("shape,size", [((1, 7, 7, 512), 1), ((2, 7, 7, 1280), (1, 1)),
                                        ((1, 12, 8, 33), (3, 4)), ((1, 12, 8, 33), (1, 8)),
                                        ((1, 13, 11, 9), (5, 3)), ((1, 7, 7, 16), 3),
                                        ((2, 6, 6, 8), 6)])
def test_qnnpack_adaptive_avg_pool2d(qnnpack, shape, size):
    """Dividing sizes (resnet18's 7x7 -> 1x1, mobilenet_v2's global pool) take QNNPACK's pool,
    others and the identity PyTorch's own kernel."""
    rng = np.random.default_rng(13)
    for _ in range(4):
        qp = (float(np.exp(rng.uniform(-8, 2))), int(rng.integers(0, 256)))
        x = rng.integers(0, 256, shape).astype(np.uint8)
        want = nhwc(torch.nn.functional.adaptive_avg_pool2d(quantized(x, *qp), size))
        got = qeq.q8_adaptive_avg_pool2d(x, qp, size, engine="qnnpack")
        assert np.array_equal(got, want), qp


def test_qnnpack_mean_is_the_global_pool(qnnpack):
    """Quantized torch.mean over (2, 3) under qnnpack is QNNPACK's global average pool: the
    adaptive pool to 1 x 1 (what docs/numerics.md says qeq offers for it)."""
    rng = np.random.default_rng(14)
    for _ in range(20):
        h, w, c = (int(v) for v in rng.integers(1, 12, 3))
        if h * w == 1:
            continue
        qp = (float(np.exp(rng.uniform(-8, 2))), int(rng.integers(0, 256)))
        x = rng.integers(0, 256, (2, h, w, c)).astype(np.uint8)
        want = nhwc(torch.mean(quantized(x, *qp), (2, 3), keepdim=True))
        assert np.array_equal(qeq.q8_adaptive_avg_pool2d(x, qp, 1, engine="qnnpack"), want)

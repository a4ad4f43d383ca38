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
def onednn():
    old = torch.backends.quantized.engine
    torch.backends.quantized.engine = "onednn"
    torch.set_num_threads(1)
    yield
    torch.backends.quantized.engine = old


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
        qeq.q8_cat([x], [(0.1, 0)], (0.1, 0), axis="height")
